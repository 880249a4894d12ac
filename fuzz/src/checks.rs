//! The invariants every fuzz target checks, one function per target.
//!
//! Shared, as a plain module, by the libFuzzer targets in `fuzz/fuzz_targets/`
//! (through `fuzz/src/lib.rs`) and by the parser's `tests/fuzz_corpus.rs`,
//! which replays `fuzz/corpus/**` and `fuzz/artifacts/**` in an ordinary
//! `cargo test`. Each function takes arbitrary bytes and panics only when the
//! parser breaks a promise:
//!
//! * no panic, no hang, no allocation beyond what the input can justify
//!   (libFuzzer's `-timeout` and `-malloc_limit_mb` catch the last two);
//! * records tile the file: each starts where the previous one ended, and its
//!   `raw` bytes are exactly the file's bytes there;
//! * every error names a byte offset inside the file, and iterators stop
//!   after their first error;
//! * decoded views agree with themselves (`len()` matches what iteration
//!   yields, integer items are canonical decimal text, scores are not NaN,
//!   consumer PEL entries are in their group's PEL);
//! * the streaming reader, fed in small random chunks, yields exactly the
//!   records and the error of the slice reader;
//! * the sub-decoders (LZF, ziplist, listpack, intset, zipmap) agree with
//!   themselves and give the same verdict when reached through a real file.
//!
//! The module uses only `std`, `rdbkit_parser` and the writer's length
//! encoder (`rdbkit_writer::length`), so that it can be compiled into both
//! crates with `#[path]` (the parser has the writer as a dev-dependency).

#![allow(dead_code, unreachable_pub)]

use std::collections::HashSet;
use std::io::{self, Read};

use rdbkit_parser::intset::Intset;
use rdbkit_parser::listpack::Listpack;
use rdbkit_parser::lzf::{self, LzfError};
use rdbkit_parser::ziplist::Ziplist;
use rdbkit_parser::zipmap::Zipmap;
use rdbkit_parser::{
    Error, HEADER_LEN, Item, Limits, RawValue, RdbReader, ReaderOptions, Record, RecordKind,
    StreamingReader, Value, crc64,
};

/// The fuzz targets, by name (also the names of the `fuzz/corpus/` folders).
pub const TARGETS: &[&str] = &[
    "parse_file",
    "streaming_differential",
    "lzf",
    "ziplist",
    "listpack",
    "intset",
    "zipmap",
    "length_string",
];

/// Run the check of target `name` on `data`; `false` for an unknown name.
pub fn run_target(name: &str, data: &[u8]) -> bool {
    match name {
        "parse_file" => parse_file(data),
        "streaming_differential" => streaming_differential(data),
        "lzf" => lzf(data),
        "ziplist" => ziplist(data),
        "listpack" => listpack(data),
        "intset" => intset(data),
        "zipmap" => zipmap(data),
        "length_string" => length_string(data),
        _ => return false,
    }
    true
}

fn options(verify_checksum: bool) -> ReaderOptions {
    ReaderOptions {
        limits: Limits::small(),
        verify_checksum,
    }
}

// ---------------------------------------------------------------------------
// Building small files

/// An RDB length (`LEN`) in its shortest form, by the writer's encoder (as
/// `rdbkit_testkit::build::len`; the fuzz crate does not depend on the
/// testkit, which runs servers).
pub fn len_bytes(n: u64) -> Vec<u8> {
    let mut buf = [0u8; 9];
    // RDB 12 has the 64-bit form: every length can be encoded.
    let used =
        rdbkit_writer::length::encode_len(n, rdbkit_parser::RdbVersion(12), &mut buf).unwrap_or(0);
    buf[..used].to_vec()
}

/// A raw RDB string: `LEN` + bytes.
pub fn str_bytes(s: &[u8]) -> Vec<u8> {
    let mut v = len_bytes(s.len() as u64);
    v.extend_from_slice(s);
    v
}

/// A whole file: `header` (9 bytes, e.g. `b"REDIS0012"`), `body`, EOF and a
/// correct CRC-64 when the version has one.
pub fn rdb_file(header: &[u8; 9], body: &[u8]) -> Vec<u8> {
    let mut f = header.to_vec();
    f.extend_from_slice(body);
    f.push(0xff);
    let has_crc = match rdbkit_parser::parse_header(header) {
        Ok(v) => v.has_checksum(),
        Err(_) => true,
    };
    if has_crc {
        let crc = crc64::crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
    }
    f
}

