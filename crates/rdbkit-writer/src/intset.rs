//! Intset encoder (format reference §4.4): the compact blob of all-integer
//! sets (type 11, every loader since Redis 2.4).
//!
//! Layout: `u32 LE encoding` (2, 4 or 8 bytes per element: the narrowest
//! that holds every member, as Redis keeps it), `u32 LE length` (> 0), the
//! members little endian in strictly ascending order.

use crate::error::{Result, WriteError};

/// Redis's default `set-max-intset-entries`: a set loaded as an intset with
/// more members is converted to a hashtable by the loader, so larger sets are
/// written as plain sets instead.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// The element width Redis uses for a value (`_intsetValueEncoding`).
fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

/// Encode `members` as an intset, appending it to `out`. The members are
/// sorted in place; an empty set, a duplicate member or more than 2^32 - 1
/// members is an error (nothing is appended).
///
/// ```
/// let mut out = Vec::new();
/// rdbkit_writer::intset::encode_intset(&mut [300, -5, 1], &mut out).unwrap();
/// assert_eq!(out, [2, 0, 0, 0, 3, 0, 0, 0, 0xfb, 0xff, 1, 0, 0x2c, 1]);
/// ```
pub fn encode_intset(members: &mut [i64], out: &mut Vec<u8>) -> Result<()> {
    let (Some(&min), Some(&max)) = (members.iter().min(), members.iter().max()) else {
        return Err(WriteError::invalid(
            "intset",
            "empty sets must not be written",
        ));
    };
    let n = u32::try_from(members.len())
        .map_err(|_| WriteError::invalid("intset", "more than 2^32 - 1 members"))?;
    members.sort_unstable();
    if members.windows(2).any(|w| matches!(w, [a, b] if a == b)) {
        return Err(WriteError::invalid("intset", "duplicate members"));
    }
    let width = width_of(min).max(width_of(max));
    out.reserve(8 + members.len() * width);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    for &v in members.iter() {
        out.extend_from_slice(v.to_le_bytes().get(..width).unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::intset::Intset;

    fn round_trip(mut members: Vec<i64>) -> (usize, Vec<i64>) {
        let mut out = Vec::new();
        encode_intset(&mut members, &mut out).unwrap();
        let s = Intset::parse(&out, 0).unwrap();
        (
            s.width(),
            s.entries()
                .collect::<rdbkit_parser::Result<Vec<_>>>()
                .unwrap(),
        )
    }

    #[test]
    fn widths_and_order() {
        let (w, v) = round_trip(vec![5, -3, 0]);
        assert_eq!((w, v), (2, vec![-3, 0, 5]));
        for (m, w) in [
            (i64::from(i16::MAX), 2),
            (i64::from(i16::MIN), 2),
            (i64::from(i16::MAX) + 1, 4),
            (i64::from(i16::MIN) - 1, 4),
            (i64::from(i32::MAX), 4),
            (i64::from(i32::MIN), 4),
            (i64::from(i32::MAX) + 1, 8),
            (i64::from(i32::MIN) - 1, 8),
            (i64::MAX, 8),
            (i64::MIN, 8),
        ] {
            let (got_w, got) = round_trip(vec![1, m, -1]);
            assert_eq!(got_w, w, "{m}");
            let mut want = vec![1, m, -1];
            want.sort();
            assert_eq!(got, want, "{m}");
        }
        // The widest member decides, whichever end it is at.
        assert_eq!(round_trip(vec![-70000, 3]).0, 4);
        assert_eq!(round_trip(vec![3, 1 << 40]).0, 8);
    }

    #[test]
    fn refuses_empty_and_duplicates() {
        let mut out = Vec::new();
        assert!(encode_intset(&mut [], &mut out).is_err());
        assert!(encode_intset(&mut [3, 1, 3], &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn many_members() {
        let members: Vec<i64> = (0..512)
            .map(|i| (i * 1_000_003) % 65_536 - 30_000)
            .collect();
        let (w, got) = round_trip(members.clone());
        let mut want = members;
        want.sort();
        assert_eq!((w, got), (4, want));
    }
}
