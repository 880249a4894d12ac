//! The loader-rule value check: a value decoded completely, every element
//! checked as the iterators check it, and the rules loaders enforce on top
//! (no empty collections, no duplicate members or fields, a stream length
//! a Valkey 9 loader accepts, a type the file's version knows).
//!
//! ```
//! use rdbkit_engine::check::check_value;
//! use rdbkit_parser::{RdbReader, RecordKind};
//!
//! // A set {"a", "a"}: the parser reads it, every loader refuses it.
//! let file = b"REDIS0009\xfe\x00\x02\x01s\x02\x01a\x01a\xff\0\0\0\0\0\0\0\0";
//! for rec in RdbReader::new(&file[..])? {
//!     if let RecordKind::Entry(e) = rec?.kind {
//!         let err = check_value(&e.value).unwrap_err();
//!         assert!(err.to_string().contains("duplicate member"));
//!     }
//! }
//! # Ok::<(), rdbkit_parser::Error>(())
//! ```

use rdbkit_parser::format::{
    RDB_TYPE_HASH, RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_ZSET, RDB_TYPE_ZSET_2,
};
use rdbkit_parser::{Error, Item, RawValue, Value};

use crate::keyhash::HashSet64;
pub use crate::keyhash::IdHasher;
use crate::keylog::KeyLog;

/// make) and check the rules loaders enforce on top: no empty collections, no
/// duplicate members or fields. Returns the element count.
pub fn check_value(v: &RawValue<'_>) -> Result<u64, Error> {
    check_value_with(v, &mut MemberCheck::<IdHasher>::default())
}

/// How members are hashed for the duplicate check (a trait so that a test
/// can force collisions).
pub trait MemberHash {
    /// A 64-bit hash of the member's logical value.
    fn member(&self, item: &Item<'_>) -> u64;
}

impl MemberHash for IdHasher {
    #[inline]
    fn member(&self, item: &Item<'_>) -> u64 {
        self.item64(item)
    }
}

/// Members whose hashes are kept in a small array (scanned linearly) before a
/// hash set takes over.
const SMALL: usize = 32;

/// Reusable state for the duplicate-member check.
///
/// A 64-bit keyed hash per member, in an array for small collections and a
/// set for big ones. Two equal hashes are only a suspicion: the value is then
/// walked again comparing the members' bytes, so a hash
/// collision never reports a false duplicate.
#[derive(Debug, Default)]
pub struct MemberCheck<H = IdHasher> {
    hasher: H,
    small: [u64; SMALL],
    n: usize,
    /// The set is in use (more than [`SMALL`] members).
    big: bool,
    /// What the set reserves when it takes over.
    hint: usize,
    set: HashSet64,
    /// From how many members a value is checked through a log
    /// ([`GIANT`]; 0 = the default; tests lower it).
    giant: usize,
}

impl<H: MemberHash> MemberCheck<H> {
    /// Whether `item`'s hash was seen before in this value (a suspected
    /// duplicate); records it otherwise.
    #[inline]
    fn seen(&mut self, item: &Item<'_>) -> bool {
        let h = self.hasher.member(item);
        if !self.big {
            if self.small.get(..self.n).unwrap_or_default().contains(&h) {
                return true;
            }
            if let Some(slot) = self.small.get_mut(self.n) {
                *slot = h;
                self.n += 1;
                return false;
            }
            self.big = true;
            self.set.reserve(self.hint.max(4 * SMALL));
            self.set.extend(self.small.iter().copied());
        }
        !self.set.insert(h)
    }