/// A key record: `type`, key, and the value body as given.
pub fn key_record(ty: u8, key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend_from_slice(&str_bytes(key));
    v.extend_from_slice(body);
    v
}

// ---------------------------------------------------------------------------
// Invariants of errors, items and values

/// Every error names a byte offset inside the input.
pub fn check_error(e: &Error, input_len: usize) {
    let shown = e.to_string();
    assert!(
        shown.starts_with("at byte offset "),
        "error without an offset: {shown}"
    );
    assert!(
        e.offset() <= input_len as u64,
        "error offset {} past the end of the {input_len}-byte input: {shown}",
        e.offset()
    );
}

/// An item's views agree: `len()` is the length of its bytes, and an item
/// that reads as an integer is that integer's canonical decimal text.
fn check_item(item: &Item<'_>) {
    let bytes = item.to_bytes();
    assert_eq!(
        item.len(),
        bytes.len(),
        "Item::len disagrees with its bytes"
    );
    assert_eq!(item.is_empty(), bytes.is_empty());
    if let Some(v) = item.as_i64() {
        assert_eq!(
            v.to_string().as_bytes(),
            &bytes[..],
            "non-canonical integer item"
        );
    }
    if let Item::Int(i) = item {
        assert_eq!(item.as_i64(), Some(*i));
    }
    let mut out = Vec::new();
    item.append_to(&mut out);
    assert_eq!(out, &bytes[..]);
}

/// Drain `it`, calling `f` on each element. After an error the iterator must
/// be finished. Returns the count of elements, or the error.
fn drain<T>(
    mut it: impl Iterator<Item = rdbkit_parser::Result<T>>,
    input_len: usize,
    mut f: impl FnMut(T),
) -> Result<u64, Error> {
    let mut n = 0u64;
    while let Some(r) = it.next() {
        match r {
            Ok(v) => {
                f(v);
                n += 1;
            }
            Err(e) => {
                check_error(&e, input_len);
                assert!(it.next().is_none(), "iterator yielded more after an error");
                return Err(e);
            }
        }
    }
    Ok(n)
}

/// `len()` of a collection agrees with what iteration yields (when both work).
fn check_len(len: rdbkit_parser::Result<u64>, walked: &Result<u64, Error>, input_len: usize) {
    match (&len, walked) {
        (Ok(l), Ok(w)) => assert_eq!(l, w, "len() disagrees with iteration"),
        (Err(e), _) => check_error(e, input_len),
        _ => {}
    }
}

type Members = Result<Vec<Vec<u8>>, Error>;

/// Every member's bytes, by the iterator.
fn members_of<T>(
    it: rdbkit_parser::Result<impl Iterator<Item = rdbkit_parser::Result<T>>>,
    member: impl Fn(T) -> Vec<u8>,
) -> Members {
    it?.map(|r| r.map(&member)).collect()
}

