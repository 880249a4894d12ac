//! Generated inputs for the benches: RDB files built directly as bytes, so
//! the benches need no fixture files and can be made as large as wanted.
//!
//! Two shapes, as the performance issue asks: [`Shape::Mixed`] (many small
//! keys: strings, small compact collections, a few big plain collections,
//! streams, expiries; per-key overhead dominates) and [`Shape::LargeValues`]
//! (few keys with 4-64 KiB values; bytes dominate). [`generate_to`] streams
//! a file of any size to a writer (the comparison script's multi-GB inputs).

use std::io::{self, Write};

/// What the generated file mostly holds.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// Many small keys of every type.
    Mixed,
    /// Large string and listpack values.
    LargeValues,
}

/// A deterministic xorshift PRNG (no dependency, same file every run).
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// `n` printable bytes.
    pub fn text(&mut self, n: usize, out: &mut Vec<u8>) {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-";
        for _ in 0..n {
            out.push(A[(self.next_u64() % A.len() as u64) as usize]);
        }
    }
}

/// Append an RDB length.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Append a raw RDB string.
pub fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

// Listpacks are built by the shared test builder.
pub use rdbkit_testkit::build::{Lp, listpack};

/// Streams generated records to a writer, keeping the running CRC-64.
struct Sink<'w, W: Write + ?Sized> {
    w: &'w mut W,
    crc: rdbkit_parser::crc64::Crc64,
    written: u64,
}

/// The header, a `redis-ver` AUX field and SELECTDB 0.
fn head() -> Vec<u8> {
    let mut out = b"REDIS0011".to_vec();
    out.push(0xfa);
    put_str(&mut out, b"redis-ver");
    put_str(&mut out, b"7.2.6");
    out.extend_from_slice(&[0xfe, 0]);
    out
}

impl<W: Write + ?Sized> Sink<'_, W> {
    /// Write `out`, the EOF opcode and the checksum; the file's size.
    fn finish(&mut self, mut out: Vec<u8>) -> io::Result<u64> {
        out.push(0xff);
        self.crc.update(&out);
        let crc = self.crc.finish();
        out.extend_from_slice(&crc.to_le_bytes());
        self.w.write_all(&out)?;
        self.written += out.len() as u64;
        Ok(self.written)
    }

    fn flush(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        self.crc.update(buf);
        self.w.write_all(buf)?;
        self.written += buf.len() as u64;
        buf.clear();
        Ok(())
    }
}

/// The key prefix: `a:` or `b:` at random (so `--match 'a:*'` keeps about
/// half the keys of every type), then the type, the index and 8 random bytes.
fn key(rng: &mut Rng, prefix: &str, i: u64, out: &mut Vec<u8>) {
    let half = if rng.below(2) == 0 { "a" } else { "b" };
    let mut k = format!("{half}:{prefix}:{i}:").into_bytes();
    rng.text(8, &mut k);
    put_str(out, &k);
}

/// Compressible text (a JSON-ish document), as applications store.
fn doc(rng: &mut Rng, n: usize, out: &mut Vec<u8>) {
    let start = out.len();
    while out.len() - start < n {
        let id = rng.below(1_000_000);
        out.extend_from_slice(format!("{{\"id\":{id},\"name\":\"user-").as_bytes());
        rng.text(6, out);
        out.extend_from_slice(b"\",\"active\":true,\"tags\":[\"alpha\",\"beta\"]},");
    }
    out.truncate(start + n);
}

/// Append a string the way Redis saves it with `rdbcompression yes`: LZF
/// when that saves bytes (strings over 20 bytes), raw otherwise.
fn put_maybe_lzf(out: &mut Vec<u8>, s: &[u8]) {
    let mut c = Vec::new();
    if s.len() > 20 && rdbkit_parser::lzf::compress(s, &mut c).is_some() && c.len() + 4 < s.len() {
        out.push(0xc3);
        put_len(out, c.len() as u64);
        put_len(out, s.len() as u64);
        out.extend_from_slice(&c);
        return;
    }
    put_str(out, s);
}

/// Build an RDB 11 file of about `target` bytes in memory.
pub fn generate(shape: Shape, target: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(target + (1 << 20));
    generate_to(shape, target as u64, seed, &mut out).expect("writing to a Vec");
    out
}

