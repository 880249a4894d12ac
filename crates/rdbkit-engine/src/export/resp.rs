//! `export --format resp`: the snapshot as Redis commands in RESP (arrays of
//! bulk strings), ready for `redis-cli --pipe` or any RESP client. Binary
//! safe: every argument is length-prefixed, nothing is quoted or escaped.
//!
//! What each key becomes (`--target` decides which commands may be used):
//!
//! | value | commands |
//! |---|---|
//! | string | `SET` |
//! | list / set / zset / hash | `DEL`, then `RPUSH` / `SADD` / `ZADD` / `HSET` (`HMSET` before 4.0) in batches of at most [`BATCH`] elements |
//! | hash field TTLs | `HPEXPIREAT key ms FIELDS n f…`, one per distinct expiry (Redis 7.4+, Valkey 9.0+; dropped with a warning elsewhere) |
//! | stream | `DEL`, `XADD key ID f v…` with explicit IDs, `XGROUP CREATE` (with `ENTRIESREAD` on 7.0+), `XGROUP CREATECONSUMER` (6.2+), `XCLAIM … TIME ms RETRYCOUNT n FORCE JUSTID` to rebuild each PEL, then `XSETID` (with `ENTRIESADDED` / `MAXDELETEDID` on 7.0+) |
//! | key expiry | `PEXPIREAT` after the value (a past time makes the server drop the key, as a loading master does) |
//! | function library | `FUNCTION LOAD REPLACE` (7.0+) |
//! | database | `SELECT` when it changes |
//! | RedisJSON document | `DEL`, `JSON.SET key $ json` when the target has RedisJSON (`--target redis-stack-7.4`, `azure-managed-redis`) |
//! | other module value | skipped with a warning (no command rebuilds an opaque module value) |
//!
//! A PEL may name entries that were deleted from the stream (XDEL leaves
//! them pending). XCLAIM only creates PEL entries for IDs that exist, so such
//! "ghost" IDs are added as placeholder entries (`"" ""`) in their place in
//! the ID order, claimed, and deleted again with XDEL before the final
//! XSETID restores the counters. What cannot be reproduced: consumers'
//! seen/active times (set to the import time), and a stream whose
//! `max_deleted_entry_id` is 0-0 although its PEL names deleted entries (the
//! XDEL of the placeholders sets it; XSETID cannot lower it back).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use rdbkit_parser::ValueKind;
use rdbkit_parser::format::RDB_OPCODE_EOF;
use rdbkit_parser::{DisplayBytes, Entry, Function, Item, Record, RecordKind, StreamId, Value};
use rdbkit_parser::{RdbReader, RdbVersion, ReaderOptions};
use rdbkit_writer::{ConvertOptions, Converter, Loss, LossKind, LossPolicy, count};

use crate::ResultExt as _;

use crate::select::Selector;
use crate::source::Visitor;
use crate::target::Target;

/// Most elements (list items, members, field/value pairs, PEL IDs) per command.
pub const BATCH: usize = 1000;

/// Most argument bytes per batched command, so that huge elements do not
/// build commands near the server's 1 GB query-buffer limit.
const BATCH_BYTES: usize = 16 << 20;

/// One command being assembled: its arguments already RESP-encoded, and how
/// many there are (the array header needs the count first).
#[derive(Debug, Default)]
struct CmdBuf {
    args: Vec<u8>,
    n: usize,
}

impl CmdBuf {
    fn start(&mut self, name: &str) {
        self.args.clear();
        self.n = 0;
        self.arg(name.as_bytes());
    }

    fn arg(&mut self, a: &[u8]) {
        self.args.push(b'$');
        let _ = write!(self.args, "{}", a.len());
        self.args.extend_from_slice(b"\r\n");
        self.args.extend_from_slice(a);
        self.args.extend_from_slice(b"\r\n");
        self.n += 1;
    }

    fn arg_display(&mut self, v: impl std::fmt::Display) {
        let mut tmp = [0u8; 48];
        let mut c = std::io::Cursor::new(&mut tmp[..]);
        // Numbers and stream IDs are at most 41 bytes ("u64-u64").
        let _ = write!(c, "{v}");
        let n = c.position() as usize;
        self.arg(&tmp[..n]);
    }

