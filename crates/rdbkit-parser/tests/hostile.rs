//! Hostile input: truncated and mutated real files, absurd claimed sizes, and
//! hand-crafted files that break each rule of the format. The parser must
//! answer every one with records or an error that names a byte offset: never
//! a panic, never a hang, never an allocation the input cannot justify.
//!
//! Everything here is deterministic (a fixed xorshift PRNG) and sized to run
//! in a few seconds in a debug build.

use std::time::{Duration, Instant};

use rdbkit_parser::listpack::encode_backlen;
use rdbkit_parser::*;

use crate::fixtures::fixtures;
use crate::fuzz_corpus::checks::{self, key_record, len_bytes, rdb_file, str_bytes};

// ---------------------------------------------------------------------------
// Helpers

/// Counts what the current thread allocates, to show that a claimed size is
/// never allocated up front. Wraps the system allocator for this test binary.
mod meter {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    pub(crate) struct Meter;

    thread_local! {
        static LARGEST: Cell<usize> = const { Cell::new(0) };
        static TOTAL: Cell<usize> = const { Cell::new(0) };
    }

    fn note(size: usize) {
        let _ = LARGEST.try_with(|m| m.set(m.get().max(size)));
        let _ = TOTAL.try_with(|t| t.set(t.get().saturating_add(size)));
    }

    // The only unsafe code in the tests: forwarding to the system allocator.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Meter {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            // SAFETY: same contract as the caller's.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: same contract as the caller's.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            // SAFETY: same contract as the caller's.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static METER: Meter = Meter;

    /// Run `f`; return its result, the largest single allocation and the total
    /// bytes allocated by this thread meanwhile.
    pub(crate) fn measure<R>(f: impl FnOnce() -> R) -> (R, usize, usize) {
        LARGEST.with(|m| m.set(0));
        let before = TOTAL.with(Cell::get);
        let r = f();
        (r, LARGEST.with(Cell::get), TOTAL.with(Cell::get) - before)
    }
}

use meter::measure;

/// A deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn small() -> ReaderOptions {
    ReaderOptions {
        limits: Limits::small(),
        verify_checksum: true,
    }
}

fn with_limits(limits: Limits) -> ReaderOptions {
    ReaderOptions {
        limits,
        verify_checksum: true,
    }
}

/// Every record of `data`, or the first error.
fn records(data: &[u8], opts: ReaderOptions) -> Result<Vec<Record<'_>>> {
    RdbReader::with_options(data, opts)?.collect()
}

/// The error that ends `data` (panics if the file reads clean). Checks that
/// the error names its offset and that the reader is fused after it.
fn file_error(data: &[u8], opts: ReaderOptions) -> Error {
    let mut r = match RdbReader::with_options(data, opts) {
        Ok(r) => r,
        Err(e) => return checked(e, data.len()),
    };
    loop {
        match r.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("file read without error"),
            Err(e) => {
                assert!(matches!(r.next_record(), Ok(None)), "reader not fused");
                return checked(e, data.len());
            }
        }
    }
}

fn checked(e: Error, len: usize) -> Error {
    checks::check_error(&e, len);
    e
}

/// Decode the value of the only key record of `data`.
fn only_value(data: &[u8], opts: ReaderOptions) -> RawValue<'_> {
    let recs = records(data, opts).unwrap_or_else(|e| panic!("structural walk failed: {e}"));
    let mut values = recs.into_iter().filter_map(|r| match r.kind {
        RecordKind::Entry(e) => Some(e.value),
        _ => None,
    });
    values.next().expect("a key record")
}

/// Decode a value completely; the first error anywhere.
fn decode_fully(v: &RawValue<'_>) -> Result<u64> {
    crate::fixtures::decode_all(v)
}

fn timed<R>(what: &str, limit: Duration, f: impl FnOnce() -> R) -> R {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    assert!(took < limit, "{what} took {took:?} (limit {limit:?})");
    r
}

