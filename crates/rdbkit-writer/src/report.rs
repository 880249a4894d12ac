//! What a conversion did: every loss (per record), notes (aggregated) and
//! counts.

use std::collections::BTreeMap;
use std::fmt;

use rdbkit_parser::{DisplayBytes, RdbVersion};

/// A kind of information a conversion loses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LossKind {
    /// Hash field TTLs removed: the fields are kept without expiry (fields
    /// already expired at the reference time are removed; with a key-TTL
    /// policy the key's expiry was set from the field expiries).
    FieldTtls,
    /// A hash with field TTLs dropped whole by the `drop-key` policy.
    HashWithFieldTtls,
    /// A hash whose every field had expired at the reference time: dropped.
    HashAllFieldsExpired,
    /// A stream key dropped: the target has no stream type (RDB < 9).
    Stream,
    /// Consumer `active_time` (stream v3) lost; it becomes the seen time.
    StreamActiveTime,
    /// A stream's stored length that the target refuses (Valkey 9: any
    /// length but the live entries'; 7.0+: a length without entries):
    /// written as the number of live entries.
    StreamLength,
    /// Stream v2 metadata (entries-added, max-deleted ID, group
    /// entries-read) that the v1 loader cannot reconstruct.
    StreamMetadata,
    /// Stream v4 idempotent-producer (IDMP) state.
    StreamIdmp,
    /// Stream v5 NACK zones of consumer groups.
    StreamNacks,
    /// A module value key dropped (no module types below RDB 8, or the
    /// module policy is `Drop`).
    ModuleValue,
    /// A MODULE_AUX record dropped.
    ModuleAux,
    /// A module value written as a plain type (a RedisJSON document as a
    /// string holding its JSON text): the key is kept, its module type is
    /// not.
    ModuleType,
    /// A function library dropped (no functions below RDB 10).
    Function,
    /// Redis 8.6 key metadata dropped (the key is kept).
    KeyMetadata,
    /// A Valkey SLOT_IMPORT record dropped: the importing slots' keys load
    /// as ordinary keys.
    SlotImport,
    /// A key dropped because its expiry does not fit the target's 32-bit
    /// EXPIRETIME seconds (RDB < 3, after 2038).
    Expiry,
}

impl LossKind {
    /// A short stable name (`field-ttls`, `stream`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            LossKind::FieldTtls => "field-ttls",
            LossKind::HashWithFieldTtls => "hash-with-field-ttls",
            LossKind::HashAllFieldsExpired => "hash-all-fields-expired",
            LossKind::Stream => "stream",
            LossKind::StreamActiveTime => "stream-active-time",
            LossKind::StreamLength => "stream-length",
            LossKind::StreamMetadata => "stream-metadata",
            LossKind::StreamIdmp => "stream-idmp",
            LossKind::StreamNacks => "stream-nacks",
            LossKind::ModuleValue => "module-value",
            LossKind::ModuleAux => "module-aux",
            LossKind::ModuleType => "module-type",
            LossKind::Function => "function",
            LossKind::KeyMetadata => "key-metadata",
            LossKind::SlotImport => "slot-import",
            LossKind::Expiry => "expiry",
        }
    }

    /// Whether the loss removes the whole key from the output.
    pub fn drops_key(&self) -> bool {
        matches!(
            self,
            LossKind::HashWithFieldTtls
                | LossKind::HashAllFieldsExpired
                | LossKind::Stream
                | LossKind::ModuleValue
                | LossKind::Expiry
        )
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One loss: where, which key, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loss {
    /// File offset of the source record.
    pub offset: u64,
    /// The database selected at that record.
    pub db: u64,
    /// The key, for key records.
    pub key: Option<Vec<u8>>,
    /// What is lost.
    pub kind: LossKind,
    /// Details in plain words.
    pub detail: String,
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: ", self.offset)?;
        if let Some(k) = &self.key {
            write!(f, "db {} key {}: ", self.db, DisplayBytes(k))?;
        }
        write!(f, "{}", self.kind)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        if self.kind.drops_key() {
            f.write_str(" (key dropped)")?;
        }
        Ok(())
    }
}

/// Something the conversion changed or dropped without losing data, or a
/// requirement on the target (a module).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NoteKind {
    /// The target must have this module loaded (detail: module name).
    NeedsModule,
    /// AUX fields dropped: the target (RDB < 7) has none (detail: field name).
    AuxDropped,
    /// The `lua` AUX field (a cached EVAL script) dropped: 5.0-6.2 loaders
    /// abort when a cached script does not compile.
    LuaScriptDropped,
    /// RESIZEDB sizing hints dropped (RDB < 7).
    ResizeDbDropped,
    /// SLOT_INFO sizing hints dropped.
    SlotInfoDropped,
    /// IDLE/FREQ eviction hints dropped (RDB < 9).
    EvictionHintsDropped,
    /// Millisecond expiries rounded up to whole seconds (RDB < 3).
    ExpiryRounded,
    /// A 7.0 release-candidate function library rewritten as FUNCTION2.
    FunctionConverted,
    /// An empty collection in the source was not written (loaders skip them).
    EmptyCollectionSkipped,
    /// A stream's IDMP settings (window, max entries) dropped; it tracked no
    /// producers.
    StreamIdmpSettingsDropped,
    /// A stream whose stored length differs from its live entries, kept as
    /// stored (every loader does the same; detail: the key and both counts).
    StreamLengthKept,
    /// A stream node listpack whose header element count was wrong (Redis
    /// never reads it) written with the right one for Valkey 9, which
    /// refuses a wrong one (detail: the key).
    StreamListpackRecounted,
}

