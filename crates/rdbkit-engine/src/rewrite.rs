//! The one-pass rewrite shared by `filter` and `convert` (and later `split`
//! and `merge`): selection, database remapping, duplicate-key policy and
//! version conversion, over a file (memory-mapped) or stdin (streamed).
//!
//! Records the target can load as they are are copied byte for byte by the
//! writer crate's [`Converter`]; only the header, database opcodes, sizing
//! hints and checksum are rewritten when filtering. RESIZEDB and SLOT_INFO
//! hints are recomputed for the output: written to a file, they get
//! placeholder counts in a fixed-width form that are filled in once the keys
//! written are counted (and the checksum trailer rewritten, see
//! [`Output::patch`](crate::output::Output::patch)), so the inputs are read
//! once. Written to stdout, a cheap structural pre-pass of file inputs
//! counts what will be kept; from stdin, those hints are dropped when
//! filtering. `--on-duplicate keep-last` always makes the pre-pass (to know
//! which occurrence is last) and is refused for stdin.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use crate::error::bail;
use rdbkit_parser::format::RDB_OPCODE_SELECTDB;
use rdbkit_parser::{DisplayBytes, Entry, RdbVersion, Record, RecordKind};
use rdbkit_writer::{ConvertError, ConvertOptions, Converter, LossPolicy, RdbWriter, Report};

use rdbkit_writer::length::fixed_len;

use crate::ResultExt as _;
use crate::json;
use crate::keyhash::IdHasher;
use crate::output::Output;
use crate::select::{DbMap, Selector};
use crate::source::{Visitor, walk};

/// What to do when two kept keys end up with the same name in the same
/// database (after `--map-db`/`--flatten-db`, or across merged inputs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OnDuplicate {
    /// Write nothing and name the key (every server refuses a file with duplicates).
    #[default]
    Error,
    /// Keep the first occurrence.
    KeepFirst,
    /// Keep the last occurrence.
    KeepLast,
}

/// Everything a rewrite needs besides the input and output.
#[derive(Debug)]
pub struct Plan {
    /// Which keys are kept.
    pub selector: Selector,
    /// Which database each kept key goes to.
    pub dbmap: DbMap,
    /// What happens when two kept keys collide.
    pub on_duplicate: OnDuplicate,
    /// Conversion options; `None` target means "the source's version".
    pub convert: ConvertOptions,
    /// Write the input's own version (the target in `convert` is then a
    /// placeholder, replaced at the input's header).
    pub same_version: bool,
    /// The target is a cluster, which keeps only database 0: an output with
    /// keys in another database is refused ([`Error::Cluster`](crate::Error::Cluster)),
    /// nothing renamed.
    pub cluster: bool,
    /// Salvage mode: skip keys whose value does not decode, and stop at a
    /// damaged structure, still writing a valid output of what was read.
    pub keep_going: bool,
    /// The modules the target has loaded (the target registry's list);
    /// an output holding data of another module is refused
    /// ([`Error::MissingModules`](crate::Error::MissingModules)), nothing
    /// renamed. `None`: not known (a bare RDB version), nothing refused.
    pub target_modules: Option<&'static [rdbkit_writer::Module]>,
}

impl Plan {
    /// Refuse an output whose module data (the report's "needs module"
    /// notes) the target has no module for, when the target's modules are
    /// known ([`Plan::target_modules`]).
    pub fn check_modules(&self, report: &Report) -> crate::Result<()> {
        let Some(has) = self.target_modules else {
            return Ok(());
        };
        let missing: Vec<String> = report
            .required_modules()
            .into_iter()
            .filter(|t| !rdbkit_writer::Module::type_loads(t, has))
            .map(rdbkit_writer::Module::describe_type)
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(crate::Error::MissingModules { types: missing })
        }
    }
}

/// Something salvage mode left out.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// Input number (0-based).
    pub input: usize,
    /// Where.
    pub offset: u64,
    /// The key, when the damage was inside a key record.
    pub key: Option<Vec<u8>>,
    /// The parser's message.
    pub error: String,
    /// Whether the rest of that input was given up.
    pub rest_of_input: bool,
}

/// 128-bit identity of (db, key) (a fast keyed hash, see [`IdHasher`]).
#[derive(Debug, Default)]
struct KeyIds(IdHasher);

impl KeyIds {
    fn id(&self, db: u64, key: &[u8]) -> u128 {
        self.0.id(db, key)
    }
}

/// What the pre-pass learns.
#[derive(Debug, Default)]
struct Counts {
    /// mapped db -> (keys, keys with expiry)
    dbs: DbCounts,
    /// (mapped db, slot) -> (keys, expires)
    slots: HashMap<(u64, u16), (u64, u64)>,
    /// (input index, record offset) of the occurrence kept under keep-last.
    last: HashMap<u128, (usize, u64)>,
    /// Whether any input has SLOT_INFO records: per-slot counts (a CRC16 of
    /// every key) are only gathered when one does.
    any_slot_info: bool,
}

