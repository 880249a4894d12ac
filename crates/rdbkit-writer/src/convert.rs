//! The version-conversion rules and the converter that applies them to a
//! whole file.
//!
//! The rules the writer and the transcoder need too (what a target's loader
//! knows: [`type_known`], [`opcode_known`], [`key_meta_known`]; what may be
//! copied unchanged: [`type_copyable`], [`value_copyable`],
//! [`record_copyable`]) are defined in a module of their own, so that those
//! two, which the converter uses, need not import the converter; they are
//! re-exported here, and this module still documents the whole rule set.
//!
//! For every construct of a source file and a target version the rule is one
//! of: **copy** the record's bytes unchanged (the common case, no decoding),
//! **re-encode** it losslessly in a form the target loads, apply a **policy**
//! that may lose information (hash field TTLs, module values), or drop it as
//! **impossible** with a named loss. The tables follow the format reference
//! (§6 downgrade matrix, §7 loader limits):
//!
//! | construct | needs | below that |
//! |---|---|---|
//! | type ids 0-4 | always | |
//! | 5 ZSET_2, 7 MODULE_2 | RDB 8 | zset → 3 (text scores); module → key dropped |
//! | 9-12 (zipmap, ziplists, intset) | RDB 2 | plain type |
//! | 13 HASH_ZIPLIST | RDB 4 | plain hash |
//! | 14 QUICKLIST | RDB 7 | one ziplist list (10) if small, else plain list |
//! | 15 stream v1 | RDB 9 | key dropped |
//! | 16-18 (listpack hash, zset, quicklist 2) | RDB 10 | ziplist hash 13 / ziplist zset 12 / quicklist 14 (see [`crate::transcode`]), else plain types |
//! | 19 stream v2 | RDB 10 | stream v1 |
//! | 20 SET_LISTPACK, 21 stream v3 | RDB 11 (and Valkey 80) | intset 11 (integers, ≤ 512) or plain set / stream v2 |
//! | 22-25 Redis hash field TTLs | Redis RDB 12 | field-TTL policy; 22/23 (pre-GA) → 24 |
//! | Valkey 22 HASH_2 | Valkey RDB 80 | → Redis 24 from RDB 12, else field-TTL policy |
//! | 26 stream v4, 27 stream v5 | RDB 13, 14 | older layout, IDMP / NACK state lost |
//! | EXPIRETIME_MS | RDB 3 | EXPIRETIME seconds, rounded up |
//! | 64-bit lengths | RDB 8 | re-encode (fail if a length really is ≥ 2^32) |
//! | AUX, RESIZEDB | RDB 7 | dropped (note) |
//! | IDLE, FREQ, MODULE_AUX | RDB 9 | hints dropped (note); module AUX lost |
//! | FUNCTION2 | RDB 10 | functions lost; pre-GA 246 → 245 |
//! | SLOT_INFO | Redis RDB 12 | dropped (note) |
//! | KEY_META (Redis 243) | Redis RDB 13 | metadata lost, key kept |
//! | SLOT_IMPORT (Valkey 243) | Valkey RDB 80 | dropped (loss) |
//! | `lua` AUX | — | always dropped (5.0-6.2 abort on a script that fails to compile) |
//!
//! Redis 7.4+ ↔ Valkey 9 hash field TTLs convert without loss (absolute vs
//! relative times). Ziplist blobs (10, 12, 13) written by RDB ≥ 6 may use
//! integer forms RDB ≤ 5 cannot read, so they are re-encoded (as ziplists
//! with the 16/32/64-bit forms) for such targets. Compact values fall back to
//! the plain type when their contents do not fit the older compact form.
//! Empty collections are never written.

use std::collections::HashMap;
use std::io::{self, Write};

use rdbkit_parser::format::*;
use rdbkit_parser::{
    DisplayBytes, Entry, Hash, HashField, RdbReader, RdbType, RdbVersion, Record, RecordKind,
    Value, ValueKind,
};

use crate::error::{ConvertError, WriteError};
use crate::hash::ttl_hash_type;
use crate::report::{Loss, LossKind, Note, NoteKind, Report};
pub use crate::rules::{
    key_meta_known, opcode_known, record_copyable, type_copyable, type_known, value_copyable,
};
use crate::stream::{assess_downgrade, stream_level, written_type};
use crate::transcode::{self, Transcoded, Transcoder};
use crate::value::{self, zset_type};
use crate::writer::{EntryMeta, RdbWriter, WriterOptions, expire_seconds, is_supported_target};

