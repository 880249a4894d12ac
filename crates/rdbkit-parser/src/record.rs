//! Top-level records and the reader that yields them one at a time.

use std::borrow::Cow;

use crate::crc64::Crc64;
use crate::error::{DisplayBytes, Error, ErrorKind, Result};
use crate::format::*;
use crate::input::Input;
use crate::limits::{Ctx, Limits};
use crate::module::{self, KeyMeta, ModuleAux};
use crate::value::{self, RawValue};

/// Length of the header (`REDIS0011`, `VALKEY080`).
pub const HEADER_LEN: usize = 9;

/// The lowest opcode ([`RDB_OPCODE_UPDATE`], 242): every smaller tag is a
/// value type that starts a key record.
const MIN_OPCODE: u8 = RDB_OPCODE_UPDATE.0;

/// Whether checksums are verified by default. Off under `cfg(fuzzing)` so that
/// a fuzzer can reach past the trailer.
const VERIFY_CHECKSUM: bool = !cfg!(fuzzing);

/// Parse the 9-byte header and return the version.
///
/// Follows the loaders: `REDIS` + 4 digits for versions 1-79, `VALKEY` + 3
/// digits for 80 and above (Valkey 9's `rdbIsVersionAccepted`).
pub fn parse_header(data: &[u8]) -> Result<RdbVersion> {
    let head = data.get(..HEADER_LEN).ok_or_else(|| {
        Error::new(
            data.len() as u64,
            ErrorKind::Truncated {
                what: "file header",
                needed: (HEADER_LEN - data.len()) as u64,
            },
        )
    })?;
    let bad = || {
        Error::new(
            0,
            ErrorKind::BadMagic {
                found: DisplayBytes(head).to_string(),
            },
        )
    };
    let digits = |d: &[u8]| -> Option<u32> {
        if d.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(d).ok()?.parse().ok()
        } else {
            None
        }
    };
    let (magic, version) = if let (Some(b"REDIS"), Some(d)) = (head.get(..5), head.get(5..)) {
        ("REDIS", digits(d).ok_or_else(bad)?)
    } else if let (Some(b"VALKEY"), Some(d)) = (head.get(..6), head.get(6..)) {
        ("VALKEY", digits(d).ok_or_else(bad)?)
    } else {
        return Err(bad());
    };
    let ok = match magic {
        "REDIS" => (1..=RDB_VERSION_MAX_REDIS).contains(&version),
        _ => (RDB_VERSION_MIN_VALKEY..=RDB_VERSION_MAX_VALKEY).contains(&version),
    };
    if !ok {
        return Err(Error::new(
            5,
            ErrorKind::UnsupportedVersion { magic, version },
        ));
    }
    Ok(RdbVersion(version))
}

/// Options for a reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderOptions {
    /// Caps on claimed sizes and counts.
    pub limits: Limits,
    /// Verify the CRC-64 trailer (default: yes).
    pub verify_checksum: bool,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        ReaderOptions {
            limits: Limits::default(),
            verify_checksum: VERIFY_CHECKSUM,
        }
    }
}

/// One top-level record, with its file offset and exact bytes.
#[derive(Clone, Debug)]
pub struct Record<'data> {
    /// File offset of the record's first byte.
    pub offset: u64,
    /// The record's bytes, exactly as in the file (for key records: the
    /// prefixes, type, key and value).
    pub raw: &'data [u8],
    /// What the record is.
    pub kind: RecordKind<'data>,
}

