//! RDB strings (`rdbSaveRawString`): integer forms for canonical small
//! integers, LZF for long compressible text, raw otherwise; and the two
//! encodings of doubles (`rdbSaveDoubleValue`, `rdbSaveBinaryDoubleValue`).

use std::io::Write;

use rdbkit_parser::{Item, RdbVersion, parse_canonical_i64};

use crate::error::{Result, WriteError};
use crate::length::write_len;

/// Strings longer than this are tried with LZF (Redis: `len > 20`).
const LZF_MIN_LEN: usize = 20;
/// Bytes of a long string tried first, to skip incompressible ones cheaply.
const PROBE: usize = 512;
/// Strings longer than this are never compressed: Redis never holds a string
/// this large, and the compressor's 32-bit arithmetic must not be approached.
const LZF_MAX_LEN: usize = 1 << 30;

/// How to encode strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringOptions {
    /// The target version (decides the length forms available).
    pub target: RdbVersion,
    /// Try LZF on strings longer than 20 bytes (Redis's `rdbcompression yes`).
    pub compress: bool,
}

/// The integer an RDB string may store `s` as: the canonical decimal text of
/// an integer that fits in 32 bits (no sign `+`, no leading zeros, no `-0`).
/// Only such text may use the INT8/16/32 forms without changing the data.
pub fn int_encoding(s: &[u8]) -> Option<i32> {
    if s.len() > 11 {
        return None;
    }
    parse_canonical_i64(s).and_then(|v| i32::try_from(v).ok())
}

/// Write an integer in the smallest of the INT8/16/32 string forms.
fn write_int<W: Write + ?Sized>(w: &mut W, v: i32) -> Result<()> {
    if let Ok(b) = i8::try_from(v) {
        w.write_all(&[0xc0, b as u8])?;
    } else if let Ok(h) = i16::try_from(v) {
        let b = h.to_le_bytes();
        w.write_all(&[0xc1, b[0], b[1]])?;
    } else {
        let b = v.to_le_bytes();
        w.write_all(&[0xc2, b[0], b[1], b[2], b[3]])?;
    }
    Ok(())
}

/// Compress `s` if that saves at least 4 bytes (Redis's rule), returning the
/// compressed bytes. The result is checked by decompressing it, so a fault
/// in the compressor can never reach the output.
fn lzf_compress(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() <= LZF_MIN_LEN || s.len() > LZF_MAX_LEN {
        return None;
    }
    // Probe long strings first: if their first PROBE bytes do not shrink by
    // 1/32, the whole string almost certainly will not shrink by much either
    // (random or already-compressed bytes), and a full attempt on such data
    // was most of the time of a conversion of large values.
    if let Some(head) = s.get(..PROBE).filter(|_| s.len() > 2 * PROBE) {
        let mut p = Vec::new();
        match rdbkit_parser::lzf::compress(head, &mut p) {
            Some(n) if n <= PROBE - PROBE / 32 => {}
            _ => return None,
        }
    }
    // The parser crate's compressor sizes its hash table to the input; the
    // `lzf` crate's zeroes a 512 KiB table on every call, which made
    // compression (of every string over 20 bytes) the cost of a conversion.
    let mut c = Vec::new();
    rdbkit_parser::lzf::compress(s, &mut c)?;
    if c.is_empty() || c.len() + 4 > s.len() {
        return None;
    }
    let mut check = Vec::with_capacity(s.len());
    rdbkit_parser::lzf::decompress_into(&c, &mut check, s.len()).ok()?;
    (check == s).then_some(c)
}

/// Write `s` as an RDB string: integer form when it is a canonical 32-bit
/// integer, LZF when enabled and worthwhile, raw otherwise.
pub fn write_string<W: Write + ?Sized>(w: &mut W, s: &[u8], opts: StringOptions) -> Result<()> {
    if let Some(v) = int_encoding(s) {
        return write_int(w, v);
    }
    if opts.compress
        && let Some(c) = lzf_compress(s)
    {
        w.write_all(&[0xc3])?;
        write_len(w, c.len() as u64, opts.target)?;
        write_len(w, s.len() as u64, opts.target)?;
        w.write_all(&c)?;
        return Ok(());
    }
    write_raw_string(w, s, opts.target)
}

