//! Export: keys as JSON lines or one JSON document, in the logical
//! shape of the fixture files (`key`, `type`, `expire_ms`, `value`,
//! `field_expire_ms`) plus `db`; as Redis commands ([`resp`]); in the shape
//! of redis-rdb-tools' JSON ([`rdbtools`]); or as a memory report ([`csv`]).

use std::collections::HashMap;
use std::io::Write;

use rdbkit_parser::{Entry, Function, Record, RecordKind, StreamId, Value};

use crate::json;
use crate::parallel::{self, Batcher, Pool};
use crate::select::Selector;
use crate::source::{MapVisitor, Visitor, walk, walk_map};
use crate::target::Target;

pub mod csv;
pub mod rdbtools;
pub mod resp;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Format {
    /// One JSON object per key per line.
    Jsonl,
    /// One JSON document: `{"dbs": {"0": [ENTRY...]}, "functions": [...]}`.
    Json,
    /// Redis commands (RESP) for `redis-cli --pipe`; see `--target`.
    Resp,
    /// Memory report with redis-rdb-tools' columns; see `--target`, `--allocator`.
    Csv,
    /// The output of redis-rdb-tools' `rdb --command json`.
    RdbtoolsJson,
}

/// Append one key as a JSON object (no trailing newline). A RedisJSON
/// document is written as itself, with `"type":"json"`; a RedisJSON value
/// that does not decode stays opaque like any module value, and the reason
/// is returned (and written in the object as `not_decoded`).
pub fn entry_json(
    out: &mut Vec<u8>,
    e: &Entry<'_>,
    with_db: bool,
) -> crate::Result<Option<rdbkit_parser::Undecodable>> {
    entry_json_spilling(out, e, with_db, &mut |_| Ok(()))
}

/// The RedisJSON values an export left opaque: how many, and the first
/// one's key and reason.
#[derive(Debug, Default)]
struct Opaque {
    n: u64,
    first: Option<String>,
}

impl Opaque {
    fn add(&mut self, key: &[u8], why: Option<rdbkit_parser::Undecodable>) {
        if let Some(why) = why {
            self.n += 1;
            self.first
                .get_or_insert_with(|| format!("key {}: {why}", rdbkit_parser::DisplayBytes(key)));
        }
    }

    fn merge(&mut self, other: Opaque) {
        self.n += other.n;
        if self.first.is_none() {
            self.first = other.first;
        }
    }

    fn summary(self) -> ExportSummary {
        let mut s = ExportSummary::default();
        if let Some(first) = self.first {
            s.warnings.push(format!(
                "{} not decoded, exported opaque (module, encver, base64 items); first: {first}",
                rdbkit_writer::count(self.n, "RedisJSON value", "RedisJSON values")
            ));
        }
        s
    }
}

/// Text buffered before [`entry_json_spilling`] hands it to its `spill`.
const SPILL: usize = 1 << 20;

/// Records above this size are exported element by element, never whole.
const HUGE: usize = 32 << 20;

