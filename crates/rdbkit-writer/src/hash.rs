//! Hashes with per-field TTLs: Redis 7.4+'s HASH_METADATA (24) and Valkey 9's
//! HASH_2 (22 in `VALKEY` files). Both store the same information (absolute
//! expiry per field) and convert into each other without loss (§4.8, §6.5).
//!
//! * Redis 24: `MS64 min_expire`, `LEN n`, n × (`LEN ttl`, `STR field`,
//!   `STR value`) with `ttl = expire - min_expire + 1`, 0 = no TTL.
//! * Valkey 22: `LEN n`, n × (`STR field`, `STR value`, `MS64 expire`), -1 = no TTL.

use std::io::Write;

use rdbkit_parser::format::{RDB_TYPE_HASH_METADATA, RDB_TYPE_VALKEY_HASH_2};
use rdbkit_parser::{HASH_FIELD_EXPIRE_MAX, HashField, RdbType, RdbVersion};

use crate::error::{Result, WriteError};
use crate::length::{write_counted, write_len};
use crate::string::{StringOptions, write_item};

/// What a hash's fields hold, from one pass over them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HashSummary {
    /// Number of fields.
    pub len: u64,
    /// Number of fields with a TTL.
    pub with_ttl: u64,
    /// Earliest field expiry (Unix ms).
    pub min_expire: Option<i64>,
    /// Latest field expiry (Unix ms).
    pub max_expire: Option<i64>,
}

/// Count the fields of a hash and find its field-expiry range.
pub fn summarize<'a, I>(fields: I) -> Result<HashSummary>
where
    I: IntoIterator<Item = rdbkit_parser::Result<HashField<'a>>>,
{
    let mut s = HashSummary::default();
    for f in fields {
        let f = f?;
        s.len += 1;
        if let Some(t) = f.expire_ms {
            s.with_ttl += 1;
            s.min_expire = Some(s.min_expire.map_or(t, |m| m.min(t)));
            s.max_expire = Some(s.max_expire.map_or(t, |m| m.max(t)));
        }
    }
    Ok(s)
}

/// The type a hash with field TTLs is written as: Redis 24 from RDB 12
/// (`REDIS` magic), Valkey 22 from RDB 80; `None` where no type can hold
/// field TTLs.
pub fn ttl_hash_type(target: RdbVersion) -> Option<RdbType> {
    if target.is_valkey() {
        Some(RDB_TYPE_VALKEY_HASH_2)
    } else if target.0 >= 12 {
        Some(RDB_TYPE_HASH_METADATA)
    } else {
        None
    }
}

/// Check that every field expiry fits the chosen type: Redis accepts
/// `[0, 2^48 - 1]` (`EB_EXPIRE_TIME_MAX`); Valkey any non-negative time.
pub fn check_expires(s: &HashSummary, ty: RdbType, target: RdbVersion) -> Result<()> {
    let (Some(min), Some(max)) = (s.min_expire, s.max_expire) else {
        return Ok(());
    };
    let max_ok = if ty == RDB_TYPE_HASH_METADATA && !target.is_valkey() {
        HASH_FIELD_EXPIRE_MAX
    } else {
        i64::MAX
    };
    if min < 0 || max > max_ok {
        return Err(WriteError::not_representable(
            format!("a hash field expiry outside [0, {max_ok}] ms ({min}..{max})"),
            target,
        ));
    }
    Ok(())
}