/// The kinds of top-level record.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum RecordKind<'data> {
    /// An AUX metadata field.
    Aux {
        /// The field name.
        key: Cow<'data, [u8]>,
        /// The value.
        value: Cow<'data, [u8]>,
    },
    /// SELECTDB.
    SelectDb {
        /// The database number.
        db: u64,
    },
    /// RESIZEDB sizing hint.
    ResizeDb {
        /// Keys in the database.
        db_size: u64,
        /// Keys with an expiry.
        expires_size: u64,
    },
    /// SLOT_INFO sizing hint (Redis 7.4+ cluster mode).
    SlotInfo {
        /// The slot.
        slot: u64,
        /// Keys in the slot.
        keys: u64,
        /// Keys with an expiry in the slot.
        expires: u64,
    },
    /// MODULE_AUX data.
    ModuleAux(ModuleAux<'data>),
    /// A function library.
    Function(Function<'data>),
    /// Valkey 9 SLOT_IMPORT: slots being imported when the file was written.
    SlotImport {
        /// The import job's name.
        job: Cow<'data, [u8]>,
        /// Inclusive slot ranges.
        ranges: Vec<(u64, u64)>,
    },
    /// A key and its value.
    Entry(Entry<'data>),
    /// The end of the data.
    Eof {
        /// The state of the checksum trailer.
        checksum: Checksum,
    },
}

/// The state of the CRC-64 trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// RDB 1-4: files have no trailer.
    Absent,
    /// The saver stored 0: "not computed" (`rdbchecksum no`).
    NotComputed,
    /// Verified equal to the contents.
    Verified(u64),
    /// Present but not checked ([`ReaderOptions::verify_checksum`] is off).
    Unchecked(u64),
}

/// A function library (RDB 10+).
#[derive(Clone, Debug)]
pub struct Function<'data> {
    /// Whether it was stored in the 7.0 release-candidate form (opcode 246).
    pub pre_ga: bool,
    /// The library source, starting with its `#!engine name=...` line. For the
    /// pre-GA form it is rebuilt from the separate fields.
    pub source: Cow<'data, [u8]>,
}

impl Function<'_> {
    fn shebang(&self) -> Option<&str> {
        let line = self.source.split(|&b| b == b'\n').next()?;
        std::str::from_utf8(line.strip_prefix(b"#!")?).ok()
    }

    /// The engine named in the shebang (`lua`).
    pub fn engine(&self) -> Option<&str> {
        self.shebang()?.split_whitespace().next()
    }

    /// The library name from the shebang's `name=` argument.
    pub fn library_name(&self) -> Option<&str> {
        self.shebang()?
            .split_whitespace()
            .skip(1)
            .find_map(|a| a.strip_prefix("name="))
    }
}

/// A key record.
#[derive(Clone, Debug)]
pub struct Entry<'data> {
    /// The database selected when the key was read.
    pub db: u64,
    /// The key.
    pub key: Cow<'data, [u8]>,
    /// Absolute expiry in Unix ms (EXPIRETIME seconds are converted).
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE).
    pub lru_idle: Option<u64>,
    /// LFU counter (FREQ).
    pub lfu_freq: Option<u8>,
    /// Redis 8.6 key metadata, kept opaque.
    pub key_meta: Option<KeyMeta<'data>>,
    /// The value.
    pub value: RawValue<'data>,
}

/// What parsing one record produced.
pub(crate) struct Parsed<'data> {
    pub(crate) record: Record<'data>,
    pub(crate) end: usize,
    pub(crate) done: bool,
}

