//! [`RdbWriter`]: header, records, and the EOF + CRC-64 trailer.

use std::borrow::Cow;
use std::io::Write;

use rdbkit_parser::format::*;
use rdbkit_parser::{
    Item, KeyMeta, ModuleAux, RawValue, RdbType, RdbVersion, Record, RecordKind, Value,
};

use crate::crc::Crc64Writer;
use crate::error::{Result, WriteError};
use crate::hash;
use crate::length::write_len;
use crate::rules;
use crate::string::{StringOptions, write_raw_string, write_string};
use crate::value::{self, Planned, write_hash_body, write_zset_body, zset_type};

/// Options of a writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriterOptions {
    /// LZF-compress strings longer than 20 bytes when that saves at least 4
    /// bytes, as Redis does with `rdbcompression yes` (default: on). Applies
    /// to what the writer encodes; copied bytes stay as they are.
    pub compress: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { compress: true }
    }
}

impl WriterOptions {
    /// Set [`WriterOptions::compress`].
    pub fn compress(mut self, yes: bool) -> Self {
        self.compress = yes;
        self
    }
}

/// The prefixes of a key record: expiry, eviction hints, key metadata.
///
/// What the target cannot express is handled by the writer as follows:
/// millisecond expiry becomes EXPIRETIME seconds (rounded up) below RDB 3;
/// IDLE and FREQ are omitted below RDB 9 (they are only eviction hints);
/// key metadata below Redis RDB 13 is [`WriteError::NotRepresentable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EntryMeta<'a> {
    /// Absolute expiry, Unix ms.
    pub expire_ms: Option<i64>,
    /// LRU idle seconds.
    pub lru_idle: Option<u64>,
    /// LFU counter.
    pub lfu_freq: Option<u8>,
    /// Redis 8.6 key metadata, copied opaquely.
    pub key_meta: Option<KeyMeta<'a>>,
    /// Whether the key may be LZF-compressed (when the writer compresses at
    /// all). `None`: yes, as Redis does for keys over 20 bytes.
    pub compress_key: Option<bool>,
}

impl<'a> EntryMeta<'a> {
    /// The prefixes of a parsed entry. Its key is compressed only if it was
    /// in the source: a conversion keeps keys as they were stored, and most
    /// keys do not shrink (trying cost 11 % of a conversion of small keys).
    pub fn of(entry: &rdbkit_parser::Entry<'a>) -> Self {
        EntryMeta {
            expire_ms: entry.expire_ms,
            lru_idle: entry.lru_idle,
            lfu_freq: entry.lfu_freq,
            key_meta: entry.key_meta,
            // A key the parser had to decode (LZF or an integer encoding)
            // is owned; one read as it lies in the file is borrowed.
            compress_key: Some(matches!(entry.key, std::borrow::Cow::Owned(_))),
        }
    }

    /// Only an expiry.
    pub fn expiring(expire_ms: i64) -> Self {
        EntryMeta {
            expire_ms: Some(expire_ms),
            ..EntryMeta::default()
        }
    }
}

/// Seconds for EXPIRETIME (RDB < 3): rounded up so the key never expires
/// early; `None` when it does not fit the 32-bit field.
pub(crate) fn expire_seconds(ms: i64) -> Option<i32> {
    let s = ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0);
    i32::try_from(s).ok()
}

/// Writes an RDB file for one target version.
///
/// [`RdbWriter::new`] writes the header (`REDIS%04d` for versions 1-79,
/// `VALKEY%03d` from 80); then come records in any order the format allows;
/// [`RdbWriter::finish`] writes the EOF opcode and, from RDB 5, the CRC-64
/// of every byte written, and flushes. Every byte passes through a
/// [`Crc64Writer`], so nothing can bypass the checksum.
///
/// The writer never emits a construct the target does not know: values it
/// re-encodes use the plain types the target loads, and anything it cannot
/// express is a [`WriteError::NotRepresentable`] raised *before* any byte of
/// the record is written (the writer stays usable). An error after bytes of
/// a record went out (I/O, or a length too large for the target found
/// mid-value) poisons the writer: later calls return [`WriteError::Poisoned`].
///
/// Dropping a writer without calling `finish` leaves the output without EOF
/// and checksum, so an interrupted file never looks complete. The writer
/// does no buffering of its own: wrap a `File` in a `BufWriter`.
///
/// ```
/// use rdbkit_parser::RdbVersion;
/// use rdbkit_writer::{EntryMeta, RdbWriter};
///
/// let mut w = RdbWriter::new(Vec::new(), RdbVersion(9))?;
/// w.write_select_db(0)?;
/// w.write_string(b"a", &EntryMeta::default(), b"b")?;
/// let bytes = w.finish()?;
/// // The test vector of the format reference (§9).
/// assert_eq!(bytes, b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct RdbWriter<W: Write> {
    out: Crc64Writer<W>,
    target: RdbVersion,
    options: WriterOptions,
    poisoned: bool,
}

