//! Parser benches: full walk (every value decoded, CRC checked), structural
//! walk only, and CRC-64 alone, on generated files of two shapes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rdbkit_benches::{Shape, full_walk, generate, skip_walk};

fn parse(c: &mut Criterion) {
    let size = std::env::var("RDBKIT_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64usize)
        << 20;
    for (name, shape) in [
        ("mixed", Shape::Mixed),
        ("large_values", Shape::LargeValues),
    ] {
        let data = generate(shape, size, 42);
        // Sanity: the generated file must parse.
        assert!(full_walk(&data) > 0);
        let mut g = c.benchmark_group(format!("parse/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(10);
        g.bench_function("full_walk_crc", |b| b.iter(|| full_walk(&data)));
        g.bench_function("skip_walk_crc", |b| b.iter(|| skip_walk(&data)));
        g.bench_function("crc64_only", |b| {
            b.iter(|| rdbkit_parser::crc64::crc64(&data))
        });
        g.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