/// Keys and keys with an expiry per database. Keys come grouped by
/// database, so the current one is counted outside the map: a SipHash
/// lookup per key was 3 % of a filter.
#[derive(Debug, Default)]
struct DbCounts {
    done: HashMap<u64, (u64, u64)>,
    cur: Option<(u64, (u64, u64))>,
}

impl DbCounts {
    #[inline]
    fn add(&mut self, db: u64, expires: u64) {
        match &mut self.cur {
            Some((d, c)) if *d == db => {
                c.0 += 1;
                c.1 += expires;
            }
            _ => {
                if let Some((d, c)) = self.cur.take() {
                    let e = self.done.entry(d).or_default();
                    e.0 += c.0;
                    e.1 += c.1;
                }
                self.cur = Some((db, (1, expires)));
            }
        }
    }

    fn get(&self, db: u64) -> Option<(u64, u64)> {
        let done = self.done.get(&db).copied();
        match self.cur {
            Some((d, (k, e))) if d == db => {
                let (k0, e0) = done.unwrap_or_default();
                Some((k0 + k, e0 + e))
            }
            _ => done,
        }
    }
}

impl Counts {
    /// Count key `e` in output database `db` (and in its slot).
    fn add(&mut self, db: u64, e: &Entry<'_>, slots: bool) {
        let expires = u64::from(e.expire_ms.is_some());
        self.dbs.add(db, expires);
        if slots {
            let s = self
                .slots
                .entry((db, crate::slot::key_slot(&e.key)))
                .or_default();
            s.0 += 1;
            s.1 += expires;
        }
    }
}

struct PrePass<'a> {
    /// Count keys per slot too.
    slots: bool,
    plan: &'a Plan,
    ids: &'a KeyIds,
    input: usize,
    counts: &'a mut Counts,
}

impl Visitor for PrePass<'_> {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        if let RecordKind::SlotInfo { .. } = rec.kind {
            self.counts.any_slot_info = true;
        }
        if let RecordKind::Entry(e) = &rec.kind
            && self.plan.selector.matches(e, rec.raw.len() as u64)
        {
            let db = self.plan.dbmap.map(e.db);
            self.counts.add(db, e, self.slots);
            if self.plan.on_duplicate == OnDuplicate::KeepLast {
                self.counts
                    .last
                    .insert(self.ids.id(db, &e.key), (self.input, rec.offset));
            }
        }
        Ok(true)
    }
}

/// The rewrite of one or more inputs into one output.
#[allow(missing_debug_implementations)]
pub struct Rewrite<'p, 'w> {
    plan: &'p Plan,
    /// Handed to the writer when the first header arrives.
    out: Option<&'w mut dyn Write>,
    ids: KeyIds,
    counts: Option<Counts>,
    seen: HashSet<u128>,
    functions: HashSet<String>,
    state: Option<(Converter, RdbWriter<&'w mut dyn Write>)>,
    /// Reports of earlier inputs (a merge converts each input with its own
    /// source version into the one writer).
    earlier: Vec<Report>,
    filtering: bool,
    /// Duplicate keys can only arise from remapping or several inputs; a
    /// plain rewrite keeps no per-key state (memory flat in the key count).
    check_duplicates: bool,
    input: usize,
    out_db: Option<u64>,
    src_db: u64,
    /// Hints are written with placeholder counts and filled in afterwards
    /// (see [`Rewrite::patches`]), instead of counted by a pre-pass.
    pub one_pass: bool,
    /// One pass: keys written per output db and per (db, slot), and where
    /// the hints' counts are.
    written: Counts,
    count_slots: bool,
    resize_at: Vec<(u64, u64)>,
    slot_at: Vec<((u64, u16), u64)>,
    /// Later occurrences of duplicate keys left out by the policy.
    pub duplicates_dropped: u64,
    /// What salvage mode left out.
    pub skipped: Vec<Skipped>,
    /// Keys written per output database.
    pub keys_by_db: std::collections::BTreeMap<u64, u64>,
}

fn select_record(db: u64) -> Vec<u8> {
    let mut v = vec![RDB_OPCODE_SELECTDB.0];
    rdbkit_writer::length::write_len(&mut v, db, RdbVersion(9)).ok();
    v
}

impl<'p, 'w> Rewrite<'p, 'w> {
    /// A rewrite into `out`.
    pub fn new(plan: &'p Plan, out: &'w mut dyn Write, inputs: usize) -> Self {
        let filtering = !plan.selector.is_all() || !plan.dbmap.is_identity();
        Rewrite {
            plan,
            out: Some(out),
            check_duplicates: !plan.dbmap.is_identity() || inputs > 1,
            ids: KeyIds::default(),
            counts: None,
            seen: HashSet::new(),
            functions: HashSet::new(),
            state: None,
            earlier: Vec::new(),
            filtering,
            input: 0,
            out_db: None,
            src_db: 0,
            one_pass: false,
            written: Counts::default(),
            count_slots: false,
            resize_at: Vec::new(),
            slot_at: Vec::new(),
            duplicates_dropped: 0,
            skipped: Vec::new(),
            keys_by_db: Default::default(),
        }
    }