/// The fast checked walks (`try_for_each_*`, `next_id`) agree with the
/// iterators: the same members in the same order, and an error exactly
/// when the iterator meets one.
fn fast_walks(value: &Value<'_>) {
    let mut seen = Vec::new();
    let mut push = |i: &Item<'_>| {
        seen.push(i.to_bytes().into_owned());
        true
    };
    let bytes = |i: Item<'_>| i.to_bytes().into_owned();
    let (fast, slow) = match value {
        Value::List(l) => match l.iter() {
            Ok(mut it) => (
                it.try_for_each_checked(&mut push),
                members_of(l.iter(), bytes),
            ),
            Err(_) => return,
        },
        Value::Set(s) => match s.iter() {
            Ok(mut it) => (
                it.try_for_each_checked(&mut push),
                members_of(s.iter(), bytes),
            ),
            Err(_) => return,
        },
        Value::ZSet(z) => match z.iter() {
            Ok(mut it) => (
                it.try_for_each_member(&mut push),
                members_of(z.iter(), |(m, _)| bytes(m)),
            ),
            Err(_) => return,
        },
        Value::Hash(h) => match h.iter() {
            Ok(mut it) => (
                it.try_for_each_field(&mut push),
                members_of(h.iter(), |f| bytes(f.field)),
            ),
            Err(_) => return,
        },
        Value::Stream(s) => {
            let mut ids = s.entries();
            let mut fast = Vec::new();
            let fast = loop {
                match ids.next_id() {
                    None => break Ok(fast),
                    Some(Ok(id)) => fast.push(id),
                    Some(Err(e)) => break Err(e),
                }
            };
            let slow: Result<Vec<_>, Error> =
                s.entries().map(|r| r.map(|e| (e.id, e.deleted))).collect();
            match (fast, slow) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "next_id differs from the entries"),
                (Err(_), Err(_)) => {}
                (a, b) => panic!("next_id {a:?} but entries {b:?}"),
            }
            return;
        }
        _ => return,
    };
    match (fast, slow) {
        (Ok(Some(n)), Ok(members)) => {
            assert_eq!(
                n,
                members.len() as u64,
                "fast walk count differs from the iterator's"
            );
            assert_eq!(seen, members, "fast walk members differ");
        }
        (Err(_), Err(_)) => {}
        (fast, slow) => panic!("fast walk {fast:?} but iterator {slow:?}"),
    }
}