/// [`entry_json`] for values of any size: between elements, whenever `out`
/// holds more than [`SPILL`] bytes, `spill` is called to write them out (and
/// clear `out`), so a multi-gigabyte list is never held as text.
fn entry_json_spilling(
    out: &mut Vec<u8>,
    e: &Entry<'_>,
    with_db: bool,
    spill: &mut dyn FnMut(&mut Vec<u8>) -> crate::Result<()>,
) -> crate::Result<Option<rdbkit_parser::Undecodable>> {
    let mut spill = |out: &mut Vec<u8>| {
        if out.len() >= SPILL {
            spill(out)
        } else {
            Ok(())
        }
    };
    let value = e.value.decode()?;
    let json_doc = match &value {
        Value::Module(m) => m.json(),
        _ => None,
    };
    let mut not_decoded = None;
    out.push(b'{');
    if with_db {
        json::raw(out, "\"db\":");
        json::int(out, e.db);
        out.push(b',');
    }
    json::raw(out, "\"key\":");
    json::bytes(out, &e.key);
    json::raw(out, ",\"type\":");
    match json_doc {
        Some(Ok(_)) => json::str(out, "json"),
        _ => json::str(out, value.kind().as_str()),
    }
    json::raw(out, ",\"expire_ms\":");
    match e.expire_ms {
        Some(t) => json::int(out, t),
        None => json::raw(out, "null"),
    }
    json::raw(out, ",\"value\":");
    let mut field_ttls: Vec<(Vec<u8>, i64)> = Vec::new();
    match &value {
        Value::String(s) => json::bytes(out, s),
        Value::List(l) => {
            out.push(b'[');
            // The checked walk: a giant list's compressed nodes are read
            // from one buffer, no element copied out.
            let mut first = true;
            l.iter()?.for_each_checked(|item| {
                if !first {
                    out.push(b',');
                }
                first = false;
                json::item(out, item);
                spill(out)
            })?;
            out.push(b']');
        }
        Value::Set(s) => {
            out.push(b'[');
            for (i, item) in s.iter()?.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json::item(out, &item?);
                spill(out)?;
            }
            out.push(b']');
        }
        Value::ZSet(z) => {
            out.push(b'[');
            for (i, r) in z.iter()?.enumerate() {
                let (m, s) = r?;
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                json::item(out, &m);
                out.push(b',');
                json::score_str(out, s);
                out.push(b']');
                spill(out)?;
            }
            out.push(b']');
        }
        Value::Hash(h) => {
            out.push(b'[');
            for (i, r) in h.iter()?.enumerate() {
                let f = r?;
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'[');
                json::item(out, &f.field);
                out.push(b',');
                json::item(out, &f.value);
                out.push(b']');
                if let Some(t) = f.expire_ms {
                    field_ttls.push((f.field.to_bytes().into_owned(), t));
                }
                spill(out)?;
            }
            out.push(b']');
        }
        Value::Stream(s) => stream_json(out, s)?,
        Value::Module(m) => match json_doc {
            Some(Ok(doc)) => {
                // Checked to be one JSON value; a raw line break can only be
                // a blank between tokens (strings hold none), and a JSON line
                // must have none.
                out.extend(doc.text.iter().filter(|&&b| b != b'\n' && b != b'\r'));
            }
            other => {
                json::raw(out, "{\"module\":");
                json::str(out, &m.id.name());
                json::raw(out, ",\"encver\":");
                json::int(out, m.id.encver());
                // Opaque module items: always base64 so they round-trip exactly.
                json::raw(out, ",\"raw\":");
                json::base64(out, m.raw_items());
                if let Some(Err(why)) = other {
                    json::raw(out, ",\"not_decoded\":");
                    json::str(out, &why.reason);
                    not_decoded = Some(why);
                }
                out.push(b'}');
            }
        },
    }
    if !field_ttls.is_empty() {
        json::raw(out, ",\"field_expire_ms\":[");
        for (i, (f, t)) in field_ttls.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            json::bytes(out, f);
            out.push(b',');
            json::int(out, t);
            out.push(b']');
        }
        out.push(b']');
    }
    out.push(b'}');
    Ok(not_decoded)
}

fn id(out: &mut Vec<u8>, id: StreamId) {
    // `"ms-seq"`, as StreamId's Display writes it, without a String.
    let mut buf = [0u8; 40];
    out.push(b'"');
    out.extend_from_slice(json::itoa(i128::from(id.ms), &mut buf));
    out.push(b'-');
    out.extend_from_slice(json::itoa(i128::from(id.seq), &mut buf));
    out.push(b'"');
}