    /// Run the structural pre-pass over file inputs (skipped for stdin).
    pub fn prepass(&mut self, inputs: &[&str]) -> crate::Result<()> {
        if inputs.contains(&"-") {
            if self.plan.on_duplicate == OnDuplicate::KeepLast {
                bail!("--on-duplicate keep-last needs file inputs (stdin can be read only once)");
            }
            return Ok(());
        }
        if !self.filtering && inputs.len() == 1 && self.plan.on_duplicate != OnDuplicate::KeepLast {
            return Ok(());
        }
        // Hints filled in afterwards need no counts; keep-last needs to know
        // which occurrence is the last.
        if self.one_pass && self.plan.on_duplicate != OnDuplicate::KeepLast {
            return Ok(());
        }
        // SLOT_INFO hints are rare (Redis 7.4+ cluster nodes): count per
        // slot only when a first walk found one.
        let mut counts = Counts::default();
        for slots in [false, true] {
            counts = Counts::default();
            for (i, path) in inputs.iter().enumerate() {
                // Counting needs no checksum: the main pass verifies it.
                let options = rdbkit_parser::ReaderOptions {
                    verify_checksum: false,
                    ..Default::default()
                };
                walk(
                    path,
                    options,
                    &mut PrePass {
                        slots,
                        plan: self.plan,
                        ids: &self.ids,
                        input: i,
                        counts: &mut counts,
                    },
                )?;
            }
            if !counts.any_slot_info {
                break;
            }
        }
        self.counts = Some(counts);
        Ok(())
    }

    /// Feed input number `i` (inputs must be fed in the order given to `prepass`).
    pub fn feed(&mut self, i: usize, path: &str) -> crate::Result<()> {
        self.input = i;
        self.src_db = 0;
        if i > 0 {
            // Re-select on the next key so the new input's converter knows the db.
            self.out_db = None;
        }
        match walk(path, Default::default(), self) {
            Err(e) if self.plan.keep_going && self.state.is_some() => {
                match e {
                    // A damaged structure: records cannot be found past it.
                    crate::Error::Damaged(pe) => {
                        self.skipped.push(Skipped {
                            input: i,
                            offset: pe.offset(),
                            key: pe.key().map(<[u8]>::to_vec),
                            error: pe.to_string(),
                            rest_of_input: !matches!(
                                pe.kind(),
                                rdbkit_parser::ErrorKind::ChecksumMismatch { .. }
                            ),
                        });
                        Ok(())
                    }
                    e => Err(e),
                }
            }
            other => other.map(|_| ()),
        }
    }

    fn convert(&mut self, rec: &Record<'_>) -> crate::Result<()> {
        let (conv, w) = self
            .state
            .as_mut()
            .ok_or_else(|| crate::Error::Internal("no header".into()))?;
        let before = conv.report().stats.keys_out;
        conv.convert_record(rec, w)?;
        if conv.report().stats.keys_out > before
            && let RecordKind::Entry(e) = &rec.kind
        {
            *self
                .keys_by_db
                .entry(self.out_db.unwrap_or(e.db))
                .or_insert(0) += 1;
        }
        // One pass: count what was written, for the hints' real counts.
        if self.one_pass
            && conv.report().stats.keys_out > before
            && let RecordKind::Entry(e) = &rec.kind
        {
            self.written
                .add(self.out_db.unwrap_or(e.db), e, self.count_slots);
        }
        Ok(())
    }

    fn emit_select(&mut self, db: u64, at: u64) -> crate::Result<()> {
        if self.out_db == Some(db) {
            return Ok(());
        }
        self.out_db = Some(db);
        let raw = select_record(db);
        self.convert(&Record {
            offset: at,
            raw: &raw,
            kind: RecordKind::SelectDb { db },
        })?;
        let counts = self.counts.as_ref().map(|c| c.dbs.get(db));
        let (conv, w) = self
            .state
            .as_mut()
            .ok_or_else(|| crate::Error::Internal("no header".into()))?;
        // RESIZEDB exists from RDB 7; below that it is simply not written.
        if conv.report().target.redis_level() >= 7 {
            match counts {
                Some(Some((keys, expires))) => w.write_resize_db(keys, expires)?,
                Some(None) => {}
                None if self.one_pass => {
                    let at = w.write_resize_db_fixed(0, 0)?;
                    self.resize_at.push((db, at));
                }
                None => {}
            }
        }
        Ok(())
    }

