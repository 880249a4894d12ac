//! The logical difference of two snapshots of any versions, key by key,
//! from order-independent 128-bit digests of their values (one file's
//! digests are held, never its values), and of their function libraries.
//!
//! Sets, hashes and sorted sets are digested as the wrapping sum of their
//! members' digests (a multiset digest: any order gives the same result);
//! lists and stream entries in order. A stream's value digest covers its
//! entries, length, last ID, groups, their PELs and consumers. The counters
//! RDB 10 added (entries_added, max_deleted_id, each group's entries_read)
//! are held apart as [`StreamMeta`] and compared on their own, so that a
//! stream that kept its entries but lost those counters (a conversion to
//! RDB 9, whose streams have none) is a [`Difference::StreamMeta`], not a
//! changed value. Left out: consumers' seen and active times (a read
//! changes them; they are not data), the stored first ID (the entries give
//! it), and the IDMP (Redis 8.6) and NACK (8.8) state.
//!
//! Besides the digest, each key of A holds its [`Shape`] (element count,
//! hash fields with a TTL), so a changed value says how its size changed
//! even when a file is read from stdin. When both inputs are files, the
//! first [`DiffOptions::detail_keys`] changed values are read again from
//! both (a walk of each that decodes only those keys) to name their first
//! differing [`Member`]s.

use std::collections::{HashMap, HashSet};
use std::hash::Hasher;

use rdbkit_parser::{
    ConsumerGroup, Entry, Function, Hash, Item, List, Record, RecordKind, Set, Stream, StreamId,
    Value, ZSet,
};

use crate::source::{MapVisitor, Visitor, open, walk, walk_map};

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

/// The cheap facts held with a key's digest, so that a changed value can
/// say how its size changed without reading the file again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Shape {
    /// Bytes of a string; elements of a list or set; members of a sorted
    /// set; fields of a hash; the stored length of a stream; 0 for a module
    /// value.
    pub len: u64,
    /// Fields of a hash that have a TTL (0 for the other types).
    pub field_ttls: u64,
}

/// The stream counters compared apart from the value (see the module
/// documentation). `None` where the file does not store one: RDB 9 and
/// older have none of them, and a group's entries_read may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct StreamMeta {
    /// Entries ever added.
    pub entries_added: Option<u64>,
    /// The largest deleted ID.
    pub max_deleted_id: Option<StreamId>,
    /// Each consumer group's entries_read, by group name, sorted.
    pub entries_read: Vec<(Vec<u8>, Option<u64>)>,
}

/// What `diff` holds for one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyDigest {
    /// The type's name (`string`, `list`, ...).
    pub kind: &'static str,
    /// The digest of the value.
    pub value: u128,
    /// The key's expiry (Unix ms).
    pub expire_ms: Option<i64>,
    /// Its element counts.
    pub shape: Shape,
    /// A stream's counters (`None` for the other types). Boxed: a pointer
    /// on every key, the counters only on streams.
    pub stream: Option<Box<StreamMeta>>,
}

fn score_bits(s: f64) -> u64 {
    // -0.0 and 0.0 are the same score.
    if s == 0.0 { 0 } else { s.to_bits() }
}

/// Feed one group into a stream's value digest (and, alone, into a group's
/// digest for the member detail: the same bytes, so the two agree).
fn group_into(h: &mut H128, g: &ConsumerGroup<'_>) {
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

fn fields_into(h: &mut H128, fields: &[(Item<'_>, Item<'_>)]) {
    h.u64(fields.len() as u64);
    for (f, v) in fields {
        h.item(f);
        h.item(v);
    }
}

/// The digest of one key: its type, value, expiry, element counts and, for
/// a stream, its counters.
pub fn digest(e: &Entry<'_>) -> crate::Result<KeyDigest> {
    let v = e.value.decode()?;
    let kind = v.kind().as_str();
    let mut shape = Shape::default();
    let mut stream = None;
    let value = match &v {
        Value::String(s) => {
            shape.len = s.len() as u64;
            let mut h = H128::new(0);
            h.bytes(s);
            h.finish()
        }
        Value::List(l) => {
            let mut h = H128::new(1);
            for i in l.iter()? {
                h.item(&i?);
                shape.len += 1;
            }
            h.finish()
        }
        Value::Set(s) => {
            let mut sum = 0u128;
            for i in s.iter()? {
                let mut h = H128::new(2);
                h.item(&i?);
                sum = sum.wrapping_add(h.finish());
                shape.len += 1;
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
                shape.len += 1;
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
                shape.len += 1;
                shape.field_ttls += u64::from(f.expire_ms.is_some());
            }
            sum
        }
        Value::Stream(s) => {
            shape.len = s.length;
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
                fields_into(&mut h, &en.fields);
            }
            let mut groups: Vec<_> = s.groups.iter().collect();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &groups {
                group_into(&mut h, g);
            }
            stream = Some(Box::new(StreamMeta {
                entries_added: s.entries_added,
                max_deleted_id: s.max_deleted_id,
                entries_read: groups
                    .iter()
                    .map(|g| (g.name.to_vec(), g.entries_read))
                    .collect(),
            }));
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
        shape,
        stream,
    })
}

/// The most bytes of a value an [`Excerpt`] keeps.
pub const EXCERPT_BYTES: usize = 64;

/// The start of a value named in a difference, and its whole length: a
/// report over many keys holds at most [`EXCERPT_BYTES`] of each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Excerpt {
    /// The first bytes (all of them when `len` is at most [`EXCERPT_BYTES`]).
    pub head: Vec<u8>,
    /// The value's length.
    pub len: u64,
}

