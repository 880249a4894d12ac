//! The analysis as one self-contained HTML page (`rdbkit analyze --html`):
//! memory by key prefix as a zoomable treemap, memory and keys by type,
//! encoding and database, the size, element-count and TTL histograms, the
//! biggest keys in sortable tables, the file's facts (version, writer, AUX
//! fields, functions, modules, checksum) and, when asked for, the
//! preflight of a conversion.
//!
//! [`report`] gathers all of it in **one walk** of the file: the analysis,
//! the facts of [`info`](crate::info) and the dry run of
//! [`preflight`](crate::preflight) are three visitors of the same records.
//! [`Report::write_html`] renders it.
//!
//! The page needs nothing at view time: the styles and a small hand-written
//! script are inside it, and its Content-Security-Policy forbids every
//! load and every script but its own (by hash). Its size is bounded
//! whatever the file: at most [`HtmlOptions::max_cells`] prefixes (and
//! [`HtmlOptions::max_children`] under one), at most
//! [`HtmlOptions::max_rows`] rows in each key table, at most 100 entries in
//! each list of facts, prefixes cut after 64 bytes and keys and values
//! after 128: with the defaults, under 3 MB whatever the file (about
//! 400 bytes a prefix and 1 KB a row at worst, every byte escaped).
//!
//! Keys are bytes: every key, prefix and value is shown as text (see
//! [`text`]), HTML-escaped where the page is written in Rust; the treemap's
//! data is JSON inside `<script type="application/json">` with `<`, `>`
//! and `&` written as `\u003c`, `\u003e`, `\u0026`, so no key can close the
//! element, and the script only ever sets `textContent`.
//!
//! ```
//! use rdbkit_engine::analyze::AnalyzeOptions;
//! use rdbkit_engine::analyze::html::{HtmlOptions, report};
//! use rdbkit_engine::select::{Selection, Selector};
//!
//! # let dir = std::env::temp_dir().join(format!("rdbkit-doc-html-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("dump.rdb");
//! // An RDB 9 file with the keys "user:1" and "<script>alert(1)</script>".
//! std::fs::write(
//!     &path,
//!     b"REDIS0009\xfe\x00\x00\x06user:1\x01a\x00\x19<script>alert(1)</script>\x01b\xff\0\0\0\0\0\0\0\0",
//! )?;
//! let selector = Selector::new(&Selection::default())?;
//! let r = report(path.to_str().unwrap(), selector, &AnalyzeOptions::default(), None)?;
//! assert_eq!(r.analysis.total().keys, 2);
//! assert_eq!(r.facts.dbs[&0].keys, 2);
//!
//! let mut page = Vec::new();
//! r.write_html(&HtmlOptions::new("dump.rdb"), &mut page)?;
//! let page = String::from_utf8(page)?;
//! assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
//! assert!(!page.contains("<script>alert"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use base64::Engine as _;
use rdbkit_parser::{Checksum, RdbVersion, Record};

use super::{Analysis, AnalyzeOptions, Bucket, TTL_BUCKETS, Totals, human};
use crate::info::Info;
use crate::preflight::{DryRun, Preflight, PreflightOptions, loads_as_is};
use crate::select::Selector;
use crate::source::{Visitor, walk};

/// The page's styles.
const CSS: &str = include_str!("report.css");
/// The page's script: the treemap, the tooltips, the sortable tables.
const JS: &str = include_str!("report.js");

/// Bytes of a key or value shown before it is cut.
const MAX_TEXT: usize = 128;
/// Bytes of a prefix shown in the treemap before it is cut.
const MAX_LABEL: usize = 64;
/// Rows of the treemap's table (the page's text without the script).
const MAX_PREFIX_ROWS: usize = 200;
/// Entries of each list of facts (AUX fields, databases, functions,
/// modules, losses, notes) shown before "and N more".
const MAX_LIST: usize = 100;

/// Everything the page shows, from one walk.
#[derive(Debug)]
pub struct Report {
    /// The analysis of the selected keys.
    pub analysis: Analysis,
    /// The file's facts (of the whole file, whatever the selection); its
    /// `end` is filled in.
    pub facts: Info,
    /// The dry run of a conversion, when one was asked for.
    pub preflight: Option<Preflight>,
}

/// The three visitors of the one walk.
struct Gather {
    analysis: Analysis,
    facts: Info,
    dry: Option<DryRun>,
}

impl Visitor for Gather {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        self.analysis.header(version)?;
        self.facts.header(version)?;
        if let Some(d) = &mut self.dry {
            d.header(version)?;
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        self.analysis.record(rec)?;
        self.facts.record(rec)?;
        if let Some(d) = &mut self.dry {
            d.record(rec)?;
        }
        Ok(true)
    }
}

