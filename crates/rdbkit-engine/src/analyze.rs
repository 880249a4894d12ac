//! Where the memory of a snapshot goes, in one streaming
//! pass: biggest keys by estimated memory and by element count, a key-prefix
//! tree, per-type and per-db totals, a TTL histogram and encoding counts.
//!
//! Memory is constant in the number of keys except for the two top-N heaps
//! (`--top`) and the prefix table, which never holds more than
//! `--max-prefixes` entries: prefixes first seen once it is full are not
//! tracked (their keys are still in every other total and are reported as
//! "untracked"). The size and element-count histograms have one bucket
//! per power of two (65 at most).
//!
//! [`html`] renders an analysis, with the file's facts from the same walk,
//! as one self-contained HTML page.
//!
//! ```
//! use rdbkit_engine::analyze::{AnalyzeOptions, analyze};
//! use rdbkit_engine::select::{Selection, Selector};
//!
//! # let dir = std::env::temp_dir().join(format!("rdbkit-doc-analyze-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("dump.rdb");
//! // Keys "user:1" and "user:2" (strings) in an RDB 9 file.
//! std::fs::write(&path, b"REDIS0009\xfe\x00\x00\x06user:1\x01a\x00\x06user:2\x01b\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
//! let selector = Selector::new(&Selection::default())?;
//! let a = analyze(path.to_str().unwrap(), selector, &AnalyzeOptions::default())?;
//! assert_eq!(a.total().keys, 2);
//! assert_eq!(a.prefixes(1)[0].0, b"user:");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::io::{self, Write};

use rdbkit_parser::{DisplayBytes, JsonRoot, Record};

use crate::json;
use crate::memory::{Alloc, Sizer};
use crate::select::{Selector, now_ms};
use crate::source::{Visitor, walk};
use crate::target::Target;

pub mod html;

/// What an analysis looks at and how much it keeps.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// How many keys and prefixes each top table lists.
    pub top: usize,
    /// The separator of key segments for the prefix tree.
    pub delimiter: Vec<u8>,
    /// The prefix tree's depth (segments).
    pub depth: usize,
    /// The most distinct prefixes tracked (bounds memory).
    pub max_prefixes: usize,
    /// The server whose memory the estimate models (`None`: the file's own
    /// release line).
    pub target: Option<Target>,
    /// The allocator whose size classes the estimate rounds to.
    pub alloc: Alloc,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            top: 10,
            delimiter: b":".to_vec(),
            depth: 2,
            max_prefixes: 100_000,
            target: None,
            alloc: Alloc::default(),
        }
    }
}

/// Count, estimated memory and elements of a group of keys.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    /// Keys.
    pub keys: u64,
    /// Estimated memory, bytes.
    pub bytes: u64,
    /// Elements.
    pub elements: u64,
}

impl Totals {
    pub(crate) fn add(&mut self, bytes: u64, elements: u64) {
        self.keys += 1;
        self.bytes += bytes;
        self.elements += elements;
    }
}

/// One key kept in a top-N heap.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct TopKey {
    /// The ranking value first, so that the derived order ranks by it.
    rank: u64,
    db: u64,
    key: Vec<u8>,
    type_name: &'static str,
    encoding: &'static str,
    bytes: u64,
    elements: u64,
}

/// A bounded "largest N" collection: a min-heap of the best N so far.
#[derive(Debug)]
struct TopN {
    n: usize,
    heap: BinaryHeap<Reverse<TopKey>>,
}

impl TopN {
    fn push(&mut self, k: TopKey) {
        if self.n == 0 {
            return;
        }
        if self.heap.len() < self.n {
            self.heap.push(Reverse(k));
        } else if self.heap.peek().is_some_and(|m| k > m.0) {
            self.heap.pop();
            self.heap.push(Reverse(k));
        }
    }