impl Excerpt {
    fn of(b: &[u8]) -> Excerpt {
        let mut n = b.len().min(EXCERPT_BYTES);
        // Not inside a UTF-8 sequence, so that a text value stays text (JSON
        // shows it as a string rather than base64).
        let floor = n.saturating_sub(3);
        while n > floor && n < b.len() && b[n] & 0xc0 == 0x80 {
            n -= 1;
        }
        Excerpt {
            head: b[..n].to_vec(),
            len: b.len() as u64,
        }
    }
}

/// Where in a value a [`Member`] difference is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum At {
    /// A member of a set or sorted set.
    Member(Vec<u8>),
    /// A field of a hash.
    Field(Vec<u8>),
    /// A list element, by index from the head.
    Index(u64),
    /// A string, from this byte offset on (the first that differs, or the
    /// shorter string's length).
    Byte(u64),
    /// A stream entry.
    Entry(StreamId),
    /// A stream's consumer group.
    Group(Vec<u8>),
    /// A stream's last ID.
    LastId,
}

/// How a [`Member`] differs.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// It is only in A.
    OnlyA,
    /// It is only in B.
    OnlyB,
    /// Another value (a hash field's, a list element).
    Value {
        /// A's value.
        a: Excerpt,
        /// B's value.
        b: Excerpt,
    },
    /// Another score.
    Score {
        /// A's score.
        a: f64,
        /// B's score.
        b: f64,
    },
    /// Another field TTL (Unix ms).
    Ttl {
        /// A's TTL.
        a: Option<i64>,
        /// B's TTL.
        b: Option<i64>,
    },
    /// Another stream ID.
    Id {
        /// A's ID.
        a: StreamId,
        /// B's ID.
        b: StreamId,
    },
    /// It differs (a string's bytes, a stream entry's fields, a group's
    /// delivery state), without more detail.
    Differs,
}

/// One differing member of a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Where it is.
    pub at: At,
    /// How it differs.
    pub change: Change,
}

/// The differing members of a changed value, from the second reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Members {
    /// The first ones (at most [`DiffOptions::detail_members`]), A's order
    /// first, then the members only in B in B's order.
    pub first: Vec<Member>,
    /// How many more differ.
    pub more: u64,
}

/// One differing stream counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MetaChange {
    /// entries_added.
    EntriesAdded {
        /// A's.
        a: Option<u64>,
        /// B's.
        b: Option<u64>,
    },
    /// max_deleted_id.
    MaxDeletedId {
        /// A's.
        a: Option<StreamId>,
        /// B's.
        b: Option<StreamId>,
    },
    /// A group's entries_read (groups in one file only are a value
    /// difference instead).
    EntriesRead {
        /// The group.
        group: Vec<u8>,
        /// A's.
        a: Option<u64>,
        /// B's.
        b: Option<u64>,
    },
}

fn meta_changes(a: &StreamMeta, b: &StreamMeta) -> Vec<MetaChange> {
    let mut v = Vec::new();
    if a.entries_added != b.entries_added {
        v.push(MetaChange::EntriesAdded {
            a: a.entries_added,
            b: b.entries_added,
        });
    }
    if a.max_deleted_id != b.max_deleted_id {
        v.push(MetaChange::MaxDeletedId {
            a: a.max_deleted_id,
            b: b.max_deleted_id,
        });
    }
    let read_b: HashMap<&[u8], Option<u64>> = b
        .entries_read
        .iter()
        .map(|(g, r)| (g.as_slice(), *r))
        .collect();
    for (group, ra) in &a.entries_read {
        if let Some(&rb) = read_b.get(group.as_slice())
            && rb != *ra
        {
            v.push(MetaChange::EntriesRead {
                group: group.clone(),
                a: *ra,
                b: rb,
            });
        }
    }
    v
}

/// One difference between file A and file B.
#[derive(Debug, Clone, PartialEq)]
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
        /// A's element counts.
        a: Shape,
        /// B's element counts.
        b: Shape,
        /// The differing members, when the value was read again (both
        /// inputs files, within [`DiffOptions::detail_keys`], not a module
        /// value).
        members: Option<Members>,
    },
    /// A stream's counters differ in B (its value may differ too, as its
    /// own difference).
    StreamMeta {
        /// Its database.
        db: u64,
        /// The key.
        key: Vec<u8>,
        /// What differs.
        changes: Vec<MetaChange>,
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
    /// The function library is only in A.
    FunctionOnlyA {
        /// The library's name.
        library: String,
    },
    /// The function library is only in B.
    FunctionOnlyB {
        /// The library's name.
        library: String,
    },
    /// The function library has other code in B.
    Function {
        /// The library's name.
        library: String,
        /// The length of A's source.
        a_len: u64,
        /// The length of B's source.
        b_len: u64,
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
    /// Keys in both that differ (in type, value, stream counters or TTL).
    pub differ: u64,
    /// Function libraries equal in both.
    pub functions_same: u64,
    /// Function libraries only in A.
    pub functions_only_a: u64,
    /// Function libraries only in B.
    pub functions_only_b: u64,
    /// Function libraries in both whose code differs.
    pub functions_differ: u64,
}

impl Summary {
    /// Whether the files hold the same data.
    pub fn is_equal(&self) -> bool {
        self.only_a == 0
            && self.only_b == 0
            && self.differ == 0
            && self.functions_only_a == 0
            && self.functions_only_b == 0
            && self.functions_differ == 0
    }
}

/// How two files are compared.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Compare only which keys and function libraries exist, not their
    /// values, TTLs or code.
    pub keys_only: bool,
    /// How many changed values are read again to name their members (0:
    /// none). Only when both inputs are files: stdin cannot be read twice.
    pub detail_keys: usize,
    /// How many differing members are named per value; the rest are
    /// counted.
    pub detail_members: usize,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            keys_only: false,
            detail_keys: 1000,
            detail_members: 3,
        }
    }
}