    fn arg_item(&mut self, it: &Item<'_>) {
        match it {
            Item::Bytes(b) => self.arg(b),
            Item::Int(i) => self.arg_display(i),
        }
    }

    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write!(out, "*{}\r\n", self.n)?;
        out.write_all(&self.args)
    }
}

/// Counters for the end-of-run summary on stderr.
#[derive(Debug, Default)]
struct Stats {
    keys: u64,
    commands: u64,
    modules_skipped: u64,
    streams_skipped: u64,
    functions_skipped: u64,
    field_ttls_dropped: u64,
    restore_dropped: u64,
}

/// The RESP exporter: a [`Visitor`] writing commands to `out`.
pub struct RespExporter<'a> {
    out: &'a mut dyn Write,
    sel: Selector,
    /// Set from `--target`, else from the file's header.
    target: Option<Target>,
    db: Option<u64>,
    cmd: CmdBuf,
    stats: Stats,
    /// `--restore`: the RDB version of the payloads (`None` until the header
    /// when no target was given) and the converter that encodes them.
    restore: Option<(Option<RdbVersion>, Option<Converter>)>,
    /// Only look for what the target cannot take; write nothing.
    dry: bool,
    /// What the export leaves out, key by key (the conversion report's
    /// vocabulary).
    losses: Losses,
}

/// The losses of an export, as a conversion [`Report`](rdbkit_writer::Report)
/// lists them.
#[derive(Debug, Default)]
struct Losses {
    version: Option<RdbVersion>,
    listed: Vec<Loss>,
    counts: std::collections::BTreeMap<LossKind, u64>,
}

/// Losses listed one by one; past this they are only counted.
const LISTED_LOSSES: usize = 1000;

impl Losses {
    fn add(&mut self, offset: u64, db: u64, key: Option<&[u8]>, kind: LossKind, detail: String) {
        *self.counts.entry(kind).or_insert(0) += 1;
        if self.listed.len() < LISTED_LOSSES {
            self.listed.push(Loss {
                offset,
                db,
                key: key.map(<[u8]>::to_vec),
                kind,
                detail,
            });
        }
    }
}

impl std::fmt::Debug for RespExporter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RespExporter")
            .field("target", &self.target)
            .finish()
    }
}

impl<'a> RespExporter<'a> {
    /// An exporter for `target` (`None`: the release line that writes the
    /// file's version, known at the header).
    pub fn new(out: &'a mut dyn Write, sel: Selector, target: Option<Target>) -> Self {
        RespExporter {
            out,
            sel,
            target,
            db: None,
            cmd: CmdBuf::default(),
            stats: Stats::default(),
            restore: None,
            dry: false,
            losses: Losses::default(),
        }
    }

    /// An exporter that writes nothing and only finds what the export
    /// would leave out (read [`RespExporter::report`] after the walk): it
    /// decodes only the values that can lose something on the target.
    pub fn dry_run(sink: &'a mut dyn Write, sel: Selector, target: Option<Target>) -> Self {
        let mut e = RespExporter::new(sink, sel, target);
        e.dry = true;
        e
    }

    /// What the export left out (or, dry, would leave out), as a
    /// conversion report: `None` when nothing. With `--restore`, the
    /// payloads' conversion report is merged in.
    pub fn report(&self) -> Option<rdbkit_writer::Report> {
        let conv = match &self.restore {
            Some((_, Some(conv))) if !conv.report().is_lossless() => Some(conv.report()),
            _ => None,
        };
        if self.losses.counts.is_empty() && conv.is_none() {
            return None;
        }
        let version = self.losses.version.unwrap_or(RdbVersion(0));
        let mut r = match conv {
            Some(c) => c.clone(),
            None => rdbkit_writer::Report {
                source: version,
                target: version,
                losses: Vec::new(),
                loss_counts: Default::default(),
                notes: Vec::new(),
                stats: Default::default(),
            },
        };
        r.losses.extend(self.losses.listed.iter().cloned());
        for (k, n) in &self.losses.counts {
            *r.loss_counts.entry(*k).or_insert(0) += n;
        }
        Some(r)
    }