/// Write an RDB 11 file of about `target` bytes to `w` (streaming, memory
/// bounded by the largest record); returns the bytes written.
pub fn generate_to<W: Write + ?Sized>(
    shape: Shape,
    target: u64,
    seed: u64,
    w: &mut W,
) -> io::Result<u64> {
    let mut rng = Rng::new(seed);
    let mut sink = Sink {
        w,
        crc: rdbkit_parser::crc64::Crc64::new(),
        written: 0,
    };
    let mut out = head();
    let mut i = 0u64;
    let mut scratch = Vec::new();
    loop {
        if out.len() >= 1 << 20 {
            sink.flush(&mut out)?;
        }
        if sink.written + out.len() as u64 >= target {
            break;
        }
        i += 1;
        let pick = match shape {
            Shape::Mixed => {
                // One key in 1 000 is a big plain hash (200-1 000 fields),
                // one in 20 000 a big list, set or sorted set (1 000-20 000
                // elements); the rest are small.
                if rng.below(1_000) == 0 {
                    303
                } else if rng.below(20_000) == 0 {
                    300 + rng.below(3)
                } else {
                    rng.below(100)
                }
            }
            Shape::LargeValues => 200 + rng.below(2),
        };
        if rng.below(10) == 0 {
            out.push(0xfc);
            out.extend_from_slice(&(4_102_444_800_000i64 + i as i64).to_le_bytes());
        }
        match pick {
            0..=44 | 93..=97 => {
                out.push(0);
                key(&mut rng, "str", i, &mut out);
                scratch.clear();
                let n = 8 + rng.below(80) as usize;
                rng.text(n, &mut scratch);
                put_str(&mut out, &scratch);
            }
            45..=49 => {
                // integer-encoded string
                out.push(0);
                key(&mut rng, "int", i, &mut out);
                out.push(0xc2);
                out.extend_from_slice(&(rng.below(1 << 30) as i32).to_le_bytes());
            }
            50..=54 => {
                // compressible document, LZF as Redis saves it
                out.push(0);
                key(&mut rng, "doc", i, &mut out);
                scratch.clear();
                let n = 100 + rng.below(900) as usize;
                doc(&mut rng, n, &mut scratch);
                put_maybe_lzf(&mut out, &scratch);
            }
            55..=69 => {
                // small listpack hash
                out.push(16);
                key(&mut rng, "hash", i, &mut out);
                let n = 2 + rng.below(12) as usize;
                let mut vals = Vec::new();
                for f in 0..n {
                    let mut v = Vec::new();
                    let len = 4 + rng.below(20) as usize;
                    rng.text(len, &mut v);
                    vals.push((format!("field{f}").into_bytes(), v));
                }
                let elems: Vec<Lp<'_>> = vals
                    .iter()
                    .flat_map(|(f, v)| [Lp::Str(f), Lp::Str(v)])
                    .collect();
                put_str(&mut out, &listpack(&elems));
            }
            70..=79 => {
                // one-node quicklist v2 list
                out.push(18);
                key(&mut rng, "list", i, &mut out);
                let n = 1 + rng.below(20) as i64;
                let elems: Vec<Lp<'_>> = (0..n).map(|x| Lp::Int(x * 37 - 100)).collect();
                put_len(&mut out, 1);
                put_len(&mut out, 2);
                put_str(&mut out, &listpack(&elems));
            }
            80..=86 => {
                // small listpack zset
                out.push(17);
                key(&mut rng, "zset", i, &mut out);
                let n = 1 + rng.below(10) as usize;
                let members: Vec<Vec<u8>> =
                    (0..n).map(|m| format!("member-{m}").into_bytes()).collect();
                let scores: Vec<Vec<u8>> = (0..n)
                    .map(|m| format!("{}.5", m * 3).into_bytes())
                    .collect();
                let elems: Vec<Lp<'_>> = members
                    .iter()
                    .zip(&scores)
                    .flat_map(|(m, s)| [Lp::Str(m), Lp::Str(s)])
                    .collect();
                put_str(&mut out, &listpack(&elems));
            }
            87..=92 => {
                // intset
                out.push(11);
                key(&mut rng, "iset", i, &mut out);
                let n = 1 + rng.below(30);
                let mut b = 4u32.to_le_bytes().to_vec();
                b.extend_from_slice(&(n as u32).to_le_bytes());
                for x in 0..n {
                    b.extend_from_slice(&((x * 1000) as i32).to_le_bytes());
                }
                put_str(&mut out, &b);
            }
            303 => {
                // big plain hash
                out.push(4);
                key(&mut rng, "bighash", i, &mut out);
                let n = 200 + rng.below(800);
                put_len(&mut out, n);
                for f in 0..n {
                    put_str(&mut out, format!("f:{f}").as_bytes());
                    scratch.clear();
                    let len = 10 + rng.below(40) as usize;
                    rng.text(len, &mut scratch);
                    put_str(&mut out, &scratch);
                }
            }
            98 | 99 => {
                // stream v3, one node of 50 entries, no groups
                out.push(21);
                key(&mut rng, "stream", i, &mut out);
                let n = 50i64;
                let mut elems = vec![
                    Lp::Int(n),
                    Lp::Int(0),
                    Lp::Int(2),
                    Lp::Str(b"sensor"),
                    Lp::Str(b"temp"),
                    Lp::Int(0),
                ];
                for e in 0..n {
                    elems.extend([
                        Lp::Int(2),
                        Lp::Int(e),
                        Lp::Int(0),
                        Lp::Int(e % 7),
                        Lp::Int(20 + e % 15),
                        Lp::Int(5),
                    ]);
                }
                put_len(&mut out, 1);
                let mut master = [0u8; 16];
                master[..8].copy_from_slice(&1_700_000_000_000u64.to_be_bytes());
                put_str(&mut out, &master);
                put_str(&mut out, &listpack(&elems));
                put_len(&mut out, n as u64);
                put_len(&mut out, 1_700_000_000_000 + n as u64 - 1);
                put_len(&mut out, 0);
                put_len(&mut out, 1_700_000_000_000);
                put_len(&mut out, 0);
                put_len(&mut out, 0);
                put_len(&mut out, 0);
                put_len(&mut out, n as u64);
                put_len(&mut out, 0);
            }
            200 => {
                out.push(0);
                key(&mut rng, "blob", i, &mut out);
                scratch.clear();
                let len = 4096 + rng.below(60 << 10) as usize;
                rng.text(len, &mut scratch);
                put_str(&mut out, &scratch);
            }
            300 => {
                // big quicklist v2: nodes of 128 listpack entries
                out.push(18);
                key(&mut rng, "biglist", i, &mut out);
                let n = 1000 + rng.below(19_000) as usize;
                let nodes = n.div_ceil(128);
                put_len(&mut out, nodes as u64);
                let mut items: Vec<Vec<u8>> = Vec::with_capacity(128);
                for node in 0..nodes {
                    items.clear();
                    for _ in 0..(n - node * 128).min(128) {
                        let mut v = Vec::new();
                        let len = 8 + rng.below(24) as usize;
                        rng.text(len, &mut v);
                        items.push(v);
                    }
                    let elems: Vec<Lp<'_>> = items.iter().map(|v| Lp::Str(v)).collect();
                    put_len(&mut out, 2);
                    put_str(&mut out, &listpack(&elems));
                }
            }
            301 => {
                // big plain set
                out.push(2);
                key(&mut rng, "bigset", i, &mut out);
                let n = 1000 + rng.below(19_000);
                put_len(&mut out, n);
                for m in 0..n {
                    put_str(
                        &mut out,
                        format!("member:{m}:{}", rng.below(1000)).as_bytes(),
                    );
                }
            }
            302 => {
                // big skiplist sorted set (binary scores)
                out.push(5);
                key(&mut rng, "bigzset", i, &mut out);
                let n = 1000 + rng.below(19_000);
                put_len(&mut out, n);
                for m in 0..n {
                    put_str(&mut out, format!("player:{m}").as_bytes());
                    out.extend_from_slice(&(m as f64 * 1.5).to_le_bytes());
                }
            }
            _ => {
                out.push(16);
                key(&mut rng, "bigfields", i, &mut out);
                let vals: Vec<Vec<u8>> = (0..8)
                    .map(|_| {
                        let mut v = Vec::new();
                        let len = 1024 + rng.below(3072) as usize;
                        rng.text(len, &mut v);
                        v
                    })
                    .collect();
                let names: Vec<Vec<u8>> = (0..8).map(|f| format!("f{f}").into_bytes()).collect();
                let elems: Vec<Lp<'_>> = names
                    .iter()
                    .zip(&vals)
                    .flat_map(|(f, v)| [Lp::Str(f), Lp::Str(v)])
                    .collect();
                put_str(&mut out, &listpack(&elems));
            }
        }
    }
    sink.finish(out)
}