/// Compare the files at `a` and `b` (`-`: stdin, for one of them), calling
/// `each` on every difference, in this order: those found walking B (keys
/// in B, in B's order, and B's function libraries), except the changed
/// values that are read again for their members, which come next; then
/// the keys only in A, sorted; then the libraries only in A, sorted.
///
/// ```
/// use rdbkit_engine::diff::{At, Change, DiffOptions, Difference, diff};
///
/// # let dir = std::env::temp_dir().join(format!("rdbkit-doc-diff-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let (a, b) = (dir.join("a.rdb"), dir.join("b.rdb"));
/// // "k" = "vx" in an RDB 9 file, "k" = "vy" in an RDB 11 file.
/// std::fs::write(&a, b"REDIS0009\xfe\x00\x00\x01k\x02vx\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// std::fs::write(&b, b"REDIS0011\xfe\x00\x00\x01k\x02vy\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// let mut found = Vec::new();
/// let summary = diff(a.to_str().unwrap(), b.to_str().unwrap(), DiffOptions::default(), |d| {
///     found.push(d.clone());
///     Ok(())
/// })?;
/// assert_eq!((summary.differ, summary.is_equal()), (1, false));
/// let Difference::Value { key, kind, a, b, members: Some(m), .. } = &found[0] else {
///     panic!("{found:?}");
/// };
/// assert_eq!((key.as_slice(), *kind), (&b"k"[..], "string"));
/// assert_eq!((a.len, b.len), (2, 2));
/// // Both are files, so the value was read again: the bytes differ from offset 1.
/// assert_eq!((&m.first[0].at, &m.first[0].change), (&At::Byte(1), &Change::Differs));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn diff(
    a: &str,
    b: &str,
    options: DiffOptions,
    mut each: impl FnMut(&Difference) -> crate::Result<()>,
) -> crate::Result<Summary> {
    let mut keys = HashMap::new();
    let mut functions = HashMap::new();
    walk(
        a,
        Default::default(),
        &mut Collect {
            keys: &mut keys,
            functions: &mut functions,
            keys_only: options.keys_only,
        },
    )?;
    let reread = !options.keys_only && a != "-" && b != "-";
    let mut cmp = Compare {
        keys: &mut keys,
        functions: &mut functions,
        keys_only: options.keys_only,
        each: &mut each,
        summary: Summary::default(),
        hold: if reread { options.detail_keys } else { 0 },
        held: Vec::new(),
    };
    walk(b, Default::default(), &mut cmp)?;
    let mut summary = cmp.summary;
    let mut held = std::mem::take(&mut cmp.held);
    if !held.is_empty() {
        let found = reread_members(a, b, &held, options.detail_members)?;
        for (d, m) in held.iter_mut().zip(found) {
            if let Difference::Value { members, .. } = d {
                *members = m;
            }
            each(d)?;
        }
    }
    let mut only_a: Vec<_> = keys.into_keys().collect();
    only_a.sort();
    summary.only_a = only_a.len() as u64;
    for (db, key) in only_a {
        each(&Difference::OnlyA { db, key })?;
    }
    let mut only_a: Vec<_> = functions.into_keys().collect();
    only_a.sort();
    summary.functions_only_a = only_a.len() as u64;
    for library in only_a {
        each(&Difference::FunctionOnlyA { library })?;
    }
    Ok(summary)
}

type Held = HashMap<(u64, Vec<u8>), Option<KeyDigest>>;

/// A library's source length and digest, by its name.
type Libraries = HashMap<String, (u64, u128)>;

/// A library's name, or its first line when the shebang names none (a file
/// with two such libraries compares them as one).
fn library(f: &Function<'_>) -> String {
    match f.library_name() {
        Some(n) => n.to_string(),
        None => {
            let line = f.source.split(|&b| b == b'\n').next().unwrap_or_default();
            String::from_utf8_lossy(line).into_owned()
        }
    }
}

fn source_digest(f: &Function<'_>) -> (u64, u128) {
    let mut h = H128::new(7);
    h.bytes(&f.source);
    (f.source.len() as u64, h.finish())
}

struct Collect<'m> {
    keys: &'m mut Held,
    functions: &'m mut Libraries,
    keys_only: bool,
}

impl Visitor for Collect<'_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Entry(e) => {
                let d = if self.keys_only {
                    None
                } else {
                    Some(digest(e)?)
                };
                self.keys.insert((e.db, e.key.to_vec()), d);
            }
            RecordKind::Function(f) => {
                self.functions.insert(library(f), source_digest(f));
            }
            _ => {}
        }
        Ok(true)
    }
}

struct Compare<'m, 'f> {
    keys: &'m mut Held,
    functions: &'m mut Libraries,
    keys_only: bool,
    each: &'f mut dyn FnMut(&Difference) -> crate::Result<()>,
    summary: Summary,
    /// How many changed values to hold for the second reading.
    hold: usize,
    held: Vec<Difference>,
}