    /// In a dry run: a key the target cannot take whole or in part.
    fn dry_entry(&mut self, rec: &Record<'_>, e: &Entry<'_>) -> crate::Result<()> {
        use rdbkit_parser::format::{
            RDB_TYPE_HASH, RDB_TYPE_HASH_LISTPACK, RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_HASH_ZIPMAP,
        };
        let t = self.target();
        match e.value.kind() {
            Some(ValueKind::Module) => {
                if let Value::Module(m) = e.value.decode()?
                    && let Err(why) = self.module_json(&m)
                {
                    self.lose_module(rec, e, why);
                }
            }
            Some(ValueKind::Stream) if !t.has_streams() => self.lose_stream(rec, e),
            // Only the hash encodings that hold field TTLs are decoded.
            Some(ValueKind::Hash)
                if !t.has_hash_field_ttl()
                    && ![
                        RDB_TYPE_HASH,
                        RDB_TYPE_HASH_ZIPMAP,
                        RDB_TYPE_HASH_ZIPLIST,
                        RDB_TYPE_HASH_LISTPACK,
                    ]
                    .contains(&e.value.ty()) =>
            {
                if let Value::Hash(h) = e.value.decode()? {
                    let mut n = 0u64;
                    for f in h.iter()? {
                        n += u64::from(f?.expire_ms.is_some());
                    }
                    if n > 0 {
                        self.lose_field_ttls(rec.offset, e, n);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The JSON text of a module value this target can take as `JSON.SET`,
    /// or why the value cannot be exported as commands.
    fn module_json<'d>(
        &self,
        m: &rdbkit_parser::ModuleValue<'d>,
    ) -> Result<std::borrow::Cow<'d, [u8]>, String> {
        let name = m.id.name();
        match m.json() {
            None => Err(format!(
                "module {name}: no command recreates an opaque module value (--restore carries it)"
            )),
            Some(_) if !self.target().has_module(rdbkit_writer::Module::Json) => Err(format!(
                "module {name}: {} has no RedisJSON for JSON.SET (--target names one that has, e.g. redis-stack-7.4)",
                self.target()
            )),
            Some(Err(why)) => Err(format!("module {name}: not decoded: {}", why.reason)),
            Some(Ok(doc)) => Ok(doc.text),
        }
    }

    fn lose_module(&mut self, rec: &Record<'_>, e: &Entry<'_>, why: String) {
        self.stats.modules_skipped += 1;
        self.losses
            .add(rec.offset, e.db, Some(&e.key), LossKind::ModuleValue, why);
    }

    fn lose_stream(&mut self, rec: &Record<'_>, e: &Entry<'_>) {
        self.stats.streams_skipped += 1;
        let t = self.target();
        self.losses.add(
            rec.offset,
            e.db,
            Some(&e.key),
            LossKind::Stream,
            format!("stream: {t} has no streams"),
        );
    }

    fn lose_field_ttls(&mut self, offset: u64, e: &Entry<'_>, n: u64) {
        self.stats.field_ttls_dropped += n;
        let t = self.target();
        self.losses.add(
            offset,
            e.db,
            Some(&e.key),
            LossKind::FieldTtls,
            format!(
                "{}: {t} has no HPEXPIREAT; the fields are kept without TTL",
                count(n, "field TTL", "field TTLs")
            ),
        );
    }

    /// Emit RESTORE commands with DUMP payloads for RDB `version` (`None`:
    /// the file's own version).
    pub fn restore_mode(&mut self, version: Option<RdbVersion>) {
        self.restore = Some((version, None));
    }

    /// One key as `RESTORE key ttl payload REPLACE [ABSTTL]`. The value goes
    /// through the conversion rules into a one-key file for the target
    /// version; its type byte and body, the version (u16 LE) and the CRC-64
    /// of both (u64 LE) make the DUMP payload (`createDumpPayload`).
    fn restore_entry(&mut self, rec: &Record<'_>, e: &Entry<'_>) -> crate::Result<()> {
        let Some((Some(version), Some(conv))) = self.restore.as_mut() else {
            crate::error::bail!("restore mode without a header");
        };
        let version = *version;
        let mut w = conv.writer(Vec::new())?;
        conv.convert_record(rec, &mut w)?;
        let mut file = w.into_inner()?;
        if file.len() <= rdbkit_parser::HEADER_LEN {
            // The rules dropped the key (reported by the converter).
            self.stats.restore_dropped += 1;
            return Ok(());
        }
        // EOF and a zero checksum ("not computed"): the parser then skips the check.
        file.extend_from_slice(&[RDB_OPCODE_EOF.0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let opts = ReaderOptions {
            verify_checksum: false,
            ..Default::default()
        };
        let mut expire_ms = None;
        let mut payload = Vec::new();
        for r in RdbReader::with_options(&file, opts)? {
            if let RecordKind::Entry(x) = r?.kind {
                payload.push(x.value.ty().0);
                payload.extend_from_slice(x.value.body());
                expire_ms = x.expire_ms;
            }
        }
        payload.extend_from_slice(&(version.number() as u16).to_le_bytes());
        let crc = rdbkit_parser::crc64::crc64(&payload);
        payload.extend_from_slice(&crc.to_le_bytes());
        if self.db != Some(e.db) {
            self.cmd.start("SELECT");
            self.cmd.arg_display(e.db);
            self.send()?;
            self.db = Some(e.db);
        }
        self.start_key("RESTORE", &e.key);
        let abs = self.target().version() >= (5, 0);
        match expire_ms {
            Some(t) if abs => self.cmd.arg_display(t),
            Some(t) => {
                // Before 5.0 there is no ABSTTL: a relative TTL from now.
                let now = crate::select::now_ms();
                if t <= now {
                    return Ok(());
                }
                self.cmd.arg_display(t - now)
            }
            None => self.cmd.arg(b"0"),
        }
        self.cmd.arg(&payload);
        self.cmd.arg(b"REPLACE");
        if abs && expire_ms.is_some() {
            self.cmd.arg(b"ABSTTL");
        }
        self.stats.keys += 1;
        self.send()
    }

    fn send(&mut self) -> crate::Result<()> {
        self.cmd.write_to(self.out)?;
        self.stats.commands += 1;
        Ok(())
    }

    /// `NAME key` as the start of a command.
    fn start_key(&mut self, name: &str, key: &[u8]) {
        self.cmd.start(name);
        self.cmd.arg(key);
    }

    /// Send the command if it has reached a batch limit; `elems` counts the
    /// elements added since [`Self::start_key`].
    fn maybe_flush(&mut self, name: &str, key: &[u8], elems: &mut usize) -> crate::Result<()> {
        *elems += 1;
        if *elems >= BATCH || self.cmd.args.len() >= BATCH_BYTES {
            self.send()?;
            self.start_key(name, key);
            *elems = 0;
        }
        Ok(())
    }

    /// Send the last partial batch, if it holds anything.
    fn finish_batch(&mut self, elems: usize) -> crate::Result<()> {
        if elems > 0 {
            self.send()?;
        }
        Ok(())
    }

    fn function(&mut self, rec: &Record<'_>, f: &Function<'_>) -> crate::Result<()> {
        if !self.target().has_functions() {
            self.stats.functions_skipped += 1;
            let t = self.target();
            self.losses.add(
                rec.offset,
                0,
                None,
                LossKind::Function,
                format!(
                    "function library {}: {t} has no FUNCTION command",
                    f.library_name().unwrap_or("?")
                ),
            );
            return Ok(());
        }
        if self.dry {
            return Ok(());
        }
        self.cmd.start("FUNCTION");
        self.cmd.arg(b"LOAD");
        // REPLACE: importing twice, or into a server that has the library, works.
        self.cmd.arg(b"REPLACE");
        self.cmd.arg(&f.source);
        self.send()
    }

    fn entry(&mut self, rec: &Record<'_>, e: &Entry<'_>) -> crate::Result<()> {
        let value = e.value.decode()?;
        let json = match &value {
            Value::Module(m) => match self.module_json(m) {
                Ok(text) => Some(text),
                Err(why) => {
                    self.lose_module(rec, e, why);
                    return Ok(());
                }
            },
            _ => None,
        };
        if matches!(value, Value::Stream(_)) && !self.target().has_streams() {
            self.lose_stream(rec, e);
            return Ok(());
        }
        if self.db != Some(e.db) {
            self.cmd.start("SELECT");
            self.cmd.arg_display(e.db);
            self.send()?;
            self.db = Some(e.db);
        }
        let key: &[u8] = &e.key;
        if !matches!(value, Value::String(_)) {
            // Collections are built by appending: clear whatever the target holds.
            self.start_key("DEL", key);
            self.send()?;
        }
        match &value {
            Value::String(s) => {
                self.start_key("SET", key);
                self.cmd.arg(s);
                self.send()?;
            }
            Value::List(l) => {
                self.start_key("RPUSH", key);
                let mut n = 0;
                for it in l.iter()? {
                    self.cmd.arg_item(&it?);
                    self.maybe_flush("RPUSH", key, &mut n)?;
                }
                self.finish_batch(n)?;
            }
            Value::Set(s) => {
                self.start_key("SADD", key);
                let mut n = 0;
                for it in s.iter()? {
                    self.cmd.arg_item(&it?);
                    self.maybe_flush("SADD", key, &mut n)?;
                }
                self.finish_batch(n)?;
            }
            Value::ZSet(z) => {
                self.start_key("ZADD", key);
                let mut n = 0;
                for r in z.iter()? {
                    let (m, score) = r?;
                    // The shortest text that parses back to the same double
                    // (strtod also reads `inf` / `-inf`).
                    self.cmd.arg(crate::json::score(score).as_bytes());
                    self.cmd.arg_item(&m);
                    self.maybe_flush("ZADD", key, &mut n)?;
                }
                self.finish_batch(n)?;
            }
            Value::Hash(h) => {
                let name = if self.target().has_variadic_hset() {
                    "HSET"
                } else {
                    "HMSET"
                };
                self.start_key(name, key);
                let mut n = 0;
                let mut ttls: Vec<(i64, Vec<u8>)> = Vec::new();
                for r in h.iter()? {
                    let f = r?;
                    self.cmd.arg_item(&f.field);
                    self.cmd.arg_item(&f.value);
                    if let Some(t) = f.expire_ms {
                        ttls.push((t, f.field.to_bytes().into_owned()));
                    }
                    self.maybe_flush(name, key, &mut n)?;
                }
                self.finish_batch(n)?;
                if !ttls.is_empty() && !self.target().has_hash_field_ttl() {
                    self.lose_field_ttls(rec.offset, e, ttls.len() as u64);
                } else {
                    self.field_ttls(key, ttls)?;
                }
            }
            Value::Stream(s) => self.stream(key, s)?,
            Value::Module(_) => {
                // Only a value with JSON text gets here (the others were
                // skipped above).
                if let Some(text) = &json {
                    self.start_key("JSON.SET", key);
                    self.cmd.arg(b"$");
                    self.cmd.arg(text);
                    self.send()?;
                }
            }
        }
        if let Some(t) = e.expire_ms {
            self.start_key("PEXPIREAT", key);
            self.cmd.arg_display(t);
            self.send()?;
        }
        self.stats.keys += 1;
        Ok(())
    }

    /// `HPEXPIREAT key ms FIELDS n f…`, one command per distinct expiry time
    /// (fields of a hash usually share a few times).
    fn field_ttls(&mut self, key: &[u8], mut ttls: Vec<(i64, Vec<u8>)>) -> crate::Result<()> {
        if ttls.is_empty() {
            return Ok(());
        }
        ttls.sort();
        for group in ttls.chunk_by(|a, b| a.0 == b.0) {
            for part in group.chunks(BATCH) {
                self.start_key("HPEXPIREAT", key);
                self.cmd.arg_display(part[0].0);
                self.cmd.arg(b"FIELDS");
                self.cmd.arg_display(part.len());
                for (_, f) in part {
                    self.cmd.arg(f);
                }
                self.send()?;
            }
        }
        Ok(())
    }

    fn stream(&mut self, key: &[u8], s: &rdbkit_parser::Stream<'_>) -> crate::Result<()> {
        // PEL IDs whose entries are gone from the stream ("ghosts").
        let mut ghosts: BTreeSet<StreamId> = s
            .groups
            .iter()
            .flat_map(|g| g.pending.iter().map(|p| p.id))
            .collect();
        if !ghosts.is_empty() {
            for r in s.entries() {
                let e = r?;
                if !e.deleted {
                    ghosts.remove(&e.id);
                }
            }
        }
        let mut added = 0u64;
        let mut pending_ghosts = ghosts.iter().peekable();
        for r in s.entries() {
            let e = r?;
            if e.deleted {
                continue;
            }
            while let Some(g) = pending_ghosts.next_if(|g| **g < e.id) {
                self.ghost_xadd(key, *g)?;
                added += 1;
            }
            self.start_key("XADD", key);
            self.cmd.arg_display(e.id);
            for (f, v) in &e.fields {
                self.cmd.arg_item(f);
                self.cmd.arg_item(v);
            }
            self.send()?;
            added += 1;
        }
        for g in pending_ghosts {
            self.ghost_xadd(key, *g)?;
            added += 1;
        }

        // A stream without entries is created by XGROUP CREATE … MKSTREAM:
        // its last ID is then 0-0 and nothing was added, as in the source
        // until XSETID below.
        let mut groups: Vec<_> = s.groups.iter().collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        let mut need_stream = added == 0;
        if need_stream && groups.is_empty() {
            let tmp = b"rdbkit-export-tmp";
            self.xgroup(b"CREATE", key);
            self.cmd.arg(tmp);
            self.cmd.arg(b"0");
            self.cmd.arg(b"MKSTREAM");
            self.send()?;
            self.xgroup(b"DESTROY", key);
            self.cmd.arg(tmp);
            self.send()?;
        }
        for g in &groups {
            self.xgroup(b"CREATE", key);
            self.cmd.arg(&g.name);
            self.cmd.arg_display(g.last_delivered_id);
            if need_stream {
                self.cmd.arg(b"MKSTREAM");
                need_stream = false;
            }
            if let (Some(n), true) = (g.entries_read, self.target().has_stream_counters()) {
                self.cmd.arg(b"ENTRIESREAD");
                self.cmd.arg_display(n);
            }
            self.send()?;
            let owners: HashMap<StreamId, &[u8]> = g
                .consumers
                .iter()
                .flat_map(|c| c.pending.iter().map(|id| (*id, &c.name[..])))
                .collect();
            let owner = |id: StreamId| owners.get(&id).copied();
            for c in g.consumers.iter().filter(|c| c.pending.is_empty()) {
                if self.target().has_create_consumer() {
                    self.xgroup(b"CREATECONSUMER", key);
                    self.cmd.arg(&g.name);
                    self.cmd.arg(&c.name);
                } else {
                    // Reading the consumer's own (empty) history creates it
                    // without delivering anything.
                    self.cmd.start("XREADGROUP");
                    self.cmd.arg(b"GROUP");
                    self.cmd.arg(&g.name);
                    self.cmd.arg(&c.name);
                    self.cmd.arg(b"STREAMS");
                    self.cmd.arg(key);
                    self.cmd.arg(b"0");
                }
                self.send()?;
            }
            // One XCLAIM per run of PEL entries with the same consumer,
            // delivery time and count (TIME and RETRYCOUNT apply to all IDs).
            let mut i = 0;
            while i < g.pending.len() {
                let p = &g.pending[i];
                let Some(c) = owner(p.id) else {
                    crate::error::bail!(
                        "stream {}: group {} has pending entry {} owned by no consumer",
                        DisplayBytes(key),
                        DisplayBytes(&g.name),
                        p.id
                    );
                };
                let mut j = i + 1;
                while j < g.pending.len() && j - i < BATCH {
                    let q = &g.pending[j];
                    if q.delivery_time != p.delivery_time
                        || q.delivery_count != p.delivery_count
                        || owner(q.id) != Some(c)
                    {
                        break;
                    }
                    j += 1;
                }
                self.start_key("XCLAIM", key);
                self.cmd.arg(&g.name);
                self.cmd.arg(c);
                self.cmd.arg(b"0");
                for q in &g.pending[i..j] {
                    self.cmd.arg_display(q.id);
                }
                self.cmd.arg(b"TIME");
                self.cmd.arg_display(p.delivery_time);
                self.cmd.arg(b"RETRYCOUNT");
                self.cmd.arg_display(p.delivery_count);
                self.cmd.arg(b"FORCE");
                self.cmd.arg(b"JUSTID");
                self.send()?;
                i = j;
            }
        }
        for part in ghosts.iter().collect::<Vec<_>>().chunks(BATCH) {
            self.start_key("XDEL", key);
            for g in part {
                self.cmd.arg_display(**g);
            }
            self.send()?;
        }
        // XSETID last: XADD and XDEL above moved the counters.
        if added > 0 || s.last_id != StreamId::default() {
            self.start_key("XSETID", key);
            self.cmd.arg_display(s.last_id);
            if self.target().has_stream_counters() {
                if let Some(n) = s.entries_added {
                    self.cmd.arg(b"ENTRIESADDED");
                    self.cmd.arg_display(n);
                }
                // The server ignores (keeps) 0-0; sending it is harmless.
                if let Some(m) = s.max_deleted_id.filter(|m| *m != StreamId::default()) {
                    self.cmd.arg(b"MAXDELETEDID");
                    self.cmd.arg_display(m);
                }
            }
            self.send()?;
        }
        Ok(())
    }

    /// `XGROUP SUB key` as the start of a command.
    fn xgroup(&mut self, sub: &[u8], key: &[u8]) {
        self.cmd.start("XGROUP");
        self.cmd.arg(sub);
        self.cmd.arg(key);
    }

    fn ghost_xadd(&mut self, key: &[u8], id: StreamId) -> crate::Result<()> {
        self.start_key("XADD", key);
        self.cmd.arg_display(id);
        self.cmd.arg(b"");
        self.cmd.arg(b"");
        self.send()
    }

    fn target(&self) -> Target {
        // Set by `header`, which runs before any record.
        self.target
            .unwrap_or(Target::for_rdb(rdbkit_parser::RdbVersion(12)))
    }

    /// What could not be exported, once the walk is over.
    pub fn finish(&self) -> super::ExportSummary {
        let s = &self.stats;
        let t = self.target();
        let mut sum = super::ExportSummary::default();
        let w = &mut sum.warnings;
        if let Some((_, Some(conv))) = &self.restore {
            let r = conv.report();
            if !r.is_lossless() {
                sum.report = Some(r.clone());
            }
            if s.restore_dropped > 0 {
                w.push(format!(
                    "{} not exported: the target version cannot hold them",
                    count(s.restore_dropped, "key", "keys")
                ));
            }
        }
        if s.modules_skipped > 0 {
            w.push(format!(
                "{} skipped: no command recreates them on {t} (RedisJSON documents become JSON.SET for a target with RedisJSON)",
                count(s.modules_skipped, "module value", "module values")
            ));
        }
        if s.streams_skipped > 0 {
            w.push(format!(
                "{} skipped: {t} has no streams",
                count(s.streams_skipped, "stream", "streams")
            ));
        }
        if s.functions_skipped > 0 {
            w.push(format!(
                "{} skipped: {t} has no FUNCTION command",
                count(
                    s.functions_skipped,
                    "function library",
                    "function libraries"
                )
            ));
        }
        if s.field_ttls_dropped > 0 {
            w.push(format!(
                "{} dropped: {t} has no HPEXPIREAT (Redis 7.4+, Valkey 9.0+); the fields are kept without TTL",
                count(s.field_ttls_dropped, "hash field TTL", "hash field TTLs")
            ));
        }
        sum
    }
}

impl Visitor for RespExporter<'_> {
    fn header(&mut self, version: rdbkit_parser::RdbVersion) -> crate::Result<()> {
        self.target.get_or_insert(Target::for_rdb(version));
        self.losses.version = Some(version);
        if let Some((target, conv)) = self.restore.as_mut() {
            let t = *target.get_or_insert(version);
            let mut o = ConvertOptions::new(t);
            o.on_loss = LossPolicy::Warn;
            *conv = Some(Converter::new(version, o)?);
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Entry(e)
                if self.sel.matches(e, rec.raw.len() as u64) && self.restore.is_some() =>
            {
                self.restore_entry(rec, e)
                    .with_context(|| format!("key {}", rdbkit_parser::DisplayBytes(&e.key)))?;
            }
            RecordKind::Entry(e) if self.sel.matches(e, rec.raw.len() as u64) => {
                let r = if self.dry {
                    self.dry_entry(rec, e)
                } else {
                    self.entry(rec, e)
                };
                r.with_context(|| format!("key {}", rdbkit_parser::DisplayBytes(&e.key)))?;
            }
            RecordKind::Function(f) => self.function(rec, f)?,
            _ => {}
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_resp_arrays() {
        let mut c = CmdBuf::default();
        c.start("SET");
        c.arg(b"k\r\n");
        c.arg_display(-12i64);
        c.arg_item(&Item::Int(7));
        let mut out = Vec::new();
        c.write_to(&mut out).unwrap();
        assert_eq!(
            out,
            b"*4\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$3\r\n-12\r\n$1\r\n7\r\n".to_vec()
        );
    }
}