/// The counts of a sizing hint: in the shortest length form, or in the
/// fixed 5-byte one that can be filled in later.
fn write_counts<O: Write>(out: &mut O, counts: [u64; 2], fixed: bool, t: RdbVersion) -> Result<()> {
    for n in counts {
        if fixed {
            out.write_all(&crate::length::fixed_len(n))?;
        } else {
            write_len(out, n, t)?;
        }
    }
    Ok(())
}

/// Whether this crate can write files of `version`.
pub fn is_supported_target(version: RdbVersion) -> bool {
    (1..=RDB_VERSION_MAX_REDIS).contains(&version.0)
        || (RDB_VERSION_MIN_VALKEY..=RDB_VERSION_MAX_VALKEY).contains(&version.0)
}

impl<W: Write> RdbWriter<W> {
    /// A writer for `target` with default options; writes the header.
    pub fn new(inner: W, target: RdbVersion) -> Result<Self> {
        Self::with_options(inner, target, WriterOptions::default())
    }

    /// A writer for `target` with `options`; writes the header.
    pub fn with_options(inner: W, target: RdbVersion, options: WriterOptions) -> Result<Self> {
        let header = match target.header() {
            Some(h) if is_supported_target(target) => h,
            _ => return Err(WriteError::UnsupportedVersion(target.0)),
        };
        let mut w = RdbWriter {
            out: Crc64Writer::new(inner),
            target,
            options,
            poisoned: false,
        };
        w.guarded(|w| Ok(w.out.write_all(&header)?))?;
        Ok(w)
    }

    /// The version being written.
    pub fn target(&self) -> RdbVersion {
        self.target
    }

    /// The options in force.
    pub fn options(&self) -> WriterOptions {
        self.options
    }

    /// Bytes written so far (header included).
    pub fn bytes_written(&self) -> u64 {
        self.out.bytes_written()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        self.out.get_ref()
    }

    /// The output, mutably. Bytes written to it directly are not part of
    /// the checksum and corrupt the file; use it for flushing or inspection.
    pub fn get_mut(&mut self) -> &mut W {
        self.out.get_mut()
    }

    /// Give the output back **without** finishing it (no EOF, no checksum),
    /// after flushing it.
    pub fn into_inner(mut self) -> Result<W> {
        self.out.flush()?;
        Ok(self.out.into_inner()?)
    }

    fn str_opts(&self) -> StringOptions {
        StringOptions {
            target: self.target,
            compress: self.options.compress,
        }
    }

    /// Run one record write; poison the writer if it failed after writing
    /// something (or on any I/O error).
    fn guarded(&mut self, f: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        let before = self.out.bytes_written();
        let r = f(self);
        if let Err(e) = &r
            && (matches!(e, WriteError::Io(_)) || self.out.bytes_written() != before)
        {
            self.poisoned = true;
        }
        r
    }