impl Compare<'_, '_> {
    fn function(&mut self, f: &Function<'_>) -> crate::Result<()> {
        let name = library(f);
        let d = match self.functions.remove(&name) {
            None => {
                self.summary.functions_only_b += 1;
                Difference::FunctionOnlyB { library: name }
            }
            Some(_) if self.keys_only => {
                self.summary.functions_same += 1;
                return Ok(());
            }
            Some((a_len, da)) => {
                let (b_len, db) = source_digest(f);
                if da == db {
                    self.summary.functions_same += 1;
                    return Ok(());
                }
                self.summary.functions_differ += 1;
                Difference::Function {
                    library: name,
                    a_len,
                    b_len,
                }
            }
        };
        (self.each)(&d)
    }

    fn entry(&mut self, e: &Entry<'_>) -> crate::Result<()> {
        let (db, key) = (e.db, e.key.to_vec());
        let da = match self.keys.remove(&(db, key.clone())) {
            None => {
                self.summary.only_b += 1;
                return (self.each)(&Difference::OnlyB { db, key });
            }
            Some(_) if self.keys_only => {
                self.summary.same += 1;
                return Ok(());
            }
            Some(da) => da,
        };
        let dbg = digest(e)?;
        let da = da.unwrap_or_else(|| dbg.clone());
        if da.kind != dbg.kind {
            self.summary.differ += 1;
            return (self.each)(&Difference::Type {
                db,
                key,
                a: da.kind,
                b: dbg.kind,
            });
        }
        let mut found = Vec::new();
        if da.value != dbg.value {
            found.push(Difference::Value {
                db,
                key: key.clone(),
                kind: da.kind,
                a: da.shape,
                b: dbg.shape,
                members: None,
            });
        }
        if let (Some(ma), Some(mb)) = (&da.stream, &dbg.stream) {
            let changes = meta_changes(ma, mb);
            if !changes.is_empty() {
                found.push(Difference::StreamMeta {
                    db,
                    key: key.clone(),
                    changes,
                });
            }
        }
        if da.expire_ms != dbg.expire_ms {
            found.push(Difference::Ttl {
                db,
                key,
                a: da.expire_ms,
                b: dbg.expire_ms,
            });
        }
        if found.is_empty() {
            self.summary.same += 1;
            return Ok(());
        }
        self.summary.differ += 1;
        for d in found {
            if matches!(d, Difference::Value { kind, .. } if kind != "module")
                && self.held.len() < self.hold
            {
                self.held.push(d);
            } else {
                (self.each)(&d)?;
            }
        }
        Ok(())
    }
}

impl Visitor for Compare<'_, '_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Entry(e) => self.entry(e)?,
            RecordKind::Function(f) => self.function(f)?,
            _ => {}
        }
        Ok(true)
    }
}

/// The held keys by name: their database and place in the held list.
type Wanted<'h> = HashMap<&'h [u8], Vec<(u64, usize)>>;

fn wanted(held: &[Difference]) -> Wanted<'_> {
    let mut want: Wanted<'_> = HashMap::new();
    for (i, d) in held.iter().enumerate() {
        if let Difference::Value { db, key, .. } = d {
            want.entry(key.as_slice()).or_default().push((*db, i));
        }
    }
    want
}

fn place(want: &Wanted<'_>, e: &Entry<'_>) -> Option<usize> {
    let places = want.get(e.key.as_ref())?;
    places.iter().find(|(db, _)| *db == e.db).map(|&(_, i)| i)
}

/// The second reading: A's records of the held keys, borrowed from A's map
/// (nothing is copied; the map outlives the walk of B).
struct PickA<'w, 'd> {
    want: &'w Wanted<'w>,
    found: Vec<Option<Entry<'d>>>,
    left: usize,
}

impl<'d> MapVisitor<'d> for PickA<'_, 'd> {
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool> {
        if let RecordKind::Entry(e) = rec.kind
            && let Some(i) = place(self.want, &e)
            && self.found[i].is_none()
        {
            self.found[i] = Some(e);
            self.left -= 1;
        }
        Ok(self.left > 0)
    }
}

/// The second reading of B: each held key compared with A's record.
struct PickB<'w, 'a, 'd> {
    want: &'w Wanted<'w>,
    a: &'a [Option<Entry<'d>>],
    members: Vec<Option<Members>>,
    limit: usize,
    left: usize,
}

impl<'d> MapVisitor<'d> for PickB<'_, '_, '_> {
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind
            && let Some(i) = place(self.want, e)
            && self.members[i].is_none()
            && let Some(a) = &self.a[i]
        {
            self.members[i] = members(a, e, self.limit)?;
            self.left -= 1;
        }
        Ok(self.left > 0)
    }
}

/// Read the held keys again from both files and name their differing
/// members (`None` where a key was not found again or has no members to
/// name).
fn reread_members(
    a: &str,
    b: &str,
    held: &[Difference],
    limit: usize,
) -> crate::Result<Vec<Option<Members>>> {
    let want = wanted(held);
    let map_a = open(a)?;
    let mut pick = PickA {
        want: &want,
        found: held.iter().map(|_| None).collect(),
        left: held.len(),
    };
    walk_map(&map_a, Default::default(), &mut pick)?;
    let map_b = open(b)?;
    let mut cmp = PickB {
        want: &want,
        left: pick.found.iter().filter(|f| f.is_some()).count(),
        a: &pick.found,
        members: held.iter().map(|_| None).collect(),
        limit,
    };
    if cmp.left > 0 {
        walk_map(&map_b, Default::default(), &mut cmp)?;
    }
    Ok(cmp.members)
}