/// Write a blob (ziplist, intset, ...) as an RDB string: LZF-compressed when
/// `compress` is set and that is worthwhile (Redis's rule), raw otherwise;
/// never integer-encoded.
pub fn write_blob_string<W: Write + ?Sized>(
    w: &mut W,
    s: &[u8],
    compress: bool,
    target: RdbVersion,
) -> Result<()> {
    if compress && let Some(c) = lzf_compress(s) {
        w.write_all(&[0xc3])?;
        write_len(w, c.len() as u64, target)?;
        write_len(w, s.len() as u64, target)?;
        w.write_all(&c)?;
        return Ok(());
    }
    write_raw_string(w, s, target)
}

/// Write `s` as a raw RDB string (length and bytes), never integer-encoded or
/// compressed: for blobs and IDs whose bytes must stay as they are.
pub fn write_raw_string<W: Write + ?Sized>(w: &mut W, s: &[u8], target: RdbVersion) -> Result<()> {
    write_len(w, s.len() as u64, target)?;
    w.write_all(s)?;
    Ok(())
}

/// Write a collection element: integers in an integer form when they fit 32
/// bits, else as their decimal text; bytes as [`write_string`] does.
pub fn write_item<W: Write + ?Sized>(
    w: &mut W,
    item: &Item<'_>,
    opts: StringOptions,
) -> Result<()> {
    match item {
        Item::Int(i) => match i32::try_from(*i) {
            Ok(v) => write_int(w, v),
            Err(_) => write_raw_string(w, i.to_string().as_bytes(), opts.target),
        },
        Item::Bytes(b) => write_string(w, b, opts),
    }
}

/// The shortest decimal text that parses back to exactly `v` (plain or
/// exponent notation, whichever is shorter; at most 24 characters).
pub fn double_text(v: f64) -> String {
    let plain = format!("{v}");
    let exp = format!("{v:e}");
    if plain.len() <= exp.len() { plain } else { exp }
}

fn check_score(v: f64) -> Result<()> {
    if v.is_nan() {
        return Err(WriteError::invalid(
            "sorted set score",
            "NaN is not a valid score",
        ));
    }
    Ok(())
}

/// Write a score in the text form of type 3 (`rdbSaveDoubleValue`): `u8 len`
/// and the text, or 254 / 255 for +inf / -inf. NaN is refused (loaders reject it).
pub fn write_string_double<W: Write + ?Sized>(w: &mut W, v: f64) -> Result<()> {
    check_score(v)?;
    if v == f64::INFINITY {
        w.write_all(&[254])?;
    } else if v == f64::NEG_INFINITY {
        w.write_all(&[255])?;
    } else {
        let t = double_text(v);
        w.write_all(&[t.len() as u8])?;
        w.write_all(t.as_bytes())?;
    }
    Ok(())
}