/// A listpack of raw element encodings (each gets its backlen).
fn listpack(elements: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elements {
        body.extend_from_slice(e);
        let mut b = [0u8; 5];
        let n = encode_backlen(e.len() as u64, &mut b);
        body.extend_from_slice(&b[..n]);
    }
    let mut out = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(elements.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

/// A listpack string element.
fn lp_str(s: &[u8]) -> Vec<u8> {
    assert!(s.len() < 64);
    let mut v = vec![0x80 | s.len() as u8];
    v.extend_from_slice(s);
    v
}

/// A listpack 64-bit integer element.
fn lp_i64(v: i64) -> Vec<u8> {
    let mut e = vec![0xf4];
    e.extend_from_slice(&v.to_le_bytes());
    e
}

/// A ziplist of raw entry encodings (each gets its prevlen).
fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = 10;
    for e in entries {
        tail = 10 + body.len();
        let start = body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xfe);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        body.extend_from_slice(e);
        prev = body.len() - start;
    }
    let mut out = ((10 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

/// A file without EOF and checksum: the header and `body` only.
fn no_eof(header: &[u8; 9], body: &[u8]) -> Vec<u8> {
    [&header[..], body].concat()
}

/// 2^60 as a 9-byte length.
fn huge() -> Vec<u8> {
    len_bytes(1 << 60)
}

// ---------------------------------------------------------------------------
// Truncation

/// (start, end) of every record of a clean file.
fn boundaries(data: &[u8]) -> Vec<(usize, usize)> {
    records(data, small())
        .expect("fixture")
        .iter()
        .map(|r| (r.offset as usize, r.offset as usize + r.raw.len()))
        .collect()
}

/// A cut file must end in a truncation error at or before the cut, inside
/// the record the cut falls in; the streaming reader must agree.
fn check_cut(data: &[u8], cut: usize, record_start: usize, stream_too: bool) {
    let prefix = &data[..cut];
    let e = file_error(prefix, small());
    assert!(
        e.is_truncated(),
        "cut at {cut}: not a truncation error: {e}"
    );
    assert!(
        (record_start.min(cut) as u64..=cut as u64).contains(&e.offset()),
        "cut at {cut} in the record at {record_start}: error at {}: {e}",
        e.offset()
    );
    if stream_too {
        let s = match StreamingReader::with_options(prefix, small()) {
            Err(e) => e,
            Ok(mut r) => loop {
                match r.next_record() {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        panic!("cut at {cut}: streaming reader read a truncated file clean")
                    }
                    Err(e) => break e,
                }
            },
        };
        assert_eq!(
            s.to_string(),
            e.to_string(),
            "cut at {cut}: readers disagree"
        );
    }
}

#[test]
fn truncated_fixtures_fail_as_truncated() {
    for (name, data) in fixtures() {
        let bounds = boundaries(&data);
        let start_of = |cut: usize| {
            bounds
                .iter()
                .find(|(s, e)| (*s..*e).contains(&cut))
                .map_or(0, |(s, _)| *s)
        };
        // Every offset of the first 4 KiB, a stride over the rest, and every
        // cut inside the checksum trailer: on the whole prefix.
        let head = data.len().min(4096);
        let stride = (data.len() / 64).max(1);
        let mut cuts: Vec<usize> = (0..head).collect();
        cuts.extend((head..data.len()).step_by(stride));
        cuts.extend(data.len() - 8..data.len());
        for (i, &cut) in cuts.iter().enumerate() {
            check_cut(&data, cut, start_of(cut), i % 16 == 0 || cut >= head);
        }
        // Around every record boundary and in the middle of every record: on
        // the header plus that record only (records do not depend on earlier
        // ones except for the db number), so that this stays fast.
        for &(s, e) in &bounds {
            let mut window = data[..HEADER_LEN].to_vec();
            window.extend_from_slice(&data[s..e]);
            let len = e - s;
            let mut inner: Vec<usize> = (0..len.min(3)).collect();
            inner.extend(len.saturating_sub(3)..len);
            inner.push(len / 2);
            for cut in inner {
                let w = &window[..HEADER_LEN + cut];
                let err = file_error(w, small());
                assert!(
                    err.is_truncated(),
                    "{name}: record at {s} cut after {cut} bytes: {err}"
                );
                assert!(
                    err.offset() >= HEADER_LEN as u64 && err.offset() <= (HEADER_LEN + cut) as u64
                );
            }
        }
        // Missing EOF: the file without its last record is truncated.
        let (eof_start, _) = *bounds.last().unwrap();
        assert!(
            file_error(&data[..eof_start], small()).is_truncated(),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------
// Mutation

fn mutate(rng: &mut Rng, data: &mut Vec<u8>, lo: usize, hi: usize) {
    const INTERESTING: [u8; 12] = [
        0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0x81, 0xbf, 0xc0, 0xc3, 0xfe, 0xff,
    ];
    let hi = hi.min(data.len());
    if lo >= hi {
        return;
    }
    let at = lo + rng.below(hi - lo);
    match rng.below(7) {
        0 => data[at] ^= 1 << rng.below(8),
        1 => data[at] = rng.next() as u8,
        2 => data[at] = INTERESTING[rng.below(INTERESTING.len())],
        3 => {
            let n = 1 + rng.below(8);
            let b = rng.next() as u8;
            for _ in 0..n {
                data.insert(at, b);
            }
        }
        4 => {
            let n = (1 + rng.below(8)).min(data.len() - at);
            data.drain(at..at + n);
        }
        5 => {
            // A length field pushed to an extreme: 32/64-bit forms.
            let big: &[u8] = if rng.below(2) == 0 {
                &[0x80, 0xff, 0xff, 0xff, 0xff]
            } else {
                &[0x81, 0x10, 0, 0, 0, 0, 0, 0, 0]
            };
            data.splice(at..at + 1, big.iter().copied());
        }
        _ => {
            // Splice in bytes from elsewhere in the file.
            let from = rng.below(data.len());
            let n = (1 + rng.below(32)).min(data.len() - from);
            let chunk = data[from..from + n].to_vec();
            let to = (at + n).min(data.len());
            data.splice(at..to, chunk);
        }
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut cases = 0;
    for (name, data) in fixtures() {
        let bounds = boundaries(&data);
        // Each record, mutated in place, in a window of that record and the next.
        for (k, &(s, e)) in bounds.iter().enumerate() {
            if e == data.len() {
                continue; // EOF: covered by the checksum tests
            }
            let next_end = bounds.get(k + 1).map_or(e, |b| b.1).min(data.len() - 9);
            let mut body = data[s..next_end].to_vec();
            let rec_len = e - s;
            for _ in 0..3 {
                let mut window = rdb_file(data[..HEADER_LEN].try_into().unwrap(), &body);
                let n = 1 + rng.below(3);
                for _ in 0..n {
                    mutate(&mut rng, &mut window, HEADER_LEN, HEADER_LEN + rec_len);
                }
                cases += 1;
                let r = std::panic::catch_unwind(|| {
                    timed("one mutated record", Duration::from_secs(2), || {
                        checks::parse_file(&window)
                    });
                });
                assert!(
                    r.is_ok(),
                    "{name}: record at {s} mutated: {:02x?}",
                    &window[..window.len().min(64)]
                );
                // Keep one mutation of the record sometimes, so they stack.
                if rng.below(4) == 0 && window.len() >= 2 * HEADER_LEN {
                    body = window[HEADER_LEN..window.len() - 9].to_vec();
                }
            }
        }
        // A few whole-file mutations anywhere, every value decoded.
        for _ in 0..3 {
            let mut d = data.clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut d, 0, usize::MAX);
            }
            cases += 1;
            timed("one mutated file", Duration::from_secs(10), || {
                checks::parse_file(&d)
            });
        }
    }
    assert!(cases > 2000, "{cases} cases");
}

#[test]
fn flipped_bytes_in_whole_files_stay_bounded() {
    // One flip at many evenly spread positions of each whole file: the
    // structural walk only (decoding is covered above), with verification.
    let mut rng = Rng(77);
    for (name, data) in fixtures() {
        let step = (data.len() / 150).max(1);
        for at in (0..data.len()).step_by(step) {
            let mut d = data.clone();
            d[at] ^= 1 << rng.below(8);
            let r = timed("one flipped file", Duration::from_secs(2), || {
                records(&d, small()).map(|v| v.len())
            });
            // A flip is either caught (by structure or checksum) or hits a
            // byte the checksum covers: verified files never read clean.
            match r {
                Ok(_) => panic!("{name}: a flip at {at} read clean past the checksum"),
                Err(e) => checks::check_error(&e, d.len()),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Absurd claims

#[test]
fn lzf_claiming_4_gib_fails_fast_without_allocating() {
    // clen = 3, len = 4 GiB.
    let mut body = vec![0xc3, 3];
    body.extend_from_slice(&len_bytes(4 << 30));
    body.extend_from_slice(&[0x01, b'a', b'b']);
    let file = rdb_file(b"REDIS0009", &key_record(0, b"k", &body));
    for limits in [Limits::small(), Limits::default()] {
        let v = only_value(&file, with_limits(limits));
        let (r, largest, _) =
            measure(|| timed("4 GiB LZF", Duration::from_millis(200), || v.decode()));
        let e = r.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }), "{e}");
        assert!(largest < 1 << 20, "allocated {largest} bytes");
    }
    // With no limit at all, the 88x bound of LZF still refuses it up front.
    let unlimited = Limits {
        max_string_len: u64::MAX,
        max_elements: u64::MAX,
        max_record_len: u64::MAX,
    };
    let v = only_value(&file, with_limits(unlimited));
    let (r, largest, _) = measure(|| v.decode());
    assert!(matches!(r.unwrap_err().kind(), ErrorKind::Lzf { .. }));
    assert!(largest < 1 << 20, "allocated {largest} bytes");
    // The same claim as a key (decoded during the structural walk).
    let mut rec = vec![0, 0xc3, 3];
    rec.extend_from_slice(&len_bytes(4 << 30));
    rec.extend_from_slice(&[0x01, b'a', b'b', 0x01, b'v']);
    let file = rdb_file(b"REDIS0009", &rec);
    let (e, largest, _) = measure(|| file_error(&file, with_limits(Limits::default())));
    assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }), "{e}");
    assert!(largest < 1 << 20);
}

#[test]
fn lzf_decompress_into_never_reserves_the_claimed_size() {
    // The public decoder is given a 4 GiB claim directly: it may only reserve
    // what the input could possibly produce.
    let (r, largest, _) = measure(|| {
        let mut out = Vec::new();
        lzf::decompress_into(&[0x01, b'a', b'b'], &mut out, 4 << 30)
    });
    assert!(
        matches!(r, Err(lzf::LzfError::LengthMismatch { produced: 2, .. })),
        "{r:?}"
    );
    assert!(
        largest < 1 << 20,
        "reserved {largest} bytes for a 3-byte input"
    );
}

/// Bodies claiming 2^60 elements, by type id and file version.
fn huge_collections() -> Vec<(&'static str, &'static [u8; 9], u8, Vec<u8>)> {
    let h = huge();
    let cat = |parts: &[&[u8]]| parts.concat();
    let empty_stream_prefix: &[u8] = &[0, 0, 0, 0]; // 0 nodes, length 0, last ID 0-0
    let v3_meta: &[u8] = &[0, 0, 0, 0, 0]; // first ID, max deleted ID, entries added
    let group = cat(&[&str_bytes(b"g"), &[0, 0, 0]]); // name, last delivered, entries read
    vec![
        ("list", b"REDIS0006", 1, cat(&[&h, b"\x01a"])),
        ("set", b"REDIS0006", 2, cat(&[&h, b"\x01a"])),
        ("zset", b"REDIS0006", 3, cat(&[&h, b"\x01a\x011"])),
        ("hash", b"REDIS0006", 4, cat(&[&h, b"\x01f\x01v"])),
        ("zset2", b"REDIS0009", 5, cat(&[&h, b"\x01a"])),
        ("quicklist", b"REDIS0009", 14, cat(&[&h, b"\x01a"])),
        ("quicklist2", b"REDIS0011", 18, cat(&[&h, b"\x02\x01a"])),
        (
            "hash with TTLs",
            b"REDIS0012",
            24,
            cat(&[&[0; 8], &h, b"\x00\x01f\x01v"]),
        ),
        ("valkey hash", b"VALKEY080", 22, cat(&[&h, b"\x01f\x01v"])),
        ("stream nodes", b"REDIS0011", 21, cat(&[&h, b"\x00"])),
        (
            "stream groups",
            b"REDIS0011",
            21,
            cat(&[empty_stream_prefix, v3_meta, &h]),
        ),
        (
            "stream group PEL",
            b"REDIS0011",
            21,
            cat(&[empty_stream_prefix, v3_meta, &[1], &group, &h]),
        ),
        (
            "stream consumers",
            b"REDIS0011",
            21,
            cat(&[empty_stream_prefix, v3_meta, &[1], &group, &[0], &h]),
        ),
        (
            "stream consumer PEL",
            b"REDIS0011",
            21,
            cat(&[
                empty_stream_prefix,
                v3_meta,
                &[1],
                &group,
                &[0, 1],
                &str_bytes(b"c"),
                &[0; 16],
                &h,
            ]),
        ),
        (
            "stream IDMP producers",
            b"REDIS0013",
            26,
            cat(&[empty_stream_prefix, v3_meta, &[0, 0, 0], &h]),
        ),
    ]
}

#[test]
fn collections_claiming_2_pow_60_elements_fail_fast() {
    let no_cap = Limits {
        max_elements: u64::MAX,
        ..Limits::default()
    };
    for (what, header, ty, body) in huge_collections() {
        let file = rdb_file(header, &key_record(ty, b"k", &body));
        for (limits, want_limit) in [
            (Limits::small(), true),
            (Limits::default(), true),
            (no_cap, false),
        ] {
            let (e, largest, total) = measure(|| {
                timed(what, Duration::from_millis(200), || {
                    file_error(&file, with_limits(limits))
                })
            });
            if want_limit {
                assert!(
                    matches!(e.kind(), ErrorKind::LimitExceeded { .. }),
                    "{what}: {e}"
                );
            } else {
                // Without a cap, the count is still checked against the bytes left.
                assert!(e.is_truncated(), "{what}: {e}");
            }
            assert!(
                largest < 64 << 10 && total < 1 << 20,
                "{what}: allocated {largest} / {total} bytes"
            );
        }
    }
}

#[test]
fn max_elements_caps_real_counts() {
    // 100 elements that are all present, under a cap of 10.
    let mut body = len_bytes(100);
    for i in 0..100u8 {
        body.extend_from_slice(&str_bytes(&[i]));
    }
    let file = rdb_file(b"REDIS0006", &key_record(1, b"l", &body));
    let limits = Limits {
        max_elements: 10,
        ..Limits::small()
    };
    let e = file_error(&file, with_limits(limits));
    assert!(
        matches!(
            e.kind(),
            ErrorKind::LimitExceeded {
                requested: 100,
                limit: 10,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.offset(),
        HEADER_LEN as u64 + 3,
        "the error points at the count"
    );
    assert!(records(&file, small()).is_ok());
    // max_string_len caps LZF output.
    let mut body = vec![0xc3, 0x04, 0x40, 0xc8]; // 4 compressed bytes, claiming 200
    body.extend_from_slice(&[0x00, b'a', 0xe0, 0xff]);
    let file = rdb_file(b"REDIS0006", &key_record(0, b"s", &body));
    let limits = Limits {
        max_string_len: 100,
        ..Limits::small()
    };
    let v = only_value(&file, with_limits(limits));
    assert!(matches!(
        v.decode().unwrap_err().kind(),
        ErrorKind::LimitExceeded { requested: 200, .. }
    ));
}

// ---------------------------------------------------------------------------
// Crafted files

#[test]
fn lengths_past_the_end_are_truncation() {
    for body in [
        &b"\x10abc"[..],                            // 16-byte string, 3 present
        b"\x40\xffabc",                             // 255
        b"\x80\x00\x01\x00\x00abc",                 // 65536
        b"\x81\x7f\xff\xff\xff\xff\xff\xff\xffabc", // 2^63-1
        b"\xc3\x10\x20ab",                          // LZF, 16 compressed bytes claimed
        b"\xc1\x01",                                // INT16 with one byte
    ] {
        let file = no_eof(b"REDIS0009", &key_record(0, b"k", body));
        let e = file_error(&file, small());
        assert!(e.is_truncated(), "{body:02x?}: {e}");
    }
}

#[test]
fn invalid_length_bytes_are_rejected() {
    for b in 0x82..=0xbfu8 {
        // As the key's length.
        let file = rdb_file(b"REDIS0009", &[0, b, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'v']);
        let e = file_error(&file, small());
        assert!(
            matches!(e.kind(), ErrorKind::InvalidLength { byte } if *byte == b),
            "{e}"
        );
        assert_eq!(e.offset(), HEADER_LEN as u64 + 1);
        // As a collection count.
        let file = rdb_file(
            b"REDIS0009",
            &key_record(2, b"s", &[b, 0, 0, 0, 0, 1, b'a']),
        );
        let e = file_error(&file, small());
        assert!(matches!(e.kind(), ErrorKind::InvalidLength { .. }), "{e}");
    }
}

/// An encoded-string marker where a plain length is expected is its six low
/// bits, as `rdbLoadLen(rdb, NULL)` reads it in every loader (the real
/// loaders accept such a file: the loader differential test found it).
#[test]
fn encoded_markers_as_plain_lengths_are_six_bit_lengths() {
    let file = rdb_file(b"REDIS0009", &key_record(2, b"s", b"\xc2\x01a\x01b"));
    let mut n = 0;
    for rec in RdbReader::new(&file).unwrap() {
        if let RecordKind::Entry(e) = rec.unwrap().kind {
            let Value::Set(s) = e.value.decode().unwrap() else {
                panic!("not a set")
            };
            n = s.iter().unwrap().count();
        }
    }
    assert_eq!(n, 2);
}

#[test]
fn invalid_string_encodings_are_rejected() {
    for b in 0xc4..=0xffu8 {
        let file = rdb_file(b"REDIS0009", &key_record(0, b"k", &[b, 0, 0, 0, 0]));
        let e = file_error(&file, small());
        assert!(
            matches!(e.kind(), ErrorKind::InvalidStringEncoding { byte } if *byte == b),
            "{e}"
        );
        assert_eq!(e.offset(), HEADER_LEN as u64 + 3, "{e}");
    }
}

#[test]
fn unknown_tags_are_fatal_and_named() {
    // Type 8 (never used) and 30 (unknown): read the key, then fail on the type.
    for (header, tag) in [
        (b"REDIS0011", 8u8),
        (b"REDIS0012", 30),
        (b"VALKEY080", 25),
        (b"REDIS0012", 241),
    ] {
        let file = rdb_file(header, &key_record(tag, b"k", b"\x01v"));
        let e = file_error(&file, small());
        assert!(
            matches!(e.kind(), ErrorKind::UnknownTag { tag: t, .. } if *t == tag),
            "{tag}: {e}"
        );
        assert!(e.to_string().contains(&format!("tag {tag}")), "{e}");
    }
    // Opcode 242 (Valkey's unreleased UPDATE) is not a record we read.
    for header in [b"REDIS0012", b"VALKEY080"] {
        let file = rdb_file(header, b"\xf2\x00\x00");
        let e = file_error(&file, small());
        assert!(
            matches!(e.kind(), ErrorKind::UnknownTag { tag: 242, .. }),
            "{e}"
        );
        assert_eq!(e.offset(), HEADER_LEN as u64);
    }
    // Type 6 (pre-GA module) and the undocumented 28 cannot be skipped.
    for (header, tag) in [(b"REDIS0009", 6u8), (b"REDIS0014", 28)] {
        let file = rdb_file(header, &key_record(tag, b"k", b"\x01v"));
        let e = file_error(&file, small());
        assert!(matches!(e.kind(), ErrorKind::UnsupportedType { .. }), "{e}");
    }
}

#[test]
fn huge_db_numbers_parse() {
    for db in [1u64 << 32, u64::MAX] {
        let mut body = vec![0xfe];
        body.extend_from_slice(&len_bytes(db));
        body.extend_from_slice(&key_record(0, b"k", b"\x01v"));
        let file = rdb_file(b"REDIS0009", &body);
        let recs = records(&file, small()).unwrap();
        assert!(matches!(recs[0].kind, RecordKind::SelectDb { db: d } if d == db));
        match &recs[1].kind {
            RecordKind::Entry(e) => assert_eq!(e.db, db),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn repeated_and_dangling_prefixes() {
    let ms = |t: i64| [&[0xfc][..], &t.to_le_bytes()].concat();
    // Two EXPIRETIME_MS for one key (and EXPIRETIME + EXPIRETIME_MS, two
    // IDLEs, two FREQs): every loader keeps the last one (each opcode sets
    // its value again; the real checkers accept such a file).
    for (twice, expire, idle, freq) in [
        ([ms(1), ms(2)].concat(), Some(2), None, None),
        (
            [&[0xfd, 1, 0, 0, 0][..], &ms(2)].concat(),
            Some(2),
            None,
            None,
        ),
        (
            [ms(2), vec![0xfd, 1, 0, 0, 0]].concat(),
            Some(1000),
            None,
            None,
        ),
        (vec![0xf8, 1, 0xf8, 2], None, Some(2), None),
        (vec![0xf9, 1, 0xf9, 2], None, None, Some(2)),
    ] {
        let file = rdb_file(
            b"REDIS0009",
            &[twice, key_record(0, b"k", b"\x01v")].concat(),
        );
        let recs = records(&file, small()).unwrap();
        let e = recs
            .iter()
            .find_map(|r| match &r.kind {
                RecordKind::Entry(e) => Some(e),
                _ => None,
            })
            .unwrap();
        assert_eq!((e.expire_ms, e.lru_idle, e.lfu_freq), (expire, idle, freq));
    }
    // A prefix followed by SELECTDB, AUX or EOF instead of a key.
    for next in [&b"\xfe\x00"[..], b"\xfa\x01a\x01b", b""] {
        let file = rdb_file(b"REDIS0009", &[ms(5), next.to_vec()].concat());
        let e = file_error(&file, small());
        assert!(e.to_string().contains("expected a value type"), "{e}");
        assert_eq!(e.offset(), HEADER_LEN as u64 + 9);
    }
    // A prefix at the very end of the file.
    let mut file = b"REDIS0009".to_vec();
    file.extend_from_slice(&ms(5));
    assert!(file_error(&file, small()).is_truncated());
    // Valid prefixes in any order.
    let body = [
        &[0xf9, 3, 0xf8, 7][..],
        &ms(9),
        &key_record(0, b"k", b"\x01v"),
    ]
    .concat();
    let file = rdb_file(b"REDIS0009", &body);
    match &records(&file, small()).unwrap()[0].kind {
        RecordKind::Entry(e) => {
            assert_eq!(
                (e.expire_ms, e.lru_idle, e.lfu_freq),
                (Some(9), Some(7), Some(3))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_module_values() {
    let id = len_bytes(0x1234_5678_9abc_def0);
    // Item opcode 6 and a huge opcode.
    for op in [&[6u8][..], &[0x80, 0, 0, 1, 0]] {
        let body = [&id[..], &[2, 1], op].concat();
        let file = rdb_file(b"REDIS0009", &key_record(7, b"m", &body));
        let e = file_error(&file, small());
        assert!(e.to_string().contains("item opcode"), "{e}");
    }
    // Items that never end: truncated.
    let body = [&id[..], &[2, 1].repeat(100)].concat();
    let file = no_eof(b"REDIS0009", &key_record(7, b"m", &body));
    assert!(file_error(&file, small()).is_truncated());
    // More items than max_elements (70 000 UINTs) : a limit, fast.
    let body = [&id[..], &[2, 1].repeat(70_000), &[0]].concat();
    let file = rdb_file(b"REDIS0009", &key_record(7, b"m", &body));
    let e = timed("70 000 module items", Duration::from_secs(2), || {
        file_error(&file, small())
    });
    assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }), "{e}");
    // Module AUX with a wrong `when` opcode.
    let aux = [&[0xf7][..], &id, &[5, 1, 0]].concat();
    let e = file_error(&rdb_file(b"REDIS0009", &aux), small());
    assert!(e.to_string().contains("when opcode"), "{e}");
}

/// An empty v3 stream with one group whose PEL holds `pel` and whose one
/// consumer's PEL holds `consumer_pel`.
fn stream_with_pels(pel: &[[u8; 16]], consumer_pel: &[[u8; 16]]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0, 0, 0, 0, 0, 0]; // no nodes, length, last, first, max deleted, added
    b.push(1); // one group
    b.extend_from_slice(&str_bytes(b"g"));
    b.extend_from_slice(&[0, 0, 0]); // last delivered, entries read
    b.extend_from_slice(&len_bytes(pel.len() as u64));
    for id in pel {
        b.extend_from_slice(id);
        b.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
        b.push(1);
    }
    b.push(1); // one consumer
    b.extend_from_slice(&str_bytes(b"c"));
    b.extend_from_slice(&[0; 16]); // seen, active
    b.extend_from_slice(&len_bytes(consumer_pel.len() as u64));
    for id in consumer_pel {
        b.extend_from_slice(id);
    }
    rdb_file(b"REDIS0011", &key_record(21, b"s", &b))
}

fn raw_id(ms: u64, seq: u64) -> [u8; 16] {
    StreamId { ms, seq }.to_raw()
}

#[test]
fn stream_consumer_pel_entry_missing_from_group_pel() {
    let file = stream_with_pels(&[raw_id(1, 0), raw_id(2, 0)], &[raw_id(2, 0), raw_id(3, 0)]);
    // The structural walk accepts it (it is a loader rule, not framing) ...
    let v = only_value(&file, small());
    // ... decoding refuses it.
    let e = v.decode().unwrap_err();
    assert!(e.to_string().contains("3-0 is not in the group PEL"), "{e}");
    // Consistent PELs decode.
    let file = stream_with_pels(&[raw_id(1, 0), raw_id(2, 0)], &[raw_id(1, 0), raw_id(2, 0)]);
    assert!(only_value(&file, small()).decode().is_ok());
    // A group PEL entry that no consumer claims is refused, as the loaders'
    // deep check refuses it ("Stream CG PEL entry without consumer").
    let file = stream_with_pels(&[raw_id(1, 0), raw_id(2, 0)], &[raw_id(2, 0)]);
    let e = only_value(&file, small()).decode().unwrap_err();
    assert!(e.to_string().contains("1-0 belongs to no consumer"), "{e}");
    // A duplicate group PEL entry is refused.
    let file = stream_with_pels(&[raw_id(1, 0), raw_id(1, 0)], &[]);
    assert!(only_value(&file, small()).decode().is_err());
}

#[test]
fn regression_stream_pel_cross_check_is_not_quadratic() {
    // 100 000 group PEL entries and 100 000 consumer PEL entries (4 MB): the
    // check that each consumer entry is in the group PEL was a linear scan
    // per entry, 5 billion ID comparisons (20 s to minutes in a debug build).
    let ids: Vec<[u8; 16]> = (0..100_000u64).map(|i| raw_id(i, 0)).collect();
    let file = stream_with_pels(&ids, &ids);
    let v = only_value(&file, with_limits(Limits::default()));
    let s = timed(
        "stream with 100 000 PEL entries",
        Duration::from_secs(5),
        || v.decode(),
    )
    .unwrap();
    let Value::Stream(s) = s else {
        panic!("not a stream")
    };
    assert_eq!(s.groups[0].consumers[0].pending.len(), 100_000);
}

#[test]
fn regression_stream_master_counts_overflow() {
    // A node whose master entry claims i64::MAX live and 1 deleted entries:
    // `count + deleted` overflowed (a panic in debug builds).
    for (count, deleted) in [(i64::MAX, 1), (1, i64::MAX), (i64::MAX, i64::MAX)] {
        let lp = listpack(&[&lp_i64(count), &lp_i64(deleted), &[0], &[0]]);
        let mut b = vec![1];
        b.extend_from_slice(&str_bytes(&raw_id(1, 0)));
        b.extend_from_slice(&str_bytes(&lp));
        b.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 1, 0]); // length 1, IDs, added 1, no groups
        let file = rdb_file(b"REDIS0011", &key_record(21, b"s", &b));
        let v = only_value(&file, small());
        let Value::Stream(s) = v.decode().unwrap() else {
            panic!()
        };
        let r: Result<Vec<_>> = s.entries().collect();
        assert!(r.is_err(), "{count} + {deleted}");
    }
}

#[test]
fn lying_ziplist_headers() {
    // a -> 12345, b -> 0: entries at 10, 13, 17 and 20, the end marker at 22.
    let good = ziplist(&[b"\x01a", b"\xc0\x39\x30", b"\x01b", b"\xf1"]);
    let lies: Vec<(&str, Vec<u8>)> = vec![
        ("zlbytes too big", {
            let mut b = good.clone();
            b[0] += 1;
            b
        }),
        ("zlbytes 4 GiB", {
            let mut b = good.clone();
            b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
            b
        }),
        ("zltail outside", {
            let mut b = good.clone();
            b[4..8].copy_from_slice(&1000u32.to_le_bytes());
            b
        }),
        ("zltail not at the last entry", {
            let mut b = good.clone();
            b[4] = 10;
            b
        }),
        ("zllen too big", {
            let mut b = good.clone();
            b[8] = 5;
            b
        }),
        ("zllen too small", {
            let mut b = good.clone();
            b[8] = 3;
            b
        }),
        ("prevlen wrong", {
            let mut b = good.clone();
            b[13] = 7;
            b
        }),
        ("prevlen 5-byte huge", {
            let mut b = ziplist(&[b"\x01a"]);
            b.splice(10..11, [0xfe, 0xff, 0xff, 0xff, 0xff]);
            let n = b.len() as u32;
            b[..4].copy_from_slice(&n.to_le_bytes());
            b
        }),
        ("string length past the end", {
            let mut b = good.clone();
            b[11] = 0x3f;
            b
        }),
        ("32-bit string length", {
            let mut b = ziplist(&[b"\x80\xff\xff\xff\xffab"]);
            b[8] = 1;
            b
        }),
        ("invalid encoding", {
            let mut b = good.clone();
            b[11] = 0xc8;
            b
        }),
        ("no end marker", {
            let mut b = good.clone();
            *b.last_mut().unwrap() = 0;
            b
        }),
        (
            "shorter than a header",
            b"\x0a\x00\x00\x00\x0a\x00\x00\x00\x00\xff".to_vec(),
        ),
    ];
    let ok = ziplist(&[b"\x01a", b"\x01b"]);
    for (what, z) in lies {
        // As a list, a zset and a hash; all must fail on decoding.
        for ty in [10u8, 12, 13] {
            let file = rdb_file(
                b"REDIS0009",
                &[
                    key_record(ty, b"z", &str_bytes(&z)),
                    key_record(13, b"ok", &str_bytes(&ok)),
                ]
                .concat(),
            );
            let recs = records(&file, small()).unwrap();
            let RecordKind::Entry(e) = &recs[0].kind else {
                panic!()
            };
            let err = decode_fully(&e.value).expect_err(what);
            checks::check_error(&err, file.len());
            assert!(err.to_string().contains("ziplist"), "{what}: {err}");
            // The next key is unaffected.
            let RecordKind::Entry(e) = &recs[1].kind else {
                panic!()
            };
            assert_eq!(decode_fully(&e.value).unwrap(), 1);
        }
    }
}

#[test]
fn lying_listpack_headers() {
    let good = listpack(&[&lp_str(b"f"), &lp_str(b"v"), &[5], &lp_str(b"w")]);
    let lies: Vec<(&str, Vec<u8>)> = vec![
        ("total bytes too big", {
            let mut b = good.clone();
            b[0] += 1;
            b
        }),
        ("total bytes 4 GiB", {
            let mut b = good.clone();
            b[..4].copy_from_slice(&u32::MAX.to_le_bytes());
            b
        }),
        ("count too big", {
            let mut b = good.clone();
            b[4] = 6;
            b
        }),
        ("count too small", {
            let mut b = good.clone();
            b[4] = 2;
            b
        }),
        ("backlen wrong", {
            let mut b = good.clone();
            b[8] = 9;
            b
        }),
        ("string length past the end", {
            let mut b = good.clone();
            b[6] = 0xbf;
            b
        }),
        (
            "32-bit string length",
            listpack(&[&[0xf0, 0xff, 0xff, 0xff, 0xff, b'a']]),
        ),
        ("12-bit string length", listpack(&[&[0xef, 0xff, b'a']])),
        ("invalid encoding 0xf5", {
            let mut b = good.clone();
            b[6] = 0xf5;
            b
        }),
        ("no end marker", {
            let mut b = good.clone();
            *b.last_mut().unwrap() = 0;
            b
        }),
        (
            "odd element count for a hash",
            listpack(&[&lp_str(b"f"), &lp_str(b"v"), &lp_str(b"g")]),
        ),
    ];
    for (what, lp) in lies {
        for ty in [16u8, 17] {
            let file = rdb_file(b"REDIS0011", &key_record(ty, b"h", &str_bytes(&lp)));
            let v = only_value(&file, small());
            let err = decode_fully(&v).expect_err(what);
            checks::check_error(&err, file.len());
        }
    }
}

#[test]
fn checksum_rules() {
    let good = rdb_file(b"REDIS0009", &key_record(0, b"a", b"\x01b"));
    let n = good.len();
    // Verified.
    let recs = records(&good, small()).unwrap();
    assert!(matches!(
        recs.last().unwrap().kind,
        RecordKind::Eof {
            checksum: Checksum::Verified(_)
        }
    ));
    // Wrong checksum: an error at the trailer.
    let mut bad = good.clone();
    bad[n - 1] ^= 0x40;
    let e = file_error(&bad, small());
    assert!(
        matches!(e.kind(), ErrorKind::ChecksumMismatch { .. }),
        "{e}"
    );
    assert_eq!(e.offset(), (n - 8) as u64);
    // ... unless verification is off.
    let off = ReaderOptions {
        verify_checksum: false,
        ..small()
    };
    let recs = records(&bad, off).unwrap();
    assert!(matches!(
        recs.last().unwrap().kind,
        RecordKind::Eof {
            checksum: Checksum::Unchecked(_)
        }
    ));
    // Zero means "not computed": accepted.
    let mut zero = good.clone();
    zero[n - 8..].fill(0);
    let recs = records(&zero, small()).unwrap();
    assert!(matches!(
        recs.last().unwrap().kind,
        RecordKind::Eof {
            checksum: Checksum::NotComputed
        }
    ));
    // Trailing garbage after the checksum: OK, and reported.
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"*2\r\n$3\r\nSET\r\n");
    let mut r = RdbReader::with_options(&trailing, small()).unwrap();
    assert!(r.trailing().is_none());
    while r.next_record().unwrap().is_some() {}
    assert_eq!(r.trailing(), Some(&b"*2\r\n$3\r\nSET\r\n"[..]));
    let mut r = RdbReader::with_options(&good, small()).unwrap();
    while r.next_record().unwrap().is_some() {}
    assert_eq!(r.trailing(), Some(&b""[..]));
    // Missing EOF, and EOF with a partial checksum: truncated.
    assert!(file_error(&good[..n - 9], small()).is_truncated());
    assert!(file_error(&good[..n - 3], small()).is_truncated());
    // RDB < 5 has no checksum: bytes after EOF are trailing.
    let old = rdb_file(b"REDIS0004", &key_record(0, b"a", b"\x01b"));
    let mut old_trailing = old.clone();
    old_trailing.extend_from_slice(&[1, 2, 3]);
    let mut r = RdbReader::with_options(&old_trailing, small()).unwrap();
    while r.next_record().unwrap().is_some() {}
    assert_eq!(r.trailing(), Some(&[1u8, 2, 3][..]));
}

#[test]
fn bad_headers() {
    for h in [
        &b""[..],
        b"REDIS",
        b"REDIS000",
        b"XEDIS0009",
        b"REDIS00x9",
        b"REDIS0000",
        b"REDIS0099",
        b"VALKEY079",
        b"VALKEY999",
    ] {
        let e = file_error(h, small());
        assert!(e.offset() <= HEADER_LEN as u64, "{e}");
    }
}

#[test]
fn regression_streaming_reader_grows_geometrically() {
    // One 16 MiB list record read from a source that fills every buffer it is
    // given: the reader must grow its buffer geometrically. Growing by a fixed
    // chunk re-parsed the record from its start after every chunk, quadratic
    // in the record size (a 1 GiB record: ~4000 re-parses).
    let elem = str_bytes(&[b'x'; 100]);
    let n = (16 << 20) / elem.len();
    let mut body = len_bytes(n as u64);
    for _ in 0..n {
        body.extend_from_slice(&elem);
    }
    let file = rdb_file(b"REDIS0009", &key_record(1, b"l", &body));
    struct Counting<'a> {
        data: &'a [u8],
        reads: usize,
    }
    impl std::io::Read for Counting<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            let k = buf.len().min(self.data.len());
            buf[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }
    let mut src = Counting {
        data: &file,
        reads: 0,
    };
    {
        let mut r =
            StreamingReader::with_options(&mut src, with_limits(Limits::default())).unwrap();
        let mut records = 0;
        while r.next_record().unwrap().is_some() {
            records += 1;
        }
        assert_eq!(records, 2);
    }
    assert!(src.reads < 20, "{} reads for a 16 MiB record", src.reads);
    // The single-parse path grows the same way.
    let mut src = Counting {
        data: &file,
        reads: 0,
    };
    {
        let mut r =
            StreamingReader::with_options(&mut src, with_limits(Limits::default())).unwrap();
        let mut records = 0;
        while r.next_record_with(|_| ()).unwrap().is_some() {
            records += 1;
        }
        assert_eq!(records, 2);
    }
    assert!(
        src.reads < 20,
        "{} reads for a 16 MiB record (next_record_with)",
        src.reads
    );
}

/// The streaming reader hashes in batches: a file of many batches, read in
/// odd-sized pieces, is verified; one flipped byte anywhere in the middle,
/// or in the trailer, is a checksum mismatch at the trailer's offset.
#[test]
fn streaming_checksum_over_many_batches() {
    struct Trickle<'a>(&'a [u8], usize);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            // 1, 2, ... 9999 bytes at a time.
            self.1 = self.1 % 9_999 + 1;
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let mut f = b"REDIS0009\xfe\x00".to_vec();
    for i in 0..40_000u32 {
        let k = format!("key:{i}");
        f.push(0);
        f.push(k.len() as u8);
        f.extend_from_slice(k.as_bytes());
        f.extend_from_slice(b"\x0avalue-of-k");
    }
    f.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let eof_at = f.len() as u64 - 9;
    let read = |data: &[u8]| -> std::result::Result<rdbkit_parser::Checksum, rdbkit_parser::Error> {
        let mut r = rdbkit_parser::StreamingReader::new(Trickle(data, 0))?;
        let mut last = None;
        while let Some(k) = r.next_record_with(|rec| match rec.kind {
            rdbkit_parser::RecordKind::Eof { checksum } => Some(checksum),
            _ => None,
        })? {
            last = k;
        }
        Ok(last.expect("an EOF record"))
    };
    assert_eq!(read(&f).unwrap(), rdbkit_parser::Checksum::Verified(crc));
    for at in [20, 70_000, 300_000, f.len() - 20, f.len() - 1] {
        let mut bad = f.clone();
        // A value byte (or the trailer): the structure stays valid.
        bad[at] ^= if at >= f.len() - 8 { 1 } else { 0 };
        if at < f.len() - 8 {
            let v = (at..)
                .find(|&i| bad[i..].starts_with(b"value-of-k"))
                .unwrap();
            bad[v + 3] = b'X';
        }
        let e = read(&bad).unwrap_err();
        assert!(
            matches!(e.kind(), rdbkit_parser::ErrorKind::ChecksumMismatch { .. }),
            "{at}: {e}"
        );
        assert_eq!(e.offset(), eof_at + 1, "{at}");
    }
}