/// The rule for a value type of a `source` file in a `target` file, before
/// looking at the value's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TypeRule {
    /// Copy the value's bytes unchanged.
    Copy,
    /// Decode and write losslessly as `to`.
    Reencode {
        /// The type written.
        to: RdbType,
    },
    /// Walk the stored compact blob once and write it losslessly as the
    /// older compact type `to` (listpack → ziplist or intset, quicklist v2 →
    /// quicklist); the plain type `fallback` when the contents do not fit
    /// `to` (see [`crate::transcode`]: non-integer set members, a PLAIN list
    /// node, an unsorted sorted set, a blob over 4 GiB, ...).
    Transcode {
        /// The compact type written when the contents fit.
        to: RdbType,
        /// The plain type written otherwise.
        fallback: RdbType,
    },
    /// A hash that can carry field TTLs, for a target that has none: the
    /// [`FieldTtlPolicy`] applies to hashes that actually have a field TTL;
    /// the others are written as plain hashes without loss.
    FieldTtlPolicy,
    /// A stream written in the older layout `to`. What is lost depends on
    /// the contents (see [`crate::stream::assess_downgrade`]).
    StreamDowngrade {
        /// The type written.
        to: RdbType,
    },
    /// A module value: kept (the target needs the module) or dropped, per
    /// [`ModulePolicy`].
    Module,
    /// No equivalent in the target: the key is dropped with this loss.
    Impossible {
        /// The loss.
        loss: LossKind,
    },
    /// A type this crate cannot read or convert.
    Unsupported,
}

/// The conversion rule for a value of type `ty` stored by a `source` file,
/// written into a `target` file.
///
/// ```
/// use rdbkit_parser::{format::*, RdbVersion};
/// use rdbkit_writer::{type_rule, TypeRule};
///
/// // A Redis 7.2 set listpack for Redis 6.2: an intset, or a plain set when
/// // a member is not an integer.
/// assert_eq!(
///     type_rule(RdbVersion(11), RDB_TYPE_SET_LISTPACK, RdbVersion(9)),
///     TypeRule::Transcode { to: RDB_TYPE_SET_INTSET, fallback: RDB_TYPE_SET }
/// );
/// // A Redis 7.0 list for Redis 3.2: quicklist v1.
/// assert_eq!(
///     type_rule(RdbVersion(10), RDB_TYPE_LIST_QUICKLIST_2, RdbVersion(7)),
///     TypeRule::Transcode { to: RDB_TYPE_LIST_QUICKLIST, fallback: RDB_TYPE_LIST }
/// );
/// // Strings are copied everywhere.
/// assert_eq!(type_rule(RdbVersion(12), RDB_TYPE_STRING, RdbVersion(6)), TypeRule::Copy);
/// ```
pub fn type_rule(source: RdbVersion, ty: RdbType, target: RdbVersion) -> TypeRule {
    let Some(kind) = ty.kind_in(source) else {
        return TypeRule::Unsupported;
    };
    if ty == RDB_TYPE_MODULE_PRE_GA || ty == RDB_TYPE_ARRAY {
        return TypeRule::Unsupported;
    }
    if kind == ValueKind::Module {
        return if target.redis_level() >= 8 {
            TypeRule::Module
        } else {
            TypeRule::Impossible {
                loss: LossKind::ModuleValue,
            }
        };
    }
    if type_copyable(source, ty, target) {
        return TypeRule::Copy;
    }
    let rule = plain_rule(source, ty, kind, target);
    match (rule, transcode::compact_type(source, ty, target)) {
        (TypeRule::Reencode { to: fallback }, Some(to)) => TypeRule::Transcode { to, fallback },
        _ => rule,
    }
}

/// The rule when no compact form applies: plain types, TTL policy, streams.
fn plain_rule(source: RdbVersion, ty: RdbType, kind: ValueKind, target: RdbVersion) -> TypeRule {
    match kind {
        ValueKind::String => TypeRule::Reencode {
            to: RDB_TYPE_STRING,
        },
        ValueKind::List => TypeRule::Reencode { to: RDB_TYPE_LIST },
        ValueKind::Set => TypeRule::Reencode { to: RDB_TYPE_SET },
        ValueKind::ZSet => TypeRule::Reencode {
            to: zset_type(target),
        },
        ValueKind::Hash => {
            let ttl_capable = if source.is_valkey() {
                ty == RDB_TYPE_VALKEY_HASH_2
            } else {
                matches!(
                    ty,
                    RDB_TYPE_HASH_METADATA_PRE_GA
                        | RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
                        | RDB_TYPE_HASH_METADATA
                        | RDB_TYPE_HASH_LISTPACK_EX
                )
            };
            match (ttl_capable, ttl_hash_type(target)) {
                (false, _) => TypeRule::Reencode { to: RDB_TYPE_HASH },
                (true, Some(to)) => TypeRule::Reencode { to },
                (true, None) => TypeRule::FieldTtlPolicy,
            }
        }
        ValueKind::Stream => match written_type(ty, target) {
            Some(to) => TypeRule::StreamDowngrade { to },
            None => TypeRule::Impossible {
                loss: LossKind::Stream,
            },
        },
        ValueKind::Module => TypeRule::Unsupported,
    }
}

// ---------------------------------------------------------------------------
// Options

/// What to do when a conversion would lose data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossPolicy {
    /// Refuse: the conversion fails with [`ConvertError::Lossy`] listing
    /// every loss (nothing after the first loss is written).
    #[default]
    Error,
    /// Convert anyway and list the losses in the report.
    Warn,
}