/// Decode a value completely, checking every view on the way.
pub fn check_value(raw: &RawValue<'_>, input_len: usize) {
    let _ = raw.kind();
    let _ = raw.encoding_name();
    assert!(raw.offset() as usize + raw.body().len() <= input_len);
    // The scratch-buffer string decode agrees with the allocating one.
    let mut scratch = b"left over".to_vec();
    let into = raw
        .decode_string_into(&mut scratch)
        .map(|s| s.map(<[u8]>::to_vec));
    match (&into, raw.decode()) {
        (Ok(Some(a)), Ok(Value::String(b))) => assert_eq!(a[..], b[..], "string decodes differ"),
        (Ok(None), Ok(v)) => assert!(!matches!(v, Value::String(_)), "a string was not seen"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (Ok(None), Err(_)) => assert_ne!(raw.ty().0, 0, "a string failed only in decode"),
        (a, b) => panic!("string decode {a:?} but decode {b:?}"),
    }
    // The copy-free check of a string (what verify uses) says what
    // decoding says.
    match (raw.check_string(), &into) {
        (Ok(is), Ok(s)) => assert_eq!(is, s.is_some(), "check_string saw another type"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("check_string {a:?} but decode_string_into {b:?}"),
    }
    let value = match raw.decode() {
        Ok(v) => v,
        Err(e) => {
            check_error(&e, input_len);
            return;
        }
    };
    let _ = value.kind();
    fast_walks(&value);
    match value {
        Value::String(_) => {}
        Value::List(l) => {
            if let Some(nodes) = l.nodes() {
                for n in nodes {
                    let _ = (n.container(), n.data().map(|d| d.len()));
                }
            }
            match l.iter() {
                Ok(it) => {
                    let walked = drain(it, input_len, |i| check_item(&i));
                    check_len(l.len(), &walked, input_len);
                    if let (Ok(e), Ok(n)) = (l.is_empty(), &walked) {
                        assert_eq!(e, *n == 0);
                    }
                }
                Err(e) => check_error(&e, input_len),
            }
        }
        Value::Set(s) => match s.iter() {
            Ok(it) => {
                let walked = drain(it, input_len, |i| check_item(&i));
                check_len(s.len(), &walked, input_len);
            }
            Err(e) => check_error(&e, input_len),
        },
        Value::ZSet(z) => match z.iter() {
            Ok(it) => {
                let walked = drain(it, input_len, |(m, score)| {
                    check_item(&m);
                    assert!(!score.is_nan(), "NaN score yielded");
                });
                check_len(z.len(), &walked, input_len);
            }
            Err(e) => check_error(&e, input_len),
        },
        Value::Hash(h) => {
            let _ = (h.has_field_ttls(), h.min_expire());
            match h.iter() {
                Ok(it) => {
                    let ttls = h.has_field_ttls();
                    let walked = drain(it, input_len, |f| {
                        check_item(&f.field);
                        check_item(&f.value);
                        assert!(
                            ttls || f.expire_ms.is_none(),
                            "TTL on a hash without field TTLs"
                        );
                    });
                    check_len(h.len(), &walked, input_len);
                }
                Err(e) => check_error(&e, input_len),
            }
        }
        Value::Stream(s) => {
            for n in &s.nodes {
                assert!(n.offset() as usize <= input_len);
                let _ = n.listpack().len();
            }
            for g in &s.groups {
                let pel: HashSet<_> = g.pending.iter().map(|p| p.id).collect();
                assert_eq!(
                    pel.len(),
                    g.pending.len(),
                    "duplicate group PEL entry accepted"
                );
                for c in &g.consumers {
                    for id in &c.pending {
                        assert!(
                            pel.contains(id),
                            "consumer PEL entry {id} not in the group PEL"
                        );
                    }
                }
            }
            let _ = drain(s.entries(), input_len, |e| {
                for (f, v) in &e.fields {
                    check_item(f);
                    check_item(v);
                }
            });
        }
        Value::Module(m) => {
            let _ = m.id.name();
            let _ = m.id.encver();
            match m.items() {
                Ok(items) => assert!(items.len() <= m.raw_items().len()),
                Err(e) => check_error(&e, input_len),
            }
        }
    }
}

fn check_record(rec: &Record<'_>, input_len: usize) {
    match &rec.kind {
        RecordKind::Entry(e) => {
            let _ = (e.db, e.expire_ms, e.lru_idle, e.lfu_freq, e.key.len());
            if let Some(m) = &e.key_meta {
                assert!((1..=7).contains(&m.classes));
            }
            check_value(&e.value, input_len);
        }
        RecordKind::Function(f) => {
            let _ = (f.engine(), f.library_name(), f.pre_ga);
        }
        RecordKind::ModuleAux(a) => {
            let _ = (a.id.name(), a.when, a.items.len());
        }
        RecordKind::SlotImport { ranges, .. } => {
            assert!(ranges.len() * 2 <= rec.raw.len());
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// parse_file

/// What a walk over a file saw: each record's offset and length, and the
/// error that ended it, if any.
#[derive(Debug, PartialEq)]
struct Walk {
    records: Vec<(u64, usize)>,
    error: Option<String>,
    eof: bool,
}

fn walk(data: &[u8], verify_checksum: bool, decode: bool) -> Walk {
    let mut w = Walk {
        records: Vec::new(),
        error: None,
        eof: false,
    };
    let mut reader = match RdbReader::with_options(data, options(verify_checksum)) {
        Ok(r) => r,
        Err(e) => {
            check_error(&e, data.len());
            assert!(data.len() < HEADER_LEN || e.offset() < HEADER_LEN as u64);
            w.error = Some(e.to_string());
            return w;
        }
    };
    let mut expect = HEADER_LEN as u64;
    assert_eq!(reader.offset(), expect);
    assert!(reader.trailing().is_none());
    loop {
        match reader.next_record() {
            Ok(None) => panic!("reader ended without EOF or an error"),
            Ok(Some(rec)) => {
                assert_eq!(rec.offset, expect, "records do not tile the file");
                assert!(!rec.raw.is_empty(), "empty record");
                let at = rec.offset as usize;
                assert_eq!(
                    data.get(at..at + rec.raw.len()),
                    Some(rec.raw),
                    "raw bytes differ from the file"
                );
                expect += rec.raw.len() as u64;
                w.records.push((rec.offset, rec.raw.len()));
                if decode {
                    check_record(&rec, data.len());
                }
                if let RecordKind::Eof { .. } = rec.kind {
                    w.eof = true;
                    let rest = data.get(expect as usize..).unwrap_or_default();
                    assert_eq!(
                        reader.trailing(),
                        Some(rest),
                        "trailing() is not what follows the trailer"
                    );
                    assert!(
                        matches!(reader.next_record(), Ok(None)),
                        "records after EOF"
                    );
                    return w;
                }
                assert_eq!(reader.offset(), expect);
            }
            Err(e) => {
                check_error(&e, data.len());
                assert!(
                    e.offset() >= expect,
                    "error at {} inside an already returned record (next record at {expect})",
                    e.offset()
                );
                assert!(
                    matches!(reader.next_record(), Ok(None)),
                    "reader not fused after an error"
                );
                w.error = Some(e.to_string());
                return w;
            }
        }
    }
}

/// Target `parse_file`: the input is a whole file. Every record is read and
/// every value decoded and drained, under [`Limits::small`]. The walk with
/// checksum verification sees the same records; it may only differ at EOF.
pub fn parse_file(data: &[u8]) {
    let unchecked = walk(data, false, true);
    let checked = walk(data, true, false);
    if checked != unchecked {
        // The only allowed difference: a checksum mismatch in place of EOF.
        assert!(
            unchecked.eof && !checked.eof,
            "checksum verification changed the walk"
        );
        assert_eq!(
            checked.records[..],
            unchecked.records[..unchecked.records.len() - 1]
        );
        let err = checked.error.unwrap_or_default();
        assert!(
            err.contains("checksum mismatch"),
            "unexpected error with verification: {err}"
        );
    }
}

// ---------------------------------------------------------------------------
// streaming_differential

/// A reader that hands out the data in small chunks chosen by a PRNG, and
/// now and then fails with `Interrupted` (which readers must retry).
struct Chunked<'a> {
    data: &'a [u8],
    state: u64,
    max: usize,
}

impl Chunked<'_> {
    fn next_rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = self.next_rand();
        if r.is_multiple_of(13) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "try again"));
        }
        let n = ((r >> 8) as usize % self.max + 1)
            .min(buf.len())
            .min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = rest;
        Ok(n)
    }
}