    /// One pass: the hints' real counts, as `(file offset, bytes)` to write
    /// over their placeholders once the output is complete; and where the
    /// checksum trailer will be (the writer's position plus the EOF opcode),
    /// when the target has one.
    pub fn patches(&self) -> (Vec<(u64, Vec<u8>)>, Option<u64>) {
        let mut out = Vec::new();
        let counts = |c: Option<(u64, u64)>| {
            let (k, e) = c.unwrap_or_default();
            [fixed_len(k), fixed_len(e)].concat()
        };
        for &(db, at) in &self.resize_at {
            out.push((at, counts(self.written.dbs.get(db))));
        }
        for &(key, at) in &self.slot_at {
            out.push((at, counts(self.written.slots.get(&key).copied())));
        }
        let trailer = self.state.as_ref().and_then(|(conv, w)| {
            conv.report()
                .target
                .has_checksum()
                .then(|| w.bytes_written() + 1)
        });
        (out, trailer)
    }

    fn keep_entry(&mut self, rec: &Record<'_>, e: &Entry<'_>) -> crate::Result<bool> {
        if !self.plan.selector.matches(e, rec.raw.len() as u64) {
            return Ok(false);
        }
        if !self.check_duplicates {
            return Ok(true);
        }
        let db = self.plan.dbmap.map(e.db);
        let id = self.ids.id(db, &e.key);
        match self.plan.on_duplicate {
            OnDuplicate::KeepLast => {
                if let Some(&(input, offset)) = self.counts.as_ref().and_then(|c| c.last.get(&id))
                    && (input, offset) != (self.input, rec.offset)
                {
                    self.duplicates_dropped += 1;
                    return Ok(false);
                }
            }
            policy => {
                if !self.seen.insert(id) {
                    if policy == OnDuplicate::Error {
                        bail!(
                            "duplicate key {:#} in db {db} (input {}, offset {}): every server refuses a file with duplicate keys; choose --on-duplicate keep-first or keep-last",
                            DisplayBytes(&e.key),
                            self.input + 1,
                            rec.offset
                        );
                    }
                    self.duplicates_dropped += 1;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Finish the output; returns the report, or the conversion's error
    /// (`ConvertError::Lossy` when a loss halted it).
    pub fn finish(self) -> crate::Result<Report> {
        let (conv, w) = self
            .state
            .ok_or_else(|| crate::Error::usage("empty input"))?;
        if self.earlier.is_empty() {
            let (_, report) = conv.finish(w)?;
            return Ok(report);
        }
        let mut all = self.earlier;
        let halted = conv.is_halted();
        let lossy_before =
            all.iter().any(|r| !r.is_lossless()) && self.plan.convert.on_loss == LossPolicy::Error;
        if halted || lossy_before {
            all.push(conv.into_report());
            return Err(ConvertError::Lossy(Box::new(merge_reports(all))).into());
        }
        let (_, report) = conv.finish(w)?;
        all.push(report);
        Ok(merge_reports(all))
    }
}

impl Visitor for Rewrite<'_, '_> {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        let mut opts = self.plan.convert.clone();
        if let Some((conv, w)) = self.state.take() {
            // A later input of a merge: a converter for its own version, the same writer.
            opts.target = conv.report().target;
            self.earlier.push(conv.into_report());
            self.state = Some((Converter::new(version, opts)?, w));
            return Ok(());
        }
        if self.plan.same_version {
            opts.target = version;
        }
        let conv = Converter::new(version, opts)?;
        let out = self
            .out
            .take()
            .ok_or_else(|| crate::Error::Internal("output already in use".into()))?;
        let w = conv.writer(out)?;
        self.state = Some((conv, w));
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Entry(e) => {
                if self.plan.keep_going
                    && let Err(err) = crate::check::check_value(&e.value)
                {
                    // The record's framing is intact (the walk found its end), so
                    // the next record can still be read: skip just this key.
                    self.skipped.push(Skipped {
                        input: self.input,
                        offset: rec.offset,
                        key: Some(e.key.to_vec()),
                        error: err.with_key(&e.key).to_string(),
                        rest_of_input: false,
                    });
                    if let Some((conv, _)) = self.state.as_mut() {
                        conv.skip_entry(rec);
                    }
                    return Ok(true);
                }
                if self.keep_entry(rec, e)? {
                    if self.filtering || self.input > 0 {
                        self.emit_select(self.plan.dbmap.map(e.db), rec.offset)?;
                    }
                    self.convert(rec)?;
                } else if let Some((conv, _)) = self.state.as_mut() {
                    conv.skip_entry(rec);
                }
            }
            RecordKind::SelectDb { db } => {
                self.src_db = *db;
                if !self.filtering && self.input == 0 {
                    self.out_db = Some(*db);
                    self.convert(rec)?;
                }
            }
            RecordKind::ResizeDb { .. } | RecordKind::SlotInfo { .. }
                if self.filtering || self.input > 0 =>
            {
                if let RecordKind::SlotInfo { slot, .. } = &rec.kind
                    && let Ok(s) = u16::try_from(*slot)
                {
                    let db = self.plan.dbmap.map(self.src_db);
                    // The pre-pass's counts (no hint for a slot with no key
                    // kept), or placeholders filled in afterwards.
                    let counts = match &self.counts {
                        Some(c) => c.slots.get(&(db, s)).copied().map(Some),
                        None if self.one_pass => Some(None),
                        None => None,
                    };
                    if let Some(counts) = counts {
                        self.emit_select(db, rec.offset)?;
                        self.count_slots |= counts.is_none();
                        let (conv, w) = self
                            .state
                            .as_mut()
                            .ok_or_else(|| crate::Error::Internal("no header".into()))?;
                        if conv.report().target.redis_level() >= 12
                            && !conv.report().target.is_valkey()
                        {
                            match counts {
                                Some((keys, expires)) => w.write_slot_info(*slot, keys, expires)?,
                                None => {
                                    let at = w.write_slot_info_fixed(*slot, 0, 0)?;
                                    self.slot_at.push(((db, s), at));
                                }
                            }
                        }
                    }
                }
            }
            RecordKind::Eof { .. } => {}
            // A library may be written once: loaders refuse a duplicate name.
            RecordKind::Function(f) => {
                let name = f.library_name().unwrap_or_default().to_string();
                if self.functions.insert(name) {
                    self.convert(rec)?;
                }
            }
            // AUX fields and module AUX data of later merge inputs would repeat
            // or contradict the first input's.
            _ if self.input > 0 => {}
            _ => self.convert(rec)?,
        }
        Ok(true)
    }
}

/// One report for several inputs: losses and notes listed together, counts added.
pub fn merge_reports(mut reports: Vec<Report>) -> Report {
    let mut out = reports.remove(0);
    for r in reports {
        out.losses.extend(r.losses);
        for (k, n) in r.loss_counts {
            *out.loss_counts.entry(k).or_insert(0) += n;
        }
        out.notes.extend(r.notes);
        let (a, b) = (&mut out.stats, r.stats);
        a.records += b.records;
        a.keys_in += b.keys_in;
        a.keys_out += b.keys_out;
        a.keys_filtered += b.keys_filtered;
        a.copied += b.copied;
        a.rewritten += b.rewritten;
        a.dropped += b.dropped;
    }
    out
}

/// The report as JSON.
pub fn report_json(r: &Report, extra: &[(&str, u64)]) -> Vec<u8> {
    let mut o = Vec::new();
    json::raw(&mut o, "{\"source\":");
    json::str(&mut o, &r.source.to_string());
    json::raw(&mut o, ",\"target\":");
    json::str(&mut o, &r.target.to_string());
    json::raw(&mut o, ",\"lossless\":");
    json::raw(&mut o, if r.is_lossless() { "true" } else { "false" });
    json::raw(&mut o, ",\"loss_counts\":{");
    for (i, (k, n)) in r.loss_counts.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, k.as_str());
        o.push(b':');
        json::int(&mut o, n);
    }
    json::raw(&mut o, "},\"losses\":[");
    for (i, l) in r.losses.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::raw(&mut o, "{\"offset\":");
        json::int(&mut o, l.offset);
        // A loss of no key (a function library, module AUX data) is in no
        // database.
        json::raw(&mut o, ",\"db\":");
        match &l.key {
            Some(_) => json::int(&mut o, l.db),
            None => json::raw(&mut o, "null"),
        }
        json::raw(&mut o, ",\"key\":");
        match &l.key {
            Some(k) => json::bytes(&mut o, k),
            None => json::raw(&mut o, "null"),
        }
        json::raw(&mut o, ",\"kind\":");
        json::str(&mut o, l.kind.as_str());
        json::raw(&mut o, ",\"key_dropped\":");
        json::raw(&mut o, if l.kind.drops_key() { "true" } else { "false" });
        json::raw(&mut o, ",\"detail\":");
        json::str(&mut o, &l.detail);
        o.push(b'}');
    }
    json::raw(&mut o, "],\"notes\":[");
    for (i, n) in r.notes.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::raw(&mut o, "{\"kind\":");
        json::str(&mut o, n.kind.as_str());
        json::raw(&mut o, ",\"detail\":");
        json::str(&mut o, &n.detail);
        json::raw(&mut o, ",\"count\":");
        json::int(&mut o, n.count);
        json::raw(&mut o, ",\"first_offset\":");
        json::int(&mut o, n.first_offset);
        o.push(b'}');
    }
    let s = &r.stats;
    json::raw(
        &mut o,
        &format!(
            "],\"stats\":{{\"records\":{},\"keys_in\":{},\"keys_out\":{},\"keys_filtered\":{},\"copied\":{},\"rewritten\":{},\"dropped\":{}",
            s.records, s.keys_in, s.keys_out, s.keys_filtered, s.copied, s.rewritten, s.dropped
        ),
    );
    for (k, v) in extra {
        json::raw(&mut o, &format!(",\"{k}\":{v}"));
    }
    json::raw(&mut o, "}}\n");
    o
}