    fn sorted(&self) -> Vec<TopKey> {
        let mut v: Vec<TopKey> = self.heap.iter().map(|r| r.0.clone()).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// TTL histogram buckets: text, stable JSON key, upper bound in ms (the
/// last is open).
const TTL_BUCKETS: &[(&str, &str, i64)] = &[
    ("expired", "expired", 0),
    ("< 1 minute", "lt_1m", 60_000),
    ("< 1 hour", "lt_1h", 3_600_000),
    ("< 1 day", "lt_1d", 86_400_000),
    ("< 1 week", "lt_7d", 7 * 86_400_000),
    ("< 30 days", "lt_30d", 30 * 86_400_000),
    ("< 1 year", "lt_1y", 365 * 86_400_000),
    (">= 1 year", "ge_1y", i64::MAX),
];

/// Histogram buckets: 0, then one per power of two (`2^(i-1) ..= 2^i - 1`).
const LOG2_BUCKETS: usize = 65;

/// The bucket of `x` among [`LOG2_BUCKETS`].
fn log2_bucket(x: u64) -> usize {
    (u64::BITS - x.leading_zeros()) as usize
}

/// One bucket of a histogram: the keys whose value is in `min..=max`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// The smallest value of the bucket.
    pub min: u64,
    /// The largest value of the bucket.
    pub max: u64,
    /// The keys in it, their memory and elements.
    pub totals: Totals,
}

/// The buckets of `hist` from its first non-empty one to its last.
fn buckets(hist: &[Totals; LOG2_BUCKETS]) -> Vec<Bucket> {
    let (Some(first), Some(last)) = (
        hist.iter().position(|t| t.keys > 0),
        hist.iter().rposition(|t| t.keys > 0),
    ) else {
        return Vec::new();
    };
    (first..=last)
        .map(|i| Bucket {
            min: if i == 0 { 0 } else { 1 << (i - 1) },
            max: if i == 0 { 0 } else { u64::MAX >> (64 - i) },
            totals: hist[i],
        })
        .collect()
}

/// The result of [`analyze`]: totals, top keys, prefixes, TTLs.
#[derive(Debug)]
pub struct Analysis {
    sizer: Sizer,
    delimiter: Vec<u8>,
    depth: usize,
    max_prefixes: usize,
    now: i64,
    total: Totals,
    by_type: BTreeMap<&'static str, Totals>,
    by_db: BTreeMap<u64, Totals>,
    expires_by_db: BTreeMap<u64, u64>,
    encodings: BTreeMap<(&'static str, &'static str), Totals>,
    /// Keys by estimated memory.
    size_hist: [Totals; LOG2_BUCKETS],
    /// Collections by element count (strings have no elements to count).
    element_hist: [Totals; LOG2_BUCKETS],
    no_ttl: u64,
    ttl: [u64; TTL_BUCKETS.len()],
    by_bytes: TopN,
    by_elements: TopN,
    prefixes: HashMap<(usize, Vec<u8>), Totals>,
    untracked: Totals,
    /// Keys without the delimiter: in no prefix.
    unprefixed: Totals,
    top: usize,
    /// RedisJSON documents by the kind of their root value.
    json_roots: BTreeMap<JsonRoot, u64>,
    /// RedisJSON values that did not decode.
    json_not_decoded: u64,
}

impl Analysis {
    fn prefixes_of(&mut self, key: &[u8], bytes: u64, elements: u64) {
        let d = &self.delimiter;
        if d.is_empty() || self.depth == 0 {
            self.unprefixed.add(bytes, elements);
            return;
        }
        let mut end = 0;
        for level in 1..=self.depth {
            let Some(pos) = key[end..].windows(d.len()).position(|w| w == &d[..]) else {
                if level == 1 {
                    self.unprefixed.add(bytes, elements);
                }
                return;
            };
            end += pos + d.len();
            let k = (level, key[..end].to_vec());
            if let Some(t) = self.prefixes.get_mut(&k) {
                t.add(bytes, elements);
            } else if self.prefixes.len() < self.max_prefixes {
                let mut t = Totals::default();
                t.add(bytes, elements);
                self.prefixes.insert(k, t);
            } else if level == 1 {
                self.untracked.add(bytes, elements);
            }
        }
    }
}

impl Visitor for Analysis {
    fn header(&mut self, version: rdbkit_parser::RdbVersion) -> crate::Result<()> {
        self.sizer.header(version);
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        let Some((e, mut m)) = self.sizer.measure(rec)? else {
            return Ok(true);
        };
        // One vocabulary with `info`, `keys` and `--type`: the type names of
        // Redis's TYPE command, and a string is one element (the memory
        // report's CSV keeps rdbtools' "sortedset" and string lengths).
        if m.type_name == "sortedset" {
            m.type_name = "zset";
        }
        if m.type_name == "string" {
            m.elements = 1;
        }
        self.total.add(m.bytes, m.elements);
        self.by_type
            .entry(m.type_name)
            .or_default()
            .add(m.bytes, m.elements);
        self.by_db.entry(e.db).or_default().add(m.bytes, m.elements);
        self.encodings
            .entry((m.type_name, m.encoding))
            .or_default()
            .add(m.bytes, m.elements);
        self.size_hist[log2_bucket(m.bytes)].add(m.bytes, m.elements);
        if m.type_name != "string" {
            self.element_hist[log2_bucket(m.elements)].add(m.bytes, m.elements);
        }
        match e.expire_ms {
            None => self.no_ttl += 1,
            Some(t) => {
                *self.expires_by_db.entry(e.db).or_default() += 1;
                let left = t.saturating_sub(self.now);
                let i = if left <= 0 {
                    0
                } else {
                    TTL_BUCKETS
                        .iter()
                        .position(|(_, _, max)| left < *max)
                        .unwrap_or(TTL_BUCKETS.len() - 1)
                };
                self.ttl[i] += 1;
            }
        }
        let top = |rank| TopKey {
            rank,
            db: e.db,
            key: e.key.to_vec(),
            type_name: m.type_name,
            encoding: m.encoding,
            bytes: m.bytes,
            elements: m.elements,
        };
        // Strings have no elements: rank collections only by element count.
        if self.by_bytes.heap.len() < self.by_bytes.n
            || self
                .by_bytes
                .heap
                .peek()
                .is_some_and(|p| m.bytes > p.0.rank)
        {
            self.by_bytes.push(top(m.bytes));
        }
        if m.type_name != "string"
            && (self.by_elements.heap.len() < self.by_elements.n
                || self
                    .by_elements
                    .heap
                    .peek()
                    .is_some_and(|p| m.elements > p.0.rank))
        {
            self.by_elements.push(top(m.elements));
        }
        self.prefixes_of(&e.key, m.bytes, m.elements);
        if e.value.kind() == Some(rdbkit_parser::ValueKind::Module)
            && let rdbkit_parser::Value::Module(v) = e.value.decode()?
        {
            match v.json() {
                Some(Ok(doc)) => *self.json_roots.entry(doc.root).or_default() += 1,
                Some(Err(_)) => self.json_not_decoded += 1,
                None => {}
            }
        }
        Ok(true)
    }
}

/// Human-readable byte count.
fn human(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Analyze the file at `path` (`-` for stdin): the keys `selector` picks.
pub fn analyze(
    path: &str,
    selector: Selector,
    options: &AnalyzeOptions,
) -> crate::Result<Analysis> {
    let mut a = Analysis::new(selector, options);
    walk(path, Default::default(), &mut a)?;
    Ok(a)
}

impl Analysis {
    /// An analysis before its walk: a [`Visitor`] to feed the records to.
    fn new(selector: Selector, options: &AnalyzeOptions) -> Analysis {
        Analysis {
            sizer: Sizer::new(selector, options.target, options.alloc),
            delimiter: options.delimiter.clone(),
            depth: options.depth,
            max_prefixes: options.max_prefixes,
            now: now_ms(),
            total: Totals::default(),
            by_type: BTreeMap::new(),
            by_db: BTreeMap::new(),
            expires_by_db: BTreeMap::new(),
            encodings: BTreeMap::new(),
            size_hist: [Totals::default(); LOG2_BUCKETS],
            element_hist: [Totals::default(); LOG2_BUCKETS],
            no_ttl: 0,
            ttl: [0; TTL_BUCKETS.len()],
            by_bytes: TopN {
                n: options.top,
                heap: BinaryHeap::new(),
            },
            by_elements: TopN {
                n: options.top,
                heap: BinaryHeap::new(),
            },
            prefixes: HashMap::new(),
            untracked: Totals::default(),
            unprefixed: Totals::default(),
            top: options.top,
            json_roots: BTreeMap::new(),
            json_not_decoded: 0,
        }
    }

    /// RedisJSON documents by the kind of their root value (`JSON.TYPE`
    /// of `$`), and how many RedisJSON values did not decode.
    pub fn json_documents(&self) -> (&BTreeMap<JsonRoot, u64>, u64) {
        (&self.json_roots, self.json_not_decoded)
    }

    /// All keys analyzed.
    pub fn total(&self) -> Totals {
        self.total
    }

    /// The top prefixes of `level` (1 = first segment), by memory.
    pub fn prefixes(&self, level: usize) -> Vec<(Vec<u8>, Totals)> {
        let mut l: Vec<(Vec<u8>, Totals)> = self
            .prefixes
            .iter()
            .filter(|((lv, _), _)| *lv == level)
            .map(|((_, p), t)| (p.clone(), *t))
            .collect();
        l.sort_by(|x, y| y.1.bytes.cmp(&x.1.bytes).then_with(|| x.0.cmp(&y.0)));
        l.truncate(self.top);
        l
    }

    /// Keys by estimated memory, one bucket per power of two, from the
    /// first bucket with a key to the last.
    pub fn size_histogram(&self) -> Vec<Bucket> {
        buckets(&self.size_hist)
    }

    /// Collections (every type but strings) by element count, one bucket
    /// per power of two, from the first bucket with a key to the last.
    pub fn element_histogram(&self) -> Vec<Bucket> {
        buckets(&self.element_hist)
    }

    fn levels(&self) -> Vec<Vec<(Vec<u8>, Totals)>> {
        (1..=self.depth).map(|l| self.prefixes(l)).collect()
    }

    /// The analysis as text for people.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        write_text(self, &self.levels(), out)
    }

    /// The analysis as one JSON document.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        write_json(self, &self.levels(), out)
    }
}