/// Write a score as a binary64 LE (ZSET_2). NaN is refused.
pub fn write_binary_double<W: Write + ?Sized>(w: &mut W, v: f64) -> Result<()> {
    check_score(v)?;
    w.write_all(&v.to_le_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryMeta;
    use crate::test_util::{entries, write_file};
    use rdbkit_parser::Value;

    fn opts() -> StringOptions {
        StringOptions {
            target: RdbVersion(9),
            compress: true,
        }
    }

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_string(&mut v, s, opts()).unwrap();
        v
    }

    #[test]
    fn integer_forms_only_for_canonical_text() {
        assert_eq!(enc(b"0"), [0xc0, 0]);
        assert_eq!(enc(b"-128"), [0xc0, 0x80]);
        assert_eq!(enc(b"128"), [0xc1, 0x80, 0]);
        assert_eq!(enc(b"-32769"), [0xc2, 0xff, 0x7f, 0xff, 0xff]);
        assert_eq!(enc(b"2147483647"), [0xc2, 0xff, 0xff, 0xff, 0x7f]);
        assert_eq!(enc(b"2147483648"), b"\x0a2147483648");
        for raw in [&b"007"[..], b"-0", b"+1", b" 1", b"1.0", b""] {
            let mut want = vec![raw.len() as u8];
            want.extend_from_slice(raw);
            assert_eq!(enc(raw), want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn lzf_only_when_long_and_worthwhile() {
        let short = [b'a'; 20];
        assert_eq!(enc(&short)[0], 20);
        let long = [b'a'; 21];
        assert_eq!(enc(&long)[0], 0xc3);
        let mut noise = Vec::new();
        let mut x = 12345u32;
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            noise.push((x >> 16) as u8);
        }
        assert_eq!(enc(&noise)[..2], [0x40, 200]);
        let raw = {
            let mut v = Vec::new();
            write_string(
                &mut v,
                &long,
                StringOptions {
                    compress: false,
                    ..opts()
                },
            )
            .unwrap();
            v
        };
        assert_eq!(raw[0], 21);
    }

    #[test]
    fn long_strings_probe_then_compress_and_round_trip() {
        // Incompressible (the `lzf` crate once panicked on such 4 KiB values):
        // stored raw after the 512-byte probe.
        let mut x = 777u32;
        let noise: Vec<u8> = (0..4012)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-"
                    [(x >> 16) as usize % 64]
            })
            .collect();
        let e = enc(&noise);
        assert_eq!(e[0], 0x40 | (4012 >> 8) as u8);
        assert_eq!(&e[2..], &noise[..]);
        // Compressible: LZF (the writer checks that it decodes back).
        let doc = b"{\"id\":1,\"name\":\"user\",\"tags\":[\"a\",\"b\"]},".repeat(100);
        let e = enc(&doc);
        assert_eq!(e[0], 0xc3);
        assert!(e.len() < doc.len() / 4);
    }

    #[test]
    fn doubles() {
        for (v, t) in [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-3.0, "-3"),
            (1e300, "1e300"),
            (1e-7, "1e-7"),
            (123456789.0, "123456789"),
        ] {
            assert_eq!(double_text(v), t);
            assert_eq!(double_text(v).parse::<f64>().unwrap(), v);
        }
        for v in [
            f64::MAX,
            f64::MIN_POSITIVE,
            -f64::MAX,
            5e-324,
            0.1 + 0.2,
            -0.0,
        ] {
            let t = double_text(v);
            assert!(t.len() <= 24, "{t}");
            assert_eq!(t.parse::<f64>().unwrap().to_bits(), v.to_bits(), "{t}");
        }
        let mut out = Vec::new();
        write_string_double(&mut out, f64::INFINITY).unwrap();
        write_string_double(&mut out, f64::NEG_INFINITY).unwrap();
        write_string_double(&mut out, 2.5).unwrap();
        assert_eq!(out, b"\xfe\xff\x032.5");
        assert!(write_string_double(&mut out, f64::NAN).is_err());
        assert!(write_binary_double(&mut out, f64::NAN).is_err());
    }

    #[test]
    fn round_trip_through_the_parser() {
        let mut x = 7u64;
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"-1".to_vec(),
            b"007".to_vec(),
            b"4294967296".to_vec(),
            b"-2147483648".to_vec(),
            vec![b'x'; 100],
            b"abcabcabcabcabcabcabcabcabcabcabcabc".to_vec(),
            vec![0u8; 70000],
        ];
        for len in [21usize, 64, 1000, 20000] {
            let mut v = Vec::new();
            for i in 0..len {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Half random, half repetitive: exercises literals and back-references.
                v.push(if i % 64 < 32 { (x >> 32) as u8 } else { b'r' });
            }
            cases.push(v);
        }
        let bytes = write_file(RdbVersion(9), |w| {
            for (i, c) in cases.iter().enumerate() {
                w.write_string(c, &EntryMeta::default(), &i.to_string().into_bytes())?;
            }
            Ok(())
        });
        let got = entries(&bytes);
        assert_eq!(got.len(), cases.len());
        for (i, (key, value)) in got.iter().enumerate() {
            assert_eq!(key, &cases[i]);
            assert_eq!(value, &format!("{i}").into_bytes());
        }
        // And the values themselves (keys above went through the same encoder).
        let bytes = write_file(RdbVersion(6), |w| {
            for (i, c) in cases.iter().enumerate() {
                w.write_string(i.to_string().as_bytes(), &EntryMeta::default(), c)?;
            }
            Ok(())
        });
        let mut r = rdbkit_parser::RdbReader::new(&bytes).unwrap();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            if let rdbkit_parser::RecordKind::Entry(e) = rec.kind {
                match e.value.decode().unwrap() {
                    Value::String(s) => assert_eq!(&s[..], &cases[n][..]),
                    other => panic!("{other:?}"),
                }
                n += 1;
            }
        }
        assert_eq!(n, cases.len());
    }
}