/// Collects the first `limit` differing members and counts the rest.
struct Acc {
    m: Members,
    limit: usize,
}

impl Acc {
    fn add(&mut self, at: impl FnOnce() -> At, change: impl FnOnce() -> Change) {
        if self.m.first.len() < self.limit {
            self.m.first.push(Member {
                at: at(),
                change: change(),
            });
        } else {
            self.m.more += 1;
        }
    }
}

fn owned(i: crate::Result<Item<'_>, rdbkit_parser::Error>) -> crate::Result<Vec<u8>> {
    Ok(i?.to_bytes().into_owned())
}

fn entry_digest(fields: &[(Item<'_>, Item<'_>)]) -> u128 {
    let mut h = H128::new(8);
    fields_into(&mut h, fields);
    h.finish()
}

fn group_digest(g: &ConsumerGroup<'_>) -> u128 {
    let mut h = H128::new(9);
    group_into(&mut h, g);
    h.finish()
}

/// The differing members of A's and B's values of one key. Members are
/// matched by name (index for a list, ID for a stream entry); B's side is
/// held in a map for the length of the call.
fn members(a: &Entry<'_>, b: &Entry<'_>, limit: usize) -> crate::Result<Option<Members>> {
    let mut acc = Acc {
        m: Members::default(),
        limit,
    };
    match (a.value.decode()?, b.value.decode()?) {
        (Value::String(x), Value::String(y)) => string_members(&x, &y, &mut acc),
        (Value::List(x), Value::List(y)) => list_members(&x, &y, &mut acc)?,
        (Value::Set(x), Value::Set(y)) => set_members(&x, &y, &mut acc)?,
        (Value::ZSet(x), Value::ZSet(y)) => zset_members(&x, &y, &mut acc)?,
        (Value::Hash(x), Value::Hash(y)) => hash_members(&x, &y, &mut acc)?,
        (Value::Stream(x), Value::Stream(y)) => stream_members(&x, &y, &mut acc)?,
        _ => return Ok(None),
    }
    Ok(Some(acc.m))
}

fn string_members(x: &[u8], y: &[u8], acc: &mut Acc) {
    if x != y {
        let at = x
            .iter()
            .zip(y)
            .position(|(p, q)| p != q)
            .unwrap_or(x.len().min(y.len()));
        acc.add(|| At::Byte(at as u64), || Change::Differs);
    }
}

fn list_members(x: &List<'_>, y: &List<'_>, acc: &mut Acc) -> crate::Result<()> {
    let (mut xi, mut yi) = (x.iter()?, y.iter()?);
    let mut index = 0u64;
    loop {
        match (xi.next().transpose()?, yi.next().transpose()?) {
            (None, None) => return Ok(()),
            (Some(p), Some(q)) => {
                let (p, q) = (p.to_bytes(), q.to_bytes());
                if p != q {
                    acc.add(
                        || At::Index(index),
                        || Change::Value {
                            a: Excerpt::of(&p),
                            b: Excerpt::of(&q),
                        },
                    );
                }
            }
            (Some(_), None) => acc.add(|| At::Index(index), || Change::OnlyA),
            (None, Some(_)) => acc.add(|| At::Index(index), || Change::OnlyB),
        }
        index += 1;
    }
}

fn set_members(x: &Set<'_>, y: &Set<'_>, acc: &mut Acc) -> crate::Result<()> {
    let mut rest: HashSet<Vec<u8>> = y.iter()?.map(owned).collect::<crate::Result<_>>()?;
    for m in x.iter()? {
        let m = m?.to_bytes().into_owned();
        if !rest.remove(&m) {
            acc.add(|| At::Member(m), || Change::OnlyA);
        }
    }
    // B again, so that its members come in B's order, not the map's.
    if !rest.is_empty() {
        for m in y.iter()? {
            let m = m?.to_bytes().into_owned();
            if rest.remove(&m) {
                acc.add(|| At::Member(m), || Change::OnlyB);
            }
        }
    }
    Ok(())
}

fn zset_members(x: &ZSet<'_>, y: &ZSet<'_>, acc: &mut Acc) -> crate::Result<()> {
    let mut rest = HashMap::new();
    for r in y.iter()? {
        let (m, s) = r?;
        rest.insert(m.to_bytes().into_owned(), s);
    }
    for r in x.iter()? {
        let (m, sa) = r?;
        let m = m.to_bytes().into_owned();
        match rest.remove(&m) {
            None => acc.add(|| At::Member(m), || Change::OnlyA),
            Some(sb) if score_bits(sa) != score_bits(sb) => {
                acc.add(|| At::Member(m), || Change::Score { a: sa, b: sb })
            }
            Some(_) => {}
        }
    }
    if !rest.is_empty() {
        for r in y.iter()? {
            let m = r?.0.to_bytes().into_owned();
            if rest.remove(&m).is_some() {
                acc.add(|| At::Member(m), || Change::OnlyB);
            }
        }
    }
    Ok(())
}