/// Target `streaming_differential`: the first byte seeds the chunking (and
/// picks checksum verification), the rest is a file. The slice reader and the
/// [`StreamingReader`] must yield the same records (offset and raw bytes) and
/// end the same way (EOF, or the same error).
pub fn streaming_differential(data: &[u8]) {
    let Some((&seed, file)) = data.split_first() else {
        return;
    };
    let verify = seed & 1 == 1;
    let mut slice = Vec::new();
    let slice_end = match RdbReader::with_options(file, options(verify)) {
        Err(e) => Err(e.to_string()),
        Ok(mut r) => loop {
            match r.next_record() {
                Ok(Some(rec)) => slice.push((rec.offset, rec.raw.to_vec())),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        },
    };
    let src = Chunked {
        data: file,
        state: u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        max: [1, 2, 3, 7, 16, 64, 300, 4096][usize::from(seed >> 5)],
    };
    let mut streamed = Vec::new();
    let stream_end = match StreamingReader::with_options(src, options(verify)) {
        Err(e) => Err(e.to_string()),
        Ok(mut r) => loop {
            match r.next_record() {
                Ok(Some(rec)) => streamed.push((rec.offset, rec.raw.to_vec())),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.to_string()),
            }
        },
    };
    assert_eq!(slice, streamed, "the streaming reader saw other records");
    assert_eq!(
        slice_end, stream_end,
        "the streaming reader ended otherwise"
    );
}

// ---------------------------------------------------------------------------
// lzf