fn stream_json(out: &mut Vec<u8>, s: &rdbkit_parser::Stream<'_>) -> crate::Result<()> {
    json::raw(out, "{\"length\":");
    json::int(out, s.length);
    json::raw(out, ",\"last_id\":");
    id(out, s.last_id);
    json::raw(out, ",\"entries\":[");
    let mut first = true;
    for r in s.entries() {
        let e = r?;
        if e.deleted {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'[');
        id(out, e.id);
        json::raw(out, ",[");
        for (i, (f, v)) in e.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            json::item(out, f);
            out.push(b',');
            json::item(out, v);
            out.push(b']');
        }
        json::raw(out, "]]");
    }
    out.push(b']');
    if let Some(n) = s.entries_added {
        json::raw(out, ",\"entries_added\":");
        json::int(out, n);
    }
    if let Some(m) = s.max_deleted_id {
        json::raw(out, ",\"max_deleted_entry_id\":");
        id(out, m);
    }
    json::raw(out, ",\"groups\":[");
    let mut groups: Vec<_> = s.groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let v2 = s.first_id.is_some();
    for (gi, g) in groups.iter().enumerate() {
        if gi > 0 {
            out.push(b',');
        }
        json::raw(out, "{\"name\":");
        json::bytes(out, &g.name);
        json::raw(out, ",\"last_delivered_id\":");
        id(out, g.last_delivered_id);
        if v2 {
            json::raw(out, ",\"entries_read\":");
            match g.entries_read {
                Some(n) => json::int(out, n),
                None => json::raw(out, "null"),
            }
        }
        let mut owner: HashMap<StreamId, &[u8]> = HashMap::new();
        for c in &g.consumers {
            for p in &c.pending {
                owner.insert(*p, &c.name);
            }
        }
        json::raw(out, ",\"pending\":[");
        for (i, p) in g.pending.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            id(out, p.id);
            out.push(b',');
            json::bytes(out, owner.get(&p.id).copied().unwrap_or_default());
            out.push(b',');
            json::int(out, p.delivery_time);
            out.push(b',');
            json::int(out, p.delivery_count);
            out.push(b']');
        }
        json::raw(out, "],\"consumers\":[");
        let mut consumers: Vec<_> = g.consumers.iter().collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        for (i, c) in consumers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json::raw(out, "{\"name\":");
            json::bytes(out, &c.name);
            json::raw(out, ",\"pending\":");
            json::int(out, c.pending.len());
            out.push(b'}');
        }
        json::raw(out, "]}");
    }
    json::raw(out, "]}");
    Ok(())
}

/// Append a function library as `{"name", "engine", "code"}` (the shape of
/// `FUNCTION LIST WITHCODE`: engine upper-case, code = full source).
pub fn function_json(out: &mut Vec<u8>, f: &Function<'_>) {
    json::raw(out, "{\"name\":");
    json::bytes(out, f.library_name().unwrap_or_default().as_bytes());
    json::raw(out, ",\"engine\":");
    json::str(out, &f.engine().unwrap_or_default().to_ascii_uppercase());
    json::raw(out, ",\"code\":");
    json::bytes(out, &f.source);
    out.push(b'}');
}

/// Output block size of the exporter.
const BLOCK: usize = 256 << 10;

struct Exporter<'a> {
    out: &'a mut dyn Write,
    sel: Selector,
    format: Format,
    buf: Vec<u8>,
    functions: Vec<u8>,
    nfunctions: usize,
    db: Option<u64>,
    in_db: bool,
    opaque: Opaque,
}

impl Visitor for Exporter<'_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Entry(e) if self.sel.matches(e, rec.raw.len() as u64) => {
                // Entries collect in `buf` and go out in blocks of BLOCK bytes
                // (one copy, few calls); a failing entry leaves no partial text.
                let mark = self.buf.len();
                if rec.raw.len() > HUGE && self.format == Format::Jsonl {
                    self.out.write_all(&self.buf)?;
                    self.buf.clear();
                    let why = huge_entry(self.out, e)?;
                    self.opaque.add(&e.key, why);
                    return Ok(true);
                }
                match self.format {
                    Format::Jsonl => {
                        match entry_json(&mut self.buf, e, true) {
                            Ok(why) => self.opaque.add(&e.key, why),
                            Err(err) => {
                                self.buf.truncate(mark);
                                self.out.write_all(&self.buf)?;
                                self.buf.clear();
                                return Err(err.context(format!(
                                    "key {}",
                                    rdbkit_parser::DisplayBytes(&e.key)
                                )));
                            }
                        }
                        self.buf.push(b'\n');
                    }
                    Format::Resp | Format::Csv | Format::RdbtoolsJson => {
                        unreachable!("handled by their own visitors")
                    }
                    Format::Json => {
                        // Databases are grouped as they come; a db that shows up
                        // twice (legal, never written by servers) gets two groups.
                        if self.db != Some(e.db) {
                            if self.in_db {
                                self.buf.extend_from_slice(b"],");
                            }
                            self.buf.push(b'"');
                            json::int(&mut self.buf, e.db);
                            self.buf.extend_from_slice(b"\":[");
                            self.db = Some(e.db);
                            self.in_db = true;
                        } else {
                            self.buf.push(b',');
                        }
                        match entry_json(&mut self.buf, e, false) {
                            Ok(why) => self.opaque.add(&e.key, why),
                            Err(err) => {
                                self.buf.truncate(mark);
                                self.out.write_all(&self.buf)?;
                                self.buf.clear();
                                return Err(err);
                            }
                        }
                    }
                }
                if self.buf.len() >= BLOCK {
                    self.out.write_all(&self.buf)?;
                    self.buf.clear();
                }
            }
            RecordKind::Function(f) => {
                if self.nfunctions > 0 {
                    self.functions.push(b',');
                }
                function_json(&mut self.functions, f);
                self.nfunctions += 1;
            }
            _ => {}
        }
        Ok(true)
    }
}