/// Analyze the file at `path` (`-` for stdin) as [`analyze`](super::analyze)
/// does, gather its facts as [`info`](crate::info::info) does, and, given
/// `preflight`, dry-run that conversion as
/// [`preflight`](crate::preflight::preflight) does: all in one walk.
///
/// The dry run is the costly part (every value is converted, and the
/// output thrown away); without it the walk costs what `analyze` costs.
pub fn report(
    path: &str,
    selector: Selector,
    options: &AnalyzeOptions,
    preflight: Option<PreflightOptions>,
) -> crate::Result<Report> {
    let target = preflight.as_ref().map(|o| o.convert.target);
    let mut g = Gather {
        analysis: Analysis::new(selector, options),
        facts: Info::new(),
        // The expired keys are counted by the facts, at their own time.
        dry: preflight.as_ref().map(|o| DryRun::new(o.convert.clone())),
    };
    let end = walk(path, Default::default(), &mut g)?;
    g.facts.finish();
    g.facts.end = Some(end);
    let preflight = match (g.dry, target, preflight) {
        (Some(mut dry), Some(target), Some(options)) => {
            let (modules, missing_modules) = dry.module_uses(&options);
            let (source, report) = dry.finish()?;
            Some(Preflight {
                source,
                target,
                loads_as_is: loads_as_is(source, target) && missing_modules.is_empty(),
                report,
                // The same walk's facts count the keys per database and
                // the expired ones.
                keys_by_db: g.facts.dbs.iter().map(|(db, d)| (*db, d.keys)).collect(),
                expired: g.facts.dbs.values().map(|d| d.expired).sum(),
                memory: None,
                modules,
                missing_modules,
            })
        }
        _ => None,
    };
    Ok(Report {
        analysis: g.analysis,
        facts: g.facts,
        preflight,
    })
}

/// How the page is written.
#[derive(Debug, Clone)]
pub struct HtmlOptions {
    /// The page's title: the file as the user named it.
    pub title: String,
    /// The name the preflight's target was given by (`azure-premium`),
    /// shown beside its RDB version.
    pub target_name: Option<String>,
    /// The most prefixes drawn in the treemap, all levels together: the
    /// biggest ones (the rest of each parent is one "other" cell).
    pub max_cells: usize,
    /// The most prefixes drawn under one prefix (or at the top), so that a
    /// view stays readable.
    pub max_children: usize,
    /// The most rows of each table of biggest keys.
    pub max_rows: usize,
}

impl HtmlOptions {
    /// The defaults (2000 prefixes, 250 under one parent, 500 rows a
    /// table), titled `title`.
    pub fn new(title: &str) -> HtmlOptions {
        HtmlOptions {
            title: title.to_string(),
            target_name: None,
            max_cells: 2000,
            max_children: 250,
            max_rows: 500,
        }
    }
}

/// `b` as text for people: valid UTF-8 as it is; `\xNN` for each byte of
/// invalid UTF-8 and each ASCII control byte, `\\` for a backslash, and
/// `\u{NNNN}` for the other control and invisible formatting characters
/// (bidi overrides, zero-width spaces), so that a key cannot pass for
/// another; cut after `max` bytes (at a character boundary) with its length
/// shown.
///
/// ```
/// use rdbkit_engine::analyze::html::text;
/// assert_eq!(text(b"caf\xc3\xa9:\xff\x00\\", 64), r"café:\xFF\x00\\");
/// assert_eq!(text("a\u{202e}b".as_bytes(), 64), r"a\u{202E}b");
/// assert_eq!(text(&[b'k'; 100], 4), "kkkk… (100 bytes)");
/// ```
pub fn text(b: &[u8], max: usize) -> String {
    let mut shown = &b[..b.len().min(max)];
    if shown.len() < b.len()
        && let Err(e) = std::str::from_utf8(shown)
        && e.error_len().is_none()
    {
        // A character cut in two by the limit: leave it out whole.
        shown = &shown[..e.valid_up_to()];
    }
    let mut out = String::with_capacity(shown.len() + 8);
    let mut rest = shown;
    while !rest.is_empty() {
        let (good, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => (
                // Valid by construction.
                std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
                e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
            ),
        };
        for c in good.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02X}", c as u8);
                }
                c if c.is_control() || invisible(c) => {
                    let _ = write!(out, "\\u{{{:04X}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        let after = &rest[good.len()..];
        for byte in &after[..bad] {
            let _ = write!(out, "\\x{byte:02X}");
        }
        rest = &after[bad..];
    }
    if shown.len() < b.len() {
        let _ = write!(out, "… ({} bytes)", b.len());
    }
    out
}

/// Characters that change how text around them looks or reads without
/// being seen: Unicode's format characters (category Cf) and the line and
/// paragraph separators.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}')
}

/// Append `s` HTML-escaped (for text and for quoted attribute values).
fn esc(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `s` HTML-escaped.
fn e(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    esc(&mut o, s);
    o
}

/// Append `s` as a JSON string that is safe inside a `<script>` element:
/// `<`, `>` and `&` are `\u` escapes, so no text can end the element or
/// open a comment, and U+2028/U+2029 are escaped for old parsers.
fn js_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// SHA-256 of `data` (FIPS 180-4), for the script's hash in the page's
/// Content-Security-Policy.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (wi, word) in w.iter_mut().zip(block.chunks_exact(4)) {
            *wi = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (hi, vi) in h.iter_mut().zip(v) {
            *hi = hi.wrapping_add(vi);
        }
    }
    let mut out = [0u8; 32];
    for (o, hi) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&hi.to_be_bytes());
    }
    out
}

/// A cell of the treemap: a prefix, or what its parent holds beyond the
/// prefixes shown.
#[derive(Debug)]
struct Node {
    label: String,
    /// `p` a prefix; `r` the rest of the parent (keys in no sub-prefix
    /// shown); `n` keys without the delimiter; `u` keys whose first prefix
    /// was not tracked (the prefix table was full).
    kind: char,
    totals: Totals,
    children: Vec<Node>,
}

/// Where the `level`-th delimiter of `key` ends (the same left-to-right
/// search as the analysis makes).
fn cut(key: &[u8], delim: &[u8], level: usize) -> Option<usize> {
    let mut end = 0;
    for _ in 0..level {
        let pos = key
            .get(end..)?
            .windows(delim.len())
            .position(|w| w == delim)?;
        end += pos + delim.len();
    }
    Some(end)
}