/// How hashes with field TTLs are written for targets without field TTLs
/// (Redis < 7.4, Valkey < 9): format reference §6.5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldTtlPolicy {
    /// Keep the fields without TTLs; drop those already expired at the
    /// reference time (`now_ms`), so the output never shows data the source
    /// server would already hide.
    #[default]
    Strip,
    /// Strip, and set the key's expiry to the earliest field expiry (fields
    /// without a TTL may then disappear early).
    KeyTtlMin,
    /// Strip, and set the key's expiry to the latest field expiry when every
    /// field has one (expired fields stay visible until then).
    KeyTtlMax,
    /// Drop such hashes.
    DropKey,
}

/// What to do with module values and module AUX data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModulePolicy {
    /// Keep them (RDB 8+); the report notes each module the target needs.
    #[default]
    Keep,
    /// Drop them (reported as losses).
    Drop,
    /// For targets without modules: RedisJSON documents become string keys
    /// holding the JSON text (expiry kept; each reported as a
    /// [`LossKind::ModuleType`] loss), and every other module value and
    /// module AUX record is dropped as with [`ModulePolicy::Drop`], so the
    /// output needs no module. A RedisJSON value that does not decode is
    /// dropped and reported, never guessed.
    JsonAsString,
}

/// Options of a conversion.
///
/// ```
/// use rdbkit_parser::RdbVersion;
/// use rdbkit_writer::{ConvertOptions, FieldTtlPolicy, LossPolicy};
///
/// let mut o = ConvertOptions::new(RdbVersion(9));
/// o.on_loss = LossPolicy::Warn;
/// o.field_ttl = FieldTtlPolicy::KeyTtlMin;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// The version to write.
    pub target: RdbVersion,
    /// What to do when data would be lost (default: error).
    pub on_loss: LossPolicy,
    /// Hash field TTLs for targets without them (default: strip).
    pub field_ttl: FieldTtlPolicy,
    /// Reference time (Unix ms) for "already expired" hash fields (default:
    /// the time `new` was called).
    pub now_ms: i64,
    /// Module values and module AUX data (default: keep).
    pub modules: ModulePolicy,
    /// LZF-compress long strings the conversion re-encodes (default: on).
    pub compress: bool,
    /// At most this many losses are listed in the report (all are counted).
    pub max_reported_losses: usize,
}

impl ConvertOptions {
    /// Defaults for `target`.
    pub fn new(target: RdbVersion) -> Self {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        ConvertOptions {
            target,
            on_loss: LossPolicy::Error,
            field_ttl: FieldTtlPolicy::Strip,
            now_ms,
            modules: ModulePolicy::Keep,
            compress: true,
            max_reported_losses: 100_000,
        }
    }
}

// ---------------------------------------------------------------------------
// The converter

/// Applies the rules record by record. [`convert`] drives it over a whole
/// file; use it directly to feed records from elsewhere (a
/// [`StreamingReader`](rdbkit_parser::StreamingReader), several files).
///
/// With [`LossPolicy::Error`], the first loss halts writing (the converter
/// keeps examining records so that the report lists every loss) and
/// [`Converter::finish`] returns [`ConvertError::Lossy`].
#[derive(Debug)]
pub struct Converter {
    options: ConvertOptions,
    source: RdbVersion,
    report: Report,
    db: u64,
    halted: bool,
    note_index: HashMap<(NoteKind, String), usize>,
    transcoder: Transcoder,
}

/// What to do with an entry's value.
enum ValueAction {
    Copy,
    Transcode(RdbType),
    Write,
}

impl Converter {
    /// A converter from files of version `source`.
    pub fn new(source: RdbVersion, options: ConvertOptions) -> Result<Self, ConvertError> {
        if !is_supported_target(options.target) {
            return Err(ConvertError::UnsupportedTarget(options.target.0));
        }
        Ok(Converter {
            report: Report::new(source, options.target),
            options,
            source,
            db: 0,
            halted: false,
            note_index: HashMap::new(),
            transcoder: Transcoder::default(),
        })
    }

    /// A writer for the target with the conversion's options.
    pub fn writer<W: Write>(&self, out: W) -> Result<RdbWriter<W>, ConvertError> {
        let opts = WriterOptions::default().compress(self.options.compress);
        Ok(RdbWriter::with_options(out, self.options.target, opts)?)
    }

    /// The report so far.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Whether a loss under [`LossPolicy::Error`] stopped the writing.
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    fn loss(&mut self, offset: u64, key: Option<&[u8]>, kind: LossKind, detail: impl Into<String>) {
        *self.report.loss_counts.entry(kind).or_insert(0) += 1;
        if self.report.losses.len() < self.options.max_reported_losses {
            self.report.losses.push(Loss {
                offset,
                db: self.db,
                key: key.map(<[u8]>::to_vec),
                kind,
                detail: detail.into(),
            });
        }
        if self.options.on_loss == LossPolicy::Error {
            self.halted = true;
        }
    }

