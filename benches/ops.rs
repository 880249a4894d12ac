//! Benches of the operations the CLI is built from, on inputs generated here:
//! filter pass-through and convert 11 -> 9 through the writer crate's
//! `Converter` (what `rdbkit filter`/`convert` run per record), LZF, CRC-64,
//! listpack and ziplist decoding, ziplist encoding and listpack -> ziplist
//! transcoding; and the `rdbkit` binary end to end
//! (filter, convert, jsonl export, verify) when it has been built
//! (`cargo build --release -p rdbkit-cli`; or set `RDBKIT_BIN`).
//!
//! `RDBKIT_BENCH_MB` sets the generated file size (default 64).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rdbkit_benches::{Lp, Shape, documents, generate, listpack, ziplist};
use rdbkit_parser::{RdbReader, RdbVersion, RecordKind};
use rdbkit_writer::{ConvertOptions, Converter};

fn size() -> usize {
    std::env::var("RDBKIT_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64usize)
        << 20
}

/// Rewrite `data` through a `Converter`: keep every other key when
/// `filter`, convert to `target` (the source's version = pass-through).
fn rewrite(data: &[u8], target: Option<RdbVersion>, filter: bool, out: &mut Vec<u8>) -> u64 {
    out.clear();
    let mut r = RdbReader::new(data).expect("header");
    let mut opts = ConvertOptions::new(target.unwrap_or(r.version()));
    opts.on_loss = rdbkit_writer::LossPolicy::Warn;
    let mut conv = Converter::new(r.version(), opts).expect("converter");
    let mut w = conv.writer(&mut *out).expect("writer");
    let mut i = 0u64;
    while let Some(rec) = r.next_record().expect("record") {
        if let RecordKind::Entry(_) = rec.kind {
            i += 1;
            if filter && i.is_multiple_of(2) {
                conv.skip_entry(&rec);
                continue;
            }
        }
        conv.convert_record(&rec, &mut w).expect("convert");
    }
    let (_, report) = conv.finish(w).expect("finish");
    report.stats.keys_out
}

fn pipeline(c: &mut Criterion) {
    let n = size();
    let mut out = Vec::with_capacity(n + (1 << 20));
    for (name, shape) in [
        ("mixed", Shape::Mixed),
        ("large_values", Shape::LargeValues),
    ] {
        let data = generate(shape, n, 42);
        let mut g = c.benchmark_group(format!("pipeline/{name}"));
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(10);
        g.bench_function("filter_pass_through_half", |b| {
            b.iter(|| rewrite(&data, None, true, &mut out))
        });
        g.bench_function("copy_all_same_version", |b| {
            b.iter(|| rewrite(&data, None, false, &mut out))
        });
        g.bench_function("convert_11_to_9", |b| {
            b.iter(|| rewrite(&data, Some(RdbVersion(9)), false, &mut out))
        });
        g.finish();
    }
}

fn codecs(c: &mut Criterion) {
    // LZF on compressible documents of the sizes Redis values have.
    let mut g = c.benchmark_group("lzf");
    for len in [64usize, 1024, 16 << 10] {
        let docs: Vec<Vec<u8>> = (0..(4 << 20) / len)
            .map(|i| documents(len, i as u64 + 1))
            .collect();
        let total: usize = docs.iter().map(Vec::len).sum();
        // (Short documents may not compress: those are left out here.)
        let packed: Vec<Vec<u8>> = docs
            .iter()
            .filter_map(|d| {
                let mut p = Vec::new();
                rdbkit_parser::lzf::compress(d, &mut p).map(|_| p)
            })
            .collect();
        g.throughput(Throughput::Bytes(total as u64));
        g.bench_with_input(BenchmarkId::new("compress", len), &docs, |b, docs| {
            let mut p = Vec::new();
            b.iter(|| {
                for d in docs {
                    p.clear();
                    rdbkit_parser::lzf::compress(d, &mut p);
                }
            })
        });
        if packed.is_empty() {
            continue;
        }
        g.throughput(Throughput::Bytes((packed.len() * len) as u64));
        g.bench_with_input(BenchmarkId::new("decompress", len), &packed, |b, packed| {
            let mut o = Vec::new();
            b.iter(|| {
                for p in packed {
                    rdbkit_parser::lzf::decompress_into(p, &mut o, len).expect("lzf");
                }
            })
        });
    }
    g.finish();

    // CRC-64 (Jones) on a 64 MiB buffer, and on 100-byte pieces (per record).
    let data = documents(64 << 20, 7);
    let mut g = c.benchmark_group("crc64");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("one_buffer", |b| {
        b.iter(|| rdbkit_parser::crc64::crc64(&data))
    });
    g.bench_function("100_byte_updates", |b| {
        b.iter(|| {
            let mut c = rdbkit_parser::crc64::Crc64::new();
            for piece in data.chunks(100) {
                c.update(piece);
            }
            c.finish()
        })
    });
    g.finish();

    // Listpack and ziplist decoding: 4 MiB of small collections (the
    // per-element path of every small hash, list and sorted set).
    let mut rng = rdbkit_benches::Rng::new(3);
    let mut strings: Vec<Vec<u8>> = Vec::new();
    for _ in 0..64 {
        let mut s = Vec::new();
        let n = 4 + rng.below(30) as usize;
        rng.text(n, &mut s);
        strings.push(s);
    }
    let elems: Vec<Lp<'_>> = (0..64)
        .map(|i| {
            if i % 4 == 0 {
                Lp::Int(i * 100 - 2000)
            } else {
                Lp::Str(&strings[i as usize])
            }
        })
        .collect();
    for (name, blob) in [("listpack", listpack(&elems)), ("ziplist", ziplist(&elems))] {
        let copies = (4 << 20) / blob.len();
        let mut g = c.benchmark_group("decode");
        g.throughput(Throughput::Bytes((copies * blob.len()) as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0usize;
                for _ in 0..copies {
                    if name == "listpack" {
                        let lp = rdbkit_parser::listpack::Listpack::parse(&blob, 0).expect("lp");
                        for it in lp.entries() {
                            n += it.expect("item").len();
                        }
                    } else {
                        let zl = rdbkit_parser::ziplist::Ziplist::parse(&blob, 0).expect("zl");
                        for it in zl.entries() {
                            n += it.expect("item").len();
                        }
                    }
                }
                n
            })
        });
        g.finish();
    }

    // Ziplist encoding (what a conversion for RDB < 10 writes): from the
    // elements, and straight from listpacks (the transcoding loop of
    // `rdbkit_writer::transcode`: one walk, one reused buffer). Bytes/s of
    // the input listpacks, so the two rows compare with "decode/listpack".
    let lp = listpack(&elems);
    let items: Vec<Vec<u8>> = rdbkit_parser::listpack::Listpack::parse(&lp, 0)
        .expect("lp")
        .entries()
        .map(|i| i.expect("item").to_bytes().into_owned())
        .collect();
    let copies = (4 << 20) / lp.len();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes((copies * lp.len()) as u64));
    let mut z = rdbkit_writer::ziplist::ZiplistEncoder::default();
    let forms = rdbkit_writer::ziplist::IntForms::All;
    g.bench_function("ziplist", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for _ in 0..copies {
                z.clear(forms);
                for it in &items {
                    z.push_bytes(it);
                }
                n += z.finish().expect("zl").len();
            }
            n
        })
    });
    g.bench_function("listpack_to_ziplist", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for _ in 0..copies {
                z.clear(forms);
                let lp = rdbkit_parser::listpack::Listpack::parse(&lp, 0).expect("lp");
                for it in lp.entries() {
                    z.push_item(&it.expect("item"));
                }
                n += z.finish().expect("zl").len();
            }
            n
        })
    });
    g.finish();
}

