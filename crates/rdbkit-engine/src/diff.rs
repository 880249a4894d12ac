//! The logical difference of two snapshots of any versions, key by key,
//! from order-independent 128-bit digests of their values (one file's
//! digests are held, never its values).
//!
//! Sets, hashes and sorted sets are digested as the wrapping sum of their
//! members' digests (a multiset digest: any order gives the same result);
//! lists and stream entries in order. Stream metadata that differs between
//! RDB versions by design (entries_added, max_deleted_id, entries_read,
//! consumer seen/active times) is left out; entries, length, last ID, groups,
//! their PELs and consumers are in.

use std::collections::HashMap;
use std::hash::Hasher;

use rdbkit_parser::{Entry, Item, Record, RecordKind, Value};

use crate::source::{Visitor, walk};

#[derive(Default)]
struct H128(
    std::collections::hash_map::DefaultHasher,
    std::collections::hash_map::DefaultHasher,
);

impl H128 {
    fn new(tag: u8) -> H128 {
        let mut h = H128::default();
        h.1.write_u64(0x9e37_79b9_7f4a_7c15);
        h.write(&[tag]);
        h
    }
    fn write(&mut self, b: &[u8]) {
        self.0.write(b);
        self.1.write(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.write_usize(b.len());
        self.1.write_usize(b.len());
        self.write(b);
    }
    fn item(&mut self, i: &Item<'_>) {
        self.bytes(&i.to_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }
    fn finish(&self) -> u128 {
        (u128::from(self.0.finish()) << 64) | u128::from(self.1.finish())
    }
}

/// What `diff` compares for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest {
    /// The type's name (`string`, `list`, ...).
    pub kind: &'static str,
    /// The digest of the value.
    pub value: u128,
    /// The key's expiry (Unix ms).
    pub expire_ms: Option<i64>,
}

fn score_bits(s: f64) -> u64 {
    // -0.0 and 0.0 are the same score.
    if s == 0.0 { 0 } else { s.to_bits() }
}

/// Digest an entry's logical value.
/// The digest of one key: its type, value and expiry.
pub fn digest(e: &Entry<'_>) -> crate::Result<KeyDigest> {
    let v = e.value.decode()?;
    let kind = v.kind().as_str();
    let value = match &v {
        Value::String(s) => {
            let mut h = H128::new(0);
            h.bytes(s);
            h.finish()
        }
        Value::List(l) => {
            let mut h = H128::new(1);
            for i in l.iter()? {
                h.item(&i?);
            }
            h.finish()
        }
        Value::Set(s) => {
            let mut sum = 0u128;
            for i in s.iter()? {
                let mut h = H128::new(2);
                h.item(&i?);
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::ZSet(z) => {
            let mut sum = 0u128;
            for r in z.iter()? {
                let (m, s) = r?;
                let mut h = H128::new(3);
                h.item(&m);
                h.u64(score_bits(s));
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::Hash(hash) => {
            let mut sum = 0u128;
            for r in hash.iter()? {
                let f = r?;
                let mut h = H128::new(4);
                h.item(&f.field);
                h.item(&f.value);
                h.u64(f.expire_ms.map_or(u64::MAX, |t| t as u64));
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::Stream(s) => {
            let mut h = H128::new(5);
            h.u64(s.length);
            h.u64(s.last_id.ms);
            h.u64(s.last_id.seq);
            for r in s.entries() {
                let en = r?;
                if en.deleted {
                    continue;
                }
                h.u64(en.id.ms);
                h.u64(en.id.seq);
                h.u64(en.fields.len() as u64);
                for (f, v) in &en.fields {
                    h.item(f);
                    h.item(v);
                }
            }
            let mut groups: Vec<_> = s.groups.iter().collect();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in groups {
                h.bytes(&g.name);
                h.u64(g.last_delivered_id.ms);
                h.u64(g.last_delivered_id.seq);
                for p in &g.pending {
                    h.u64(p.id.ms);
                    h.u64(p.id.seq);
                    h.u64(p.delivery_time as u64);
                    h.u64(p.delivery_count);
                }
                let mut cons: Vec<_> = g.consumers.iter().collect();
                cons.sort_by(|a, b| a.name.cmp(&b.name));
                for c in cons {
                    h.bytes(&c.name);
                    for id in &c.pending {
                        h.u64(id.ms);
                        h.u64(id.seq);
                    }
                }
            }
            h.finish()
        }
        Value::Module(m) => {
            let mut h = H128::new(6);
            h.u64(m.id.0);
            h.bytes(m.raw_items());
            h.finish()
        }
    };
    Ok(KeyDigest {
        kind,
        value,
        expire_ms: e.expire_ms,
    })
}

/// One difference between file A and file B.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Difference {
    /// The key is only in A.
    OnlyA {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
    },
    /// The key is only in B.
    OnlyB {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
    },
    /// The key has another type in B.
    Type {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
        /// A's type.
        a: &'static str,
        /// B's type.
        b: &'static str,
    },
    /// The key has another value in B.
    Value {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
        /// The type.
        kind: &'static str,
    },
    /// The key has another expiry in B.
    Ttl {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
        /// A's expiry (Unix ms).
        a: Option<i64>,
        /// B's expiry (Unix ms).
        b: Option<i64>,
    },
}

/// The counts of a comparison.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Keys equal in both.
    pub same: u64,
    /// Keys only in A.
    pub only_a: u64,
    /// Keys only in B.
    pub only_b: u64,
    /// Keys in both that differ.
    pub differ: u64,
}

impl Summary {
    /// Whether the files hold the same data.
    pub fn is_equal(&self) -> bool {
        self.only_a == 0 && self.only_b == 0 && self.differ == 0
    }
}

/// How two files are compared.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Compare only which keys exist, not their values or TTLs.
    pub keys_only: bool,
}

/// Compare the files at `a` and `b` (`-`: stdin, for one of them), calling
/// `each` on every difference: those of keys in B in B's order, then the
/// keys only in A, sorted.
///
/// ```
/// use rdbkit_engine::diff::{DiffOptions, Difference, diff};
///
/// # let dir = std::env::temp_dir().join(format!("rdbkit-doc-diff-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let (a, b) = (dir.join("a.rdb"), dir.join("b.rdb"));
/// std::fs::write(&a, b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// std::fs::write(&b, b"REDIS0011\xfe\x00\x00\x01k\x01w\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// let mut found = Vec::new();
/// let summary = diff(a.to_str().unwrap(), b.to_str().unwrap(), DiffOptions::default(), |d| {
///     found.push(d.clone());
///     Ok(())
/// })?;
/// assert_eq!(summary.differ, 1);
/// assert!(matches!(&found[0], Difference::Value { key, .. } if key == b"k"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(
    a: &str,
    b: &str,
    options: DiffOptions,
    mut each: impl FnMut(&Difference) -> crate::Result<()>,
) -> crate::Result<Summary> {
    let mut held = HashMap::new();
    walk(
        a,
        Default::default(),
        &mut Collect {
            map: &mut held,
            keys_only: options.keys_only,
        },
    )?;
    let mut cmp = Compare {
        a: &mut held,
        keys_only: options.keys_only,
        each: &mut each,
        summary: Summary::default(),
    };
    walk(b, Default::default(), &mut cmp)?;
    let mut summary = cmp.summary;
    let mut only_a: Vec<_> = held.into_keys().collect();
    only_a.sort();
    summary.only_a = only_a.len() as u64;
    for (db, key) in only_a {
        each(&Difference::OnlyA { db, key })?;
    }
    Ok(summary)
}

type Held = HashMap<(u64, Vec<u8>), Option<KeyDigest>>;

struct Collect<'m> {
    map: &'m mut Held,
    keys_only: bool,
}

impl Visitor for Collect<'_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind {
            let d = if self.keys_only {
                None
            } else {
                Some(digest(e)?)
            };
            self.map.insert((e.db, e.key.to_vec()), d);
        }
        Ok(true)
    }
}