impl NoteKind {
    /// A short stable name.
    pub fn as_str(&self) -> &'static str {
        match self {
            NoteKind::NeedsModule => "needs-module",
            NoteKind::AuxDropped => "aux-dropped",
            NoteKind::LuaScriptDropped => "lua-script-dropped",
            NoteKind::ResizeDbDropped => "resizedb-dropped",
            NoteKind::SlotInfoDropped => "slot-info-dropped",
            NoteKind::EvictionHintsDropped => "eviction-hints-dropped",
            NoteKind::ExpiryRounded => "expiry-rounded",
            NoteKind::FunctionConverted => "function-converted",
            NoteKind::EmptyCollectionSkipped => "empty-collection-skipped",
            NoteKind::StreamIdmpSettingsDropped => "stream-idmp-settings-dropped",
            NoteKind::StreamLengthKept => "stream-length-kept",
            NoteKind::StreamListpackRecounted => "stream-listpack-recounted",
        }
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note, aggregated over the records it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// What happened.
    pub kind: NoteKind,
    /// Details (a module name, an AUX field name), may be empty.
    pub detail: String,
    /// How many records it applies to.
    pub count: u64,
    /// File offset of the first such record.
    pub first_offset: u64,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if !self.detail.is_empty() {
            write!(f, " {}", self.detail)?;
        }
        write!(
            f,
            " ({}, first at offset {})",
            count(self.count, "record", "records"),
            self.first_offset
        )
    }
}

/// Counts of what a conversion did with the records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records read (EOF included).
    pub records: u64,
    /// Key records read.
    pub keys_in: u64,
    /// Key records written.
    pub keys_out: u64,
    /// Key records left out by the caller's filter.
    pub keys_filtered: u64,
    /// Records copied byte for byte.
    pub copied: u64,
    /// Records written in a new form (new prefixes, a re-encoded value, a
    /// rewritten opcode).
    pub rewritten: u64,
    /// Records not written (losses, notes, filter).
    pub dropped: u64,
}

/// The outcome of a conversion or of a dry run ([`crate::plan`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The source file's version.
    pub source: RdbVersion,
    /// The target version.
    pub target: RdbVersion,
    /// Every loss, in file order (at most `ConvertOptions::max_reported_losses`).
    pub losses: Vec<Loss>,
    /// The number of losses of each kind (complete even when `losses` was capped).
    pub loss_counts: BTreeMap<LossKind, u64>,
    /// Notes, aggregated by kind and detail, in order of first appearance.
    pub notes: Vec<Note>,
    /// Counts.
    pub stats: Stats,
}

impl Report {
    pub(crate) fn new(source: RdbVersion, target: RdbVersion) -> Self {
        Report {
            source,
            target,
            losses: Vec::new(),
            loss_counts: BTreeMap::new(),
            notes: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// Whether nothing was lost.
    pub fn is_lossless(&self) -> bool {
        self.loss_counts.is_empty()
    }

    /// The total number of losses.
    pub fn losses_total(&self) -> u64 {
        self.loss_counts.values().sum()
    }

    /// Whether `losses` holds fewer entries than there were losses.
    pub fn losses_truncated(&self) -> bool {
        (self.losses.len() as u64) < self.losses_total()
    }

    /// "3 stream, 1 function" style summary ("none" when lossless).
    pub fn loss_summary(&self) -> String {
        if self.loss_counts.is_empty() {
            return "none".into();
        }
        self.loss_counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The modules the target must have (from the notes).
    pub fn required_modules(&self) -> Vec<&str> {
        self.notes
            .iter()
            .filter(|n| n.kind == NoteKind::NeedsModule)
            .map(|n| n.detail.as_str())
            .collect()
    }
}

/// `n` and the noun in the number it takes, as every report and message
/// of rdbkit words a count.
///
/// ```
/// assert_eq!(rdbkit_writer::count(1, "key", "keys"), "1 key");
/// assert_eq!(rdbkit_writer::count(0, "key", "keys"), "0 keys");
/// ```
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        write!(
            f,
            "{} -> {}: {} in, {} out",
            self.source,
            self.target,
            count(s.keys_in, "key", "keys"),
            s.keys_out
        )?;
        // Keys the selection left out are not losses: they are named as
        // what they are, apart from what the conversion dropped.
        if s.keys_filtered > 0 {
            write!(f, " ({} not selected)", s.keys_filtered)?;
        }
        write!(
            f,
            "; {} copied, {} rewritten",
            count(s.copied, "record", "records"),
            s.rewritten
        )?;
        let by_conversion = s.dropped.saturating_sub(s.keys_filtered);
        if by_conversion > 0 {
            write!(f, ", {by_conversion} dropped by the conversion")?;
        }
        writeln!(f)?;
        writeln!(f, "losses: {}", self.loss_summary())?;
        for l in &self.losses {
            writeln!(f, "  {l}")?;
        }
        if self.losses_truncated() {
            writeln!(
                f,
                "  ... ({} more)",
                self.losses_total() - self.losses.len() as u64
            )?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}