/// Parse the record at `pos` of `data` (which starts at file offset `base`).
/// Pure: the caller applies the db change, checksum and position.
#[inline(always)]
pub(crate) fn parse_record<'data>(
    data: &'data [u8],
    pos: usize,
    base: u64,
    ctx: &Ctx,
    db: u64,
    crc_before: Option<Crc64>,
) -> Result<Parsed<'data>> {
    let mut input = Input::new(data, base);
    input.take(pos as u64, "record")?;
    let i = &mut input;
    let start = i.pos();
    let offset = i.offset();
    let limits = &ctx.limits;
    let tag_at = i.pos();
    let tag = i.u8("record tag (expected an opcode, a value type or EOF)")?;
    let valkey = ctx.version.is_valkey();
    let kind = match Opcode(tag) {
        RDB_OPCODE_EOF => {
            let checksum = if ctx.version.has_checksum() {
                let stored = i.le_u64("CRC-64 trailer")?;
                match crc_before {
                    _ if stored == 0 => Checksum::NotComputed,
                    Some(mut crc) => {
                        crc.update(&[RDB_OPCODE_EOF.0]);
                        let computed = crc.finish();
                        if computed != stored {
                            return Err(i.err_at(
                                tag_at + 1,
                                ErrorKind::ChecksumMismatch { stored, computed },
                            ));
                        }
                        Checksum::Verified(stored)
                    }
                    None => Checksum::Unchecked(stored),
                }
            } else {
                Checksum::Absent
            };
            RecordKind::Eof { checksum }
        }
        RDB_OPCODE_SELECTDB => RecordKind::SelectDb {
            db: i.len("database number")?,
        },
        RDB_OPCODE_RESIZEDB => RecordKind::ResizeDb {
            db_size: i.len("RESIZEDB db size")?,
            expires_size: i.len("RESIZEDB expires size")?,
        },
        RDB_OPCODE_AUX => RecordKind::Aux {
            key: i.string_bytes("AUX field name", limits)?,
            value: i.string_bytes("AUX field value", limits)?,
        },
        RDB_OPCODE_MODULE_AUX => RecordKind::ModuleAux(module::read_module_aux(i, ctx)?),
        RDB_OPCODE_FUNCTION_PRE_GA => {
            let name = i.string_bytes("function name", limits)?;
            let engine = i.string_bytes("function engine", limits)?;
            let has_desc = i.len("function description flag")?;
            if has_desc != 0 {
                i.string("function description")?;
            }
            let code = i.string_bytes("function code", limits)?;
            // 7.0.x converts this form to a shebang library when loading.
            let mut src = b"#!".to_vec();
            src.extend_from_slice(&engine.to_ascii_lowercase());
            src.extend_from_slice(b" name=");
            src.extend_from_slice(&name);
            src.push(b'\n');
            src.extend_from_slice(&code);
            RecordKind::Function(Function {
                pre_ga: true,
                source: Cow::Owned(src),
            })
        }
        RDB_OPCODE_FUNCTION2 => RecordKind::Function(Function {
            pre_ga: false,
            source: i.string_bytes("function library", limits)?,
        }),
        RDB_OPCODE_SLOT_INFO => RecordKind::SlotInfo {
            slot: i.len("SLOT_INFO slot")?,
            keys: i.len("SLOT_INFO key count")?,
            expires: i.len("SLOT_INFO expires count")?,
        },
        RDB_OPCODE_SLOT_IMPORT if valkey => {
            let job = i.string_bytes("SLOT_IMPORT job name", limits)?;
            let n = i.count("SLOT_IMPORT range count", 2, limits.max_elements)?;
            let mut ranges = Vec::new();
            for _ in 0..n {
                ranges.push((
                    i.len("SLOT_IMPORT range start")?,
                    i.len("SLOT_IMPORT range end")?,
                ));
            }
            RecordKind::SlotImport { job, ranges }
        }
        RDB_OPCODE_KEY_META
        | RDB_OPCODE_IDLE
        | RDB_OPCODE_FREQ
        | RDB_OPCODE_EXPIRETIME_MS
        | RDB_OPCODE_EXPIRETIME => {
            let mut expire_ms = None;
            let mut lru_idle = None;
            let mut lfu_freq = None;
            let mut key_meta = None;
            let mut t = tag;
            let mut t_at = tag_at;
            loop {
                // A prefix given twice is not an error: the loaders keep
                // the last (each opcode just overwrites its variable).
                match Opcode(t) {
                    RDB_OPCODE_EXPIRETIME => {
                        expire_ms = Some(i64::from(i.le_i32("EXPIRETIME seconds")?) * 1000)
                    }
                    RDB_OPCODE_EXPIRETIME_MS => expire_ms = Some(i.le_i64("EXPIRETIME_MS")?),
                    RDB_OPCODE_IDLE => lru_idle = Some(i.len("IDLE seconds")?),
                    RDB_OPCODE_FREQ => lfu_freq = Some(i.u8("FREQ counter")?),
                    RDB_OPCODE_KEY_META => key_meta = Some(module::read_key_meta(i, ctx)?),
                    _ if t < MIN_OPCODE => break,
                    _ => {
                        return Err(Error::new(
                            base + t_at as u64,
                            ErrorKind::invalid(
                                "key record",
                                format!(
                                    "{} after a key prefix (EXPIRETIME/IDLE/FREQ): expected a value type",
                                    Opcode(t)
                                ),
                            ),
                        ));
                    }
                }
                if key_meta.is_some() && t == RDB_OPCODE_KEY_META.0 {
                    // KEY_META must be the last prefix: the type follows it directly.
                    t_at = i.pos();
                    t = i.u8("value type after KEY_META")?;
                    if t >= MIN_OPCODE {
                        return Err(Error::new(
                            base + t_at as u64,
                            ErrorKind::invalid(
                                "key record",
                                format!("{} after KEY_META: expected a value type", Opcode(t)),
                            ),
                        ));
                    }
                    break;
                }
                t_at = i.pos();
                t = i.u8("value type after a key prefix")?;
            }
            let mut e = read_entry(i, RdbType(t), ctx, db)?;
            e.expire_ms = expire_ms;
            e.lru_idle = lru_idle;
            e.lfu_freq = lfu_freq;
            e.key_meta = key_meta;
            RecordKind::Entry(e)
        }
        Opcode(t) if t < MIN_OPCODE => RecordKind::Entry(read_entry(i, RdbType(t), ctx, db)?),
        Opcode(t) => {
            return Err(i.err_at(
                tag_at,
                ErrorKind::UnknownTag {
                    tag: t,
                    version: ctx.version,
                },
            ));
        }
    };
    let done = matches!(kind, RecordKind::Eof { .. });
    Ok(Parsed {
        record: Record {
            offset,
            raw: i.since(start),
            kind,
        },
        end: i.pos(),
        done,
    })
}