fn minus(a: Totals, b: Totals) -> Totals {
    Totals {
        keys: a.keys.saturating_sub(b.keys),
        bytes: a.bytes.saturating_sub(b.bytes),
        elements: a.elements.saturating_sub(b.elements),
    }
}

fn sum(nodes: &[Node]) -> Totals {
    let mut t = Totals::default();
    for n in nodes {
        t.keys += n.totals.keys;
        t.bytes += n.totals.bytes;
        t.elements += n.totals.elements;
    }
    t
}

/// The prefix tree of the page: the biggest prefixes of every level, at
/// most `max_cells` in all and `max_children` under one parent, each
/// parent's remainder as one more cell.
fn tree(a: &Analysis, max_cells: usize, max_children: usize) -> Node {
    let mut all: Vec<(&(usize, Vec<u8>), &Totals)> = a.prefixes.iter().collect();
    // A parent is never smaller than its child and sorts first on a tie, so
    // in this order every parent comes before its children.
    all.sort_by(|x, y| {
        y.1.bytes
            .cmp(&x.1.bytes)
            .then(x.0.0.cmp(&y.0.0))
            .then_with(|| x.0.1.cmp(&y.0.1))
    });
    // Nodes in a flat arena, linked to their parent by index (0 = root),
    // each after its parent.
    let mut nodes: Vec<(Node, usize)> = vec![(
        Node {
            label: "all keys".into(),
            kind: 'p',
            totals: a.total,
            children: Vec::new(),
        },
        0,
    )];
    let mut index: HashMap<(usize, &[u8]), usize> = HashMap::new();
    let mut children: Vec<usize> = vec![0];
    for ((level, prefix), t) in all {
        if nodes.len() > max_cells {
            break;
        }
        let parent = if *level == 1 {
            Some(0)
        } else {
            cut(prefix, &a.delimiter, level - 1)
                .and_then(|end| index.get(&(level - 1, &prefix[..end])).copied())
        };
        // A prefix whose parent was left out, or whose parent is full, is
        // in its parent's remainder.
        let Some(parent) = parent.filter(|&p| children[p] < max_children) else {
            continue;
        };
        children[parent] += 1;
        children.push(0);
        index.insert((*level, prefix.as_slice()), nodes.len());
        nodes.push((
            Node {
                label: text(prefix, MAX_LABEL),
                kind: 'p',
                totals: *t,
                children: Vec::new(),
            },
            parent,
        ));
    }
    // Fold from the back: a child is always behind its parent.
    while nodes.len() > 1 {
        let Some((node, parent)) = nodes.pop() else {
            break;
        };
        if let Some(p) = nodes.get_mut(parent) {
            p.0.children.push(node);
        }
    }
    let Some((mut root, _)) = nodes.pop() else {
        return Node {
            label: "all keys".into(),
            kind: 'p',
            totals: a.total,
            children: Vec::new(),
        };
    };
    finish(&mut root, true, a);
    root
}

/// Add each parent's remainder cells, drop empty cells, sort by memory.
fn finish(node: &mut Node, root: bool, a: &Analysis) {
    for c in &mut node.children {
        finish(c, false, a);
    }
    if root {
        let shown = sum(&node.children);
        let other = minus(minus(minus(node.totals, shown), a.unprefixed), a.untracked);
        for (label, kind, t) in [
            ("(no delimiter)", 'n', a.unprefixed),
            ("(prefix table full)", 'u', a.untracked),
            ("(other prefixes)", 'r', other),
        ] {
            node.children.push(Node {
                label: label.into(),
                kind,
                totals: t,
                children: Vec::new(),
            });
        }
    } else if !node.children.is_empty() {
        let rest = minus(node.totals, sum(&node.children));
        node.children.push(Node {
            label: "(rest)".into(),
            kind: 'r',
            totals: rest,
            children: Vec::new(),
        });
    }
    // A cell of no memory has no area to draw.
    node.children.retain(|c| c.totals.bytes > 0);
    node.children
        .sort_by_key(|c| std::cmp::Reverse(c.totals.bytes));
}

fn node_json(out: &mut String, n: &Node) {
    out.push_str("{\"n\":");
    js_str(out, &n.label);
    let _ = write!(
        out,
        ",\"t\":\"{}\",\"k\":{},\"b\":{},\"e\":{}",
        n.kind, n.totals.keys, n.totals.bytes, n.totals.elements
    );
    if !n.children.is_empty() {
        out.push_str(",\"c\":[");
        for (i, c) in n.children.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            node_json(out, c);
        }
        out.push(']');
    }
    out.push('}');
}

/// The prefixes in the tree under `n` (remainder cells not counted).
fn count_prefixes(n: &Node) -> usize {
    n.children
        .iter()
        .map(|c| usize::from(c.kind == 'p') + count_prefixes(c))
        .sum()
}

/// A number with thousands separators.
fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `part` of `whole` as a fraction (0 when `whole` is 0).
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A power of two of bytes in the largest whole unit: `512 B`, `4 KiB`.
fn pow2_bytes(v: u64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut u = 0;
    let mut v = v;
    while v >= 1024 && v.is_multiple_of(1024) && u + 1 < UNITS.len() {
        v /= 1024;
        u += 1;
    }
    format!("{v} {}", UNITS[u])
}

/// One cell of a table.
enum Cell {
    /// Text (already made safe by [`text`] or fixed), sorted as text.
    Text(String),
    /// Text in a monospace font (keys, prefixes, values).
    Code(String),
    /// A number, shown with separators.
    Num(u64),
    /// A byte count, shown in units with the exact count as its title.
    Bytes(u64),
    /// A fraction, shown as a bar and a percentage.
    Share(f64),
}