/// [`report_json`] of a finished rewrite: the report, the duplicates left
/// out and what salvage mode skipped.
pub fn outcome_json(o: &Outcome) -> Vec<u8> {
    let mut j = report_json(&o.report, &[("duplicates_dropped", o.duplicates_dropped)]);
    // Append the salvage list before the closing brace.
    j.truncate(j.len() - 2);
    json::raw(&mut j, ",\"skipped\":[");
    for (i, s) in o.skipped.iter().enumerate() {
        if i > 0 {
            j.push(b',');
        }
        json::raw(
            &mut j,
            &format!("{{\"input\":{},\"offset\":{},\"key\":", s.input, s.offset),
        );
        match &s.key {
            Some(k) => json::bytes(&mut j, k),
            None => json::raw(&mut j, "null"),
        }
        json::raw(&mut j, ",\"rest_of_input\":");
        json::raw(&mut j, if s.rest_of_input { "true" } else { "false" });
        json::raw(&mut j, ",\"error\":");
        json::str(&mut j, &s.error);
        j.push(b'}');
    }
    json::raw(&mut j, "]}\n");
    j
}

/// What a finished rewrite did.
#[derive(Debug)]
pub struct Outcome {
    /// The conversion report: losses, notes, counts.
    pub report: Report,
    /// Keys left out by the duplicate policy.
    pub duplicates_dropped: u64,
    /// What salvage mode ([`Plan::keep_going`]) left out.
    pub skipped: Vec<Skipped>,
    /// Keys written per output database.
    pub keys_by_db: std::collections::BTreeMap<u64, u64>,
}