#[inline(always)]
fn read_entry<'data>(
    i: &mut Input<'data>,
    ty: RdbType,
    ctx: &Ctx,
    db: u64,
) -> Result<Entry<'data>> {
    let key = i.string_bytes("key", &ctx.limits)?;
    let body_start = i.pos();
    let body_offset = i.offset();
    value::skip_value(i, ty, ctx).map_err(|e| e.with_key(&key))?;
    let value = RawValue::new(ty, i.since(body_start), body_offset, *ctx);
    Ok(Entry {
        db,
        key,
        expire_ms: None,
        lru_idle: None,
        lfu_freq: None,
        key_meta: None,
        value,
    })
}

/// Shared state of the mmap and the streaming readers.
#[derive(Clone, Debug)]
pub(crate) struct ReadState {
    pub(crate) ctx: Ctx,
    pub(crate) db: u64,
    pub(crate) crc: Option<Crc64>,
    pub(crate) done: bool,
}

impl ReadState {
    /// Parse the record at `pos` of `data` (whose first byte is at file
    /// offset `base`) in this state; applying it is the caller's move.
    #[inline(always)]
    pub(crate) fn parse<'data>(
        &self,
        data: &'data [u8],
        pos: usize,
        base: u64,
    ) -> Result<Parsed<'data>> {
        parse_record(data, pos, base, &self.ctx, self.db, self.crc)
    }

    pub(crate) fn new(header: &[u8], version: RdbVersion, options: &ReaderOptions) -> Self {
        let crc = (options.verify_checksum && version.has_checksum()).then(|| {
            let mut c = Crc64::new();
            c.update(header);
            c
        });
        ReadState {
            ctx: Ctx {
                version,
                limits: options.limits,
            },
            db: 0,
            crc,
            done: false,
        }
    }

    /// Account for a parsed record whose bytes the caller hashes itself.
    pub(crate) fn apply_no_crc(&mut self, p: &Parsed<'_>) {
        if let RecordKind::SelectDb { db } = p.record.kind {
            self.db = db;
        }
        self.done |= p.done;
    }
}

/// A zero-copy reader over a whole RDB file in memory (a slice or a memory map).
///
/// Records come one at a time from [`RdbReader::next_record`] or the
/// `Iterator` impl; after the first error, or after EOF, there are no more.
///
/// ```
/// use rdbkit_parser::{RdbReader, RecordKind, Value};
///
/// // "REDIS0009", db 0, the string "a" -> "b", EOF and CRC-64.
/// let file = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3";
/// let mut reader = RdbReader::new(file)?;
/// assert_eq!(reader.version().number(), 9);
/// while let Some(record) = reader.next_record()? {
///     if let RecordKind::Entry(entry) = record.kind {
///         assert_eq!(&entry.key[..], b"a");
///         match entry.value.decode()? {
///             Value::String(s) => assert_eq!(&s[..], b"b"),
///             _ => unreachable!(),
///         }
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RdbReader<'data> {
    data: &'data [u8],
    /// File offset of `data[0]` (0 but for [`RdbReader::records`]).
    base: u64,
    /// A run of records cut out of a file: it ends where the data ends.
    run: bool,
    pos: usize,
    /// `state.crc` covers `data[..crc_pos]`: the checksum is brought up to
    /// date in batches of [`CRC_BATCH`] bytes (and before the EOF record),
    /// not once per record; per-record calls on small keys cost more than
    /// the hashing itself.
    crc_pos: usize,
    version: RdbVersion,
    state: ReadState,
}