fn hash_members(x: &Hash<'_>, y: &Hash<'_>, acc: &mut Acc) -> crate::Result<()> {
    let mut rest = HashMap::new();
    for r in y.iter()? {
        let f = r?;
        rest.insert(
            f.field.to_bytes().into_owned(),
            (f.value.to_bytes().into_owned(), f.expire_ms),
        );
    }
    for r in x.iter()? {
        let f = r?;
        let name = f.field.to_bytes().into_owned();
        let Some((vb, tb)) = rest.remove(&name) else {
            acc.add(|| At::Field(name), || Change::OnlyA);
            continue;
        };
        let va = f.value.to_bytes();
        if *va != *vb {
            acc.add(
                || At::Field(name.clone()),
                || Change::Value {
                    a: Excerpt::of(&va),
                    b: Excerpt::of(&vb),
                },
            );
        }
        if f.expire_ms != tb {
            acc.add(
                || At::Field(name),
                || Change::Ttl {
                    a: f.expire_ms,
                    b: tb,
                },
            );
        }
    }
    if !rest.is_empty() {
        for r in y.iter()? {
            let name = r?.field.to_bytes().into_owned();
            if rest.remove(&name).is_some() {
                acc.add(|| At::Field(name), || Change::OnlyB);
            }
        }
    }
    Ok(())
}

fn stream_members(x: &Stream<'_>, y: &Stream<'_>, acc: &mut Acc) -> crate::Result<()> {
    let mut rest = HashMap::new();
    for r in y.entries() {
        let en = r?;
        if !en.deleted {
            rest.insert(en.id, entry_digest(&en.fields));
        }
    }
    for r in x.entries() {
        let en = r?;
        if en.deleted {
            continue;
        }
        match rest.remove(&en.id) {
            None => acc.add(|| At::Entry(en.id), || Change::OnlyA),
            Some(d) if d != entry_digest(&en.fields) => {
                acc.add(|| At::Entry(en.id), || Change::Differs)
            }
            Some(_) => {}
        }
    }
    if !rest.is_empty() {
        for r in y.entries() {
            let en = r?;
            if !en.deleted && rest.remove(&en.id).is_some() {
                acc.add(|| At::Entry(en.id), || Change::OnlyB);
            }
        }
    }
    if x.last_id != y.last_id {
        acc.add(
            || At::LastId,
            || Change::Id {
                a: x.last_id,
                b: y.last_id,
            },
        );
    }
    let mut rest: HashMap<&[u8], u128> = y
        .groups
        .iter()
        .map(|g| (g.name.as_ref(), group_digest(g)))
        .collect();
    for g in &x.groups {
        match rest.remove(g.name.as_ref()) {
            None => acc.add(|| At::Group(g.name.to_vec()), || Change::OnlyA),
            Some(d) if d != group_digest(g) => {
                acc.add(|| At::Group(g.name.to_vec()), || Change::Differs)
            }
            Some(_) => {}
        }
    }
    for g in &y.groups {
        if rest.remove(g.name.as_ref()).is_some() {
            acc.add(|| At::Group(g.name.to_vec()), || Change::OnlyB);
        }
    }
    Ok(())
}

fn json_opt(o: &mut Vec<u8>, v: Option<impl crate::json::IntLike>) {
    match v {
        Some(v) => crate::json::int(o, v),
        None => crate::json::raw(o, "null"),
    }
}

fn json_id(o: &mut Vec<u8>, id: Option<StreamId>) {
    match id {
        Some(id) => crate::json::str(o, &id.to_string()),
        None => crate::json::raw(o, "null"),
    }
}

fn json_shape(o: &mut Vec<u8>, s: &Shape) {
    crate::json::raw(o, "{\"len\":");
    crate::json::int(o, s.len);
    crate::json::raw(o, ",\"field_ttls\":");
    crate::json::int(o, s.field_ttls);
    crate::json::raw(o, "}");
}

fn json_member(o: &mut Vec<u8>, m: &Member) {
    crate::json::raw(o, "{\"at\":");
    match &m.at {
        At::Member(n) | At::Field(n) | At::Group(n) => {
            let at = match m.at {
                At::Member(_) => "member",
                At::Field(_) => "field",
                _ => "group",
            };
            crate::json::str(o, at);
            crate::json::raw(o, ",\"name\":");
            crate::json::bytes(o, n);
        }
        At::Index(i) => {
            crate::json::raw(o, "\"index\",\"index\":");
            crate::json::int(o, *i);
        }
        At::Byte(b) => {
            crate::json::raw(o, "\"byte\",\"offset\":");
            crate::json::int(o, *b);
        }
        At::Entry(id) => {
            crate::json::raw(o, "\"entry\",\"id\":");
            json_id(o, Some(*id));
        }
        At::LastId => crate::json::raw(o, "\"last_id\""),
    }
    crate::json::raw(o, ",\"change\":");
    match &m.change {
        Change::OnlyA => crate::json::raw(o, "\"only_a\""),
        Change::OnlyB => crate::json::raw(o, "\"only_b\""),
        Change::Differs => crate::json::raw(o, "\"differs\""),
        Change::Value { a, b } => {
            crate::json::raw(o, "\"value\",\"a\":");
            crate::json::bytes(o, &a.head);
            crate::json::raw(o, ",\"a_len\":");
            crate::json::int(o, a.len);
            crate::json::raw(o, ",\"b\":");
            crate::json::bytes(o, &b.head);
            crate::json::raw(o, ",\"b_len\":");
            crate::json::int(o, b.len);
        }
        Change::Score { a, b } => {
            crate::json::raw(o, "\"score\",\"a\":");
            crate::json::score_str(o, *a);
            crate::json::raw(o, ",\"b\":");
            crate::json::score_str(o, *b);
        }
        Change::Ttl { a, b } => {
            crate::json::raw(o, "\"ttl\",\"a\":");
            json_opt(o, *a);
            crate::json::raw(o, ",\"b\":");
            json_opt(o, *b);
        }
        Change::Id { a, b } => {
            crate::json::raw(o, "\"id\",\"a\":");
            json_id(o, Some(*a));
            crate::json::raw(o, ",\"b\":");
            json_id(o, Some(*b));
        }
    }
    crate::json::raw(o, "}");
}