/// How an export is written.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The server that will receive the output: which commands `resp` may
    /// use, which encodings the memory estimate (`csv`) assumes. `None`: the
    /// release line that writes the file's RDB version.
    pub target: Option<Target>,
    /// The allocator whose size classes the memory estimate rounds to.
    pub alloc: crate::memory::Alloc,
    /// `resp` only: one `RESTORE key ttl payload REPLACE ABSTTL` per key,
    /// its payload encoded for this RDB version (`Some(None)`: the file's
    /// own), converted with the rules of `convert --on-loss warn`.
    pub restore: Option<Option<rdbkit_parser::RdbVersion>>,
    /// `resp` only: with [`LossPolicy::Error`](rdbkit_writer::LossPolicy),
    /// an export that would leave something out (a field TTL, a stream, a
    /// function library, a module value the target cannot take) writes
    /// nothing: a first pass over the file (decoding only what can be lost)
    /// finds it, and the error carries the report. From stdin, which is read
    /// once, the export runs and the error comes after it.
    pub on_loss: rdbkit_writer::LossPolicy,
}

/// What an export could not carry over, for the user to read.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// One line for each kind of value left out or changed.
    pub warnings: Vec<String>,
    /// `resp` with `restore`: the conversion report of the payloads, when
    /// it is not lossless.
    pub report: Option<rdbkit_writer::Report>,
}

/// Export the keys of `path` (`-` for stdin) that `sel` picks, as `format`,
/// to `out`.
///
/// ```
/// use rdbkit_engine::export::{ExportOptions, Format, export};
/// use rdbkit_engine::select::{Selection, Selector};
///
/// # let dir = std::env::temp_dir().join(format!("rdbkit-doc-export-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("dump.rdb");
/// std::fs::write(&path, b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// let sel = Selector::new(&Selection::default())?;
/// let mut out = Vec::new();
/// export(path.to_str().unwrap(), sel, Format::Resp, &ExportOptions::default(), &mut out)?;
/// assert!(out.ends_with(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn export(
    path: &str,
    sel: Selector,
    format: Format,
    options: &ExportOptions,
    out: &mut dyn Write,
) -> crate::Result<ExportSummary> {
    let target = options.target;
    if format == Format::Resp {
        let refuse = options.on_loss == rdbkit_writer::LossPolicy::Error;
        if refuse && path != "-" {
            let mut sink = std::io::sink();
            let mut dry = resp::RespExporter::dry_run(&mut sink, sel.clone(), target);
            if let Some(version) = options.restore {
                dry.restore_mode(version);
            }
            walk(path, Default::default(), &mut dry)?;
            if let Some(report) = dry.report() {
                return Err(rdbkit_writer::ConvertError::Lossy(Box::new(report)).into());
            }
        }
        let mut v = resp::RespExporter::new(out, sel, target);
        if let Some(version) = options.restore {
            v.restore_mode(version);
        }
        walk(path, Default::default(), &mut v)?;
        if refuse && let Some(report) = v.report() {
            return Err(rdbkit_writer::ConvertError::Lossy(Box::new(report)).into());
        }
        let mut summary = v.finish();
        summary.report = v.report();
        return Ok(summary);
    }
    if format == Format::RdbtoolsJson {
        let mut v = rdbtools::RdbtoolsExporter::new(out, sel);
        walk(path, Default::default(), &mut v)?;
        v.finish()?;
        return Ok(ExportSummary::default());
    }
    if format == Format::Csv {
        let mut v = csv::CsvExporter::new(out, sel, target, options.alloc);
        walk(path, Default::default(), &mut v)?;
        return Ok(ExportSummary::default());
    }
    if matches!(format, Format::Jsonl | Format::Json)
        && let Some(map) = crate::source::open_plain(path)?
    {
        let opaque = export_jsonl_parallel(&map, sel, out, format == Format::Json)?;
        return Ok(opaque.summary());
    }
    if format == Format::Json {
        out.write_all(b"{\"dbs\":{")?;
    }
    let mut ex = Exporter {
        out,
        sel,
        format,
        buf: Vec::new(),
        functions: Vec::new(),
        nfunctions: 0,
        db: None,
        in_db: false,
        opaque: Opaque::default(),
    };
    walk(path, Default::default(), &mut ex)?;
    ex.out.write_all(&ex.buf)?;
    if format == Format::Json {
        if ex.in_db {
            ex.out.write_all(b"]")?;
        }
        ex.out.write_all(b"},\"functions\":[")?;
        ex.out.write_all(&ex.functions)?;
        ex.out.write_all(b"]}\n")?;
    }
    Ok(ex.opaque.summary())
}