    fn need(&self, ok: bool, what: &'static str) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(WriteError::not_representable(what, self.target))
        }
    }

    fn level(&self) -> u32 {
        self.target.redis_level()
    }

    /// Write an AUX field (RDB 7+).
    pub fn write_aux(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.need(self.level() >= 7, "an AUX field (needs RDB 7)")?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_AUX.0])?;
            write_string(&mut w.out, key, o)?;
            write_string(&mut w.out, value, o)
        })
    }

    /// Write SELECTDB.
    pub fn write_select_db(&mut self, db: u64) -> Result<()> {
        let t = self.target;
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_SELECTDB.0])?;
            write_len(&mut w.out, db, t)
        })
    }

    /// Write a RESIZEDB sizing hint (RDB 7+).
    pub fn write_resize_db(&mut self, db_size: u64, expires_size: u64) -> Result<()> {
        self.resize_db(db_size, expires_size, false).map(drop)
    }

    /// Write a RESIZEDB sizing hint whose two counts are in the fixed 5-byte
    /// form ([`fixed_len`](crate::length::fixed_len)), to be filled in once
    /// known; returns the file offset of the first count (the second follows
    /// it). The checksum covers what is written now: the caller that patches
    /// the counts must also rewrite the trailer.
    pub fn write_resize_db_fixed(&mut self, db_size: u64, expires_size: u64) -> Result<u64> {
        self.resize_db(db_size, expires_size, true)
    }

    fn resize_db(&mut self, db_size: u64, expires_size: u64, fixed: bool) -> Result<u64> {
        self.need(self.level() >= 7, "RESIZEDB (needs RDB 7)")?;
        let t = self.target;
        let mut at = 0;
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_RESIZEDB.0])?;
            at = w.bytes_written();
            write_counts(&mut w.out, [db_size, expires_size], fixed, t)
        })?;
        Ok(at)
    }

    /// [`RdbWriter::write_slot_info`] with the two counts in the fixed form
    /// (see [`RdbWriter::write_resize_db_fixed`]); returns the file offset of
    /// the key count.
    pub fn write_slot_info_fixed(&mut self, slot: u64, keys: u64, expires: u64) -> Result<u64> {
        self.slot_info(slot, keys, expires, true)
    }

    /// Write a SLOT_INFO sizing hint (Redis RDB 12+).
    pub fn write_slot_info(&mut self, slot: u64, keys: u64, expires: u64) -> Result<()> {
        self.slot_info(slot, keys, expires, false).map(drop)
    }

    fn slot_info(&mut self, slot: u64, keys: u64, expires: u64, fixed: bool) -> Result<u64> {
        self.need(
            !self.target.is_valkey() && self.target.0 >= 12,
            "SLOT_INFO (needs Redis RDB 12)",
        )?;
        let t = self.target;
        let mut at = 0;
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_SLOT_INFO.0])?;
            write_len(&mut w.out, slot, t)?;
            at = w.bytes_written();
            write_counts(&mut w.out, [keys, expires], fixed, t)
        })?;
        Ok(at)
    }

    /// Write a function library (FUNCTION2, RDB 10+): its full source,
    /// starting with the `#!engine name=...` line.
    pub fn write_function(&mut self, source: &[u8]) -> Result<()> {
        self.need(self.level() >= 10, "a function library (needs RDB 10)")?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_FUNCTION2.0])?;
            write_string(&mut w.out, source, o)
        })
    }

    /// Write a MODULE_AUX record (RDB 9+), its items copied as they are.
    pub fn write_module_aux(&mut self, aux: &ModuleAux<'_>) -> Result<()> {
        self.need(self.level() >= 9, "module AUX data (needs RDB 9)")?;
        let t = self.target;
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_MODULE_AUX.0])?;
            write_len(&mut w.out, aux.id.0, t)?;
            write_len(&mut w.out, RDB_MODULE_OPCODE_UINT, t)?;
            write_len(&mut w.out, aux.when, t)?;
            Ok(w.out.write_all(aux.items)?)
        })
    }

    /// Write a Valkey SLOT_IMPORT record (Valkey RDB 80+).
    pub fn write_slot_import(&mut self, job: &[u8], ranges: &[(u64, u64)]) -> Result<()> {
        self.need(self.target.is_valkey(), "SLOT_IMPORT (needs Valkey RDB 80)")?;
        let t = self.target;
        self.guarded(|w| {
            w.out.write_all(&[RDB_OPCODE_SLOT_IMPORT.0])?;
            write_raw_string(&mut w.out, job, t)?;
            write_len(&mut w.out, ranges.len() as u64, t)?;
            for &(a, b) in ranges {
                write_len(&mut w.out, a, t)?;
                write_len(&mut w.out, b, t)?;
            }
            Ok(())
        })
    }

    /// Check that the prefixes can be written (before any byte is).
    fn check_meta(&self, meta: &EntryMeta<'_>) -> Result<()> {
        if let Some(ms) = meta.expire_ms
            && self.level() < 3
            && expire_seconds(ms).is_none()
        {
            return Err(WriteError::not_representable(
                format!("the expiry {ms} ms (EXPIRETIME seconds of RDB < 3 end in 2038)"),
                self.target,
            ));
        }
        if meta.key_meta.is_some() && !rules::key_meta_known(self.target) {
            return Err(WriteError::not_representable(
                "key metadata (needs Redis RDB 13)",
                self.target,
            ));
        }
        Ok(())
    }

    /// Prefixes, type and key. Call only after `check_meta`.
    fn write_head(&mut self, meta: &EntryMeta<'_>, ty: RdbType, key: &[u8]) -> Result<()> {
        let level = self.level();
        if let Some(ms) = meta.expire_ms {
            if level >= 3 {
                self.out.write_all(&[RDB_OPCODE_EXPIRETIME_MS.0])?;
                self.out.write_all(&ms.to_le_bytes())?;
            } else {
                let s = expire_seconds(ms).ok_or_else(|| {
                    WriteError::not_representable("an expiry after 2038", self.target)
                })?;
                self.out.write_all(&[RDB_OPCODE_EXPIRETIME.0])?;
                self.out.write_all(&s.to_le_bytes())?;
            }
        }
        if level >= 9 {
            if let Some(idle) = meta.lru_idle {
                self.out.write_all(&[RDB_OPCODE_IDLE.0])?;
                write_len(&mut self.out, idle, self.target)?;
            }
            if let Some(freq) = meta.lfu_freq {
                self.out.write_all(&[RDB_OPCODE_FREQ.0, freq])?;
            }
        }
        if let Some(km) = meta.key_meta {
            self.out.write_all(&[RDB_OPCODE_KEY_META.0])?;
            self.out.write_all(km.raw)?;
        }
        self.out.write_all(&[ty.0])?;
        let mut o = self.str_opts();
        o.compress &= meta.compress_key.unwrap_or(true);
        write_string(&mut self.out, key, o)
    }

    /// Write a key with a decoded value, re-encoded in the plain type the
    /// target loads (list 1, set 2, zset 5 or 3, hash 4; hashes with field
    /// TTLs as Redis 24 / Valkey 22; streams in the newest layout the target
    /// loads that is not newer than the source's; module values as stored).
    ///
    /// Fails with [`WriteError::NotRepresentable`], before writing anything,
    /// when the target cannot hold the value (a stream below RDB 9, field
    /// TTLs below RDB 12, ...). Downgrades that drop information (stream
    /// metadata of newer layouts) are the caller's to assess, see
    /// [`crate::convert()`].
    pub fn write_entry(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        value: &Value<'_>,
    ) -> Result<()> {
        self.check_meta(meta)?;
        let planned = value::plan(value, self.target)?
            .ok_or_else(|| WriteError::invalid("value", "empty collections must not be written"))?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, planned.ty(), key)?;
            value::write_planned(&mut w.out, value, &planned, o)
        })
    }

    /// Write a key whose value is copied exactly as stored in the source.
    /// The value's type must mean the same in the target and be loadable by
    /// it (see [`crate::type_rule`]); otherwise this is
    /// [`WriteError::NotRepresentable`] and nothing is written.
    pub fn write_raw_entry(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        value: &RawValue<'_>,
    ) -> Result<()> {
        self.check_meta(meta)?;
        if !rules::value_copyable(value.version(), value.ty(), value.body(), self.target) {
            return Err(WriteError::not_representable(
                format!(
                    "a {} value stored by {} copied as is",
                    value.encoding_name(),
                    value.version()
                ),
                self.target,
            ));
        }
        self.guarded(|w| {
            w.write_head(meta, value.ty(), key)?;
            Ok(w.out.write_all(value.body())?)
        })
    }

    /// Copy a whole record of a file of version `source` byte for byte,
    /// after checking that the target loads it unchanged (see
    /// [`crate::record_copyable`]). EOF is refused: use [`RdbWriter::finish`].
    pub fn write_record(&mut self, record: &Record<'_>, source: RdbVersion) -> Result<()> {
        if matches!(record.kind, RecordKind::Eof { .. }) {
            return Err(WriteError::invalid("record", "EOF is written by finish()"));
        }
        if !rules::record_copyable(record, source, self.target) {
            return Err(WriteError::not_representable(
                format!(
                    "the record at offset {} of a {source} file copied as is",
                    record.offset
                ),
                self.target,
            ));
        }
        self.write_raw_unchecked(record.raw)
    }

    /// Append bytes with no checks (they still go through the checksum).
    pub(crate) fn write_raw_unchecked(&mut self, bytes: &[u8]) -> Result<()> {
        self.guarded(|w| Ok(w.out.write_all(bytes)?))
    }

    /// Key, prefixes and type written fresh; the value body copied as is.
    /// The caller has checked that the body is loadable by the target.
    pub(crate) fn write_entry_with_body(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        ty: RdbType,
        body: &[u8],
    ) -> Result<()> {
        self.write_entry_with_body_parts(key, meta, ty, &[body])
    }

    /// [`RdbWriter::write_entry_with_body`] with the body in pieces.
    pub(crate) fn write_entry_with_body_parts(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        ty: RdbType,
        parts: &[&[u8]],
    ) -> Result<()> {
        self.check_meta(meta)?;
        self.guarded(|w| {
            w.write_head(meta, ty, key)?;
            for p in parts {
                w.out.write_all(p)?;
            }
            Ok(())
        })
    }

    /// Write a string key.
    pub fn write_string(&mut self, key: &[u8], meta: &EntryMeta<'_>, value: &[u8]) -> Result<()> {
        self.check_meta(meta)?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, RDB_TYPE_STRING, key)?;
            write_string(&mut w.out, value, o)
        })
    }

    fn nonempty(&self, n: usize, what: &'static str) -> Result<u64> {
        if n == 0 {
            return Err(WriteError::invalid(
                what,
                "empty collections must not be written",
            ));
        }
        Ok(n as u64)
    }

    /// Write a list key (type 1).
    pub fn write_list<I>(&mut self, key: &[u8], meta: &EntryMeta<'_>, items: I) -> Result<()>
    where
        I: IntoIterator,
        I::IntoIter: ExactSizeIterator,
        I::Item: AsRef<[u8]>,
    {
        self.write_elements(key, meta, RDB_TYPE_LIST, items.into_iter())
    }

    /// Write a set key (type 2). Members must be distinct.
    pub fn write_set<I>(&mut self, key: &[u8], meta: &EntryMeta<'_>, members: I) -> Result<()>
    where
        I: IntoIterator,
        I::IntoIter: ExactSizeIterator,
        I::Item: AsRef<[u8]>,
    {
        self.write_elements(key, meta, RDB_TYPE_SET, members.into_iter())
    }

    fn write_elements<I>(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        ty: RdbType,
        items: I,
    ) -> Result<()>
    where
        I: ExactSizeIterator,
        I::Item: AsRef<[u8]>,
    {
        self.check_meta(meta)?;
        let n = self.nonempty(items.len(), "list or set")?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, ty, key)?;
            // Each element is written before the next is produced, so the
            // borrow of `x` never outlives its item.
            let mut seen = 0u64;
            write_len(&mut w.out, n, o.target)?;
            for x in items {
                seen += 1;
                if seen > n {
                    return Err(WriteError::invalid(
                        "list or set",
                        "iterator longer than its len()",
                    ));
                }
                write_string(&mut w.out, x.as_ref(), o)?;
            }
            if seen != n {
                return Err(WriteError::invalid(
                    "list or set",
                    "iterator shorter than its len()",
                ));
            }
            Ok(())
        })
    }

    /// Write a sorted-set key (ZSET_2 from RDB 8, ZSET with text scores
    /// below). Members must be distinct; NaN scores are refused.
    pub fn write_zset<I, M>(&mut self, key: &[u8], meta: &EntryMeta<'_>, members: I) -> Result<()>
    where
        I: IntoIterator<Item = (M, f64)>,
        I::IntoIter: ExactSizeIterator,
        M: AsRef<[u8]>,
    {
        self.check_meta(meta)?;
        let members: Vec<(M, f64)> = members.into_iter().collect();
        let n = self.nonempty(members.len(), "sorted set")?;
        if members.iter().any(|(_, s)| s.is_nan()) {
            return Err(WriteError::invalid(
                "sorted set score",
                "NaN is not a valid score",
            ));
        }
        let ty = zset_type(self.target);
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, ty, key)?;
            let pairs = members
                .iter()
                .map(|(m, s)| Ok((Item::Bytes(Cow::Borrowed(m.as_ref())), *s)));
            write_zset_body(&mut w.out, ty, n, pairs, o)
        })
    }

    /// Write a hash key (type 4). Fields must be distinct.
    pub fn write_hash<I, F, V>(&mut self, key: &[u8], meta: &EntryMeta<'_>, fields: I) -> Result<()>
    where
        I: IntoIterator<Item = (F, V)>,
        I::IntoIter: ExactSizeIterator,
        F: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.check_meta(meta)?;
        let fields: Vec<(F, V)> = fields.into_iter().collect();
        let n = self.nonempty(fields.len(), "hash")?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, RDB_TYPE_HASH, key)?;
            let pairs = fields.iter().map(|(f, v)| {
                Ok((
                    Item::Bytes(Cow::Borrowed(f.as_ref())),
                    Item::Bytes(Cow::Borrowed(v.as_ref())),
                ))
            });
            write_hash_body(&mut w.out, n, pairs, o)
        })
    }

    /// Write a hash whose fields may carry an absolute expiry (Unix ms):
    /// Redis 24 from RDB 12, Valkey 22 from RDB 80, a plain hash when no
    /// field has a TTL, [`WriteError::NotRepresentable`] otherwise.
    pub fn write_hash_with_ttls<I, F, V>(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        fields: I,
    ) -> Result<()>
    where
        I: IntoIterator<Item = (F, V, Option<i64>)>,
        F: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.check_meta(meta)?;
        let fields: Vec<(F, V, Option<i64>)> = fields.into_iter().collect();
        self.nonempty(fields.len(), "hash")?;
        let as_fields = || {
            fields.iter().map(|(f, v, t)| rdbkit_parser::HashField {
                field: Item::Bytes(Cow::Borrowed(f.as_ref())),
                value: Item::Bytes(Cow::Borrowed(v.as_ref())),
                expire_ms: *t,
            })
        };
        let summary = hash::summarize(as_fields().map(Ok))?;
        let o = self.str_opts();
        if summary.with_ttl == 0 {
            return self.guarded(|w| {
                w.write_head(meta, RDB_TYPE_HASH, key)?;
                write_hash_body(
                    &mut w.out,
                    summary.len,
                    as_fields().map(|f| Ok((f.field, f.value))),
                    o,
                )
            });
        }
        let ty = hash::ttl_hash_type(self.target).ok_or_else(|| {
            WriteError::not_representable(
                "a hash with field TTLs (needs Redis RDB 12 or Valkey 80)",
                self.target,
            )
        })?;
        hash::check_expires(&summary, ty, self.target)?;
        self.guarded(|w| {
            w.write_head(meta, ty, key)?;
            hash::write_ttl_hash_body(&mut w.out, ty, &summary, as_fields().map(Ok), o)
        })
    }

    /// Write a value as planned by `value::plan` (used by conversions).
    pub(crate) fn write_planned_entry(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        planned: &Planned,
        value: &Value<'_>,
    ) -> Result<()> {
        self.check_meta(meta)?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, planned.ty(), key)?;
            value::write_planned(&mut w.out, value, planned, o)
        })
    }

    /// Write a plain hash from field/value pairs (used by conversions).
    pub(crate) fn write_pairs_entry<'a, I>(
        &mut self,
        key: &[u8],
        meta: &EntryMeta<'_>,
        n: u64,
        pairs: I,
    ) -> Result<()>
    where
        I: IntoIterator<Item = Result<(Item<'a>, Item<'a>)>>,
    {
        self.check_meta(meta)?;
        let o = self.str_opts();
        self.guarded(|w| {
            w.write_head(meta, RDB_TYPE_HASH, key)?;
            write_hash_body(&mut w.out, n, pairs, o)
        })
    }

    /// Write EOF and, from RDB 5, the CRC-64 of everything written; flush;
    /// return the output.
    pub fn finish(mut self) -> Result<W> {
        if self.poisoned {
            return Err(WriteError::Poisoned);
        }
        self.out.write_all(&[RDB_OPCODE_EOF.0])?;
        if self.target.has_checksum() {
            let crc = self.out.crc();
            self.out.write_all(&crc.to_le_bytes())?;
        }
        self.out.flush()?;
        Ok(self.out.into_inner()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::read_records;
    use rdbkit_parser::{Checksum, RdbReader};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn empty_files_match_the_reference_vectors() {
        for (v, want) in [
            (6, "524544495330303036ffdcb343f05adcf256"),
            (9, "524544495330303039ff9aac7abcfb0fad74"),
            (11, "524544495330303131ffc0228a8d74389762"),
            (12, "524544495330303132ff10d0db4120bef4d3"),
            (80, "56414c4b4559303830ff439da48fc1806c23"),
        ] {
            let out = RdbWriter::new(Vec::new(), RdbVersion(v))
                .unwrap()
                .finish()
                .unwrap();
            assert_eq!(out, hex(want), "RDB {v}");
        }
        // No checksum below RDB 5.
        assert_eq!(
            RdbWriter::new(Vec::new(), RdbVersion(4))
                .unwrap()
                .finish()
                .unwrap(),
            b"REDIS0004\xff"
        );
    }

    #[test]
    fn unsupported_versions() {
        for v in [0, 16, 79, 82, 1000] {
            assert!(matches!(
                RdbWriter::new(Vec::new(), RdbVersion(v)).unwrap_err(),
                WriteError::UnsupportedVersion(_)
            ));
        }
    }

    #[test]
    fn unfinished_output_has_no_trailer() {
        let mut w = RdbWriter::new(Vec::new(), RdbVersion(9)).unwrap();
        w.write_string(b"k", &EntryMeta::default(), b"v").unwrap();
        let out = w.into_inner().unwrap();
        assert_eq!(out, b"REDIS0009\x00\x01k\x01v");
        assert!(RdbReader::new(&out).unwrap().any(|r| r.is_err()));
    }

    #[test]
    fn keys_are_compressed_only_when_allowed() {
        let key = [b'k'; 60];
        for (allow, compressed) in [(None, true), (Some(true), true), (Some(false), false)] {
            let meta = EntryMeta {
                compress_key: allow,
                ..EntryMeta::default()
            };
            let mut w = RdbWriter::new(Vec::new(), RdbVersion(9)).unwrap();
            w.write_string(&key, &meta, b"v").unwrap();
            let out = w.finish().unwrap();
            // After the header and the type byte: the key's encoding.
            assert_eq!(out[10] == 0xc3, compressed, "{allow:?}");
            let rec = RdbReader::new(&out).unwrap().next().unwrap().unwrap();
            match rec.kind {
                rdbkit_parser::RecordKind::Entry(e) => assert_eq!(&e.key[..], &key[..]),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn prefixes_per_version() {
        let meta = EntryMeta {
            expire_ms: Some(1_700_000_000_001),
            lru_idle: Some(300),
            lfu_freq: Some(7),
            key_meta: None,
            compress_key: None,
        };
        let mut w = RdbWriter::new(Vec::new(), RdbVersion(9)).unwrap();
        w.write_string(b"k", &meta, b"v").unwrap();
        let out = w.finish().unwrap();
        let mut r = RdbReader::new(&out).unwrap();
        let Some(rec) = r.next_record().unwrap() else {
            panic!()
        };
        let RecordKind::Entry(e) = rec.kind else {
            panic!()
        };
        assert_eq!(
            (e.expire_ms, e.lru_idle, e.lfu_freq),
            (Some(1_700_000_000_001), Some(300), Some(7))
        );

        // RDB 8: hints dropped; RDB 2: seconds rounded up.
        for (v, want) in [(8, Some(1_700_000_000_001)), (2, Some(1_700_000_001_000))] {
            let mut w = RdbWriter::new(Vec::new(), RdbVersion(v)).unwrap();
            w.write_string(b"k", &meta, b"v").unwrap();
            let out = w.finish().unwrap();
            let mut r = RdbReader::new(&out).unwrap();
            let Some(rec) = r.next_record().unwrap() else {
                panic!()
            };
            let RecordKind::Entry(e) = rec.kind else {
                panic!()
            };
            assert_eq!(
                (e.expire_ms, e.lru_idle, e.lfu_freq),
                (want, None, None),
                "RDB {v}"
            );
        }
        assert_eq!(expire_seconds(-1), Some(0));
        assert_eq!(expire_seconds(-1000), Some(-1));
        assert_eq!(expire_seconds(1000), Some(1));
        assert_eq!(expire_seconds(1001), Some(2));
        let mut w = RdbWriter::new(Vec::new(), RdbVersion(2)).unwrap();
        let e = w.write_string(
            b"k",
            &EntryMeta::expiring(i64::from(i32::MAX) * 1000 + 1),
            b"v",
        );
        assert!(matches!(e, Err(WriteError::NotRepresentable { .. })));
    }

    #[test]
    fn opcodes_need_their_versions() {
        let mut w = RdbWriter::new(Vec::new(), RdbVersion(6)).unwrap();
        assert!(w.write_aux(b"a", b"b").is_err());
        assert!(w.write_resize_db(1, 0).is_err());
        assert!(w.write_function(b"#!lua name=x\n").is_err());
        assert!(w.write_slot_info(1, 1, 0).is_err());
        assert!(w.write_slot_import(b"j", &[(0, 1)]).is_err());
        // None of this wrote anything: the file is still valid.
        w.write_select_db(0).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(read_records(&out).len(), 2);

        let mut w = RdbWriter::new(Vec::new(), RdbVersion(12)).unwrap();
        w.write_aux(b"redis-ver", b"7.4.1").unwrap();
        w.write_function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")
            .unwrap();
        w.write_select_db(3).unwrap();
        w.write_resize_db(10, 2).unwrap();
        w.write_slot_info(5, 1, 0).unwrap();
        let out = w.finish().unwrap();
        let kinds = read_records(&out);
        assert!(matches!(&kinds[0], RecordKind::Aux { key, .. } if &key[..] == b"redis-ver"));
        assert!(matches!(&kinds[1], RecordKind::Function(f) if f.library_name() == Some("lib")));
        assert!(matches!(kinds[2], RecordKind::SelectDb { db: 3 }));
        assert!(matches!(
            kinds[3],
            RecordKind::ResizeDb {
                db_size: 10,
                expires_size: 2
            }
        ));
        assert!(matches!(
            kinds[4],
            RecordKind::SlotInfo {
                slot: 5,
                keys: 1,
                expires: 0
            }
        ));
        assert!(matches!(
            kinds[5],
            RecordKind::Eof {
                checksum: Checksum::Verified(_)
            }
        ));

        let mut w = RdbWriter::new(Vec::new(), RdbVersion(80)).unwrap();
        assert!(w.write_slot_info(1, 1, 0).is_err());
        w.write_slot_import(b"job-0123456789", &[(0, 100), (200, 300)])
            .unwrap();
        let out = w.finish().unwrap();
        assert!(
            matches!(&read_records(&out)[0], RecordKind::SlotImport { ranges, .. } if ranges == &[(0, 100), (200, 300)])
        );
    }

    #[test]
    fn poisoned_after_a_failure_mid_record() {
        struct FailAfter(usize);
        impl Write for FailAfter {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(std::io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        // Small writes are gathered (Crc64Writer): the failure shows when
        // they are forwarded, here by a value bigger than the buffer.
        let big = vec![b'v'; crate::crc::BUFFER + 1];
        let mut w = RdbWriter::with_options(
            FailAfter(12),
            RdbVersion(9),
            WriterOptions::default().compress(false),
        )
        .unwrap();
        assert!(matches!(
            w.write_string(b"key", &EntryMeta::default(), &big),
            Err(WriteError::Io(_))
        ));
        assert!(matches!(w.write_select_db(0), Err(WriteError::Poisoned)));
        assert!(matches!(w.finish(), Err(WriteError::Poisoned)));
        // Or by the end of the file.
        let mut w = RdbWriter::new(FailAfter(12), RdbVersion(9)).unwrap();
        w.write_string(b"key", &EntryMeta::default(), b"value")
            .unwrap();
        assert!(matches!(w.finish(), Err(WriteError::Io(_))));
    }
}
