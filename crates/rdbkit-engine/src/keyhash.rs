//! Fast keyed identities of byte strings, for the duplicate checks: 128-bit
//! ids (two 64-bit lanes with independent random keys) where a match is
//! taken as it is (keys per database in the rewrite and in `verify` of
//! stdin), one lane where a match is confirmed afterwards (keys in `verify`
//! of a file, members of one collection). A set of these ids needs no
//! further hashing ([`IdSet`]).
//!
//! SipHash (std's default) twice per key was the largest single cost of a
//! `verify` of a file of small keys; this is a folded-multiply hash in the
//! style of wyhash/foldhash, keyed per process so that a crafted file cannot
//! aim collisions at it.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use rdbkit_parser::Item;

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

#[inline(always)]
fn mix(a: u64, b: u64) -> u64 {
    let r = u128::from(a).wrapping_mul(u128::from(b));
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline(always)]
fn read8(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

#[inline(always)]
fn read4(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

/// One 64-bit lane over `data` with seed `s`.
#[inline]
fn lane(s: u64, data: &[u8], extra: u64) -> u64 {
    let len = data.len();
    let mut h = s ^ mix(s ^ P0, len as u64 ^ extra);
    let (a, b) = if len <= 16 {
        if len >= 8 {
            (read8(data, 0), read8(data, len - 8))
        } else if len >= 4 {
            (read4(data, 0), read4(data, len - 4))
        } else if len > 0 {
            (
                (u64::from(data[0]) << 16)
                    | (u64::from(data[len / 2]) << 8)
                    | u64::from(data[len - 1]),
                0,
            )
        } else {
            (0, 0)
        }
    } else {
        let mut i = 0;
        while i + 16 < len {
            h = mix(read8(data, i) ^ P1, read8(data, i + 8) ^ h);
            i += 16;
        }
        (read8(data, len - 16), read8(data, len - 8))
    };
    mix(P1 ^ len as u64, mix(a ^ P1, b ^ h) ^ P2)
}

/// A keyed 128-bit hash of byte strings (the key of each process is random).
#[derive(Debug, Clone, Copy)]
pub struct IdHasher {
    k0: u64,
    k1: u64,
    /// Bits of [`IdHasher::id64`] kept: a test weakens it to make different
    /// keys share ids.
    #[cfg(test)]
    mask64: u64,
}

impl Default for IdHasher {
    fn default() -> Self {
        // Random per process: std's RandomState is seeded from the OS.
        let r = std::collections::hash_map::RandomState::new();
        IdHasher {
            k0: r.hash_one(0x5eed_u64) | 1,
            k1: r.hash_one(0xfeed_u64) | 1,
            #[cfg(test)]
            mask64: u64::MAX,
        }
    }
}

impl IdHasher {
    /// The id of `data` with a 64-bit discriminator (e.g. the database).
    #[inline]
    pub(crate) fn id(&self, extra: u64, data: &[u8]) -> u128 {
        (u128::from(lane(self.k0, data, extra)) << 64) | u128::from(lane(self.k1, data, extra))
    }

    /// The 64-bit id of a key of database `db`, for checks that confirm a
    /// match exactly: the key's own id ([`IdHasher::id64`] of db 0) xor
    /// [`IdHasher::db_mask`].
    #[inline]
    pub(crate) fn id64(&self, db: u64, key: &[u8]) -> u64 {
        let id = lane(self.k1, key, 0) ^ self.db_mask(db);
        #[cfg(test)]
        let id = id & self.mask64;
        id
    }

    /// What a key's id is xored with in database `db`: 0 for db 0, and the
    /// top byte always 0. So an id computed before its database was known
    /// (a walk that started mid-file assumes db 0) is mended later by one
    /// xor, which leaves it in the same [`crate::keylog::KeyLog`] bucket.
    #[inline]
    pub(crate) fn db_mask(&self, db: u64) -> u64 {
        if db == 0 {
            return 0;
        }
        mix(db ^ self.k0, P2) & (u64::MAX >> 8)
    }

    /// A hasher whose 64-bit ids keep only their low `bits` bits (tests of
    /// what happens when different keys share an id).
    #[cfg(test)]
    pub(crate) fn weak(bits: u32) -> IdHasher {
        IdHasher {
            mask64: (1u64 << bits) - 1,
            ..IdHasher::default()
        }
    }

    /// One keyed 64-bit lane of a collection element's logical value (an
    /// integer element hashes as its decimal text, so it equals the same
    /// number stored as bytes), for checks that confirm a match exactly.
    #[inline]
    pub(crate) fn item64(&self, item: &Item<'_>) -> u64 {
        match item {
            Item::Bytes(b) => lane(self.k0, b, 0),
            Item::Int(i) => lane(
                self.k0,
                crate::json::itoa(i128::from(*i), &mut [0u8; 40]),
                0,
            ),
        }
    }
}

/// A hasher for ids that are already uniformly random: uses the low 64 bits.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is used by `IdSet`; fold anything else.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i;
    }
}

/// A set of ids.
pub(crate) type IdSet = HashSet<u128, BuildHasherDefault<PassThrough>>;

/// A set of 64-bit hashes (already uniformly random).
pub(crate) type HashSet64 = HashSet<u64, BuildHasherDefault<PassThrough>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn itoa_matches_display() {
        for v in [0, 1, -1, 9, 10, -10, 12345, i64::MIN, i64::MAX] {
            let mut b = [0u8; 40];
            assert_eq!(
                crate::json::itoa(i128::from(v), &mut b),
                v.to_string().as_bytes()
            );
        }
        // Past 64 bits (sums of counts, products in estimates).
        for v in [
            i128::from(u64::MAX) + 1,
            -(1i128 << 100),
            i128::MAX,
            i128::MIN,
        ] {
            let mut b = [0u8; 40];
            assert_eq!(crate::json::itoa(v, &mut b), v.to_string().as_bytes());
        }
    }

    #[test]
    fn ids_distinguish_and_agree() {
        let h = IdHasher::default();
        let mut set = IdSet::default();
        // Every length class, and strings differing in one byte.
        for len in 0..80usize {
            let mut s: Vec<u8> = (0..len as u8).collect();
            assert!(set.insert(h.id(0, &s)), "len {len}");
            if len > 0 {
                s[len / 2] ^= 0x80;
                assert!(set.insert(h.id(0, &s)), "len {len} flipped");
            }
        }
        assert_ne!(h.id(0, b"k"), h.id(1, b"k"));
        assert_ne!(h.id64(0, b"k"), h.id64(1, b"k"));
        // An id taken in db 0 becomes the key's id in db 7 by one xor, which
        // keeps its top byte (its log bucket).
        assert_eq!(h.id64(0, b"k") ^ h.db_mask(7), h.id64(7, b"k"));
        assert_eq!(h.id64(0, b"k") >> 56, h.id64(7, b"k") >> 56);
        assert_eq!(
            h.item64(&Item::Int(-42)),
            h.item64(&Item::Bytes(Cow::Borrowed(b"-42")))
        );
        assert_eq!(
            h.item64(&Item::Int(i64::MIN)),
            h.item64(&Item::Bytes(Cow::Borrowed(b"-9223372036854775808")))
        );
        assert_ne!(h.item64(&Item::Int(12)), h.item64(&Item::Int(21)));
    }
}
