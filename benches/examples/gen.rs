//! Write a generated RDB 11 file of a given size (streaming):
//! `cargo run --release -p rdbkit-benches --example gen -- mixed 1024 OUT.rdb`
//! (shape `mixed`, `large` or `hugelist` (one list of nearly the whole
//! size), size in MiB).

use std::io::BufWriter;

use rdbkit_benches::{Shape, generate_huge_list_to, generate_to};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let shape = match args.next().as_deref() {
        Some("large") => Some(Shape::LargeValues),
        Some("mixed") => Some(Shape::Mixed),
        Some("hugelist") => None,
        other => {
            eprintln!("usage: gen mixed|large|hugelist SIZE_MIB OUT (got {other:?})");
            std::process::exit(2);
        }
    };
    let mib: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let out = args.next().unwrap_or_else(|| "gen.rdb".into());
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);
    let tmp = format!("{out}.part");
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp)?);
    let n = match shape {
        Some(shape) => generate_to(shape, mib << 20, seed, &mut w)?,
        None => generate_huge_list_to(mib << 20, &mut w)?,
    };
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, &out)?;
    eprintln!("wrote {out}: {n} bytes");
    Ok(())
}