/// The `rdbkit` binary, if built.
fn rdbkit_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RDBKIT_BIN") {
        return Some(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let p = root.join("target/release/rdbkit");
    p.exists().then_some(p)
}

fn cli(c: &mut Criterion) {
    let Some(bin) = rdbkit_bin() else {
        eprintln!(
            "cli benches skipped: build the binary first (cargo build --release -p rdbkit-cli)"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("rdbkit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("in.rdb");
    let data = generate(Shape::Mixed, size(), 42);
    std::fs::write(&input, &data).expect("write input");
    let out = dir.join("out.rdb");
    let run = |args: &[&str]| {
        let _ = std::fs::remove_file(&out);
        let st = Command::new(&bin)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run rdbkit");
        assert!(st.success(), "rdbkit {args:?} failed");
    };
    let i = input.to_str().expect("utf-8 path");
    let o = out.to_str().expect("utf-8 path");
    let mut g = c.benchmark_group("cli/mixed");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    g.bench_function("verify", |b| b.iter(|| run(&["verify", i])));
    g.bench_function("filter_half", |b| {
        b.iter(|| run(&["filter", i, "-o", o, "--match", "a:*", "-q"]))
    });
    g.bench_function("convert_11_to_9", |b| {
        b.iter(|| {
            run(&[
                "convert",
                i,
                "-o",
                o,
                "--target",
                "redis-6.2",
                "--on-loss",
                "warn",
                "-q",
            ])
        })
    });
    g.bench_function("export_jsonl", |b| {
        b.iter(|| run(&["export", "--format", "jsonl", i]))
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, pipeline, codecs, cli);
criterion_main!(benches);