/// A table; sortable ones get clickable headers from the script.
struct Table<'a> {
    id: &'a str,
    caption: &'a str,
    sortable: bool,
    head: &'a [&'a str],
    rows: Vec<Vec<Cell>>,
    /// A row after the others (not sorted): "and N more".
    more: Option<String>,
    /// Long: shown in a box of its own height that scrolls.
    tall: bool,
}

impl Table<'_> {
    fn write(&self, o: &mut String) {
        o.push_str(if self.tall {
            "<div class=\"scroll tall\"><table"
        } else {
            "<div class=\"scroll\"><table"
        });
        if !self.id.is_empty() {
            let _ = write!(o, " id=\"{}\"", e(self.id));
        }
        if self.sortable {
            o.push_str(" class=\"sortable\"");
        }
        o.push('>');
        if !self.caption.is_empty() {
            let _ = write!(o, "<caption>{}</caption>", e(self.caption));
        }
        o.push_str("<thead><tr>");
        let kinds: Vec<(&str, &str)> = match self.rows.first() {
            Some(r) => r
                .iter()
                .map(|c| match c {
                    Cell::Text(_) | Cell::Code(_) => ("text", ""),
                    Cell::Share(_) => ("num", ""),
                    _ => ("num", " class=\"num\""),
                })
                .collect(),
            None => Vec::new(),
        };
        for (i, h) in self.head.iter().enumerate() {
            let (kind, class) = kinds.get(i).copied().unwrap_or(("text", ""));
            let _ = write!(
                o,
                "<th scope=\"col\" data-type=\"{kind}\"{class}>{}</th>",
                e(h)
            );
        }
        o.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            o.push_str("<tr>");
            for c in row {
                match c {
                    Cell::Text(t) => {
                        let _ = write!(o, "<td>{}</td>", e(t));
                    }
                    Cell::Code(t) => {
                        let _ = write!(o, "<td class=\"key\"><code>{}</code></td>", e(t));
                    }
                    Cell::Num(n) => {
                        let _ = write!(o, "<td class=\"num\" data-v=\"{n}\">{}</td>", num(*n));
                    }
                    Cell::Bytes(n) => {
                        let _ = write!(
                            o,
                            "<td class=\"num\" data-v=\"{n}\" title=\"{} bytes\">{}</td>",
                            num(*n),
                            human(*n)
                        );
                    }
                    Cell::Share(f) => {
                        let pct = f * 100.0;
                        let _ = write!(
                            o,
                            "<td class=\"share\" data-v=\"{f:.6}\"><span class=\"bar\"><span style=\"width:{pct:.2}%\"></span></span><span class=\"pct\">{pct:.1}&#8239;%</span></td>"
                        );
                    }
                }
            }
            o.push_str("</tr>");
        }
        o.push_str("</tbody>");
        if let Some(m) = &self.more {
            let _ = write!(
                o,
                "<tfoot><tr><td colspan=\"{}\">{}</td></tr></tfoot>",
                self.head.len(),
                e(m)
            );
        }
        o.push_str("</table></div>");
    }
}

/// "and N more" when `total` entries were cut to `shown`.
fn more(total: usize, shown: usize, what: &str) -> Option<String> {
    (total > shown).then(|| {
        format!(
            "… and {} more {what} (not shown)",
            num((total - shown) as u64)
        )
    })
}

fn checksum_text(c: Option<Checksum>) -> String {
    match c {
        Some(Checksum::Verified(v)) => format!("CRC-64 verified (0x{v:016x})"),
        Some(Checksum::Unchecked(v)) => format!("0x{v:016x}, not checked"),
        Some(Checksum::NotComputed) => "not computed by the saver (stored 0)".into(),
        Some(Checksum::Absent) => "none (RDB < 5)".into(),
        None => "none (the file ended without an EOF record)".into(),
    }
}

impl Report {
    /// Write the page to `out`.
    pub fn write_html(&self, options: &HtmlOptions, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(self.html(options).as_bytes())
    }

