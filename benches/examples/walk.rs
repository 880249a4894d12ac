//! Profile helper: `cargo run --release -p rdbkit-benches --example walk -- mixed 256 [full|skip|crc] [FILE]`
//! generates a file (or maps FILE) and walks it repeatedly (for perf).

use rdbkit_benches::{Shape, full_walk, generate, skip_walk};

fn main() {
    let mut args = std::env::args().skip(1);
    let shape = match args.next().as_deref() {
        Some("large") => Shape::LargeValues,
        _ => Shape::Mixed,
    };
    let mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let mode = args.next().unwrap_or_else(|| "full".into());
    let data = match args.next() {
        Some(path) => std::fs::read(path).expect("read"),
        None => generate(shape, mb << 20, 42),
    };
    let t = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..5 {
        n += match mode.as_str() {
            "skip" => skip_walk(&data),
            "crc" => rdbkit_parser::crc64::crc64(&data),
            _ => full_walk(&data),
        };
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{mode}: {} MB x5 in {:.2}s = {:.0} MB/s ({n})",
        data.len() >> 20,
        secs,
        5.0 * data.len() as f64 / secs / 1e6
    );
}