/// Write the body of a hash with field TTLs as `ty` (from [`ttl_hash_type`]),
/// given the summary of the same fields (from [`summarize`]).
pub fn write_ttl_hash_body<'a, W, I>(
    w: &mut W,
    ty: RdbType,
    s: &HashSummary,
    fields: I,
    opts: StringOptions,
) -> Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<HashField<'a>>>,
{
    check_expires(s, ty, opts.target)?;
    if opts.target.is_valkey() && ty == RDB_TYPE_VALKEY_HASH_2 {
        return write_counted(w, s.len, fields, "hash", opts.target, |w, f| {
            write_item(w, &f.field, opts)?;
            write_item(w, &f.value, opts)?;
            w.write_all(&f.expire_ms.unwrap_or(-1).to_le_bytes())?;
            Ok(())
        });
    }
    if ty != RDB_TYPE_HASH_METADATA || opts.target.is_valkey() {
        return Err(WriteError::not_representable(
            format!("hash type {ty}"),
            opts.target,
        ));
    }
    let min = s.min_expire.ok_or_else(|| {
        WriteError::invalid("hash", "type 24 needs at least one field with a TTL")
    })?;
    w.write_all(&min.to_le_bytes())?;
    write_counted(w, s.len, fields, "hash", opts.target, |w, f| {
        let ttl = match f.expire_ms {
            None => 0,
            Some(t) => t
                .checked_sub(min)
                .and_then(|d| u64::try_from(d).ok())
                .and_then(|d| d.checked_add(1))
                .ok_or_else(|| {
                    WriteError::invalid("hash", "a field expires before the summary's minimum")
                })?,
        };
        write_len(w, ttl, opts.target)?;
        write_item(w, &f.field, opts)?;
        write_item(w, &f.value, opts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryMeta;
    use crate::test_util::write_file;
    use rdbkit_parser::{RdbReader, RecordKind, Value};

    type Fields = Vec<(String, String, Option<i64>)>;

    fn fields_of(bytes: &[u8]) -> Vec<(RdbType, Fields)> {
        let mut out = Vec::new();
        for rec in RdbReader::new(bytes).unwrap() {
            if let RecordKind::Entry(e) = rec.unwrap().kind {
                let Value::Hash(h) = e.value.decode().unwrap() else {
                    panic!()
                };
                let fs = h
                    .iter()
                    .unwrap()
                    .map(|f| {
                        let f = f.unwrap();
                        (
                            String::from_utf8_lossy(&f.field.to_bytes()).into_owned(),
                            String::from_utf8_lossy(&f.value.to_bytes()).into_owned(),
                            f.expire_ms,
                        )
                    })
                    .collect();
                out.push((e.value.ty(), fs));
            }
        }
        out
    }

    #[test]
    fn redis_and_valkey_forms_round_trip() {
        let input = [
            (&b"a"[..], &b"1"[..], Some(1_700_000_000_123)),
            (b"b", b"2", None),
            (b"c", b"3", Some(1_700_000_000_000)),
            (b"d", b"4", Some(HASH_FIELD_EXPIRE_MAX)),
        ];
        let want: Vec<_> = input
            .iter()
            .map(|(f, v, t)| {
                (
                    String::from_utf8_lossy(f).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                    *t,
                )
            })
            .collect();
        for (target, ty) in [
            (12, RDB_TYPE_HASH_METADATA),
            (13, RDB_TYPE_HASH_METADATA),
            (80, RDB_TYPE_VALKEY_HASH_2),
        ] {
            let bytes = write_file(RdbVersion(target), |w| {
                w.write_hash_with_ttls(b"h", &EntryMeta::default(), input)
            });
            assert_eq!(
                fields_of(&bytes),
                vec![(ty, want.clone())],
                "target {target}"
            );
        }
    }

    #[test]
    fn without_any_ttl_it_is_a_plain_hash() {
        let bytes = write_file(RdbVersion(12), |w| {
            w.write_hash_with_ttls(b"h", &EntryMeta::default(), [(&b"a"[..], &b"1"[..], None)])
        });
        assert_eq!(fields_of(&bytes)[0].0, rdbkit_parser::format::RDB_TYPE_HASH);
    }

    #[test]
    fn unrepresentable_targets_and_times() {
        let mut w = crate::RdbWriter::new(Vec::new(), RdbVersion(11)).unwrap();
        let e = w
            .write_hash_with_ttls(
                b"h",
                &EntryMeta::default(),
                [(&b"a"[..], &b"1"[..], Some(5))],
            )
            .unwrap_err();
        assert!(matches!(e, WriteError::NotRepresentable { .. }), "{e}");
        // Nothing was written, so the writer is still usable.
        w.write_select_db(0).unwrap();
        let mut w = crate::RdbWriter::new(Vec::new(), RdbVersion(12)).unwrap();
        let e = w
            .write_hash_with_ttls(
                b"h",
                &EntryMeta::default(),
                [(&b"a"[..], &b"1"[..], Some(HASH_FIELD_EXPIRE_MAX + 1))],
            )
            .unwrap_err();
        assert!(matches!(e, WriteError::NotRepresentable { .. }), "{e}");
        // Valkey stores any non-negative time.
        let mut w = crate::RdbWriter::new(Vec::new(), RdbVersion(80)).unwrap();
        w.write_hash_with_ttls(
            b"h",
            &EntryMeta::default(),
            [(&b"a"[..], &b"1"[..], Some(HASH_FIELD_EXPIRE_MAX + 1))],
        )
        .unwrap();
    }
}
