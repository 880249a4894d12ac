//! The RDB length encoding (`rdbSaveLen`): 6, 14, 32 or 64 bits, shortest form,
//! and the counted runs of elements that start with one.

use std::io::Write;

use rdbkit_parser::RdbVersion;
use rdbkit_parser::format::{RDB_32BITLEN, RDB_64BITLEN};

use crate::error::{Result, WriteError};

/// Encode `n` into `buf` in the shortest form, returning the number of bytes
/// used. The 64-bit form (`0x81`) exists only from RDB 8; below that a value
/// of 2^32 or more is [`WriteError::NotRepresentable`].
pub fn encode_len(n: u64, target: RdbVersion, buf: &mut [u8; 9]) -> Result<usize> {
    if n < 1 << 6 {
        buf[0] = n as u8;
        Ok(1)
    } else if n < 1 << 14 {
        buf[0] = 0x40 | (n >> 8) as u8;
        buf[1] = n as u8;
        Ok(2)
    } else if let Ok(n32) = u32::try_from(n) {
        buf[0] = RDB_32BITLEN;
        buf[1..5].copy_from_slice(&n32.to_be_bytes());
        Ok(5)
    } else if target.redis_level() >= 8 {
        buf[0] = RDB_64BITLEN;
        buf[1..9].copy_from_slice(&n.to_be_bytes());
        Ok(9)
    } else {
        Err(WriteError::not_representable(
            format!("the length {n} (2^32 or more needs the 64-bit form of RDB 8)"),
            target,
        ))
    }
}

/// Write `n` as an RDB length (see [`encode_len`]).
pub fn write_len<W: Write + ?Sized>(w: &mut W, n: u64, target: RdbVersion) -> Result<()> {
    let mut buf = [0u8; 9];
    let used = encode_len(n, target, &mut buf)?;
    w.write_all(buf.get(..used).unwrap_or_default())?;
    Ok(())
}

/// `n` in the fixed 5-byte form (`0x80` and 32 bits big-endian), which every
/// loader reads like the shortest form: a length written before its value
/// is known can be filled in later without moving anything. Counts above
/// 2^32 - 1 are capped (the form is only used for sizing hints).
pub fn fixed_len(n: u64) -> [u8; 5] {
    let v = u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    [0x80, v[0], v[1], v[2], v[3]]
}

/// The number of bytes [`encode_len`] uses for `n` (assuming the 64-bit form
/// is allowed).
pub fn len_size(n: u64) -> usize {
    match n {
        0..=63 => 1,
        64..=16383 => 2,
        _ if n <= u64::from(u32::MAX) => 5,
        _ => 9,
    }
}

/// Write `n` elements from `iter`, checking that there are exactly `n`.
pub(crate) fn write_counted<W, T, I>(
    w: &mut W,
    n: u64,
    iter: I,
    what: &'static str,
    target: RdbVersion,
    mut each: impl FnMut(&mut W, T) -> Result<()>,
) -> Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<T>>,
{
    if n == 0 {
        return Err(WriteError::invalid(
            what,
            "empty collections must not be written (loaders skip or mishandle them)",
        ));
    }
    write_len(w, n, target)?;
    let mut seen = 0u64;
    for r in iter {
        seen += 1;
        if seen > n {
            return Err(WriteError::invalid(
                what,
                format!("more elements than the {n} announced"),
            ));
        }
        each(w, r?)?;
    }
    if seen != n {
        return Err(WriteError::invalid(
            what,
            format!("{seen} elements, {n} announced"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_lengths_read_back() {
        for n in [0u64, 1, 63, 64, 16_383, 16_384, u64::from(u32::MAX)] {
            let b = fixed_len(n);
            let mut f = b"REDIS0009\xfe".to_vec();
            f.extend_from_slice(&b);
            f.extend_from_slice(b"\xff\0\0\0\0\0\0\0\0");
            let rec = rdbkit_parser::RdbReader::new(&f)
                .unwrap()
                .next()
                .unwrap()
                .unwrap();
            assert!(
                matches!(rec.kind, rdbkit_parser::RecordKind::SelectDb { db } if db == n),
                "{n}"
            );
        }
        assert_eq!(fixed_len(u64::MAX), [0x80, 0xff, 0xff, 0xff, 0xff]);
    }
    use crate::test_util::{read_records, write_file};
    use rdbkit_parser::RecordKind;

    #[test]
    fn forms_and_boundaries() {
        let v = RdbVersion(9);
        let enc = |n| {
            let mut b = [0u8; 9];
            let k = encode_len(n, v, &mut b).unwrap();
            b[..k].to_vec()
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(63), [63]);
        assert_eq!(enc(64), [0x40, 64]);
        assert_eq!(enc(16383), [0x7f, 0xff]);
        assert_eq!(enc(16384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(enc(u64::from(u32::MAX)), [0x80, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
        for n in [0, 63, 64, 16383, 16384, 1 << 32] {
            assert_eq!(len_size(n), enc(n).len());
        }
    }

    #[test]
    fn sixty_four_bits_need_rdb_8() {
        let mut b = [0u8; 9];
        assert!(encode_len(1 << 32, RdbVersion(8), &mut b).is_ok());
        assert!(encode_len(1 << 32, RdbVersion(80), &mut b).is_ok());
        let e = encode_len(1 << 32, RdbVersion(7), &mut b).unwrap_err();
        assert!(matches!(e, WriteError::NotRepresentable { .. }), "{e}");
        assert!(encode_len(u64::from(u32::MAX), RdbVersion(7), &mut b).is_ok());
    }

    #[test]
    fn round_trip_through_the_parser() {
        let values = [
            0u64,
            1,
            63,
            64,
            300,
            16383,
            16384,
            70000,
            u64::from(u32::MAX),
            1 << 32,
            u64::MAX,
        ];
        let bytes = write_file(RdbVersion(9), |w| {
            for pair in values.chunks(2) {
                w.write_resize_db(pair[0], *pair.get(1).unwrap_or(&0))?;
            }
            Ok(())
        });
        let got: Vec<u64> = read_records(&bytes)
            .into_iter()
            .filter_map(|k| match k {
                RecordKind::ResizeDb {
                    db_size,
                    expires_size,
                } => Some([db_size, expires_size]),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(&got[..values.len()], &values[..]);
    }
}