/// Bytes hashed at once by [`RdbReader`]'s deferred checksum.
pub(crate) const CRC_BATCH: usize = 64 << 10;

impl<'data> RdbReader<'data> {
    /// A reader over `data` with default options. Checks the header.
    pub fn new(data: &'data [u8]) -> Result<Self> {
        Self::with_options(data, ReaderOptions::default())
    }

    /// A reader with the given options. Checks the header.
    pub fn with_options(data: &'data [u8], options: ReaderOptions) -> Result<Self> {
        let version = parse_header(data)?;
        let state = ReadState::new(
            data.get(..HEADER_LEN).unwrap_or_default(),
            version,
            &options,
        );
        Ok(RdbReader {
            data,
            base: 0,
            run: false,
            pos: HEADER_LEN,
            crc_pos: HEADER_LEN,
            version,
            state,
        })
    }

    /// A reader over a run of whole records cut out of a file of `version`
    /// (no header; it ends where `data` ends, EOF or not): `data[0]` was at
    /// file offset `base`, and database `db` was selected before it. The
    /// checksum is not checked: it covers the whole file, not the run.
    ///
    /// This lets records found by one reader be decoded elsewhere (another
    /// thread, from a copy of their bytes), with the same offsets in errors.
    pub fn records(
        data: &'data [u8],
        version: RdbVersion,
        base: u64,
        db: u64,
        options: ReaderOptions,
    ) -> Self {
        let mut state = ReadState::new(
            &[],
            version,
            &ReaderOptions {
                verify_checksum: false,
                ..options
            },
        );
        state.db = db;
        RdbReader {
            data,
            base,
            run: true,
            pos: 0,
            crc_pos: 0,
            version,
            state,
        }
    }

    /// The file's version.
    pub fn version(&self) -> RdbVersion {
        self.version
    }

    /// File offset of the next record.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes after the checksum (or after EOF in RDB < 5), once EOF was read.
    /// Loaders ignore them (an AOF preamble is followed by AOF text).
    pub fn trailing(&self) -> Option<&'data [u8]> {
        self.state
            .done
            .then(|| self.data.get(self.pos..).unwrap_or_default())
    }

    /// The next record, `Ok(None)` after EOF.
    // Inlined into each walk loop: the record (184 bytes) is then built in
    // place instead of being copied out (memmove was 9-14 % of a filter).
    #[inline(always)]
    pub fn next_record(&mut self) -> Result<Option<Record<'data>>> {
        self.next_record_with(|rec| rec)
    }

    /// [`RdbReader::next_record`], handing the record to `f` and returning
    /// what `f` returns. A loop that consumes each record in `f` reads it
    /// where the parser built it: returned through `Result<Option<_>>`, the
    /// record was copied once more (a 168-byte memcpy a record, 5 % of a
    /// parallel verify).
    #[inline(always)]
    pub fn next_record_with<R>(&mut self, f: impl FnOnce(Record<'data>) -> R) -> Result<Option<R>> {
        if self.state.done || (self.run && self.pos >= self.data.len()) {
            return Ok(None);
        }
        // The EOF record checks the trailer against the checksum so far.
        if self.data.get(self.pos) == Some(&RDB_OPCODE_EOF.0) {
            self.catch_up_crc();
        }
        match self.state.parse(self.data, self.pos, self.base) {
            Ok(p) => {
                self.state.apply_no_crc(&p);
                self.pos = p.end;
                if self.pos - self.crc_pos >= CRC_BATCH {
                    self.catch_up_crc();
                }
                Ok(Some(f(p.record)))
            }
            Err(e) => {
                // Fuse: nothing more after an error.
                self.state.done = true;
                self.pos = self.data.len();
                Err(e)
            }
        }
    }
}