    /// The page as a string (bounded: see the [module](self) docs).
    pub fn html(&self, options: &HtmlOptions) -> String {
        let a = &self.analysis;
        let f = &self.facts;
        let mut o = String::with_capacity(64 << 10);
        let tree = tree(a, options.max_cells, options.max_children);
        let version = f.version.unwrap_or(RdbVersion(0));
        let size = f
            .end
            .as_ref()
            .map_or(0, |end| end.bytes + end.trailing.unwrap_or(0));
        let file_keys: u64 = f.dbs.values().map(|d| d.keys).sum();
        let model = match a.sizer.modelled() {
            Some(t) => t.to_string(),
            None => "?".into(),
        };
        let alloc = format!("{:?}", a.sizer.alloc()).to_lowercase();
        let title = text(options.title.as_bytes(), 256);
        let when = crate::export::csv::iso8601_ms(a.now);

        o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        o.push_str("<meta name=\"color-scheme\" content=\"light dark\">");
        // Nothing may load and no script may run but the page's own.
        let hash = base64::engine::general_purpose::STANDARD.encode(sha256(JS.as_bytes()));
        let _ = write!(
            o,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-{hash}'\">"
        );
        let _ = write!(o, "<title>rdbkit report: {}</title>", e(&title));
        let _ = write!(o, "<style>{CSS}</style>");
        o.push_str("<script type=\"application/json\" id=\"rdbkit-data\">");
        o.push_str("{\"tree\":");
        node_json(&mut o, &tree);
        let _ = write!(o, ",\"prefixes\":{}}}", count_prefixes(&tree));
        o.push_str("</script>");
        let _ = write!(o, "<script>{JS}</script>");
        o.push_str("</head><body>");
        o.push_str("<pre id=\"errors\" hidden></pre>");

        // The header: what file, and the numbers that matter most.
        let _ = write!(
            o,
            "<header><h1><span class=\"brand\">rdbkit</span> <code>{}</code></h1>",
            e(&title)
        );
        let _ = write!(
            o,
            "<p class=\"sub\">{} (RDB version {}), {} · memory estimated for {} with {} · analysed {}</p>",
            e(&version.to_string()),
            version.number(),
            e(&human(size)),
            e(&model),
            e(&alloc),
            e(&when)
        );
        let expiring: u64 = a.ttl.iter().sum();
        o.push_str("<div class=\"cards\">");
        for (label, value, hint) in [
            (
                "keys",
                num(a.total.keys),
                if a.total.keys == file_keys {
                    "every key of the file".to_string()
                } else {
                    format!("selected, of {} in the file", num(file_keys))
                },
            ),
            (
                "estimated memory",
                human(a.total.bytes),
                format!("{} bytes", num(a.total.bytes)),
            ),
            (
                "elements",
                num(a.total.elements),
                "a string counts as one".into(),
            ),
            (
                "with a TTL",
                num(expiring),
                format!("{:.1} % of the keys", share(expiring, a.total.keys) * 100.0),
            ),
            ("file size", human(size), format!("{} bytes", num(size))),
        ] {
            let _ = write!(
                o,
                "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"hint\">{}</div></div>",
                e(label),
                e(&value),
                e(&hint)
            );
        }
        o.push_str("</div></header>");
        o.push_str("<nav class=\"toc\"><a href=\"#prefixes\">prefixes</a><a href=\"#breakdown\">types &amp; databases</a><a href=\"#histograms\">histograms</a><a href=\"#keys\">biggest keys</a><a href=\"#facts\">file</a>");
        if self.preflight.is_some() {
            o.push_str("<a href=\"#preflight\">preflight</a>");
        }
        o.push_str("</nav><main>");

        self.prefixes_section(&mut o, &tree);
        self.breakdown_section(&mut o);
        self.histogram_section(&mut o);
        self.keys_section(&mut o, options);
        self.facts_section(&mut o, &title, size);
        if let Some(p) = &self.preflight {
            preflight_section(&mut o, p, options.target_name.as_deref());
        }
        let _ = write!(
            o,
            "</main><footer>Written by rdbkit {} from one pass over the file. Memory figures are estimates of what the server would use (<code>MEMORY USAGE</code>), not measurements. TTLs are relative to {}.</footer>",
            env!("CARGO_PKG_VERSION"),
            e(&when)
        );
        o.push_str("</body></html>\n");
        o
    }

    fn prefixes_section(&self, o: &mut String, tree: &Node) {
        let a = &self.analysis;
        o.push_str("<section id=\"prefixes\"><h2>Memory by key prefix</h2>");
        let _ = write!(
            o,
            "<p class=\"note\">Keys cut at <code>{}</code>, {} level{} deep; the {} biggest of the {} prefixes tracked (at most {}). Click a prefix to zoom in, the path above to zoom out.</p>",
            e(&text(&a.delimiter, 32)),
            a.depth,
            if a.depth == 1 { "" } else { "s" },
            num(count_prefixes(tree) as u64),
            num(a.prefixes.len() as u64),
            num(a.max_prefixes as u64),
        );
        o.push_str("<nav id=\"crumbs\" aria-label=\"zoom path\"></nav>");
        o.push_str("<div id=\"treemap\" role=\"group\" aria-label=\"treemap of memory by key prefix\"></div>");
        o.push_str("<div id=\"tip\" role=\"tooltip\" hidden></div>");
        // The same numbers without the script.
        o.push_str("<details><summary>as a table</summary>");
        let rows: Vec<Vec<Cell>> = tree
            .children
            .iter()
            .take(MAX_PREFIX_ROWS)
            .map(|c| {
                vec![
                    Cell::Code(c.label.clone()),
                    Cell::Num(c.totals.keys),
                    Cell::Bytes(c.totals.bytes),
                    Cell::Share(share(c.totals.bytes, a.total.bytes)),
                    Cell::Num(c.children.len() as u64),
                ]
            })
            .collect();
        Table {
            id: "prefix-table",
            caption: "",
            sortable: true,
            head: &["prefix", "keys", "memory", "share", "sub-prefixes"],
            rows,
            more: more(tree.children.len(), MAX_PREFIX_ROWS, "cells"),
            tall: false,
        }
        .write(o);
        o.push_str("</details></section>");
    }

