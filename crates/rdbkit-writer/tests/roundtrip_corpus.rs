//! The writer round trip of the `roundtrip` fuzz target (arbitrary logical
//! content -> writer for RDB 6..13 / VALKEY080 -> parser -> equal), replayed on
//! its committed corpus and artifacts, and on deterministic pseudo-random
//! inputs so that it runs in every `cargo test`.

mod check {
    #![allow(dead_code, unreachable_pub, clippy::all)]
    include!("../../../fuzz/src/roundtrip_check.rs");
}

fn files(dir: &str) -> Vec<Vec<u8>> {
    crate::fuzz_files(dir, "roundtrip")
}

#[test]
fn roundtrip_corpus_and_random_inputs() {
    let mut inputs = files("corpus");
    inputs.extend(files("artifacts"));
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3000usize {
        let len = 1 + i % 600;
        let v: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        inputs.push(v);
    }
    for data in &inputs {
        check::roundtrip(data);
    }
}