/// Keys per batch, and input bytes per batch, whichever comes first.
const BATCH_KEYS: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;

/// What a worker made of a batch: the lines of its keys, and the error of
/// the key that failed (the lines before it are kept, as in a sequential
/// export).
struct Lines {
    text: Vec<u8>,
    error: Option<crate::Error>,
    /// One JSON document: where each run of keys of one database starts in
    /// `text` (its keys are separated by commas).
    runs: Vec<(u64, usize)>,
    /// RedisJSON values left opaque.
    opaque: Opaque,
}

/// The walking side of the parallel JSON-lines export.
struct ParExporter<'p, 'w, 'o, 'd> {
    pool: &'p mut Pool<'w, Entry<'d>, Lines, ()>,
    out: &'o mut dyn Write,
    sel: Selector,
    batches: Batcher<Entry<'d>>,
    /// Written-out line buffers, for the workers to fill again.
    spare: &'p std::sync::Mutex<Vec<Vec<u8>>>,
    /// A key failed to decode (its error was returned).
    failed: bool,
    /// One JSON document instead of lines: the database open in it, and
    /// the function libraries, written after the databases.
    json: Option<JsonDoc>,
    /// RedisJSON values left opaque, over the batches taken.
    opaque: Opaque,
}

/// The state of one JSON document written from batches.
#[derive(Debug, Default)]
struct JsonDoc {
    db: Option<u64>,
    functions: Vec<u8>,
    nfunctions: usize,
}

impl ParExporter<'_, '_, '_, '_> {
    fn submit_rest(&mut self) {
        if let Some(batch) = self.batches.flush() {
            self.pool.submit(batch);
        }
    }

    fn take(&mut self, mut lines: Lines) -> crate::Result<()> {
        self.batches.taken();
        self.opaque.merge(std::mem::take(&mut lines.opaque));
        match &mut self.json {
            None => self.out.write_all(&lines.text)?,
            Some(doc) => {
                // Databases are grouped as they come (a database that shows up
                // twice, legal but never written by servers, gets two groups).
                for (i, &(db, start)) in lines.runs.iter().enumerate() {
                    let end = lines.runs.get(i + 1).map_or(lines.text.len(), |r| r.1);
                    if doc.db != Some(db) {
                        if doc.db.is_some() {
                            self.out.write_all(b"],")?;
                        }
                        let mut head = b"\"".to_vec();
                        json::int(&mut head, db);
                        head.extend_from_slice(b"\":[");
                        self.out.write_all(&head)?;
                        doc.db = Some(db);
                    } else {
                        self.out.write_all(b",")?;
                    }
                    self.out.write_all(&lines.text[start..end])?;
                }
            }
        }
        lines.runs.clear();
        // Fresh memory costs a page fault a page: the buffers go round.
        lines.text.clear();
        if let Ok(mut spare) = self.spare.lock() {
            spare.push(std::mem::take(&mut lines.text));
        }
        match lines.error {
            Some(e) => {
                self.failed = true;
                Err(e)
            }
            None => Ok(()),
        }
    }
}

impl<'d> MapVisitor<'d> for ParExporter<'_, '_, '_, 'd> {
    #[inline(always)]
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool> {
        let size = rec.raw.len();
        if let (RecordKind::Function(f), Some(doc)) = (&rec.kind, &mut self.json) {
            if doc.nfunctions > 0 {
                doc.functions.push(b',');
            }
            function_json(&mut doc.functions, f);
            doc.nfunctions += 1;
            return Ok(true);
        }
        if let RecordKind::Entry(e) = rec.kind
            && self.sel.matches(&e, size as u64)
        {
            if size > HUGE && self.json.is_none() {
                // Everything before it goes out first, then it, element by element.
                self.submit_rest();
                while let Some(lines) = self.pool.next() {
                    self.take(lines)?;
                }
                let why = huge_entry(self.out, &e).inspect_err(|_| self.failed = true)?;
                self.opaque.add(&e.key, why);
                return Ok(true);
            }
            if let Some(batch) = self.batches.push(rec.offset, size, e) {
                self.pool.submit(batch);
                while let Some(lines) = self.pool.try_next() {
                    self.take(lines)?;
                }
            }
        }
        Ok(true)
    }