    fn breakdown_section(&self, o: &mut String) {
        let a = &self.analysis;
        let total = a.total;
        o.push_str("<section id=\"breakdown\"><h2>Memory and keys by type, encoding and database</h2><div class=\"grid\">");
        let row = |name: String, t: &Totals| {
            vec![
                Cell::Text(name),
                Cell::Num(t.keys),
                Cell::Bytes(t.bytes),
                Cell::Num(t.elements),
                Cell::Share(share(t.bytes, total.bytes)),
            ]
        };
        Table {
            id: "by-type",
            caption: "by type",
            sortable: true,
            head: &["type", "keys", "memory", "elements", "share of memory"],
            rows: a
                .by_type
                .iter()
                .map(|(ty, t)| row(ty.to_string(), t))
                .collect(),
            more: None,
            tall: false,
        }
        .write(o);
        Table {
            id: "by-encoding",
            caption: "by encoding (in memory on the server, estimated)",
            sortable: true,
            head: &[
                "type/encoding",
                "keys",
                "memory",
                "elements",
                "share of memory",
            ],
            rows: a
                .encodings
                .iter()
                .map(|((ty, enc), t)| row(format!("{ty}/{enc}"), t))
                .collect(),
            more: None,
            tall: false,
        }
        .write(o);
        let rows = a
            .by_db
            .iter()
            .take(MAX_LIST)
            .map(|(db, t)| {
                vec![
                    Cell::Num(*db),
                    Cell::Num(t.keys),
                    Cell::Num(a.expires_by_db.get(db).copied().unwrap_or(0)),
                    Cell::Bytes(t.bytes),
                    Cell::Share(share(t.bytes, total.bytes)),
                ]
            })
            .collect();
        Table {
            id: "by-db",
            caption: "by database",
            sortable: true,
            head: &["db", "keys", "with TTL", "memory", "share of memory"],
            rows,
            more: more(a.by_db.len(), MAX_LIST, "databases"),
            tall: false,
        }
        .write(o);
        o.push_str("</div></section>");
    }

    fn histogram_section(&self, o: &mut String) {
        let a = &self.analysis;
        o.push_str("<section id=\"histograms\"><h2>Histograms</h2><div class=\"grid\">");
        let hist = |rows: &[Bucket], label: &dyn Fn(&Bucket) -> String| -> Vec<Vec<Cell>> {
            let keys: u64 = rows.iter().map(|b| b.totals.keys).sum();
            let bytes: u64 = rows.iter().map(|b| b.totals.bytes).sum();
            rows.iter()
                .map(|b| {
                    vec![
                        Cell::Text(label(b)),
                        Cell::Num(b.totals.keys),
                        Cell::Share(share(b.totals.keys, keys)),
                        Cell::Bytes(b.totals.bytes),
                        Cell::Share(share(b.totals.bytes, bytes)),
                    ]
                })
                .collect()
        };
        let bytes_label = |b: &Bucket| match b.min {
            0 => "0 B".to_string(),
            m => format!(
                "{} – {}",
                pow2_bytes(m),
                pow2_bytes(b.max.saturating_add(1))
            ),
        };
        Table {
            id: "size-histogram",
            caption: "keys by estimated memory (from – below)",
            sortable: false,
            head: &[
                "memory per key",
                "keys",
                "share of keys",
                "memory",
                "share of memory",
            ],
            rows: hist(&a.size_histogram(), &bytes_label),
            more: None,
            tall: false,
        }
        .write(o);
        let elements_label = |b: &Bucket| {
            if b.min == b.max {
                num(b.min)
            } else {
                format!("{} – {}", num(b.min), num(b.max))
            }
        };
        Table {
            id: "element-histogram",
            caption: "collections by element count (strings left out)",
            sortable: false,
            head: &[
                "elements",
                "keys",
                "share of keys",
                "memory",
                "share of memory",
            ],
            rows: hist(&a.element_histogram(), &elements_label),
            more: None,
            tall: false,
        }
        .write(o);
        let mut rows = vec![vec![
            Cell::Text("no expiry".into()),
            Cell::Num(a.no_ttl),
            Cell::Share(share(a.no_ttl, a.total.keys)),
        ]];
        for ((name, _, _), n) in TTL_BUCKETS.iter().zip(a.ttl) {
            rows.push(vec![
                Cell::Text(name.to_string()),
                Cell::Num(n),
                Cell::Share(share(n, a.total.keys)),
            ]);
        }
        Table {
            id: "ttl-histogram",
            caption: "keys by time to live",
            sortable: false,
            head: &["TTL left", "keys", "share of keys"],
            rows,
            more: None,
            tall: false,
        }
        .write(o);
        o.push_str("</div></section>");
    }

    fn keys_section(&self, o: &mut String, options: &HtmlOptions) {
        let a = &self.analysis;
        o.push_str("<section id=\"keys\"><h2>Biggest keys</h2>");
        o.push_str("<p class=\"note\">Click a column's title to sort by it.</p>");
        for (id, caption, top) in [
            ("top-memory", "by estimated memory", &a.by_bytes),
            (
                "top-elements",
                "by element count (collections)",
                &a.by_elements,
            ),
        ] {
            let keys = top.sorted();
            let rows = keys
                .iter()
                .take(options.max_rows)
                .enumerate()
                .map(|(i, k)| {
                    vec![
                        Cell::Num(i as u64 + 1),
                        Cell::Code(text(&k.key, MAX_TEXT)),
                        Cell::Num(k.db),
                        Cell::Text(k.type_name.to_string()),
                        Cell::Text(k.encoding.to_string()),
                        Cell::Bytes(k.bytes),
                        Cell::Num(k.elements),
                        Cell::Share(share(k.bytes, a.total.bytes)),
                    ]
                })
                .collect();
            Table {
                id,
                caption,
                sortable: true,
                head: &[
                    "#",
                    "key",
                    "db",
                    "type",
                    "encoding",
                    "memory",
                    "elements",
                    "share of memory",
                ],
                rows,
                more: more(keys.len(), options.max_rows, "keys"),
                tall: true,
            }
            .write(o);
        }
        o.push_str("</section>");
    }