/// Target `lzf`. Byte 0 bit 7 set: bytes 1..5 are a claimed output length
/// (u32 LE), the rest compressed data. Otherwise the rest is compressed data
/// decoded with the largest possible claim, and the true length is learned
/// from the mismatch. Decoding must not depend on what `out` already holds,
/// a mismatch of `produced` bytes must decode exactly at that length, and the
/// same string inside a file must decode to the same bytes.
pub fn lzf(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (claimed, input) = if mode & 0x80 != 0 {
        let Some((len, input)) = rest.split_first_chunk::<4>() else {
            return;
        };
        (u32::from_le_bytes(*len) as usize, input)
    } else {
        (lzf::max_decompressed_len(rest.len()), rest)
    };
    let mut out = Vec::new();
    let r = lzf::decompress_into(input, &mut out, claimed);
    let mut prefixed = b"prefix".to_vec();
    let r2 = lzf::decompress_into(input, &mut prefixed, claimed);
    assert_eq!(
        r, r2,
        "LZF result depends on the output buffer's prior contents"
    );
    // The copy-free check must say exactly what decoding says.
    if !matches!(r, Err(LzfError::AllocationFailed { .. })) {
        assert_eq!(lzf::validate(input, claimed), r, "validate disagrees");
    }
    assert!(out.len() <= claimed);
    let decoded = match r {
        Ok(()) => {
            assert_eq!(out.len(), claimed);
            Some(out.clone())
        }
        Err(LzfError::LengthMismatch { produced, expected }) => {
            assert_eq!(expected, claimed);
            assert!(out.is_empty(), "output not restored after an error");
            // The stream's true length must decode cleanly.
            let mut exact = Vec::new();
            let r3 = lzf::decompress_into(input, &mut exact, produced);
            assert_eq!(
                r3,
                Ok(()),
                "a stream that produced {produced} bytes fails at that length"
            );
            Some(exact)
        }
        Err(e) => {
            assert!(out.is_empty(), "output not restored after an error");
            assert!(!e.to_string().is_empty());
            None
        }
    };
    assert_eq!(&prefixed[..6], b"prefix");
    assert_eq!(
        &prefixed[6..],
        &out[..],
        "LZF output depends on the output buffer's prior contents"
    );
    // The compressor round-trips whatever it accepts, and shrinks it.
    let mut packed = Vec::new();
    if let Some(n) = lzf::compress(rest, &mut packed) {
        assert_eq!(n, packed.len());
        assert!(n < rest.len());
        let mut back = Vec::new();
        assert_eq!(lzf::decompress_into(&packed, &mut back, rest.len()), Ok(()));
        assert_eq!(back, rest, "compress/decompress round trip");
    } else {
        assert!(packed.is_empty());
    }

    // The same bytes as an LZF-encoded string value in a file.
    let want = match (mode & 0x80 != 0, &decoded) {
        (true, _) => claimed as u64,
        (false, Some(d)) => d.len() as u64,
        (false, None) => 1,
    };
    let mut body = vec![0xc3];
    body.extend_from_slice(&len_bytes(input.len() as u64));
    body.extend_from_slice(&len_bytes(want));
    body.extend_from_slice(input);
    let file = rdb_file(b"REDIS0009", &key_record(0, b"k", &body));
    let mut reader = RdbReader::with_options(&file, options(true)).expect("header");
    match reader.next_record() {
        Ok(Some(Record {
            kind: RecordKind::Entry(e),
            ..
        })) => {
            let v = e.value.decode();
            match (&v, &decoded) {
                (Ok(Value::String(s)), Some(d)) if d.len() as u64 == want => {
                    assert_eq!(&s[..], &d[..])
                }
                (Ok(Value::String(s)), _) => {
                    panic!("file decoded {} bytes where lzf did not", s.len())
                }
                (Ok(_), _) => panic!("a string decoded as another type"),
                (Err(e), _) => check_error(e, file.len()),
            }
        }
        other => panic!("the string record was not read: {other:?}"),
    }
    parse_file(&file);
}

// ---------------------------------------------------------------------------
// Blob decoders: direct, then inside a file as every type that holds them

fn blob_in_file(header: &[u8; 9], records: &[(u8, Vec<u8>)], must_parse: bool) {
    let mut body = Vec::new();
    for (i, (ty, v)) in records.iter().enumerate() {
        body.extend_from_slice(&key_record(*ty, format!("k{i}").as_bytes(), v));
    }
    let file = rdb_file(header, &body);
    // The structural walk reads a blob as one string, so every record parses;
    // decoding is where the blob is checked.
    let w = walk(&file, true, true);
    if must_parse {
        assert!(
            w.eof && w.error.is_none(),
            "file around a blob did not parse: {:?}",
            w.error
        );
    }
}

/// Target `ziplist`: the input is a ziplist blob.
pub fn ziplist(data: &[u8]) {
    match Ziplist::parse(data, 0) {
        Ok(z) => {
            let hint = z.len_hint();
            let walked = drain(z.entries(), data.len(), |i| {
                check_item(&i);
                assert!(i.to_bytes().len() < data.len() || matches!(i, Item::Int(_)));
            });
            if let (Ok(n), Some(h)) = (&walked, hint) {
                assert_eq!(*n, h, "ziplist count differs from zllen");
            }
        }
        Err(e) => check_error(&e, data.len()),
    }
    let s = str_bytes(data);
    let mut quicklist = len_bytes(1);
    quicklist.extend_from_slice(&s);
    blob_in_file(
        b"REDIS0009",
        &[(10, s.clone()), (12, s.clone()), (13, s), (14, quicklist)],
        true,
    );
}

