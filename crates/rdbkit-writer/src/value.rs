//! The plain value types (`rdbSaveObject` for hashtable/linked encodings):
//! LIST (1), SET (2), ZSET (3, text scores), ZSET_2 (5, binary scores),
//! HASH (4), plus MODULE_2 (7) bodies copied from their items, and the choice
//! of the type a decoded [`Value`] is written as.
//!
//! Plain types are what this crate writes whenever a decoded value is
//! re-encoded: every loader rebuilds its compact encodings from them
//! according to its own thresholds (format reference §6.1, §7.1), so they
//! avoid the whole class of blob-validation problems. (Conversions write
//! compact values in an older compact form when they fit one, see
//! [`crate::transcode`].)

use std::io::Write;

use rdbkit_parser::format::*;
use rdbkit_parser::{HashField, Item, ModuleValue, RdbType, RdbVersion, Value};

use crate::error::{Result, WriteError};
use crate::hash::{self, HashSummary};
use crate::length::{write_counted, write_len};
use crate::stream;
use crate::string::{StringOptions, write_binary_double, write_item, write_string_double};

/// Write the body of a LIST (1) or SET (2): `LEN n` and n strings.
pub fn write_elements_body<'a, W, I>(w: &mut W, n: u64, items: I, opts: StringOptions) -> Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<Item<'a>>>,
{
    write_counted(w, n, items, "list or set", opts.target, |w, it| {
        write_item(w, &it, opts)
    })
}

/// The plain sorted-set type for a target: ZSET_2 (binary scores) from RDB 8,
/// ZSET (text scores) below.
pub fn zset_type(target: RdbVersion) -> RdbType {
    if target.redis_level() >= 8 {
        RDB_TYPE_ZSET_2
    } else {
        RDB_TYPE_ZSET
    }
}

/// Write the body of a ZSET (3) or ZSET_2 (5), per `ty`.
pub fn write_zset_body<'a, W, I>(
    w: &mut W,
    ty: RdbType,
    n: u64,
    pairs: I,
    opts: StringOptions,
) -> Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<(Item<'a>, f64)>>,
{
    let binary = ty == RDB_TYPE_ZSET_2;
    write_counted(w, n, pairs, "sorted set", opts.target, |w, (m, s)| {
        write_item(w, &m, opts)?;
        if binary {
            write_binary_double(w, s)
        } else {
            write_string_double(w, s)
        }
    })
}

/// Write the body of a HASH (4): `LEN n` and n field/value pairs.
pub fn write_hash_body<'a, W, I>(w: &mut W, n: u64, pairs: I, opts: StringOptions) -> Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = Result<(Item<'a>, Item<'a>)>>,
{
    write_counted(w, n, pairs, "hash", opts.target, |w, (f, v)| {
        write_item(w, &f, opts)?;
        write_item(w, &v, opts)
    })
}

/// Write the body of a MODULE_2 (7) value: its module id and its items as
/// stored (the module's data is opaque to this crate).
pub fn write_module_body<W: Write + ?Sized>(
    w: &mut W,
    m: &ModuleValue<'_>,
    target: RdbVersion,
) -> Result<()> {
    write_len(w, m.id.0, target)?;
    w.write_all(m.raw_items())?;
    Ok(())
}

/// How a decoded value will be written: the type id and what its body
/// needs to know up front.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Planned {
    String,
    List(u64),
    Set(u64),
    ZSet(RdbType, u64),
    Hash(u64),
    /// A hash with at least one field TTL, as Redis's 24 or Valkey's 22.
    HashTtl(RdbType, HashSummary),
    Stream(RdbType),
    Module,
}

impl Planned {
    pub(crate) fn ty(&self) -> RdbType {
        match *self {
            Planned::String => RDB_TYPE_STRING,
            Planned::List(_) => RDB_TYPE_LIST,
            Planned::Set(_) => RDB_TYPE_SET,
            Planned::ZSet(t, _) => t,
            Planned::Hash(_) => RDB_TYPE_HASH,
            Planned::HashTtl(t, _) => t,
            Planned::Stream(t) => t,
            Planned::Module => RDB_TYPE_MODULE_2,
        }
    }
}