fn json_key(o: &mut Vec<u8>, kind: &str, db: u64, key: &[u8]) {
    crate::json::raw(o, "{\"kind\":");
    crate::json::str(o, kind);
    crate::json::raw(o, ",\"db\":");
    crate::json::int(o, db);
    crate::json::raw(o, ",\"key\":");
    crate::json::bytes(o, key);
}

/// One difference as a JSON object (the schema is in the module doc).
/// One difference as a JSON object, appended to `o`: the `diff --json`
/// format.
///
/// The document is, `{"differences": [...], "summary": {...}}`
/// (differences first, so that they stream out as they are found). A key,
/// member, field, group or value is a JSON string when it is UTF-8 and
/// `{"base64": "..."}` otherwise; an absent expiry, TTL or counter is
/// `null`; times are Unix ms; stream IDs are `"ms-seq"` strings; scores are
/// strings (`"1.5"`, `"inf"`).
///
/// - `summary`: `equal` (bool), `same`, `only_a`, `only_b`, `differ` (keys),
///   `functions_same`, `functions_only_a`, `functions_only_b`,
///   `functions_differ`.
/// - each difference has `kind`; key differences also `db` and `key`:
///   - `only_a`, `only_b`: nothing more.
///   - `type`: `a`, `b` (type names).
///   - `value`: `type`; `a`, `b` (`{"len": N, "field_ttls": N}`: elements,
///     hash fields with a TTL); `members` (`null` when the value was not
///     read again: stdin, past the first 1000, a module value), else a
///     list of `{"at", ..., "change", ...}`; `more_members` (how many more
///     differ). `at` is `member`/`field`/`group` with `name`, `index` with
///     `index`, `byte` with `offset`, `entry` with `id`, or `last_id`.
///     `change` is `only_a`, `only_b`, `differs`, `value` with `a`, `b`
///     (the first 64 bytes) and `a_len`, `b_len`; `score` with `a`, `b`;
///     `ttl` with `a`, `b`; `id` with `a`, `b`.
///   - `stream_meta`: `changes`, a list of `{"field": "entries_added" |
///     "max_deleted_id", "a", "b"}` and `{"field": "entries_read",
///     "group", "a", "b"}`.
///   - `ttl`: `a`, `b` (expiries).
///   - `function_only_a`, `function_only_b`: `library`.
///   - `function`: `library`, `a_len`, `b_len` (source bytes).
pub fn difference_json(o: &mut Vec<u8>, d: &Difference) {
    match d {
        Difference::OnlyA { db, key } => json_key(o, "only_a", *db, key),
        Difference::OnlyB { db, key } => json_key(o, "only_b", *db, key),
        Difference::Type { db, key, a, b } => {
            json_key(o, "type", *db, key);
            crate::json::raw(o, ",\"a\":");
            crate::json::str(o, a);
            crate::json::raw(o, ",\"b\":");
            crate::json::str(o, b);
        }
        Difference::Value {
            db,
            key,
            kind,
            a,
            b,
            members,
        } => {
            json_key(o, "value", *db, key);
            crate::json::raw(o, ",\"type\":");
            crate::json::str(o, kind);
            crate::json::raw(o, ",\"a\":");
            json_shape(o, a);
            crate::json::raw(o, ",\"b\":");
            json_shape(o, b);
            crate::json::raw(o, ",\"members\":");
            match members {
                Some(m) => {
                    crate::json::raw(o, "[");
                    for (i, x) in m.first.iter().enumerate() {
                        if i > 0 {
                            crate::json::raw(o, ",");
                        }
                        json_member(o, x);
                    }
                    crate::json::raw(o, "]");
                }
                None => crate::json::raw(o, "null"),
            }
            crate::json::raw(o, ",\"more_members\":");
            crate::json::int(o, members.as_ref().map_or(0, |m| m.more));
        }
        Difference::StreamMeta { db, key, changes } => {
            json_key(o, "stream_meta", *db, key);
            crate::json::raw(o, ",\"changes\":[");
            for (i, c) in changes.iter().enumerate() {
                if i > 0 {
                    crate::json::raw(o, ",");
                }
                match c {
                    MetaChange::EntriesAdded { a, b } => {
                        crate::json::raw(o, "{\"field\":\"entries_added\",\"a\":");
                        json_opt(o, *a);
                        crate::json::raw(o, ",\"b\":");
                        json_opt(o, *b);
                    }
                    MetaChange::MaxDeletedId { a, b } => {
                        crate::json::raw(o, "{\"field\":\"max_deleted_id\",\"a\":");
                        json_id(o, *a);
                        crate::json::raw(o, ",\"b\":");
                        json_id(o, *b);
                    }
                    MetaChange::EntriesRead { group, a, b } => {
                        crate::json::raw(o, "{\"field\":\"entries_read\",\"group\":");
                        crate::json::bytes(o, group);
                        crate::json::raw(o, ",\"a\":");
                        json_opt(o, *a);
                        crate::json::raw(o, ",\"b\":");
                        json_opt(o, *b);
                    }
                }
                crate::json::raw(o, "}");
            }
            crate::json::raw(o, "]");
        }
        Difference::Ttl { db, key, a, b } => {
            json_key(o, "ttl", *db, key);
            crate::json::raw(o, ",\"a\":");
            json_opt(o, *a);
            crate::json::raw(o, ",\"b\":");
            json_opt(o, *b);
        }
        Difference::FunctionOnlyA { library } | Difference::FunctionOnlyB { library } => {
            let kind = match d {
                Difference::FunctionOnlyA { .. } => "function_only_a",
                _ => "function_only_b",
            };
            crate::json::raw(o, "{\"kind\":");
            crate::json::str(o, kind);
            crate::json::raw(o, ",\"library\":");
            crate::json::str(o, library);
        }
        Difference::Function {
            library,
            a_len,
            b_len,
        } => {
            crate::json::raw(o, "{\"kind\":\"function\",\"library\":");
            crate::json::str(o, library);
            crate::json::raw(o, ",\"a_len\":");
            crate::json::int(o, *a_len);
            crate::json::raw(o, ",\"b_len\":");
            crate::json::int(o, *b_len);
        }
    }
    crate::json::raw(o, "}");
}