/// Write an RDB 11 file of about `target` bytes that is nearly all one list
/// (`a:huge:list`, a quicklist of 128-element listpack nodes), between two
/// small strings: the file for checking that commands stream a value far
/// bigger than what they may hold in memory.
pub fn generate_huge_list_to<W: Write + ?Sized>(target: u64, w: &mut W) -> io::Result<u64> {
    let mut sink = Sink {
        w,
        crc: rdbkit_parser::crc64::Crc64::new(),
        written: 0,
    };
    let mut out = head();
    out.push(0);
    put_str(&mut out, b"a:before");
    put_str(&mut out, b"1");
    let node = |n: u64| {
        let texts: Vec<Vec<u8>> = (0..128u64)
            .map(|j| format!("element-{:012}-{}", n * 128 + j, "x".repeat(32)).into_bytes())
            .collect();
        let elems: Vec<Lp<'_>> = texts.iter().map(|t| Lp::Str(t)).collect();
        let mut rec = vec![2u8];
        put_str(&mut rec, &listpack(&elems));
        rec
    };
    let nodes = (target / node(0).len() as u64).max(1);
    out.push(18);
    put_str(&mut out, b"a:huge:list");
    put_len(&mut out, nodes);
    for n in 0..nodes {
        out.extend_from_slice(&node(n));
        if out.len() >= 1 << 20 {
            sink.flush(&mut out)?;
        }
    }
    out.push(0);
    put_str(&mut out, b"a:after");
    put_str(&mut out, b"2");
    sink.finish(out)
}