    fn note(&mut self, offset: u64, kind: NoteKind, detail: impl Into<String>) {
        let detail = detail.into();
        match self.note_index.get(&(kind, detail.clone())) {
            Some(&i) => {
                if let Some(n) = self.report.notes.get_mut(i) {
                    n.count += 1;
                }
            }
            None => {
                self.note_index
                    .insert((kind, detail.clone()), self.report.notes.len());
                self.report.notes.push(Note {
                    kind,
                    detail,
                    count: 1,
                    first_offset: offset,
                });
            }
        }
    }

    fn dropped(&mut self) -> Result<(), ConvertError> {
        self.report.stats.dropped += 1;
        Ok(())
    }

    /// Account for an entry left out by the caller's filter.
    pub fn skip_entry(&mut self, record: &Record<'_>) {
        self.report.stats.records += 1;
        if let RecordKind::Entry(_) = record.kind {
            self.report.stats.keys_in += 1;
            self.report.stats.keys_filtered += 1;
        }
        self.report.stats.dropped += 1;
    }

    fn copy<W: Write>(
        &mut self,
        record: &Record<'_>,
        out: &mut RdbWriter<W>,
    ) -> Result<(), ConvertError> {
        self.report.stats.copied += 1;
        if !self.halted {
            out.write_raw_unchecked(record.raw)?;
        }
        Ok(())
    }

    fn rewrite<W: Write>(
        &mut self,
        out: &mut RdbWriter<W>,
        f: impl FnOnce(&mut RdbWriter<W>) -> Result<(), WriteError>,
    ) -> Result<(), ConvertError> {
        self.report.stats.rewritten += 1;
        if !self.halted {
            f(out)?;
        }
        Ok(())
    }

    /// Convert one record of the source into `out` (nothing for EOF: call
    /// [`Converter::finish`]).
    pub fn convert_record<W: Write>(
        &mut self,
        record: &Record<'_>,
        out: &mut RdbWriter<W>,
    ) -> Result<(), ConvertError> {
        self.report.stats.records += 1;
        let target = self.options.target;
        let level = target.redis_level();
        let src = self.source;
        let at = record.offset;
        match &record.kind {
            RecordKind::Eof { .. } => Ok(()),
            RecordKind::Aux { key, value } => {
                if key.eq_ignore_ascii_case(b"lua") {
                    self.note(at, NoteKind::LuaScriptDropped, "");
                    self.dropped()
                } else if level < 7 {
                    self.note(at, NoteKind::AuxDropped, String::from_utf8_lossy(key));
                    self.dropped()
                } else if record_copyable(record, src, target) {
                    self.copy(record, out)
                } else {
                    self.rewrite(out, |w| w.write_aux(key, value))
                }
            }
            RecordKind::SelectDb { db } => {
                self.db = *db;
                if record_copyable(record, src, target) {
                    self.copy(record, out)
                } else {
                    self.rewrite(out, |w| w.write_select_db(*db))
                }
            }
            RecordKind::ResizeDb {
                db_size,
                expires_size,
            } => {
                if level < 7 {
                    self.note(at, NoteKind::ResizeDbDropped, "");
                    self.dropped()
                } else if record_copyable(record, src, target) {
                    self.copy(record, out)
                } else {
                    self.rewrite(out, |w| w.write_resize_db(*db_size, *expires_size))
                }
            }
            RecordKind::SlotInfo { .. } => {
                if record_copyable(record, src, target) {
                    self.copy(record, out)
                } else {
                    self.note(at, NoteKind::SlotInfoDropped, "");
                    self.dropped()
                }
            }
            RecordKind::ModuleAux(aux) => {
                let name = aux.id.name();
                if level < 9 {
                    self.loss(
                        at,
                        None,
                        LossKind::ModuleAux,
                        format!("module {name}: no module AUX data below RDB 9"),
                    );
                    self.dropped()
                } else if self.options.modules != ModulePolicy::Keep {
                    self.loss(
                        at,
                        None,
                        LossKind::ModuleAux,
                        format!("module {name}: dropped by the module policy"),
                    );
                    self.dropped()
                } else {
                    self.note(at, NoteKind::NeedsModule, name);
                    self.copy(record, out)
                }
            }
            RecordKind::Function(f) => {
                let name = f.library_name().unwrap_or("?").to_string();
                if level < 10 {
                    self.loss(
                        at,
                        None,
                        LossKind::Function,
                        format!("library {name}: no functions below RDB 10"),
                    );
                    self.dropped()
                } else if f.pre_ga {
                    self.note(at, NoteKind::FunctionConverted, name);
                    self.rewrite(out, |w| w.write_function(&f.source))
                } else {
                    self.copy(record, out)
                }
            }
            RecordKind::SlotImport { ranges, .. } => {
                if record_copyable(record, src, target) {
                    self.copy(record, out)
                } else {
                    let slots: Vec<String> =
                        ranges.iter().map(|(a, b)| format!("{a}-{b}")).collect();
                    self.loss(
                        at,
                        None,
                        LossKind::SlotImport,
                        format!(
                            "slots {} being imported load as ordinary keys",
                            slots.join(",")
                        ),
                    );
                    self.dropped()
                }
            }
            RecordKind::Entry(e) => self.entry(record, e, out),
            _ => Err(ConvertError::UnsupportedRecord { offset: at }),
        }
    }