fn write_text(
    a: &Analysis,
    levels: &[Vec<(Vec<u8>, Totals)>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let t = &a.total;
    writeln!(
        out,
        "keys: {}   estimated memory: {} ({} bytes)   elements: {}",
        t.keys,
        human(t.bytes),
        t.bytes,
        t.elements
    )?;
    writeln!(
        out,
        "\nby type:\n  {:<10} {:>10} {:>14} {:>12}",
        "type", "keys", "bytes", "elements"
    )?;
    for (ty, t) in &a.by_type {
        writeln!(
            out,
            "  {ty:<10} {:>10} {:>14} {:>12}",
            t.keys, t.bytes, t.elements
        )?;
    }
    writeln!(
        out,
        "\nby database:\n  {:<4} {:>10} {:>10} {:>14}",
        "db", "keys", "expires", "bytes"
    )?;
    for (db, t) in &a.by_db {
        let ex = a.expires_by_db.get(db).copied().unwrap_or(0);
        writeln!(out, "  {db:<4} {:>10} {ex:>10} {:>14}", t.keys, t.bytes)?;
    }
    writeln!(
        out,
        "\nencodings (in memory on the target, estimated; `info` shows those stored in the file):"
    )?;
    for ((ty, enc), n) in &a.encodings {
        writeln!(out, "  {:<22} {:>10}", format!("{ty}/{enc}"), n.keys)?;
    }
    writeln!(out, "\nTTL:\n  {:<12} {:>10}", "no expiry", a.no_ttl)?;
    for ((name, _, _), n) in TTL_BUCKETS.iter().zip(a.ttl) {
        writeln!(out, "  {name:<12} {n:>10}")?;
    }
    if !a.json_roots.is_empty() || a.json_not_decoded > 0 {
        writeln!(out, "\nJSON documents (RedisJSON), by root:")?;
        for (root, n) in &a.json_roots {
            writeln!(out, "  {:<12} {n:>10}", root.as_str())?;
        }
        if a.json_not_decoded > 0 {
            writeln!(out, "  {:<12} {:>10}", "not decoded", a.json_not_decoded)?;
        }
    }
    for (title, top, unit) in [
        ("biggest keys by estimated memory", &a.by_bytes, "bytes"),
        ("biggest keys by element count", &a.by_elements, "elements"),
    ] {
        writeln!(out, "\n{title}:")?;
        for k in top.sorted() {
            writeln!(
                out,
                "  {:>12} {unit:<8} db {:<3} {:<9} {:<11} {:#}",
                k.rank,
                k.db,
                k.type_name,
                k.encoding,
                DisplayBytes(&k.key)
            )?;
        }
    }
    for (i, l) in levels.iter().enumerate() {
        writeln!(
            out,
            "\nkey prefixes, depth {} (by estimated memory):",
            i + 1
        )?;
        for (p, t) in l {
            writeln!(
                out,
                "  {:>14} bytes {:>10} keys  {:#}",
                t.bytes,
                t.keys,
                DisplayBytes(p)
            )?;
        }
    }
    if a.untracked.keys > 0 {
        writeln!(
            out,
            "\n(prefix table full at --max-prefixes {}: {} keys, {} bytes untracked)",
            a.max_prefixes, a.untracked.keys, a.untracked.bytes
        )?;
    }
    Ok(())
}

fn totals_json(o: &mut Vec<u8>, t: &Totals) {
    json::raw(o, "{\"keys\":");
    json::int(o, t.keys);
    json::raw(o, ",\"bytes\":");
    json::int(o, t.bytes);
    json::raw(o, ",\"elements\":");
    json::int(o, t.elements);
    o.push(b'}');
}

fn write_json(
    a: &Analysis,
    levels: &[Vec<(Vec<u8>, Totals)>],
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut o = Vec::new();
    json::raw(&mut o, "{\"total\":");
    totals_json(&mut o, &a.total);
    json::raw(&mut o, ",\"types\":{");
    for (i, (ty, t)) in a.by_type.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, ty);
        o.push(b':');
        totals_json(&mut o, t);
    }
    json::raw(&mut o, "},\"dbs\":{");
    for (i, (db, t)) in a.by_db.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, &db.to_string());
        o.push(b':');
        totals_json(&mut o, t);
        o.pop();
        json::raw(&mut o, ",\"expires\":");
        json::int(&mut o, a.expires_by_db.get(db).copied().unwrap_or(0));
        o.push(b'}');
    }
    json::raw(&mut o, "},\"encodings\":{");
    for (i, ((ty, enc), n)) in a.encodings.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, &format!("{ty}/{enc}"));
        o.push(b':');
        json::int(&mut o, n.keys);
    }
    json::raw(&mut o, "},\"json_documents\":{");
    for (i, (root, n)) in a.json_roots.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, root.as_str());
        o.push(b':');
        json::int(&mut o, *n);
    }
    json::raw(&mut o, "},\"json_not_decoded\":");
    json::int(&mut o, a.json_not_decoded);
    json::raw(&mut o, ",\"ttl\":{\"none\":");
    json::int(&mut o, a.no_ttl);
    for ((_, name, _), n) in TTL_BUCKETS.iter().zip(a.ttl) {
        o.push(b',');
        json::str(&mut o, name);
        o.push(b':');
        json::int(&mut o, n);
    }
    o.push(b'}');
    for (name, hist) in [
        ("size_histogram", a.size_histogram()),
        ("element_histogram", a.element_histogram()),
    ] {
        json::raw(&mut o, ",\"");
        json::raw(&mut o, name);
        json::raw(&mut o, "\":[");
        for (i, b) in hist.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::raw(&mut o, "{\"min\":");
            json::int(&mut o, b.min);
            json::raw(&mut o, ",\"max\":");
            json::int(&mut o, b.max);
            json::raw(&mut o, ",\"keys\":");
            json::int(&mut o, b.totals.keys);
            json::raw(&mut o, ",\"bytes\":");
            json::int(&mut o, b.totals.bytes);
            json::raw(&mut o, ",\"elements\":");
            json::int(&mut o, b.totals.elements);
            o.push(b'}');
        }
        o.push(b']');
    }
    for (name, top) in [
        ("top_by_bytes", &a.by_bytes),
        ("top_by_elements", &a.by_elements),
    ] {
        json::raw(&mut o, ",\"");
        json::raw(&mut o, name);
        json::raw(&mut o, "\":[");
        for (i, k) in top.sorted().iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::raw(&mut o, "{\"db\":");
            json::int(&mut o, k.db);
            json::raw(&mut o, ",\"key\":");
            json::bytes(&mut o, &k.key);
            json::raw(&mut o, ",\"type\":");
            json::str(&mut o, k.type_name);
            json::raw(&mut o, ",\"encoding\":");
            json::str(&mut o, k.encoding);
            json::raw(&mut o, ",\"bytes\":");
            json::int(&mut o, k.bytes);
            json::raw(&mut o, ",\"elements\":");
            json::int(&mut o, k.elements);
            o.push(b'}');
        }
        o.push(b']');
    }
    json::raw(&mut o, ",\"prefixes\":[");
    for (i, l) in levels.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        o.push(b'[');
        for (j, (p, t)) in l.iter().enumerate() {
            if j > 0 {
                o.push(b',');
            }
            json::raw(&mut o, "{\"prefix\":");
            json::bytes(&mut o, p);
            json::raw(&mut o, ",\"keys\":");
            json::int(&mut o, t.keys);
            json::raw(&mut o, ",\"bytes\":");
            json::int(&mut o, t.bytes);
            json::raw(&mut o, ",\"elements\":");
            json::int(&mut o, t.elements);
            o.push(b'}');
        }
        o.push(b']');
    }
    json::raw(&mut o, "],\"untracked_prefix_keys\":");
    json::int(&mut o, a.untracked.keys);
    json::raw(&mut o, "}\n");
    out.write_all(&o)?;
    Ok(())
}