/// Target `listpack`: the input is a listpack blob.
pub fn listpack(data: &[u8]) {
    match Listpack::parse(data, 0) {
        Ok(l) => {
            assert_eq!(l.as_bytes(), data);
            let hint = l.len_hint();
            let mut entries = l.entries();
            let walked = drain(&mut entries, data.len(), |i| check_item(&i));
            assert!(entries.is_done());
            if let (Ok(n), Some(h)) = (&walked, hint) {
                assert_eq!(*n, h, "listpack count differs from its header");
            }
        }
        Err(e) => check_error(&e, data.len()),
    }
    let s = str_bytes(data);
    let mut quicklist = len_bytes(1);
    quicklist.extend_from_slice(&len_bytes(2));
    quicklist.extend_from_slice(&s);
    let mut hash_ex = 1_700_000_000_000i64.to_le_bytes().to_vec();
    hash_ex.extend_from_slice(&s);
    // A stream with the listpack as its one node.
    let mut stream = len_bytes(1);
    stream.extend_from_slice(&str_bytes(&[
        0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]));
    stream.extend_from_slice(&s);
    stream.extend_from_slice(&[1, 0x40, 0x10, 0]); // length 1, last ID 4096-0
    stream.extend_from_slice(&[1, 0, 0, 0, 1, 0]); // first ID, max deleted, entries added 1, no groups
    blob_in_file(
        b"REDIS0012",
        &[
            (16, s.clone()),
            (17, s.clone()),
            (20, s.clone()),
            (18, quicklist),
            (25, hash_ex),
            (23, s),
            (21, stream),
        ],
        // The structural walk refuses stream nodes of 7 bytes or less.
        data.len() > 7,
    );
}

/// Target `intset`: the input is an intset blob.
pub fn intset(data: &[u8]) {
    match Intset::parse(data, 0) {
        Ok(s) => {
            assert!(!s.is_empty());
            assert!(matches!(s.width(), 2 | 4 | 8));
            let mut prev = None;
            let walked = drain(s.entries(), data.len(), |v| {
                assert!(prev < Some(v), "intset not ascending");
                prev = Some(v);
            });
            if let Ok(n) = walked {
                assert_eq!(n, s.len() as u64);
            }
        }
        Err(e) => check_error(&e, data.len()),
    }
    blob_in_file(b"REDIS0009", &[(11, str_bytes(data))], true);
}

/// Target `zipmap`: the input is a zipmap blob.
pub fn zipmap(data: &[u8]) {
    match Zipmap::parse(data, 0) {
        Ok(z) => {
            let hint = z.len_hint();
            let walked = drain(z.entries(), data.len(), |i| check_item(&i));
            if let (Ok(n), Some(h)) = (&walked, hint) {
                assert_eq!(*n, 2 * h, "zipmap pair count differs from zmlen");
            }
        }
        Err(e) => check_error(&e, data.len()),
    }
    blob_in_file(b"REDIS0003", &[(9, str_bytes(data))], true);
}

// ---------------------------------------------------------------------------
// length_string

const HEADERS: [&[u8; 9]; 8] = [
    b"REDIS0003",
    b"REDIS0006",
    b"REDIS0008",
    b"REDIS0009",
    b"REDIS0011",
    b"REDIS0012",
    b"REDIS0013",
    b"VALKEY080",
];

/// Target `length_string`: a tiny file with one key whose value body (type 0,
/// a string, for byte 0 below 0x80; else type `byte0 & 0x1f`, in the file
/// version picked by byte 1) is the rest of the input, so that lengths and
/// string encodings are fuzzed in place. The file then goes through the
/// `parse_file` and `streaming_differential` checks.
pub fn length_string(data: &[u8]) {
    let [b0, b1, body @ ..] = data else {
        return;
    };
    let ty = if b0 & 0x80 == 0 { 0 } else { b0 & 0x1f };
    let header = HEADERS[usize::from(b1 & 7)];
    let file = rdb_file(header, &key_record(ty, b"key", body));
    parse_file(&file);
    let mut seeded = vec![*b1];
    seeded.extend_from_slice(&file);
    streaming_differential(&seeded);
}