    fn entry<W: Write>(
        &mut self,
        record: &Record<'_>,
        e: &Entry<'_>,
        out: &mut RdbWriter<W>,
    ) -> Result<(), ConvertError> {
        self.report.stats.keys_in += 1;
        let target = self.options.target;
        let level = target.redis_level();
        let src = self.source;
        let at = record.offset;
        let key: &[u8] = &e.key;
        let ty = e.value.ty();
        let mut meta = EntryMeta::of(e);

        // Prefixes.
        if let Some(ms) = meta.expire_ms
            && level < 3
        {
            if expire_seconds(ms).is_none() {
                self.loss(
                    at,
                    Some(key),
                    LossKind::Expiry,
                    format!("expiry {ms} ms is after 2038"),
                );
                return self.dropped();
            }
            if ms.rem_euclid(1000) != 0 {
                self.note(at, NoteKind::ExpiryRounded, "");
            }
        }
        if level < 9 && (meta.lru_idle.is_some() || meta.lfu_freq.is_some()) {
            self.note(at, NoteKind::EvictionHintsDropped, "");
        }
        if meta.key_meta.is_some() && !key_meta_known(target) {
            let n = meta.key_meta.map_or(0, |k| k.classes);
            self.loss(
                at,
                Some(key),
                LossKind::KeyMetadata,
                format!("{n} key metadata class(es)"),
            );
            meta.key_meta = None;
        }

        // A stream is decoded here, once, to check its length; `rewrite`:
        // the stored length must change (the value carries the new one).
        let (stream, rewrite) = if e.value.kind() == Some(ValueKind::Stream) {
            let (v, rewrite) = self.stream_length(at, key, e.value.decode()?)?;
            (Some(v), rewrite)
        } else {
            (None, false)
        };

        if self.options.modules == ModulePolicy::JsonAsString
            && e.value.kind() == Some(ValueKind::Module)
        {
            return self.module_as_string(at, key, &meta, e, out);
        }

        let rule = type_rule(src, ty, target);
        let action = match rule {
            TypeRule::Copy => ValueAction::Copy,
            TypeRule::Module => {
                let Value::Module(m) = e.value.decode()? else {
                    return Err(unsupported(ty, src, target));
                };
                let name = m.id.name();
                if self.options.modules == ModulePolicy::Drop {
                    self.loss(
                        at,
                        Some(key),
                        LossKind::ModuleValue,
                        format!("module {name}: dropped by the module policy"),
                    );
                    return self.dropped();
                }
                self.note(at, NoteKind::NeedsModule, name);
                ValueAction::Copy
            }
            TypeRule::Impossible { loss } => {
                let detail = format!("{} has no equivalent in {target}", e.value.encoding_name());
                self.loss(at, Some(key), loss, detail);
                return self.dropped();
            }
            TypeRule::Unsupported => return Err(unsupported(ty, src, target)),
            TypeRule::Transcode { to, .. } => ValueAction::Transcode(to),
            TypeRule::Reencode { .. } | TypeRule::StreamDowngrade { .. } => ValueAction::Write,
            TypeRule::FieldTtlPolicy => return self.field_ttl_hash(record, e, meta, out),
        };

        // The common case: the target loads the value as stored.
        if let ValueAction::Copy = action
            && !rewrite
            && value_copyable(src, ty, e.value.body(), target)
        {
            self.report.stats.keys_out += 1;
            if record_copyable(record, src, target) {
                return self.copy(record, out);
            }
            return self.rewrite(out, |w| {
                w.write_entry_with_body(key, &meta, ty, e.value.body())
            });
        }

        // An older compact form, straight from the stored blob.
        if let ValueAction::Transcode(to) = action {
            match self
                .transcoder
                .run(&e.value, to, target, self.options.compress)
            {
                Transcoded::Written(ty) => {
                    self.report.stats.keys_out += 1;
                    self.report.stats.rewritten += 1;
                    if !self.halted {
                        out.write_entry_with_body(key, &meta, ty, self.transcoder.body())?;
                    }
                    return Ok(());
                }
                Transcoded::Empty => {
                    self.note(at, NoteKind::EmptyCollectionSkipped, "");
                    return self.dropped();
                }
                // The plain type, through the decoder (which also reports a
                // damaged value).
                Transcoded::Fallback => {}
            }
        }

        // Decode and write in a form the target loads.
        let value = match stream {
            Some(v) => v,
            None => e.value.decode()?,
        };
        if let (TypeRule::StreamDowngrade { to }, Value::Stream(s)) = (rule, &value) {
            let d = assess_downgrade(s, stream_level(to).unwrap_or(1))?;
            for (kind, detail) in d.losses {
                self.loss(at, Some(key), kind, detail);
            }
            for (kind, detail) in d.notes {
                self.note(at, kind, detail);
            }
        }
        let planned = match value::plan(&value, target)? {
            Some(p) => p,
            None => {
                self.note(at, NoteKind::EmptyCollectionSkipped, "");
                return self.dropped();
            }
        };
        self.report.stats.keys_out += 1;
        self.rewrite(out, |w| w.write_planned_entry(key, &meta, &planned, &value))
    }