/// How the output of a rewrite is finished.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// Pad the output with zero bytes after the checksum to a multiple of
    /// this many bytes (Azure page blobs need 512; loaders stop at the
    /// checksum).
    pub pad: Option<u64>,
    /// Write the report ([`outcome_json`]) to this file, before the output
    /// is renamed: a report that cannot be written leaves no output.
    pub report: Option<std::path::PathBuf>,
    /// Write the output(s) gzip-compressed ([`Output::gzip`]).
    pub gzip: bool,
}

/// Rewrite `inputs` (`-`: stdin, once) into `output` (`-`: stdout) under
/// `plan`: a temp file verified while it is written, fsynced and renamed
/// on success. A conversion refused for its losses is
/// [`Error::Convert`](crate::Error::Convert)`(`[`ConvertError::Lossy`]`)`,
/// and nothing is written but the report.
///
/// ```
/// use rdbkit_engine::rewrite::{Finish, Plan, rewrite};
/// use rdbkit_engine::select::{DbMap, DbMapping, Selection, Selector};
/// use rdbkit_writer::{ConvertOptions, target_from_name};
///
/// # let dir = std::env::temp_dir().join(format!("rdbkit-doc-rewrite-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let (input, output) = (dir.join("in.rdb"), dir.join("out.rdb"));
/// // Keys "a" and "b" in an RDB 11 file: keep "a", for Redis 6.0.
/// std::fs::write(&input, b"REDIS0011\xfe\x00\x00\x01a\x011\x00\x01b\x012\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
/// let selection = Selection { glob: vec!["a".into()], ..Default::default() };
/// let plan = Plan {
///     selector: Selector::new(&selection)?,
///     dbmap: DbMap::new(&DbMapping::default())?,
///     on_duplicate: Default::default(),
///     convert: ConvertOptions::new(target_from_name("azure-premium").unwrap()),
///     same_version: false,
///     cluster: false,
///     keep_going: false,
///     target_modules: None,
/// };
/// let done = rewrite(&[input.to_str().unwrap()], output.to_str().unwrap(), &plan, &Finish::default())?;
/// assert_eq!((done.report.stats.keys_in, done.report.stats.keys_out), (2, 1));
/// assert!(std::fs::read(&output)?.starts_with(b"REDIS0009"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rewrite(
    inputs: &[&str],
    output: &str,
    plan: &Plan,
    finish: &Finish,
) -> crate::Result<Outcome> {
    if let Some(p) = &finish.report {
        crate::output::check_destination(p)?;
    }
    // The output is verified (every value decoded, checksum) on a second
    // thread while it is written, instead of by a re-read afterwards.
    let mut out = Output::create_verified(output, inputs)?;
    if finish.gzip {
        out.gzip();
    }
    // A file output gets its sizing hints filled in after the fact, so the
    // inputs are read once (stdout cannot be patched: a pre-pass counts).
    let one_pass = out.can_patch();
    let patches;
    let result = {
        let mut rw = Rewrite::new(plan, out.writer(), inputs.len());
        rw.one_pass = one_pass;
        rw.prepass(inputs)?;
        let mut r = Ok(());
        for (i, path) in inputs.iter().enumerate() {
            r = rw.feed(i, path);
            if r.is_err() {
                break;
            }
        }
        let dups = rw.duplicates_dropped;
        let skipped = std::mem::take(&mut rw.skipped);
        let keys_by_db = std::mem::take(&mut rw.keys_by_db);
        patches = rw.patches();
        r.and_then(|()| rw.finish()).map(|report| Outcome {
            report,
            duplicates_dropped: dups,
            skipped,
            keys_by_db,
        })
    };
    if let (edits, Some(trailer)) = patches {
        for (at, bytes) in edits {
            out.patch(at, bytes, trailer);
        }
    }
    match result {
        Ok(outcome) => {
            let others: Vec<(u64, u64)> = outcome
                .keys_by_db
                .iter()
                .filter(|(db, _)| **db != 0)
                .map(|(db, n)| (*db, *n))
                .collect();
            if plan.cluster && !others.is_empty() {
                return Err(crate::Error::Cluster { dbs: others });
            }
            plan.check_modules(&outcome.report)?;
            out.commit(
                finish.pad,
                |_| Ok(()),
                || write_report(finish, &outcome_json(&outcome)),
            )?;
            Ok(outcome)
        }
        Err(e) => {
            drop(out);
            if let Some(report) = e.lossy_report() {
                let o = Outcome {
                    report: report.clone(),
                    duplicates_dropped: 0,
                    skipped: Vec::new(),
                    keys_by_db: Default::default(),
                };
                write_report(finish, &outcome_json(&o))?;
            }
            Err(e)
        }
    }
}