/// The `"summary":{...}` member of the `diff --json` document.
pub fn summary_json(o: &mut Vec<u8>, s: &Summary) {
    crate::json::raw(o, "\"summary\":{\"equal\":");
    crate::json::raw(o, if s.is_equal() { "true" } else { "false" });
    for (name, v) in [
        ("same", s.same),
        ("only_a", s.only_a),
        ("only_b", s.only_b),
        ("differ", s.differ),
        ("functions_same", s.functions_same),
        ("functions_only_a", s.functions_only_a),
        ("functions_only_b", s.functions_only_b),
        ("functions_differ", s.functions_differ),
    ] {
        crate::json::raw(o, ",\"");
        crate::json::raw(o, name);
        crate::json::raw(o, "\":");
        crate::json::int(o, v);
    }
    crate::json::raw(o, "}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_does_not_cut_a_utf8_sequence() {
        let text = "é".repeat(40);
        let e = Excerpt::of(text.as_bytes());
        assert_eq!((e.head.len(), e.len), (64, 80));
        let text = format!("a{}", "é".repeat(40));
        let e = Excerpt::of(text.as_bytes());
        assert_eq!(e.head.len(), 63);
        assert!(std::str::from_utf8(&e.head).is_ok());
        let bin = [0x80u8; 100];
        assert_eq!(Excerpt::of(&bin).head.len(), 61);
        assert_eq!(Excerpt::of(b"short").head, b"short");
    }

    /// The differences of two files, and the summary.
    fn compare(a: &[u8], b: &[u8], options: DiffOptions) -> (Vec<Difference>, Summary) {
        use rdbkit_testkit::build;
        let dir = std::env::temp_dir().join(format!(
            "rdbkit-diff-unit-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (pa, pb) = (dir.join("a.rdb"), dir.join("b.rdb"));
        std::fs::write(&pa, build::file(b"REDIS0009", &[a.to_vec()])).unwrap();
        std::fs::write(&pb, build::file(b"REDIS0009", &[b.to_vec()])).unwrap();
        let mut found = Vec::new();
        let s = diff(pa.to_str().unwrap(), pb.to_str().unwrap(), options, |d| {
            found.push(d.clone());
            Ok(())
        })
        .unwrap();
        std::fs::remove_dir_all(dir).unwrap();
        (found, s)
    }

    #[test]
    fn stream_entries_are_named_by_id_and_the_rest_counted() {
        use rdbkit_testkit::build::{entry, stream_v1};
        let ra = entry(15, b"s", &stream_v1(1000, &[b"a", b"b", b"c"], 3));
        let rb = entry(15, b"s", &stream_v1(1000, &[b"a", b"X", b"c", b"d"], 4));
        let id = |seq| StreamId { ms: 1000, seq };
        let (found, s) = compare(&ra, &rb, DiffOptions::default());
        assert_eq!((s.differ, s.same), (1, 0));
        let [
            Difference::Value {
                kind: "stream",
                a,
                b,
                members: Some(m),
                ..
            },
        ] = found.as_slice()
        else {
            panic!("{found:?}");
        };
        assert_eq!((a.len, b.len), (3, 4));
        let want = [
            (At::Entry(id(2)), Change::Differs),
            (At::Entry(id(4)), Change::OnlyB),
            (At::LastId, Change::Id { a: id(3), b: id(4) }),
        ];
        let got: Vec<_> = m
            .first
            .iter()
            .map(|m| (m.at.clone(), m.change.clone()))
            .collect();
        assert_eq!((got.as_slice(), m.more), (&want[..], 0));

        let one = DiffOptions {
            detail_members: 1,
            ..DiffOptions::default()
        };
        let (found, _) = compare(&ra, &rb, one);
        let [
            Difference::Value {
                members: Some(m), ..
            },
        ] = found.as_slice()
        else {
            panic!("{found:?}");
        };
        assert_eq!((m.first.len(), m.more), (1, 2));

        // Not read again: the counts only.
        let none = DiffOptions {
            detail_keys: 0,
            ..DiffOptions::default()
        };
        let (found, _) = compare(&ra, &rb, none);
        assert!(matches!(
            found.as_slice(),
            [Difference::Value { members: None, .. }]
        ));
    }
}