    /// [`ModulePolicy::JsonAsString`] on a module value: a RedisJSON
    /// document becomes a string of its JSON text, anything else is dropped.
    fn module_as_string<W: Write>(
        &mut self,
        at: u64,
        key: &[u8],
        meta: &EntryMeta<'_>,
        e: &Entry<'_>,
        out: &mut RdbWriter<W>,
    ) -> Result<(), ConvertError> {
        let Value::Module(m) = e.value.decode()? else {
            return Err(unsupported(e.value.ty(), self.source, self.options.target));
        };
        let name = m.id.name();
        match m.json() {
            Some(Ok(doc)) => {
                self.loss(
                    at,
                    Some(key),
                    LossKind::ModuleType,
                    format!(
                        "module {name}: written as a string holding the JSON text ({} {})",
                        doc.root,
                        crate::report::count(doc.text.len() as u64, "byte", "bytes")
                    ),
                );
                self.report.stats.keys_out += 1;
                self.rewrite(out, |w| w.write_string(key, meta, &doc.text))
            }
            Some(Err(why)) => {
                self.loss(
                    at,
                    Some(key),
                    LossKind::ModuleValue,
                    format!(
                        "module {name}: not decoded ({}), so not written as JSON text",
                        why.reason
                    ),
                );
                self.dropped()
            }
            None => {
                self.loss(
                    at,
                    Some(key),
                    LossKind::ModuleValue,
                    format!("module {name}: dropped by the module policy (only JSON documents become strings)"),
                );
                self.dropped()
            }
        }
    }