/// Walk a file and decode every value completely; returns the element count.
pub fn full_walk(data: &[u8]) -> u64 {
    use rdbkit_parser::{RdbReader, RecordKind, Value};
    let mut n = 0u64;
    for rec in RdbReader::new(data).expect("header") {
        let rec = rec.expect("record");
        if let RecordKind::Entry(e) = rec.kind {
            n += match e.value.decode().expect("value") {
                Value::String(s) => s.len() as u64,
                Value::List(l) => l
                    .iter()
                    .expect("list")
                    .map(|r| r.expect("item").len() as u64)
                    .sum(),
                Value::Set(s) => s
                    .iter()
                    .expect("set")
                    .map(|r| r.expect("item").len() as u64)
                    .sum(),
                Value::ZSet(z) => z
                    .iter()
                    .expect("zset")
                    .map(|r| r.expect("item").0.len() as u64)
                    .sum(),
                Value::Hash(h) => h
                    .iter()
                    .expect("hash")
                    .map(|r| r.expect("field").value.len() as u64)
                    .sum(),
                Value::Stream(s) => s
                    .entries()
                    .map(|r| r.expect("entry").fields.len() as u64)
                    .sum(),
                Value::Module(m) => m.raw_items().len() as u64,
            };
        }
    }
    n
}

/// Walk a file without decoding values (the structural walk only).
pub fn skip_walk(data: &[u8]) -> u64 {
    let mut n = 0u64;
    for rec in rdbkit_parser::RdbReader::new(data).expect("header") {
        n += rec.expect("record").raw.len() as u64;
    }
    n
}

/// Encode a ziplist of short strings (< 64 bytes) and 16-bit integers, as
/// Redis < 7 stored small hashes, lists and sorted sets.
pub fn ziplist(elems: &[Lp<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10usize;
    for e in elems {
        let start = body.len();
        tail = 10 + start;
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xfe);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match e {
            Lp::Str(s) => {
                let s = &s[..s.len().min(63)];
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
            Lp::Int(v) => {
                body.push(0xc0);
                body.extend_from_slice(&(*v as i16).to_le_bytes());
            }
        }
        prev = body.len() - start;
    }
    let mut out = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(elems.len().min(65535) as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

/// Compressible text (JSON-like documents) of `n` bytes.
pub fn documents(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    doc(&mut rng, n, &mut out);
    out
}