    fn facts_section(&self, o: &mut String, title: &str, size: u64) {
        let f = &self.facts;
        let a = &self.analysis;
        let version = f.version.unwrap_or(RdbVersion(0));
        let aux = |name: &[u8]| {
            f.aux
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| text(v, MAX_TEXT))
        };
        let writer = match (aux(b"redis-ver"), aux(b"valkey-ver")) {
            (_, Some(v)) => format!("Valkey {v}"),
            (Some(v), None) => format!("Redis {v}"),
            (None, None) => "not recorded".into(),
        };
        let writer = match aux(b"redis-bits") {
            Some(bits) => format!("{writer}, {bits}-bit"),
            None => writer,
        };
        let saved = aux(b"ctime")
            .and_then(|s| s.parse::<i64>().ok())
            .map(|secs| crate::export::csv::iso8601_ms(secs.saturating_mul(1000)));
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_string()
            } else {
                let n = items.len();
                let mut s: Vec<String> = items.into_iter().take(MAX_LIST).collect();
                if n > MAX_LIST {
                    s.push(format!("… and {} more", n - MAX_LIST));
                }
                s.join(", ")
            }
        };
        let end = f.end.as_ref();
        let mut facts: Vec<(&str, String)> = vec![
            ("file", title.to_string()),
            (
                "format",
                format!(
                    "{version} (magic {}, RDB version {})",
                    version.magic(),
                    version.number()
                ),
            ),
            ("size", format!("{} ({} bytes)", human(size), num(size))),
            ("written by", writer),
            ("saved", saved.unwrap_or_else(|| "not recorded".into())),
            ("checksum", checksum_text(f.checksum)),
            (
                "keys in the file",
                format!(
                    "{} in {} database{}",
                    num(f.dbs.values().map(|d| d.keys).sum()),
                    f.dbs.len(),
                    if f.dbs.len() == 1 { "" } else { "s" }
                ),
            ),
            ("keys analysed", num(a.total.keys)),
            (
                "functions",
                list(
                    f.functions
                        .iter()
                        .map(|n| text(n.as_bytes(), MAX_TEXT))
                        .collect(),
                ),
            ),
            (
                "modules",
                list(
                    f.module_types
                        .iter()
                        .map(|(m, n)| {
                            format!("{} ({} values)", text(m.as_bytes(), MAX_TEXT), num(*n))
                        })
                        .collect(),
                ),
            ),
        ];
        if !f.module_aux.is_empty() {
            facts.push((
                "module AUX data",
                list(
                    f.module_aux
                        .iter()
                        .map(|m| text(m.as_bytes(), MAX_TEXT))
                        .collect(),
                ),
            ));
        }
        if f.slot_info + f.slot_imports + f.idle + f.freq > 0 {
            facts.push((
                "hints",
                format!(
                    "{} SLOT_INFO, {} slot imports, {} keys with LRU idle time, {} with LFU frequency",
                    num(f.slot_info),
                    num(f.slot_imports),
                    num(f.idle),
                    num(f.freq)
                ),
            ));
        }
        if let Some(t) = end.and_then(|e| e.trailing).filter(|&t| t > 0) {
            facts.push((
                "after the checksum",
                format!("{} bytes (ignored by loaders)", num(t)),
            ));
        }
        if a.untracked.keys > 0 {
            facts.push((
                "prefix table",
                format!(
                    "full at {} prefixes: the first prefix of {} keys ({}) was not tracked",
                    num(a.max_prefixes as u64),
                    num(a.untracked.keys),
                    human(a.untracked.bytes)
                ),
            ));
        }
        o.push_str("<section id=\"facts\"><h2>The file</h2><div class=\"grid\"><div class=\"scroll\"><table id=\"facts-table\" class=\"facts\"><caption>facts</caption><tbody>");
        for (k, v) in &facts {
            let _ = write!(
                o,
                "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
                e(k),
                e(v)
            );
        }
        o.push_str("</tbody></table></div>");
        let rows = f
            .aux
            .iter()
            .take(MAX_LIST)
            .map(|(k, v)| vec![Cell::Code(text(k, MAX_TEXT)), Cell::Code(text(v, MAX_TEXT))])
            .collect();
        Table {
            id: "aux",
            caption: "AUX fields",
            sortable: false,
            head: &["field", "value"],
            rows,
            more: more(f.aux.len(), MAX_LIST, "fields"),
            tall: false,
        }
        .write(o);
        let rows = f
            .dbs
            .iter()
            .take(MAX_LIST)
            .map(|(db, s)| {
                vec![
                    Cell::Num(*db),
                    Cell::Num(s.keys),
                    Cell::Num(s.expires),
                    Cell::Num(s.expired),
                    Cell::Bytes(s.bytes),
                ]
            })
            .collect();
        Table {
            id: "file-dbs",
            caption: "databases as stored",
            sortable: true,
            head: &["db", "keys", "with TTL", "already expired", "serialized"],
            rows,
            more: more(f.dbs.len(), MAX_LIST, "databases"),
            tall: false,
        }
        .write(o);
        let rows = f
            .encodings
            .iter()
            .map(|(enc, n)| vec![Cell::Text(enc.to_string()), Cell::Num(*n)])
            .collect();
        Table {
            id: "file-encodings",
            caption: "encodings as stored in the file",
            sortable: true,
            head: &["encoding", "keys"],
            rows,
            more: None,
            tall: false,
        }
        .write(o);
        o.push_str("</div></section>");
    }
}