fn write_report(finish: &Finish, json: &[u8]) -> crate::Result<()> {
    match &finish.report {
        Some(p) => std::fs::write(p, json)
            .with_context(|| format!("cannot write the report {}", p.display())),
        None => Ok(()),
    }
}

/// The even split of the 16384 slots into `n` ranges.
pub fn shard_ranges(n: u16) -> Vec<(u16, u16)> {
    let n = u32::from(n.max(1));
    (0..n)
        .map(|i| {
            let a = (i * u32::from(crate::slot::SLOTS) / n) as u16;
            let b = ((i + 1) * u32::from(crate::slot::SLOTS) / n - 1) as u16;
            (a, b)
        })
        .collect()
}

/// What a split wrote.
#[derive(Debug)]
pub struct SplitOutcome {
    /// One report per output, in the order given.
    pub reports: Vec<Report>,
    /// Keys of the input per database (what the outputs' selections chose
    /// from).
    pub keys_by_db: std::collections::BTreeMap<u64, u64>,
    /// Keys per database that no output's selection took (a split keeps
    /// only database 0 unless told otherwise).
    pub not_selected_by_db: std::collections::BTreeMap<u64, u64>,
}

/// One report for the outputs of a split: the keys counted once (every
/// output sees every key), the keys written added up, and a loss of no key
/// (a function library, module AUX data) listed once though every output
/// met it.
pub fn merge_split_reports(reports: &[Report]) -> Option<Report> {
    let first = reports.first()?;
    let mut out = first.clone();
    out.losses.clear();
    out.loss_counts.clear();
    out.notes.clear();
    let mut seen = HashSet::new();
    for r in reports {
        for l in &r.losses {
            if l.key.is_none() && !seen.insert((l.kind, l.detail.clone())) {
                continue;
            }
            out.losses.push(l.clone());
            *out.loss_counts.entry(l.kind).or_insert(0) += 1;
        }
        for n in &r.notes {
            if !out
                .notes
                .iter()
                .any(|m| m.kind == n.kind && m.detail == n.detail)
            {
                out.notes.push(n.clone());
            }
        }
    }
    // Losses past the report's cap are only counted: keep those counts.
    for r in reports {
        for (k, n) in &r.loss_counts {
            let listed = r.losses.iter().filter(|l| l.kind == *k).count() as u64;
            *out.loss_counts.entry(*k).or_insert(0) += n.saturating_sub(listed);
        }
    }
    let s = &mut out.stats;
    s.keys_out = reports.iter().map(|r| r.stats.keys_out).sum();
    s.keys_filtered = s.keys_in.saturating_sub(s.keys_out);
    s.copied = reports.iter().map(|r| r.stats.copied).sum();
    s.rewritten = reports.iter().map(|r| r.stats.rewritten).sum();
    // Every output leaves out the keys of the others: what the conversion
    // itself dropped is added to the keys no output took.
    s.dropped = s.keys_filtered
        + reports
            .iter()
            .map(|r| r.stats.dropped.saturating_sub(r.stats.keys_filtered))
            .sum::<u64>();
    Some(out)
}