impl RdbReader<'_> {
    /// Hash `data[crc_pos..pos]` into the running checksum.
    fn catch_up_crc(&mut self) {
        if let Some(c) = &mut self.state.crc {
            c.update(self.data.get(self.crc_pos..self.pos).unwrap_or_default());
        }
        self.crc_pos = self.pos;
    }
}

impl<'data> Iterator for RdbReader<'data> {
    type Item = Result<Record<'data>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(parse_header(b"REDIS0011").unwrap(), RdbVersion(11));
        assert_eq!(parse_header(b"VALKEY080").unwrap(), RdbVersion(80));
        assert!(matches!(
            parse_header(b"REDIS0080").unwrap_err().kind(),
            ErrorKind::UnsupportedVersion { .. }
        ));
        assert!(matches!(
            parse_header(b"VALKEY011").unwrap_err().kind(),
            ErrorKind::UnsupportedVersion { .. }
        ));
        assert!(matches!(
            parse_header(b"REDIS00a1").unwrap_err().kind(),
            ErrorKind::BadMagic { .. }
        ));
        assert!(parse_header(b"REDIS").unwrap_err().is_truncated());
    }

    #[test]
    fn spec_vectors() {
        for hex in [
            "524544495330303036ffdcb343f05adcf256",
            "524544495330303039ff9aac7abcfb0fad74",
            "524544495330303131ffc0228a8d74389762",
            "524544495330303132ff10d0db4120bef4d3",
            "56414c4b4559303830ff439da48fc1806c23",
        ] {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let recs: Vec<_> = RdbReader::new(&bytes)
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert_eq!(recs.len(), 1);
            assert!(matches!(
                recs[0].kind,
                RecordKind::Eof {
                    checksum: Checksum::Verified(_)
                }
            ));
        }
    }

    #[test]
    fn runs_of_records_read_alone() {
        // "REDIS0009", db 0: "a" -> "b", db 3: list "l" [x, y], "c" -> "d", EOF.
        let mut f =
            b"REDIS0009\xfe\x00\x00\x01a\x01b\xfe\x03\x01\x01l\x02\x01x\x01y\x00\x01c\x01d\xff"
                .to_vec();
        let crc = crate::crc64::crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        let all: Vec<Record<'_>> = RdbReader::new(&f).unwrap().map(|r| r.unwrap()).collect();
        // The two records after SELECTDB 3, on their own.
        let (first, last) = (&all[3], &all[4]);
        let start = first.offset as usize;
        let end = last.offset as usize + last.raw.len();
        let run = f[start..end].to_vec();
        let mut r = RdbReader::records(
            &run,
            RdbVersion(9),
            first.offset,
            3,
            ReaderOptions::default(),
        );
        for want in [first, last] {
            let got = r.next_record().unwrap().unwrap();
            assert_eq!(got.offset, want.offset);
            assert_eq!(got.raw, want.raw);
            match (&got.kind, &want.kind) {
                (RecordKind::Entry(g), RecordKind::Entry(w)) => {
                    assert_eq!((g.db, &g.key), (w.db, &w.key));
                    assert_eq!(g.value.offset(), w.value.offset());
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(r.next_record().unwrap().is_none());
        assert_eq!(r.offset(), end as u64);
        // A cut record is an error with the file's offset.
        let mut r = RdbReader::records(
            &run[..run.len() - 1],
            RdbVersion(9),
            first.offset,
            3,
            ReaderOptions::default(),
        );
        r.next_record().unwrap().unwrap();
        let e = r.next_record().unwrap_err();
        assert!(e.is_truncated() && e.offset() >= last.offset, "{e}");
    }

    #[test]
    fn bad_checksum_fuses() {
        let mut f = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3".to_vec();
        let n = f.len();
        f[n - 1] ^= 1;
        let mut r = RdbReader::new(&f).unwrap();
        let mut errs = 0;
        for rec in &mut r {
            if rec.is_err() {
                errs += 1;
            }
        }
        assert_eq!(errs, 1);
        assert!(r.next().is_none());
    }
}