/// Decide how `value` is written for `target`, walking it as far as needed
/// (counts, field TTLs). Fails before anything is written when the target
/// cannot hold the value; `None` for an empty collection (never written).
pub(crate) fn plan(value: &Value<'_>, target: RdbVersion) -> Result<Option<Planned>> {
    macro_rules! nonempty {
        ($n:expr) => {{
            let n: u64 = $n;
            if n == 0 {
                return Ok(None);
            }
            n
        }};
    }
    Ok(Some(match value {
        Value::String(_) => Planned::String,
        Value::List(l) => Planned::List(nonempty!(l.len()?)),
        Value::Set(s) => Planned::Set(nonempty!(s.len()?)),
        Value::ZSet(z) => Planned::ZSet(zset_type(target), nonempty!(z.len()?)),
        Value::Hash(h) => {
            if h.has_field_ttls() {
                let s = hash::summarize(h.iter()?)?;
                nonempty!(s.len);
                if s.with_ttl == 0 {
                    Planned::Hash(s.len)
                } else {
                    let ty = hash::ttl_hash_type(target).ok_or_else(|| {
                        WriteError::not_representable(
                            "a hash with field TTLs (needs Redis RDB 12 or Valkey 80)",
                            target,
                        )
                    })?;
                    hash::check_expires(&s, ty, target)?;
                    Planned::HashTtl(ty, s)
                }
            } else {
                Planned::Hash(nonempty!(h.len()?))
            }
        }
        Value::Stream(s) => Planned::Stream(
            stream::written_type(s.ty, target)
                .ok_or_else(|| WriteError::not_representable("a stream (needs RDB 9)", target))?,
        ),
        Value::Module(_) => {
            if target.redis_level() < 8 {
                return Err(WriteError::not_representable(
                    "a module value (needs RDB 8)",
                    target,
                ));
            }
            Planned::Module
        }
    }))
}

fn perr<T>(r: rdbkit_parser::Result<T>) -> Result<T> {
    r.map_err(WriteError::from)
}

/// A LIST body from a list's checked walk, which hands out the elements of
/// a giant list's compressed nodes from one buffer instead of copying each
/// out: the same checks as [`write_elements_body`].
fn write_list_body<W: Write + ?Sized>(
    w: &mut W,
    n: u64,
    l: &rdbkit_parser::List<'_>,
    opts: StringOptions,
) -> Result<()> {
    if n == 0 {
        return Err(WriteError::invalid(
            "list or set",
            "empty collections must not be written (loaders skip or mishandle them)",
        ));
    }
    write_len(w, n, opts.target)?;
    let mut seen = 0u64;
    l.iter()?.for_each_checked(|it| {
        seen += 1;
        if seen > n {
            return Err(WriteError::invalid(
                "list or set",
                format!("more elements than the {n} announced"),
            ));
        }
        write_item(w, it, opts)
    })?;
    if seen != n {
        return Err(WriteError::invalid(
            "list or set",
            format!("{seen} elements, {n} announced"),
        ));
    }
    Ok(())
}

