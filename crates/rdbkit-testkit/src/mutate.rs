//! Seeded, reproducible mutations of real snapshots, for differential tests
//! against the real loaders.
//!
//! A mutation changes one place of the file: a bit flipped, a byte set, a
//! byte inserted or deleted, or a byte nudged by ±1/±2. Half of them land
//! anywhere after the header; the other half near where a record or a value
//! starts or ends (type bytes, lengths, blob headers, end markers), which a
//! uniform choice reaches rarely in files made mostly of payload. The stored
//! checksum is then zeroed: 0 means "not computed", which every loader
//! accepts, so the value checks decide the verdict.

use std::fmt;

use rdbkit_parser::{RdbReader, RecordKind};

/// SplitMix64: small, fast, and the same sequence on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// What one mutation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// Bit `bit` of the byte at `at` flipped.
    BitFlip {
        /// File offset.
        at: u64,
        /// 0..8.
        bit: u8,
    },
    /// The byte at `at` set to `to`.
    Set {
        /// File offset.
        at: u64,
        /// The new byte.
        to: u8,
    },
    /// `byte` inserted before offset `at`.
    Insert {
        /// File offset.
        at: u64,
        /// The inserted byte.
        byte: u8,
    },
    /// The byte at `at` deleted.
    Delete {
        /// File offset.
        at: u64,
    },
    /// `by` added to the byte at `at` (wrapping).
    Nudge {
        /// File offset.
        at: u64,
        /// -2, -1, 1 or 2.
        by: i8,
    },
}

impl Mutation {
    /// The mutation's class name, for counts.
    pub fn class(&self) -> &'static str {
        match self {
            Mutation::BitFlip { .. } => "bit flip",
            Mutation::Set { .. } => "byte set",
            Mutation::Insert { .. } => "insert",
            Mutation::Delete { .. } => "delete",
            Mutation::Nudge { .. } => "nudge",
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mutation::BitFlip { at, bit } => write!(f, "flip bit {bit} at {at}"),
            Mutation::Set { at, to } => write!(f, "set byte {at} to {to:#04x}"),
            Mutation::Insert { at, byte } => write!(f, "insert {byte:#04x} at {at}"),
            Mutation::Delete { at } => write!(f, "delete byte {at}"),
            Mutation::Nudge { at, by } => write!(f, "add {by} to byte {at}"),
        }
    }
}

/// The file offsets where records and their values start and end in `data`
/// (as far as the file parses), for [`mutate`] to aim at.
pub fn structure_points(data: &[u8]) -> Vec<u64> {
    let mut points = Vec::new();
    let Ok(mut reader) = RdbReader::new(data) else {
        return points;
    };
    while let Ok(Some(rec)) = reader.next_record() {
        points.push(rec.offset);
        points.push(rec.offset + rec.raw.len() as u64);
        if let RecordKind::Entry(e) = &rec.kind {
            points.push(e.value.offset());
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

/// The length of the checksum trailer of a file of this header: RDB 5 and
/// later end with 8 checksum bytes.
fn trailer_len(data: &[u8]) -> usize {
    let version = std::str::from_utf8(data.get(5..9).unwrap_or_default())
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    let valkey = data.starts_with(b"VALKEY");
    if valkey || version.is_some_and(|v| v >= 5) {
        8
    } else {
        0
    }
}

/// One seeded mutation of `original` (a whole RDB file), aimed half of the
/// time near one of `points` (see [`structure_points`]), with the checksum
/// zeroed afterwards.
pub fn mutate(original: &[u8], points: &[u64], rng: &mut Rng) -> (Vec<u8>, Mutation) {
    let trailer = trailer_len(original);
    let body_end = original.len().saturating_sub(trailer) as u64;
    // The 9-byte header is left alone: a broken magic or version is refused
    // by everyone and teaches nothing.
    let lo = 9u64.min(body_end.saturating_sub(1));
    let at = if !points.is_empty() && rng.below(2) == 0 {
        let p = points[rng.below(points.len() as u64) as usize];
        // Just after the point (a type byte, a length, a blob header) or
        // just before it (the previous record's last bytes: end markers).
        let off = rng.below(12);
        if rng.below(3) == 0 {
            p.saturating_sub(off + 1)
        } else {
            p + off
        }
    } else {
        lo + rng.below(body_end.saturating_sub(lo))
    };
    let at = at.clamp(lo, body_end.saturating_sub(1));
    let i = at as usize;
    let mut body = original[..body_end as usize].to_vec();
    let m = match rng.below(5) {
        0 => {
            let bit = rng.below(8) as u8;
            body[i] ^= 1 << bit;
            Mutation::BitFlip { at, bit }
        }
        1 => {
            // Never the byte that is there: every mutation changes the file.
            let to = body[i] ^ (1 + rng.below(255) as u8);
            body[i] = to;
            Mutation::Set { at, to }
        }
        2 => {
            let byte = rng.byte();
            body.insert(i, byte);
            Mutation::Insert { at, byte }
        }
        3 => {
            body.remove(i);
            Mutation::Delete { at }
        }
        _ => {
            let by = [-2i8, -1, 1, 2][rng.below(4) as usize];
            body[i] = body[i].wrapping_add(by as u8);
            Mutation::Nudge { at, by }
        }
    };
    body.resize(body.len() + trailer, 0);
    (body, m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_mutation() {
        let file = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3".to_vec();
        let points = structure_points(&file);
        assert_eq!(points, vec![9, 11, 14, 16, 25]);
        for seed in 0..50 {
            let a = mutate(&file, &points, &mut Rng::new(seed));
            let b = mutate(&file, &points, &mut Rng::new(seed));
            assert_eq!(a, b);
            // Header kept, checksum zeroed, one change.
            assert_eq!(&a.0[..9], &file[..9]);
            assert_eq!(&a.0[a.0.len() - 8..], &[0u8; 8]);
            assert_ne!(a.0[..a.0.len() - 8], file[..file.len() - 8], "{}", a.1);
        }
    }
}