    /// A stream whose stored length is not its number of live entries:
    /// Redis loaders take the stored length as it is (XLEN reports it), so
    /// it is kept, and noted. Two exceptions, where the stream is written
    /// with its live count instead (returned with `true`) and the change is
    /// a loss: Valkey 9 refuses any mismatch ("Stream length inconsistent
    /// with the number of valid entries"), and 7.0+ refuse a length without
    /// nodes ("Stream length inconsistent with rax entries"), which 6.x load.
    fn stream_length<'d>(
        &mut self,
        at: u64,
        key: &[u8],
        value: Value<'d>,
    ) -> Result<(Value<'d>, bool), ConvertError> {
        let Value::Stream(s) = value else {
            return Ok((value, false));
        };
        let target = self.options.target;
        // Valkey 9 also checks each node listpack's header count, which no
        // Redis loader reads: the stream writer sets a wrong one right.
        let mut recount = false;
        if target.is_valkey() {
            for node in &s.nodes {
                recount |= node.recounted()?.is_some();
            }
        }
        if recount {
            self.note(
                at,
                NoteKind::StreamListpackRecounted,
                DisplayBytes(key).to_string(),
            );
        }
        let live = s.live_entries()?;
        if live == s.length {
            return Ok((Value::Stream(s), recount));
        }
        let stored = s.length;
        let why = if target.is_valkey() {
            Some("Valkey 9 refuses a length that is not the live entries'")
        } else if s.nodes.is_empty() && target.redis_level() >= 10 {
            Some("loaders since 7.0 refuse a length without entries")
        } else {
            None
        };
        if let Some(why) = why {
            self.loss(
                at,
                Some(key),
                LossKind::StreamLength,
                format!("stored length {stored}, {live} live entries: {why}; written as {live}"),
            );
            let mut fixed = s;
            fixed.length = live;
            return Ok((Value::Stream(fixed), true));
        }
        self.note(
            at,
            NoteKind::StreamLengthKept,
            format!(
                "{}: stored length {stored}, {live} live entries",
                DisplayBytes(key)
            ),
        );
        Ok((Value::Stream(s), recount))
    }

    /// A hash with field TTLs for a target without them.
    fn field_ttl_hash<W: Write>(
        &mut self,
        record: &Record<'_>,
        e: &Entry<'_>,
        mut meta: EntryMeta<'_>,
        out: &mut RdbWriter<W>,
    ) -> Result<(), ConvertError> {
        let at = record.offset;
        let key: &[u8] = &e.key;
        let Value::Hash(h) = e.value.decode()? else {
            return Err(unsupported(e.value.ty(), self.source, self.options.target));
        };
        let fields = collect_fields(&h)?;
        let with_ttl = fields.iter().filter(|f| f.expire_ms.is_some()).count();
        if fields.is_empty() {
            self.note(at, NoteKind::EmptyCollectionSkipped, "");
            return self.dropped();
        }
        let policy = self.options.field_ttl;
        if with_ttl > 0 && policy == FieldTtlPolicy::DropKey {
            self.loss(
                at,
                Some(key),
                LossKind::HashWithFieldTtls,
                format!(
                    "{with_ttl} of {} fields have a TTL; dropped by the drop-key policy",
                    fields.len()
                ),
            );
            return self.dropped();
        }
        let now = self.options.now_ms;
        let (kept, expired): (Vec<&HashField<'_>>, Vec<&HashField<'_>>) = fields
            .iter()
            .partition(|f| f.expire_ms.is_none_or(|t| t > now));
        if kept.is_empty() {
            self.loss(
                at,
                Some(key),
                LossKind::HashAllFieldsExpired,
                format!(
                    "all {} fields had expired at the reference time {now}",
                    fields.len()
                ),
            );
            return self.dropped();
        }
        if with_ttl > 0 {
            let n = |k: usize, one: &str, many: &str| {
                format!("{k} {}", if k == 1 { one } else { many })
            };
            let mut detail = format!("{} removed", n(with_ttl, "field TTL", "field TTLs"));
            if !expired.is_empty() {
                detail += &format!(
                    ", {} dropped",
                    n(expired.len(), "expired field", "expired fields")
                );
            }
            let key_ttl = match policy {
                FieldTtlPolicy::KeyTtlMin => kept.iter().filter_map(|f| f.expire_ms).min(),
                FieldTtlPolicy::KeyTtlMax if kept.iter().all(|f| f.expire_ms.is_some()) => {
                    kept.iter().filter_map(|f| f.expire_ms).max()
                }
                _ => None,
            };
            if let Some(t) = key_ttl {
                let t = meta.expire_ms.map_or(t, |k| k.min(t));
                if meta.expire_ms != Some(t) {
                    detail += &format!(", key expiry set to {t}");
                }
                meta.expire_ms = Some(t);
            }
            self.loss(at, Some(key), LossKind::FieldTtls, detail);
        }
        self.report.stats.keys_out += 1;
        let n = kept.len() as u64;
        self.rewrite(out, |w| {
            let pairs = kept.iter().map(|f| Ok((f.field.clone(), f.value.clone())));
            w.write_pairs_entry(key, &meta, n, pairs)
        })
    }

    /// Finish: write EOF and the checksum, or, if a loss halted the
    /// conversion under [`LossPolicy::Error`], return [`ConvertError::Lossy`]
    /// without finishing the output.
    pub fn finish<W: Write>(self, out: RdbWriter<W>) -> Result<(W, Report), ConvertError> {
        if self.halted {
            return Err(ConvertError::Lossy(Box::new(self.report)));
        }
        let w = out.finish()?;
        Ok((w, self.report))
    }

    /// The report, without finishing anything.
    pub fn into_report(self) -> Report {
        self.report
    }
}

fn collect_fields<'a>(h: &'a Hash<'_>) -> Result<Vec<HashField<'a>>, ConvertError> {
    let mut v = Vec::new();
    for f in h.iter()? {
        v.push(f?);
    }
    Ok(v)
}

fn unsupported(ty: RdbType, source: RdbVersion, target: RdbVersion) -> ConvertError {
    ConvertError::Unsupported {
        ty,
        source_version: source,
        target,
    }
}

// ---------------------------------------------------------------------------
// Whole files

/// Convert a whole file for `options.target`, writing it to `out`.
///
/// Returns the output and the [`Report`]. With [`LossPolicy::Error`] a
/// conversion that would lose anything fails with [`ConvertError::Lossy`]
/// (whatever was written to `out` by then is an unfinished file to discard).
///
/// ```
/// use rdbkit_parser::{RdbReader, RdbVersion};
/// use rdbkit_writer::{convert, ConvertOptions};
///
/// let redis_6 = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3";
/// let mut reader = RdbReader::new(redis_6)?;
/// let (out, report) = convert(&mut reader, Vec::new(), &ConvertOptions::new(RdbVersion(7)))?;
/// assert!(out.starts_with(b"REDIS0007"));
/// assert!(report.is_lossless());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn convert<W: Write>(
    reader: &mut RdbReader<'_>,
    out: W,
    options: &ConvertOptions,
) -> Result<(W, Report), ConvertError> {
    convert_filtered(reader, out, options, |_| true)
}