fn preflight_section(o: &mut String, p: &Preflight, name: Option<&str>) {
    let r = &p.report;
    let target = match name {
        Some(n) => format!("{} ({})", text(n.as_bytes(), 64), p.target),
        None => p.target.to_string(),
    };
    let (class, verdict) = if p.loads_as_is {
        ("ok", format!("{target} loads the file as it is."))
    } else if !p.missing_modules.is_empty() {
        let what: Vec<String> = p.missing_modules.iter().map(|u| u.to_string()).collect();
        (
            "bad",
            format!(
                "{target} does not load the file: it has no module for {}; {}.",
                what.join("; "),
                crate::preflight::MODULE_CHOICES
            ),
        )
    } else if r.is_lossless() {
        (
            "warn",
            format!(
                "{target} does not load the file as it is ({}); rdbkit convert --target rewrites it without losing data.",
                p.source
            ),
        )
    } else {
        (
            "bad",
            format!(
                "{target} does not load the file as it is ({}); converting loses: {}.",
                p.source,
                r.loss_summary()
            ),
        )
    };
    let _ = write!(
        o,
        "<section id=\"preflight\"><h2>Preflight for {}</h2><p class=\"verdict {class}\">{}</p><p class=\"note\">{}</p><div class=\"grid\">",
        e(&target),
        e(&verdict),
        // The summary line; the losses are listed below.
        e(r.to_string().lines().next().unwrap_or_default())
    );
    if !r.loss_counts.is_empty() {
        Table {
            id: "loss-counts",
            caption: "losses by kind",
            sortable: true,
            head: &["kind", "count"],
            rows: r
                .loss_counts
                .iter()
                .map(|(k, n)| vec![Cell::Text(k.as_str().to_string()), Cell::Num(*n)])
                .collect(),
            more: None,
            tall: false,
        }
        .write(o);
        let rows = r
            .losses
            .iter()
            .take(MAX_LIST)
            .map(|l| {
                vec![
                    Cell::Num(l.db),
                    Cell::Code(
                        l.key
                            .as_deref()
                            .map_or_else(|| "-".into(), |k| text(k, MAX_TEXT)),
                    ),
                    Cell::Text(l.kind.as_str().to_string()),
                    Cell::Text(text(l.detail.as_bytes(), 256)),
                ]
            })
            .collect();
        // Full width: keys and details need the room.
        o.push_str("</div>");
        Table {
            id: "losses",
            caption: "losses",
            sortable: true,
            head: &["db", "key", "kind", "what"],
            rows,
            more: more(
                r.losses_total() as usize,
                r.losses.len().min(MAX_LIST),
                "losses",
            ),
            tall: true,
        }
        .write(o);
        o.push_str("<div class=\"grid\">");
    }
    if !r.notes.is_empty() {
        let rows = r
            .notes
            .iter()
            .take(MAX_LIST)
            .map(|n| {
                vec![
                    Cell::Text(n.kind.as_str().to_string()),
                    Cell::Text(text(n.detail.as_bytes(), 256)),
                    Cell::Num(n.count),
                ]
            })
            .collect();
        Table {
            id: "notes",
            caption: "notes",
            sortable: true,
            head: &["kind", "what", "count"],
            rows,
            more: more(r.notes.len(), MAX_LIST, "notes"),
            tall: false,
        }
        .write(o);
    }
    o.push_str("</div></section>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_inputs() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Two blocks: the padding spills over.
        assert_eq!(
            hex(sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn script_text_cannot_end_its_element() {
        for (name, s) in [("report.js", JS), ("report.css", CSS)] {
            let lower = s.to_ascii_lowercase();
            assert!(
                !lower.contains("</script")
                    && !lower.contains("</style")
                    && !lower.contains("<!--"),
                "{name} would end its element"
            );
        }
        // The script never parses data as markup.
        assert!(
            !JS.contains("innerHTML")
                && !JS.contains("outerHTML")
                && !JS.contains("insertAdjacentHTML")
        );
        assert!(!JS.contains("document.write") && !JS.contains("eval("));
    }

    #[test]
    fn json_text_cannot_end_the_data_element() {
        let mut o = String::new();
        js_str(&mut o, "</script><!-- & \u{2028}\"\\\n");
        assert_eq!(
            o,
            r#""\u003c/script\u003e\u003c!-- \u0026 \u2028\"\\\u000a""#
        );
    }

    #[test]
    fn text_escapes_every_ambiguous_byte() {
        assert_eq!(text(b"a<b>&\"'", 64), "a<b>&\"'");
        assert_eq!(text(b"\x1b[31m\x7f", 64), r"\x1B[31m\x7F");
        assert_eq!(text("\u{85}\u{feff}".as_bytes(), 64), r"\u{0085}\u{FEFF}");
        // A character cut by the limit is left out whole, not half-shown.
        assert_eq!(text("ééé".as_bytes(), 3), "é… (6 bytes)");
        assert_eq!(text(b"\xff\xfe", 1), r"\xFF… (2 bytes)");
        assert_eq!(
            e("<a href='x'>&</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn numbers_for_people() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1000), "1,000");
        assert_eq!(num(1234567), "1,234,567");
        assert_eq!(pow2_bytes(512), "512 B");
        assert_eq!(pow2_bytes(1 << 20), "1 MiB");
        assert_eq!(pow2_bytes(1 << 63), "8 EiB");
    }

    #[test]
    fn cut_finds_the_nth_delimiter() {
        assert_eq!(cut(b"a:b:c", b":", 1), Some(2));
        assert_eq!(cut(b"a:b:c", b":", 2), Some(4));
        assert_eq!(cut(b"a:b:c", b":", 3), None);
        assert_eq!(cut(b"a::b", b"::", 1), Some(3));
    }
}