/// Rewrite one input into several outputs in one walk, each under its own
/// plan (`split`: a slot range each). Every output is verified and renamed
/// only once all are written (and the report, [`merge_split_reports`] of
/// them, with [`Finish::report`]); the reports come back in the order given.
/// A loss refused by the plans' policy refuses the whole split: nothing is
/// written, and the error carries the merged report.
pub fn split(
    input: &str,
    parts: &[(Plan, String)],
    finish: &Finish,
) -> crate::Result<SplitOutcome> {
    if let Some(p) = &finish.report {
        crate::output::check_destination(p)?;
    }
    let mut outputs: Vec<Output> = parts
        .iter()
        .map(|(_, f)| {
            let mut o = Output::create(f, &[input])?;
            if finish.gzip {
                o.gzip();
            }
            Ok(o)
        })
        .collect::<crate::Result<_>>()?;
    let mut keys_by_db = std::collections::BTreeMap::new();
    let mut not_selected_by_db = std::collections::BTreeMap::new();
    let results = {
        let rewrites = parts
            .iter()
            .zip(outputs.iter_mut())
            .map(|((p, _), o)| Rewrite::new(p, o.writer(), 1))
            .collect();
        let mut fan = Fanout {
            parts: rewrites,
            keys_by_db: &mut keys_by_db,
            not_selected_by_db: &mut not_selected_by_db,
        };
        walk(input, Default::default(), &mut fan)?;
        fan.parts
            .into_iter()
            .map(Rewrite::finish)
            .collect::<Vec<_>>()
    };
    let mut reports = Vec::with_capacity(results.len());
    let mut refused = false;
    for r in results {
        match r {
            Ok(report) => reports.push(report),
            Err(e) => match e.lossy_report() {
                Some(report) => {
                    refused = true;
                    reports.push(report.clone());
                }
                None => return Err(e),
            },
        }
    }
    let merged = merge_split_reports(&reports);
    let left_out = db_counts_json(&not_selected_by_db);
    if refused {
        drop(outputs);
        if let (Some(m), Some(p)) = (&merged, &finish.report) {
            write_split_report(p, m, &left_out)?;
        }
        let report = merged.ok_or_else(|| crate::Error::Internal("no output".into()))?;
        return Err(ConvertError::Lossy(Box::new(report)).into());
    }
    for ((plan, _), report) in parts.iter().zip(&reports) {
        plan.check_modules(report)?;
    }
    // Every output is checked before any is renamed.
    let mut verified = Vec::with_capacity(outputs.len());
    for out in outputs {
        verified.push(out.into_checked(finish.pad, crate::verify::verify_path)?);
    }
    if let (Some(m), Some(p)) = (&merged, &finish.report) {
        write_split_report(p, m, &left_out)?;
    }
    for v in verified {
        v.rename()?;
    }
    Ok(SplitOutcome {
        reports,
        keys_by_db,
        not_selected_by_db,
    })
}

/// `{"1":5,"15":3}`.
pub fn db_counts_json(counts: &std::collections::BTreeMap<u64, u64>) -> String {
    let inner: Vec<String> = counts
        .iter()
        .map(|(db, n)| format!("\"{db}\":{n}"))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The split's report: [`outcome_json`] of the merged report, with
/// `not_selected_by_db` (the keys no output took, per database).
pub fn split_report_json(report: &Report, not_selected_by_db: &str) -> Vec<u8> {
    let o = Outcome {
        report: report.clone(),
        duplicates_dropped: 0,
        skipped: Vec::new(),
        keys_by_db: Default::default(),
    };
    let mut j = outcome_json(&o);
    j.truncate(j.len() - 2);
    json::raw(
        &mut j,
        &format!(",\"not_selected_by_db\":{not_selected_by_db}}}\n"),
    );
    j
}

fn write_split_report(
    path: &std::path::Path,
    report: &Report,
    left_out: &str,
) -> crate::Result<()> {
    std::fs::write(path, split_report_json(report, left_out))
        .with_context(|| format!("cannot write the report {}", path.display()))
}

/// Several rewrites fed by one walk.
struct Fanout<'p, 'w, 'c> {
    parts: Vec<Rewrite<'p, 'w>>,
    keys_by_db: &'c mut std::collections::BTreeMap<u64, u64>,
    not_selected_by_db: &'c mut std::collections::BTreeMap<u64, u64>,
}

impl Visitor for Fanout<'_, '_, '_> {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        self.parts.iter_mut().try_for_each(|p| p.header(version))
    }
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind {
            *self.keys_by_db.entry(e.db).or_insert(0) += 1;
            let size = rec.raw.len() as u64;
            if !self.parts.iter().any(|p| p.plan.selector.matches(e, size)) {
                *self.not_selected_by_db.entry(e.db).or_insert(0) += 1;
            }
        }
        for p in &mut self.parts {
            p.record(rec)?;
        }
        Ok(true)
    }
}