/// [`convert`], writing only the keys for which `keep` returns true (the
/// others are counted in [`Stats::keys_filtered`](crate::Stats)).
pub fn convert_filtered<W, F>(
    reader: &mut RdbReader<'_>,
    out: W,
    options: &ConvertOptions,
    mut keep: F,
) -> Result<(W, Report), ConvertError>
where
    W: Write,
    F: FnMut(&Entry<'_>) -> bool,
{
    let mut conv = Converter::new(reader.version(), options.clone())?;
    let mut w = conv.writer(out)?;
    while let Some(record) = reader.next_record()? {
        if let RecordKind::Entry(e) = &record.kind
            && !keep(e)
        {
            conv.skip_entry(&record);
            continue;
        }
        conv.convert_record(&record, &mut w)?;
    }
    conv.finish(w)
}

/// A dry run of [`convert`]: the report of everything the conversion would
/// do and lose, whatever the loss policy, with nothing written. This is what
/// `verify --target` uses.
pub fn plan(reader: &mut RdbReader<'_>, options: &ConvertOptions) -> Result<Report, ConvertError> {
    let mut o = options.clone();
    o.on_loss = LossPolicy::Warn;
    let (_, report) = convert(reader, io::sink(), &o)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let v = RdbVersion;
        let r = |s, t: u8, d| type_rule(v(s), RdbType(t), v(d));
        let tc = |to: u8, fallback: u8| TypeRule::Transcode {
            to: RdbType(to),
            fallback: RdbType(fallback),
        };
        assert_eq!(r(11, 0, 6), TypeRule::Copy);
        // Lists: quicklist v1 from RDB 7, one ziplist below.
        assert_eq!(r(11, 18, 9), tc(14, 1));
        assert_eq!(r(11, 18, 7), tc(14, 1));
        assert_eq!(r(11, 18, 6), tc(10, 1));
        assert_eq!(r(9, 14, 6), tc(10, 1));
        assert_eq!(r(9, 14, 2), tc(10, 1));
        assert_eq!(r(9, 14, 1), TypeRule::Reencode { to: RDB_TYPE_LIST });
        assert_eq!(r(11, 18, 10), TypeRule::Copy);
        // Sorted sets: ziplists, with the plain type of the target behind.
        assert_eq!(r(11, 17, 9), tc(12, 5));
        assert_eq!(r(11, 17, 7), tc(12, 3));
        assert_eq!(r(11, 17, 1), TypeRule::Reencode { to: RDB_TYPE_ZSET });
        assert_eq!(r(9, 5, 7), TypeRule::Reencode { to: RDB_TYPE_ZSET });
        // Sets: intsets.
        assert_eq!(r(11, 20, 10), tc(11, 2));
        assert_eq!(r(11, 20, 2), tc(11, 2));
        assert_eq!(r(11, 20, 1), TypeRule::Reencode { to: RDB_TYPE_SET });
        // Hashes: ziplists from RDB 4.
        assert_eq!(r(10, 16, 9), tc(13, 4));
        assert_eq!(r(10, 16, 4), tc(13, 4));
        assert_eq!(r(10, 16, 3), TypeRule::Reencode { to: RDB_TYPE_HASH });
        // RDB 6+ ziplists for 2.4 loaders: only the 16/32/64-bit integers.
        assert_eq!(r(9, 13, 5), tc(13, 4));
        assert_eq!(r(9, 12, 2), tc(12, 3));
        assert_eq!(r(9, 10, 2), tc(10, 1));
        assert_eq!(r(9, 13, 3), TypeRule::Reencode { to: RDB_TYPE_HASH });
        assert_eq!(r(2, 13, 5), TypeRule::Copy);
        // Valkey 9 knows every compact type.
        assert_eq!(r(11, 20, 80), TypeRule::Copy);
        assert_eq!(r(80, 16, 9), tc(13, 4));
        assert_eq!(r(12, 25, 12), TypeRule::Copy);
        assert_eq!(r(12, 25, 11), TypeRule::FieldTtlPolicy);
        assert_eq!(
            r(12, 22, 12),
            TypeRule::Reencode {
                to: RDB_TYPE_HASH_METADATA
            }
        );
        assert_eq!(
            r(12, 24, 80),
            TypeRule::Reencode {
                to: RDB_TYPE_VALKEY_HASH_2
            }
        );
        assert_eq!(
            r(80, 22, 12),
            TypeRule::Reencode {
                to: RDB_TYPE_HASH_METADATA
            }
        );
        assert_eq!(r(80, 22, 11), TypeRule::FieldTtlPolicy);
        assert_eq!(r(80, 22, 80), TypeRule::Copy);
        assert_eq!(
            r(11, 21, 10),
            TypeRule::StreamDowngrade {
                to: RDB_TYPE_STREAM_LISTPACKS_2
            }
        );
        assert_eq!(
            r(11, 21, 8),
            TypeRule::Impossible {
                loss: LossKind::Stream
            }
        );
        assert_eq!(
            r(13, 26, 80),
            TypeRule::StreamDowngrade {
                to: RDB_TYPE_STREAM_LISTPACKS_3
            }
        );
        assert_eq!(r(9, 7, 8), TypeRule::Module);
        assert_eq!(
            r(9, 7, 7),
            TypeRule::Impossible {
                loss: LossKind::ModuleValue
            }
        );
        assert_eq!(r(9, 8, 9), TypeRule::Unsupported);
        // Upgrades copy.
        assert_eq!(r(6, 12, 11), TypeRule::Copy);
        assert_eq!(r(9, 15, 12), TypeRule::Copy);
    }
}