struct Compare<'m, 'f> {
    a: &'m mut Held,
    keys_only: bool,
    each: &'f mut dyn FnMut(&Difference) -> crate::Result<()>,
    summary: Summary,
}

impl Visitor for Compare<'_, '_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        let RecordKind::Entry(e) = &rec.kind else {
            return Ok(true);
        };
        let (db, key) = (e.db, e.key.to_vec());
        let d = match self.a.remove(&(db, key.clone())) {
            None => {
                self.summary.only_b += 1;
                Difference::OnlyB { db, key }
            }
            Some(_) if self.keys_only => {
                self.summary.same += 1;
                return Ok(true);
            }
            Some(da) => {
                let dbg = digest(e)?;
                let da = da.unwrap_or(dbg);
                if da.kind != dbg.kind {
                    Difference::Type {
                        db,
                        key,
                        a: da.kind,
                        b: dbg.kind,
                    }
                } else if da.value != dbg.value {
                    Difference::Value {
                        db,
                        key,
                        kind: da.kind,
                    }
                } else if da.expire_ms != dbg.expire_ms {
                    Difference::Ttl {
                        db,
                        key,
                        a: da.expire_ms,
                        b: dbg.expire_ms,
                    }
                } else {
                    self.summary.same += 1;
                    return Ok(true);
                }
            }
        };
        if !matches!(d, Difference::OnlyB { .. }) {
            self.summary.differ += 1;
        }
        (self.each)(&d)?;
        Ok(true)
    }
}