/// Write the body of `value` as planned.
pub(crate) fn write_planned<W: Write + ?Sized>(
    w: &mut W,
    value: &Value<'_>,
    planned: &Planned,
    opts: StringOptions,
) -> Result<()> {
    match (value, planned) {
        (Value::String(s), Planned::String) => crate::string::write_string(w, s, opts),
        (Value::List(l), Planned::List(n)) => write_list_body(w, *n, l, opts),
        (Value::Set(s), Planned::Set(n)) => write_elements_body(w, *n, s.iter()?.map(perr), opts),
        (Value::ZSet(z), Planned::ZSet(ty, n)) => {
            write_zset_body(w, *ty, *n, z.iter()?.map(perr), opts)
        }
        (Value::Hash(h), Planned::Hash(n)) => write_hash_body(
            w,
            *n,
            h.iter()?.map(|r| {
                r.map(|f: HashField<'_>| (f.field, f.value))
                    .map_err(WriteError::from)
            }),
            opts,
        ),
        (Value::Hash(h), Planned::HashTtl(ty, s)) => {
            hash::write_ttl_hash_body(w, *ty, s, h.iter()?.map(perr), opts)
        }
        (Value::Stream(s), Planned::Stream(ty)) => {
            stream::write_stream_body(w, *ty, s, opts.target)
        }
        (Value::Module(m), Planned::Module) => write_module_body(w, m, opts.target),
        _ => Err(WriteError::invalid(
            "value",
            "internal error: plan does not match the value",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntryMeta;
    use crate::test_util::write_file;
    use rdbkit_parser::{RdbReader, RecordKind};

    fn decode_all(bytes: &[u8]) -> Vec<(RdbType, String)> {
        let mut out = Vec::new();
        for rec in RdbReader::new(bytes).unwrap() {
            if let RecordKind::Entry(e) = rec.unwrap().kind {
                let ty = e.value.ty();
                let text = match e.value.decode().unwrap() {
                    Value::List(l) => format!(
                        "{:?}",
                        l.iter().unwrap().collect::<Result<Vec<_>, _>>().unwrap()
                    ),
                    Value::Set(s) => format!(
                        "{:?}",
                        s.iter().unwrap().collect::<Result<Vec<_>, _>>().unwrap()
                    ),
                    Value::ZSet(z) => format!(
                        "{:?}",
                        z.iter().unwrap().collect::<Result<Vec<_>, _>>().unwrap()
                    ),
                    Value::Hash(h) => format!(
                        "{:?}",
                        h.iter().unwrap().collect::<Result<Vec<_>, _>>().unwrap()
                    ),
                    other => format!("{other:?}"),
                };
                out.push((ty, text));
            }
        }
        out
    }

    #[test]
    fn plain_types_round_trip() {
        for v in [6u32, 7, 8, 9, 11, 12, 80] {
            let bytes = write_file(RdbVersion(v), |w| {
                let m = EntryMeta::default();
                w.write_list(b"l", &m, [&b"a"[..], b"12", b"-7", b"", b"4294967296"])?;
                w.write_set(b"s", &m, [&b"x"[..], b"1"])?;
                w.write_zset(
                    b"z",
                    &m,
                    [
                        (&b"a"[..], 1.5),
                        (b"b", f64::INFINITY),
                        (b"c", f64::NEG_INFINITY),
                        (b"d", 0.1),
                        (b"e", -1e300),
                    ],
                )?;
                w.write_hash(b"h", &m, [(&b"f"[..], &b"v"[..]), (b"n", b"100000")])?;
                Ok(())
            });
            let got = decode_all(&bytes);
            let zty = if v >= 8 {
                RDB_TYPE_ZSET_2
            } else {
                RDB_TYPE_ZSET
            };
            assert_eq!(
                got,
                vec![
                    (RDB_TYPE_LIST, r#"["a", 12, -7, "", "4294967296"]"#.to_string()),
                    (RDB_TYPE_SET, r#"["x", 1]"#.to_string()),
                    (zty, r#"[("a", 1.5), ("b", inf), ("c", -inf), ("d", 0.1), ("e", -1e300)]"#.to_string()),
                    (
                        RDB_TYPE_HASH,
                        r#"[HashField { field: "f", value: "v", expire_ms: None }, HashField { field: "n", value: 100000, expire_ms: None }]"#
                            .to_string()
                    ),
                ],
                "RDB {v}"
            );
        }
    }

    #[test]
    fn refuses_empty_and_miscounted_collections() {
        let mut out = Vec::new();
        let opts = StringOptions {
            target: RdbVersion(9),
            compress: false,
        };
        let e = write_elements_body(&mut out, 0, std::iter::empty(), opts).unwrap_err();
        assert!(matches!(e, WriteError::Invalid { .. }));
        let one = || std::iter::once(Ok(Item::Int(1)));
        assert!(write_elements_body(&mut out, 2, one(), opts).is_err());
        let two = [Ok(Item::Int(1)), Ok(Item::Int(2))];
        assert!(write_elements_body(&mut out, 1, two, opts).is_err());
        assert!(
            write_zset_body(
                &mut out,
                RDB_TYPE_ZSET_2,
                1,
                [Ok((Item::Int(1), f64::NAN))],
                opts
            )
            .is_err()
        );
    }
}