    /// Start a value; `hint` is its member count when known cheaply.
    fn reset(&mut self, hint: usize) {
        self.n = 0;
        self.hint = hint;
        if self.big {
            self.big = false;
            // Keep an allocation that fits; clearing costs a memset of its
            // whole control array, so a big one left by an outlier is dropped.
            if self.set.capacity() > 4096 && self.set.capacity() > 4 * self.set.len() {
                self.set = HashSet64::default();
            } else {
                self.set.clear();
            }
        }
    }
}

/// What the member check calls a collection in its messages.
fn member_what(value: &Value<'_>) -> &'static str {
    match value {
        Value::ZSet(_) => "sorted set",
        Value::Hash(_) => "hash",
        _ => "set",
    }
}

/// Walk the members of a set, sorted set or hash (every element decoded and
/// checked), calling `f` on each until it returns false. `Ok(None)`: `f`
/// stopped the walk; otherwise the member count.
fn members(value: &Value<'_>, f: impl FnMut(&Item<'_>) -> bool) -> Result<Option<u64>, Error> {
    match value {
        Value::Set(s) => s.iter()?.try_for_each_checked(f),
        Value::ZSet(z) => z.iter()?.try_for_each_member(f),
        Value::Hash(h) => h.iter()?.try_for_each_field(f),
        _ => Ok(Some(0)),
    }
}

/// The member count of a value whose encoding stores it up front (plain
/// sets, sorted sets and hashes); 0 when it would take a walk.
fn stored_len(v: &RawValue<'_>, value: &Value<'_>) -> usize {
    let n = match (v.ty(), value) {
        (RDB_TYPE_SET, Value::Set(s)) => s.len().unwrap_or(0),
        (RDB_TYPE_ZSET | RDB_TYPE_ZSET_2, Value::ZSet(z)) => z.len().unwrap_or(0),
        (RDB_TYPE_HASH, Value::Hash(h)) => h.len().unwrap_or(0),
        _ => 0,
    };
    usize::try_from(n).unwrap_or(0)
}

/// An `Invalid` error at `at`: what is wrong and why.
pub(crate) fn invalid(
    at: u64,
    what: &'static str,
    reason: impl Into<std::borrow::Cow<'static, str>>,
) -> Error {
    Error::new(
        at,
        rdbkit_parser::ErrorKind::Invalid {
            what,
            reason: reason.into(),
        },
    )
}

fn duplicate_member(what: &'static str, offset: u64, item: &Item<'_>) -> Error {
    invalid(offset, what, format!("duplicate member {item:?}"))
}

/// The exact duplicate check, after two members' hashes matched: a walk that
/// compares the members' logical bytes. Returns the member count.
fn exact_members(value: &Value<'_>, at: u64) -> Result<u64, Error> {
    let mut seen = std::collections::HashSet::new();
    let mut dup = None;
    let n = members(value, |item| {
        if seen.insert(item.to_bytes().into_owned()) {
            true
        } else {
            dup = Some(duplicate_member(member_what(value), at, item));
            false
        }
    })?;
    // The walk stops only at a duplicate.
    match dup {
        Some(e) => Err(e),
        None => Ok(n.unwrap_or(0)),
    }
}

/// Members from which a value's duplicate check keeps its hashes in a
/// [`KeyLog`] (bounded memory, spilled to a temp file) rather than a set:
/// a set of 12 M members' hashes was 200 MB of a verify's anonymous memory.
const GIANT: usize = 1 << 20;

/// Memory the log of one giant value holds before it spills.
const GIANT_BUDGET: usize = 16 << 20;

/// The duplicate check of a giant value: every member's hash logged, the
/// log checked for a repeat, and a repeated hash looked for again among the
/// members themselves (only those with that hash are held). `Ok(None)`
/// when the log cannot be written (no room for its temp file): the caller
/// then checks in memory, as for any value.
fn giant_members<H: MemberHash>(
    value: &Value<'_>,
    at: u64,
    hasher: &H,
) -> Result<Option<u64>, Error> {
    let mut log = KeyLog::with_budget(GIANT_BUDGET);
    let mut failed = false;
    let n = members(value, |item| {
        failed = log.push(hasher.member(item)).is_err();
        !failed
    })?;
    let Some(n) = n.filter(|_| !failed) else {
        return Ok(None);
    };
    let mut skip = HashSet64::default();
    loop {
        let id = match log.find_duplicate(&skip) {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(Some(n)),
            Err(_) => return Ok(None),
        };
        let mut same: Vec<Vec<u8>> = Vec::new();
        let mut dup = None;
        members(value, |item| {
            if hasher.member(item) != id {
                return true;
            }
            let b = item.to_bytes();
            if same.iter().any(|s| s[..] == b[..]) {
                dup = Some(duplicate_member(member_what(value), at, item));
                return false;
            }
            same.push(b.into_owned());
            true
        })?;
        if let Some(e) = dup {
            return Err(e);
        }
        // Different members that share a hash: look for another repeat.
        skip.insert(id);
    }
}

/// [`check_value`] with reusable state.
pub fn check_value_with<H: MemberHash>(
    v: &RawValue<'_>,
    m: &mut MemberCheck<H>,
) -> Result<u64, Error> {
    let at = v.offset();
    // Strings (most keys of most files) are checked without building a
    // `Value` (returned through memory, it cost a store-forwarding stall
    // each) and without making their bytes: an LZF stream is walked, not
    // decompressed, and an integer is not formatted.
    if v.check_string()? {
        return Ok(1);
    }
    // A loader knows only the types of its own release: Redis 7.0 refuses
    // a stream v3 (type 21) in an RDB 10 file ("Invalid object type").
    if !rdbkit_writer::type_known(v.version(), v.ty()) {
        return Err(invalid(
            at,
            "value type",
            format!(
                "{} ({}) is not a type that loaders of {} know",
                v.ty().0,
                v.ty().name_in(v.version()).unwrap_or("unknown"),
                v.version()
            ),
        ));
    }
    let value = v.decode()?;
    let n = match &value {
        Value::String(_) => return Ok(1),
        Value::List(l) => l.iter()?.try_for_each_checked(|_| true)?.unwrap_or(0),
        // An intset's iterator checks that every element is greater than the
        // one before it: its members are unique.
        Value::Set(s) if v.ty() == RDB_TYPE_SET_INTSET => {
            s.iter()?.try_for_each_checked(|_| true)?.unwrap_or(0)
        }
        Value::Set(_) | Value::ZSet(_) | Value::Hash(_) => {
            let hint = stored_len(v, &value);
            let giant = if m.giant == 0 { GIANT } else { m.giant };
            if hint >= giant
                && let Some(n) = giant_members(&value, at, &m.hasher)?
            {
                n
            } else {
                m.reset(hint);
                match members(&value, |item| !m.seen(item))? {
                    Some(n) => n,
                    None => exact_members(&value, at)?,
                }
            }
        }
        Value::Stream(s) => {
            let live = s.live_entries()?;
            // Redis loaders take the stored length as it is (XLEN reports
            // it); Valkey 9 refuses one that is not the number of live
            // entries ("Stream length inconsistent with the number of valid
            // entries"), so a VALKEY file must have them equal.
            if v.version().is_valkey() && live != s.length {
                return Err(invalid(
                    at,
                    "stream",
                    format!(
                        "length says {} entries but the nodes hold {live} live entries (Valkey 9 refuses it)",
                        s.length
                    ),
                ));
            }
            // An empty stream is a valid key.
            return Ok(live);
        }
        Value::Module(m) => return Ok(m.items()?.len() as u64),
    };
    if n == 0 {
        return Err(invalid(
            at,
            "collection",
            "empty collection (loaders skip or mishandle it)",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::{RdbReader, RecordKind};
    use rdbkit_testkit::build::{self, Lp};

    /// Every member hashes alike: each member after the first is a suspect.
    #[derive(Debug, Default)]
    struct Collide;

    impl MemberHash for Collide {
        fn member(&self, _: &Item<'_>) -> u64 {
            7
        }
    }

    /// An RDB string: an integer form for a canonical integer when `int`
    /// says so, else the raw bytes.
    fn rdb_str(s: &[u8], int: bool) -> Vec<u8> {
        match rdbkit_parser::parse_canonical_i64(s) {
            Some(v) if int => build::int_string(v),
            _ => build::string(s),
        }
    }

    /// A key record "k" of type `ty` with a plain body of `n` then `elems`.
    fn plain(ty: u8, n: usize, elems: &[(&[u8], bool)]) -> Vec<u8> {
        let mut body = build::len(n as u64);
        for (e, int) in elems {
            body.extend(rdb_str(e, *int));
        }
        build::entry(ty, b"k", &body)
    }

    /// A listpack set (type 20) "k" of short strings, stored as 7-bit
    /// integers when they are such numbers and `int` says so.
    fn listpack_set(elems: &[(&[u8], bool)]) -> Vec<u8> {
        let lp: Vec<Lp<'_>> = elems
            .iter()
            .map(|&(e, int)| match rdbkit_parser::parse_canonical_i64(e) {
                Some(v @ 0..=127) if int => Lp::Int(v),
                _ => Lp::Str(e),
            })
            .collect();
        build::entry(20, b"k", &build::string(&build::listpack(&lp)))
    }

    fn check<H: MemberHash>(record: &[u8], m: &mut MemberCheck<H>) -> Result<u64, String> {
        let mut file = b"REDIS0011\xfe\x00".to_vec();
        file.extend_from_slice(record);
        for rec in RdbReader::new(&file).unwrap() {
            if let RecordKind::Entry(e) = rec.unwrap().kind {
                return check_value_with(&e.value, m).map_err(|e| e.to_string());
            }
        }
        panic!("no key record")
    }

    /// Run `record` through the check with the real hasher and with one
    /// where every pair of members collides: same verdict, same message.
    fn both(record: &[u8]) -> Result<u64, String> {
        let real = check(record, &mut MemberCheck::<IdHasher>::default());
        let mut collide = MemberCheck::<Collide>::default();
        assert_eq!(check(record, &mut collide), real);
        // And again with the state left by the first value.
        assert_eq!(check(record, &mut collide), real);
        real
    }

    fn names(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("m{i}").into_bytes()).collect()
    }

    #[test]
    fn small_and_big_sets() {
        for n in [1, 2, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL + 5] {
            let m = names(n);
            let elems: Vec<(&[u8], bool)> = m.iter().map(|e| (&e[..], false)).collect();
            assert_eq!(both(&plain(2, n, &elems)), Ok(n as u64), "{n}");
            // The last member repeats the first, or one in the middle.
            for dup in [0, n / 2] {
                let mut d = elems.clone();
                d.push(elems[dup]);
                let err = both(&plain(2, n + 1, &d)).unwrap_err();
                assert!(err.contains("duplicate member"), "{n}: {err}");
                assert!(err.contains(&format!("m{dup}")), "{n}: {err}");
            }
        }
    }

    #[test]
    fn integer_and_text_members_are_the_same_member() {
        let err = both(&plain(2, 2, &[(b"12", true), (b"12", false)])).unwrap_err();
        assert!(err.contains("duplicate member \"12\""), "{err}");
        assert!(both(&plain(2, 2, &[(b"12", true), (b"012", false)])).is_ok());
        // In a listpack: 7-bit integer 12 and the string "12".
        let ok = listpack_set(&[(b"1", true), (b"12", true), (b"x12", false)]);
        assert_eq!(both(&ok), Ok(3));
        let bad = listpack_set(&[(b"12", true), (b"a", false), (b"12", false)]);
        let err = both(&bad).unwrap_err();
        assert!(err.contains("duplicate member \"12\""), "{err}");
        let bad = listpack_set(&[(b"12", false), (b"a", false), (b"12", true)]);
        let err = both(&bad).unwrap_err();
        assert!(err.contains("duplicate member 12"), "{err}");
        // Among many members.
        let m = names(50);
        let mut elems: Vec<(&[u8], bool)> = m.iter().map(|e| (&e[..], false)).collect();
        elems.push((b"-7", true));
        elems.push((b"-7", false));
        let err = both(&plain(2, elems.len(), &elems)).unwrap_err();
        assert!(err.contains("duplicate member \"-7\""), "{err}");
    }

    #[test]
    fn hashes_and_sorted_sets() {
        // HASH {f: 1, g: 1}: equal values are fine; {f: 1, f: 2} is not.
        let ok = plain(
            4,
            2,
            &[(b"f", false), (b"1", false), (b"g", false), (b"1", false)],
        );
        assert_eq!(both(&ok), Ok(2));
        let bad = plain(
            4,
            2,
            &[(b"f", false), (b"1", false), (b"f", false), (b"2", false)],
        );
        assert!(both(&bad).unwrap_err().contains("hash"));
        // ZSET (type 5, binary scores) {a: 1, a: 1}.
        let mut z = build::len(2);
        for _ in 0..2 {
            z.extend(build::string(b"a"));
            z.extend_from_slice(&1f64.to_le_bytes());
        }
        assert!(
            both(&build::entry(5, b"k", &z))
                .unwrap_err()
                .contains("sorted set")
        );
    }

    #[test]
    fn a_hash_collision_is_not_a_duplicate() {
        // Distinct members that all collide: checked exactly, accepted.
        let m = names(3 * SMALL);
        let elems: Vec<(&[u8], bool)> = m.iter().map(|e| (&e[..], false)).collect();
        let mut c = MemberCheck::<Collide>::default();
        for n in [2, SMALL + 1, 3 * SMALL] {
            assert_eq!(check(&plain(2, n, &elems[..n]), &mut c), Ok(n as u64));
        }
        // An element error after the collision is still reported: ZSET
        // (binary scores) {m0: 1, m1: 1, m2: NaN}.
        let mut body = build::len(3);
        for (i, score) in [1.0, 1.0, f64::NAN].into_iter().enumerate() {
            body.extend(build::string(format!("m{i}").as_bytes()));
            body.extend_from_slice(&score.to_le_bytes());
        }
        let bad = build::entry(5, b"k", &body);
        let err = check(&bad, &mut c).unwrap_err();
        assert!(err.contains("NaN"), "{err}");
        let real = check(&bad, &mut MemberCheck::<IdHasher>::default()).unwrap_err();
        assert_eq!(err, real);
    }

    #[test]
    fn intsets_are_checked_by_their_order() {
        // An intset {1, 2}, then {2, 2} (not ascending: the parser refuses it).
        let intset = |a: i16, b: i16| {
            let mut blob = vec![2, 0, 0, 0, 2, 0, 0, 0];
            blob.extend_from_slice(&a.to_le_bytes());
            blob.extend_from_slice(&b.to_le_bytes());
            build::entry(11, b"k", &build::string(&blob))
        };
        assert_eq!(both(&intset(1, 2)), Ok(2));
        assert!(both(&intset(2, 2)).is_err());
    }

    #[test]
    fn giant_values_are_checked_through_a_log() {
        // Plain sets of 300 members, checked as giants: with the real
        // hasher and with one where all members collide (each repeat is
        // then looked for among the members themselves).
        let m = names(300);
        let elems: Vec<(&[u8], bool)> = m.iter().map(|e| (&e[..], false)).collect();
        let mut dup = elems.clone();
        dup.push(elems[150]);
        let real = |rec: &[u8]| {
            let mut c = MemberCheck::<IdHasher> {
                giant: 100,
                ..Default::default()
            };
            check(rec, &mut c)
        };
        let collide = |rec: &[u8]| {
            let mut c = MemberCheck::<Collide> {
                giant: 100,
                ..Default::default()
            };
            check(rec, &mut c)
        };
        assert_eq!(real(&plain(2, 300, &elems)), Ok(300));
        assert_eq!(collide(&plain(2, 300, &elems)), Ok(300));
        for f in [real, collide] {
            let err = f(&plain(2, 301, &dup)).unwrap_err();
            assert!(err.contains("duplicate member \"m150\""), "{err}");
        }
        // The same verdicts as the in-memory check.
        assert_eq!(
            both(&plain(2, 301, &dup)).unwrap_err(),
            real(&plain(2, 301, &dup)).unwrap_err()
        );
    }
}