    fn in_use_from(&self) -> u64 {
        self.batches.in_use_from()
    }
}

/// `export --format jsonl` (or `json`, one document) of a file: the walk
/// batches the selected keys and the text is made on every core, then
/// written in file order.
fn export_jsonl_parallel(
    map: &rdbkit_parser::mmap::Mmap,
    sel: Selector,
    out: &mut dyn Write,
    document: bool,
) -> crate::Result<Opaque> {
    let spare = std::sync::Mutex::new(Vec::new());
    let work = |_: &mut (), batch: Vec<Entry<'_>>| {
        let text = spare
            .lock()
            .ok()
            .and_then(|mut s| s.pop())
            .unwrap_or_else(|| Vec::with_capacity(BATCH_BYTES + BATCH_BYTES / 2));
        let mut lines = Lines {
            text,
            error: None,
            runs: Vec::new(),
            opaque: Opaque::default(),
        };
        for e in &batch {
            let (mark, runs) = (lines.text.len(), lines.runs.len());
            if document {
                if lines.runs.last().is_some_and(|r| r.0 == e.db) {
                    lines.text.push(b',');
                } else {
                    lines.runs.push((e.db, lines.text.len()));
                }
            }
            match entry_json(&mut lines.text, e, !document) {
                Ok(why) => lines.opaque.add(&e.key, why),
                Err(err) => {
                    lines.text.truncate(mark);
                    lines.runs.truncate(runs);
                    lines.error =
                        Some(err.context(format!("key {}", rdbkit_parser::DisplayBytes(&e.key))));
                    break;
                }
            }
            if !document {
                lines.text.push(b'\n');
            }
        }
        lines
    };
    parallel::with_pool(
        || (),
        &work,
        |pool| -> crate::Result<Opaque> {
            let mut ex = ParExporter {
                pool,
                out,
                sel,
                batches: Batcher::new(BATCH_KEYS, BATCH_BYTES),
                spare: &spare,
                failed: false,
                json: document.then(JsonDoc::default),
                opaque: Opaque::default(),
            };
            if document {
                ex.out.write_all(b"{\"dbs\":{")?;
            }
            let walked = walk_map(map, Default::default(), &mut ex);
            if ex.failed {
                // A key failed to decode: nothing after it is written.
                return walked.map(|_| Opaque::default());
            }
            // Keys read before a damaged record are still written.
            ex.submit_rest();
            while let Some(lines) = ex.pool.next() {
                ex.take(lines)?;
            }
            walked?;
            if let Some(doc) = &ex.json {
                if doc.db.is_some() {
                    ex.out.write_all(b"]")?;
                }
                ex.out.write_all(b"},\"functions\":[")?;
                ex.out.write_all(&doc.functions)?;
                ex.out.write_all(b"]}\n")?;
            }
            Ok(std::mem::take(&mut ex.opaque))
        },
    )
    .0
}

/// One JSON line for a key too big to hold as text: a first run of the
/// same export into nothing checks that it succeeds (a damaged value leaves
/// no partial line, as for any other key), then the line is written out
/// element by element.
fn huge_entry(
    out: &mut dyn Write,
    e: &Entry<'_>,
) -> crate::Result<Option<rdbkit_parser::Undecodable>> {
    let fail =
        |err: crate::Error| err.context(format!("key {}", rdbkit_parser::DisplayBytes(&e.key)));
    let mut buf = Vec::with_capacity(SPILL + SPILL / 4);
    entry_json_spilling(&mut buf, e, true, &mut |b: &mut Vec<u8>| {
        b.clear();
        Ok(())
    })
    .map_err(fail)?;
    buf.clear();
    let why = entry_json_spilling(&mut buf, e, true, &mut |b: &mut Vec<u8>| {
        out.write_all(b)?;
        b.clear();
        Ok(())
    })
    .map_err(fail)?;
    buf.push(b'\n');
    out.write_all(&buf)?;
    Ok(why)
}
