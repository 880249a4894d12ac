//! Logical contents of a live server in the canonical JSON form of
//! `shared/tools/rdb_lab.py` ("rdb-fixture-expect/1"), and the diff of two
//! such documents.
//!
//! ```text
//! {"functions": null | [{"name": bytes, "engine": "LUA", "code": bytes}, ...],
//!  "dbs": {"0": [ENTRY, ...], ...}}                     // non-empty dbs only
//! ENTRY = {"key": bytes, "type": "string"|"list"|"set"|"zset"|"hash"|"stream",
//!          "expire_ms": null | abs unix ms, "value": VALUE,
//!          "field_expire_ms": [[field, abs ms], ...],  // hashes with field TTLs only
//!          "encoding": "listpack"|...}                 // informational
//! ```
//!
//! "bytes" is a JSON string when valid UTF-8, else `{"base64": "..."}`; entries
//! are sorted by raw key bytes; set members, hash fields and zset members by
//! raw bytes; zset scores are the Python `repr` of the double.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::resp::{Cmd, Conn, Reply, RespError};
use crate::server::{RdbHeader, workspace_root};

/// The `format` tag of fixture JSON documents.
pub const FORMAT: &str = "rdb-fixture-expect/1";

/// Keys per pipelined round trip while dumping.
const BATCH: usize = 500;

// ---------------------------------------------------------------------------
// bytes <-> JSON, scores
// ---------------------------------------------------------------------------

/// Encode bytes for JSON: a string if valid UTF-8, else `{"base64": ...}`.
pub fn enc(b: &[u8]) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::String(s.to_owned()),
        Err(_) => json!({ "base64": B64.encode(b) }),
    }
}

/// Inverse of [`enc`]; `None` if `v` is neither form.
pub fn dec(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Object(m) if m.len() == 1 => B64.decode(m.get("base64")?.as_str()?).ok(),
        _ => None,
    }
}

/// Canonical text of a zset score: Python's `repr(float)` — the shortest
/// text that parses back to the same double, `"1.5"`, `"-3.0"`, `"1e+300"`,
/// `"1e-05"`, `"inf"`, `"-inf"`, `"nan"`.
pub fn score_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Shortest round-trip digit count from Rust's formatter ("-1.2345e-7"),
    // then the correctly rounded text with that many digits: where two
    // shortest texts are equally close to the double (an exact tie) this
    // picks the even last digit, as Python does.
    let shortest = format!("{x:e}");
    let ndigits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.bytes().filter(u8::is_ascii_digit).count());
    let rounded = format!("{x:.prec$e}", prec = ndigits.saturating_sub(1));
    let sci = if rounded.parse::<f64>() == Ok(x) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let ndigits = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if (-4..16).contains(&exp) {
        // Positional notation, always with a fractional part.
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point >= ndigits {
            format!("{digits}{}.0", "0".repeat((point - ndigits) as usize))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_owned()
        } else {
            format!("{first}.{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.unsigned_abs())
    }
}

/// Parse a score as a server or a fixture writes it (`"1.5"`, `"inf"`, `"-inf"`, `"1e+300"`).
pub fn parse_score(s: &str) -> Option<f64> {
    let t = s.trim();
    match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

// ---------------------------------------------------------------------------
// small reply helpers
// ---------------------------------------------------------------------------

fn unexpected(what: &str, r: &Reply) -> RespError {
    let mut s = r.to_string();
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    RespError::Unexpected(format!("{what}: {s}"))
}

fn bytes_of(r: &Reply, what: &str) -> Result<Vec<u8>, RespError> {
    match r {
        Reply::Integer(i) => Ok(i.to_string().into_bytes()),
        _ => r
            .as_bytes()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| unexpected(what, r)),
    }
}

fn text_of(r: &Reply, what: &str) -> Result<String, RespError> {
    r.as_text().ok_or_else(|| unexpected(what, r))
}

fn int_of(r: &Reply, what: &str) -> Result<i64, RespError> {
    r.as_int().ok_or_else(|| unexpected(what, r))
}

fn array_of<'a>(r: &'a Reply, what: &str) -> Result<&'a [Reply], RespError> {
    r.as_array().ok_or_else(|| unexpected(what, r))
}

/// A flat `[k1, v1, k2, v2, ...]` reply as a map from the key text.
fn pairs<'a>(r: &'a Reply, what: &str) -> Result<BTreeMap<String, &'a Reply>, RespError> {
    let a = array_of(r, what)?;
    let mut m = BTreeMap::new();
    for kv in a.chunks(2) {
        if let [k, v] = kv {
            m.insert(text_of(k, what)?, v);
        }
    }
    Ok(m)
}

fn field<'a>(m: &BTreeMap<String, &'a Reply>, k: &str) -> Result<&'a Reply, RespError> {
    m.get(k)
        .copied()
        .ok_or_else(|| RespError::Unexpected(format!("reply has no {k:?} field")))
}

fn ok(r: Reply) -> Result<Reply, RespError> {
    r.into_result()
}

// ---------------------------------------------------------------------------
// capabilities
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Caps {
    pexpiretime: bool,
    function: bool,
    hpexpiretime: bool,
}

fn detect_caps(c: &mut Conn) -> Result<Caps, RespError> {
    let names = ["pexpiretime", "function", "hpexpiretime"];
    let r = c.query(&Cmd::new("COMMAND").arg("INFO").args(names))?;
    let a = array_of(&r, "COMMAND INFO")?;
    let has = |i: usize| a.get(i).is_some_and(|x| !x.is_nil());
    Ok(Caps {
        pexpiretime: has(0),
        function: has(1),
        hpexpiretime: has(2),
    })
}

// ---------------------------------------------------------------------------
// exact absolute times on servers without absolute-time commands
// ---------------------------------------------------------------------------

fn ms_of_time(r: &Reply) -> Result<i64, RespError> {
    let a = array_of(r, "TIME")?;
    match a {
        [s, us] => Ok(int_of(s, "TIME")? * 1000 + int_of(us, "TIME")? / 1000),
        _ => Err(unexpected("TIME", r)),
    }
}

/// MULTI; TIME; cmd; TIME; EXEC until both TIMEs fall in one millisecond, so
/// that "now" for a relative reply (PTTL, XPENDING idle) is exact. Returns
/// `(now_ms, reply)`.
fn bracketed(c: &mut Conn, cmd: Cmd) -> Result<(i64, Reply), RespError> {
    for _ in 0..200 {
        let mut replies = c.pipeline(&[
            Cmd::new("MULTI"),
            Cmd::new("TIME"),
            cmd.clone(),
            Cmd::new("TIME"),
            Cmd::new("EXEC"),
        ])?;
        let exec = ok(replies.pop().unwrap_or(Reply::Nil))?;
        let Reply::Array(mut parts) = exec else {
            return Err(unexpected("EXEC", &exec));
        };
        if parts.len() != 3 {
            return Err(RespError::Unexpected("EXEC: expected 3 replies".into()));
        }
        let t2 = ms_of_time(&parts[2])?;
        let t1 = ms_of_time(&parts[0])?;
        if t1 == t2 {
            return Ok((t1, ok(parts.swap_remove(1))?));
        }
    }
    Err(RespError::Unexpected(
        "could not bracket a command within one millisecond in 200 tries".into(),
    ))
}

// ---------------------------------------------------------------------------
// dump
// ---------------------------------------------------------------------------

/// The logical contents of the server behind `c` (all databases), in the
/// canonical JSON form. Panics with the reason if the server misbehaves; see
/// [`try_dump_logical`] for a `Result`.
pub fn dump_logical(c: &mut Conn) -> Value {
    try_dump_logical(c).unwrap_or_else(|e| panic!("dump_logical({}): {e}", c.peer()))
}

/// [`dump_logical`] returning errors instead of panicking. Leaves the
/// connection on db 0.
pub fn try_dump_logical(c: &mut Conn) -> Result<Value, RespError> {
    let caps = detect_caps(c)?;
    let functions = dump_functions(c, &caps)?;
    let ndbs = number_of_dbs(c)?;
    let mut dbs = Map::new();
    for db in 0..ndbs {
        c.query(&Cmd::new("SELECT").arg(db))?;
        let keys = scan_keys(c)?;
        let entries = dump_db(c, &keys, &caps)?;
        if !entries.is_empty() {
            dbs.insert(db.to_string(), Value::Array(entries));
        }
    }
    c.query(&Cmd::new("SELECT").arg(0u32))?;
    Ok(json!({ "functions": functions, "dbs": dbs }))
}

fn number_of_dbs(c: &mut Conn) -> Result<u32, RespError> {
    let r = c.query(&Cmd::new("CONFIG").arg("GET").arg("databases"))?;
    Ok(r.as_array()
        .and_then(|a| a.get(1))
        .and_then(Reply::as_int)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(16))
}

fn scan_keys(c: &mut Conn) -> Result<Vec<Vec<u8>>, RespError> {
    let mut keys = BTreeSet::new();
    let mut cursor = b"0".to_vec();
    loop {
        let r = c.query(&Cmd::new("SCAN").arg(&cursor).arg("COUNT").arg(1000u32))?;
        match array_of(&r, "SCAN")? {
            [next, batch] => {
                for k in array_of(batch, "SCAN keys")? {
                    keys.insert(bytes_of(k, "SCAN key")?);
                }
                cursor = bytes_of(next, "SCAN cursor")?;
            }
            _ => return Err(unexpected("SCAN", &r)),
        }
        if cursor == b"0" {
            return Ok(keys.into_iter().collect());
        }
    }
}

fn dump_functions(c: &mut Conn, caps: &Caps) -> Result<Value, RespError> {
    if !caps.function {
        return Ok(Value::Null);
    }
    let r = c.query(&Cmd::new("FUNCTION").arg("LIST").arg("WITHCODE"))?;
    let mut libs = Vec::new();
    for lib in array_of(&r, "FUNCTION LIST")? {
        let d = pairs(lib, "FUNCTION LIST library")?;
        libs.push(json!({
            "name": enc(&bytes_of(field(&d, "library_name")?, "library_name")?),
            "engine": text_of(field(&d, "engine")?, "engine")?,
            "code": enc(&bytes_of(field(&d, "library_code")?, "library_code")?),
        }));
    }
    libs.sort_by_key(|l| l["name"].to_string());
    Ok(Value::Array(libs))
}

fn fetch_cmd(typ: &str, key: &[u8]) -> Option<Cmd> {
    Some(match typ {
        "string" => Cmd::new("GET").arg(key),
        "list" => Cmd::new("LRANGE").arg(key).arg("0").arg("-1"),
        "set" => Cmd::new("SMEMBERS").arg(key),
        "zset" => Cmd::new("ZRANGE")
            .arg(key)
            .arg("0")
            .arg("-1")
            .arg("WITHSCORES"),
        "hash" => Cmd::new("HGETALL").arg(key),
        _ => return None,
    })
}

/// Sorted `(a, b)` pairs of a flat `[a1, b1, a2, b2, ...]` reply.
/// `(first, second)` byte pairs of a flat reply.
type BytePairs = Vec<(Vec<u8>, Vec<u8>)>;

fn sorted_pairs(r: &Reply, what: &str) -> Result<BytePairs, RespError> {
    let mut out = Vec::new();
    for kv in array_of(r, what)?.chunks(2) {
        match kv {
            [a, b] => out.push((bytes_of(a, what)?, bytes_of(b, what)?)),
            _ => return Err(unexpected(what, r)),
        }
    }
    out.sort();
    Ok(out)
}

fn convert(typ: &str, r: &Reply) -> Result<Value, RespError> {
    Ok(match typ {
        "string" => enc(&bytes_of(r, "GET")?),
        "list" => Value::Array(
            array_of(r, "LRANGE")?
                .iter()
                .map(|x| bytes_of(x, "LRANGE").map(|b| enc(&b)))
                .collect::<Result<_, _>>()?,
        ),
        "set" => {
            let mut m = array_of(r, "SMEMBERS")?
                .iter()
                .map(|x| bytes_of(x, "SMEMBERS"))
                .collect::<Result<Vec<_>, _>>()?;
            m.sort();
            Value::Array(m.iter().map(|b| enc(b)).collect())
        }
        "zset" => Value::Array(
            sorted_pairs(r, "ZRANGE")?
                .into_iter()
                .map(|(m, s)| {
                    let text = String::from_utf8_lossy(&s).into_owned();
                    let score = parse_score(&text).map_or(text, score_repr);
                    json!([enc(&m), score])
                })
                .collect(),
        ),
        "hash" => Value::Array(
            sorted_pairs(r, "HGETALL")?
                .into_iter()
                .map(|(f, v)| json!([enc(&f), enc(&v)]))
                .collect(),
        ),
        _ => Value::Null,
    })
}

fn dump_db(c: &mut Conn, keys: &[Vec<u8>], caps: &Caps) -> Result<Vec<Value>, RespError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH) {
        // type + encoding
        let mut cmds = Vec::with_capacity(chunk.len() * 2);
        for k in chunk {
            cmds.push(Cmd::new("TYPE").arg(k));
            cmds.push(Cmd::new("OBJECT").arg("ENCODING").arg(k));
        }
        let meta = c.pipeline(&cmds)?;
        let mut types = Vec::with_capacity(chunk.len());
        let mut encodings = Vec::with_capacity(chunk.len());
        for pair in meta.chunks(2) {
            types.push(text_of(&ok(pair[0].clone())?, "TYPE")?);
            encodings.push(match &pair[1] {
                Reply::Error(_) | Reply::Nil => Value::Null,
                r => Value::String(text_of(r, "OBJECT ENCODING")?),
            });
        }

        let expires = absolute_expiries(c, chunk, caps)?;

        // plain values, one round trip
        let plain: Vec<usize> = (0..chunk.len())
            .filter(|&j| fetch_cmd(&types[j], &chunk[j]).is_some())
            .collect();
        let cmds: Vec<Cmd> = plain
            .iter()
            .filter_map(|&j| fetch_cmd(&types[j], &chunk[j]))
            .collect();
        let mut values: BTreeMap<usize, Value> = BTreeMap::new();
        for (&j, r) in plain.iter().zip(c.pipeline(&cmds)?) {
            values.insert(j, convert(&types[j], &ok(r)?)?);
        }

        // hash field TTLs
        let mut fexp: BTreeMap<usize, Value> = BTreeMap::new();
        if caps.hpexpiretime {
            let hashes: Vec<usize> = plain
                .iter()
                .copied()
                .filter(|&j| {
                    types[j] == "hash" && values[&j].as_array().is_some_and(|a| !a.is_empty())
                })
                .collect();
            let mut cmds = Vec::new();
            let mut fields_of = Vec::new();
            for &j in &hashes {
                let fields: Vec<Value> = values[&j]
                    .as_array()
                    .map(|a| a.iter().map(|fv| fv[0].clone()).collect())
                    .unwrap_or_default();
                let raw: Vec<Vec<u8>> = fields.iter().filter_map(dec).collect();
                cmds.push(
                    Cmd::new("HPEXPIRETIME")
                        .arg(&chunk[j])
                        .arg("FIELDS")
                        .arg(raw.len())
                        .args(raw),
                );
                fields_of.push(fields);
            }
            for ((&j, r), fields) in hashes.iter().zip(c.pipeline(&cmds)?).zip(fields_of) {
                let r = ok(r)?;
                let mut got = Vec::new();
                for (f, t) in fields.into_iter().zip(array_of(&r, "HPEXPIRETIME")?) {
                    let t = int_of(t, "HPEXPIRETIME")?;
                    if t >= 0 {
                        got.push(json!([f, t]));
                    }
                }
                if !got.is_empty() {
                    fexp.insert(j, Value::Array(got));
                }
            }
        }

        for (j, key) in chunk.iter().enumerate() {
            let typ = types[j].as_str();
            let value = match typ {
                "none" => continue, // expired while we were reading
                "stream" => dump_stream(c, key)?,
                _ => match values.remove(&j) {
                    Some(v) => v,
                    None => {
                        return Err(RespError::Unexpected(format!(
                            "key {}: unsupported type {typ:?} (module type?)",
                            enc(key)
                        )));
                    }
                },
            };
            let mut e = Map::new();
            e.insert("key".into(), enc(key));
            e.insert("type".into(), Value::String(typ.to_owned()));
            e.insert(
                "expire_ms".into(),
                expires[j].map_or(Value::Null, Value::from),
            );
            e.insert("value".into(), value);
            if let Some(f) = fexp.remove(&j) {
                e.insert("field_expire_ms".into(), f);
            }
            e.insert("encoding".into(), encodings[j].clone());
            out.push(Value::Object(e));
        }
    }
    Ok(out)
}

/// Absolute expiry (unix ms) per key, or `None`. PEXPIRETIME where the server
/// has it (>= 7.0); else PTTL bracketed by TIME in one millisecond (exact,
/// as rdb_lab.py does on 6.2).
fn absolute_expiries(
    c: &mut Conn,
    keys: &[Vec<u8>],
    caps: &Caps,
) -> Result<Vec<Option<i64>>, RespError> {
    let name = if caps.pexpiretime {
        "PEXPIRETIME"
    } else {
        "PTTL"
    };
    let cmds: Vec<Cmd> = keys.iter().map(|k| Cmd::new(name).arg(k)).collect();
    let mut out = Vec::with_capacity(keys.len());
    for (k, r) in keys.iter().zip(c.pipeline(&cmds)?) {
        let v = int_of(&ok(r)?, name)?;
        out.push(if v < 0 {
            None
        } else if caps.pexpiretime {
            Some(v)
        } else {
            let (now, ttl) = bracketed(c, Cmd::new("PTTL").arg(k))?;
            let ttl = int_of(&ttl, "PTTL")?;
            (ttl >= 0).then_some(now + ttl)
        });
    }
    Ok(out)
}

fn stream_id(r: &Reply) -> Result<String, RespError> {
    text_of(r, "stream id")
}

fn dump_stream(c: &mut Conn, key: &[u8]) -> Result<Value, RespError> {
    let entries = c.query(&Cmd::new("XRANGE").arg(key).arg("-").arg("+"))?;
    let mut ents = Vec::new();
    for e in array_of(&entries, "XRANGE")? {
        match array_of(e, "XRANGE entry")? {
            [id, fv] => {
                let fv = array_of(fv, "XRANGE fields")?;
                let mut fields = Vec::with_capacity(fv.len() / 2);
                for p in fv.chunks(2) {
                    if let [f, v] = p {
                        fields.push(json!([
                            enc(&bytes_of(f, "field")?),
                            enc(&bytes_of(v, "value")?)
                        ]));
                    }
                }
                ents.push(json!([stream_id(id)?, fields]));
            }
            _ => return Err(unexpected("XRANGE entry", e)),
        }
    }
    let info_r = c.query(&Cmd::new("XINFO").arg("STREAM").arg(key))?;
    let info = pairs(&info_r, "XINFO STREAM")?;
    let mut out = Map::new();
    out.insert(
        "length".into(),
        int_of(field(&info, "length")?, "length")?.into(),
    );
    out.insert(
        "last_id".into(),
        stream_id(field(&info, "last-generated-id")?)?.into(),
    );
    out.insert("entries".into(), Value::Array(ents));
    if let Some(v) = info.get("entries-added") {
        out.insert("entries_added".into(), int_of(v, "entries-added")?.into());
    }
    if let Some(v) = info.get("max-deleted-entry-id") {
        out.insert("max_deleted_entry_id".into(), stream_id(v)?.into());
    }

    // Exact PEL delivery times: XINFO STREAM FULL (>= 6.0) reports them absolutely.
    let full_r = c.query_raw(
        &Cmd::new("XINFO")
            .arg("STREAM")
            .arg(key)
            .arg("FULL")
            .arg("COUNT")
            .arg(0u32),
    )?;
    let full_times: Option<BTreeMap<(Vec<u8>, String), i64>> = match &full_r {
        Reply::Error(_) => None,
        r => {
            let full = pairs(r, "XINFO STREAM FULL")?;
            let mut times = BTreeMap::new();
            if let Some(groups) = full.get("groups").and_then(|g| g.as_array()) {
                for g in groups {
                    let gd = pairs(g, "XINFO STREAM FULL group")?;
                    let gname = bytes_of(field(&gd, "name")?, "group name")?;
                    if let Some(pel) = gd.get("pending").and_then(|p| p.as_array()) {
                        for pe in pel {
                            let pe = array_of(pe, "FULL pending entry")?;
                            if pe.len() < 3 {
                                return Err(RespError::Unexpected(
                                    "short FULL pending entry".into(),
                                ));
                            }
                            times.insert(
                                (gname.clone(), stream_id(&pe[0])?),
                                int_of(&pe[2], "delivery time")?,
                            );
                        }
                    }
                }
            }
            Some(times)
        }
    };

    let groups_r = c.query(&Cmd::new("XINFO").arg("GROUPS").arg(key))?;
    let mut groups = Vec::new();
    for g in array_of(&groups_r, "XINFO GROUPS")? {
        let gd = pairs(g, "XINFO GROUPS group")?;
        let name = bytes_of(field(&gd, "name")?, "group name")?;
        let mut grp = Map::new();
        grp.insert("name".into(), enc(&name));
        grp.insert(
            "last_delivered_id".into(),
            stream_id(field(&gd, "last-delivered-id")?)?.into(),
        );
        if let Some(v) = gd.get("entries-read") {
            let er = if v.is_nil() {
                Value::Null
            } else {
                int_of(v, "entries-read")?.into()
            };
            grp.insert("entries_read".into(), er);
        }
        let npending = int_of(field(&gd, "pending")?, "pending")?;
        let mut pel = Vec::new();
        if npending > 0 {
            let cmd = Cmd::new("XPENDING")
                .arg(key)
                .arg(&name)
                .arg("-")
                .arg("+")
                .arg(npending);
            let (now, rows) = match full_times {
                Some(_) => (None, c.query(&cmd)?),
                None => {
                    let (now, rows) = bracketed(c, cmd)?;
                    (Some(now), rows)
                }
            };
            for row in array_of(&rows, "XPENDING")? {
                match array_of(row, "XPENDING row")? {
                    [eid, consumer, idle, count] => {
                        let eid = stream_id(eid)?;
                        let dt = match (&full_times, now) {
                            (Some(t), _) => {
                                *t.get(&(name.clone(), eid.clone())).ok_or_else(|| {
                                    RespError::Unexpected(format!(
                                        "{eid} missing from XINFO STREAM FULL"
                                    ))
                                })?
                            }
                            (None, Some(now)) => now - int_of(idle, "idle")?,
                            (None, None) => unreachable!("bracketed XPENDING has a time"),
                        };
                        pel.push(json!([
                            eid,
                            enc(&bytes_of(consumer, "consumer")?),
                            dt,
                            int_of(count, "delivery count")?
                        ]));
                    }
                    _ => return Err(unexpected("XPENDING row", row)),
                }
            }
        }
        grp.insert("pending".into(), Value::Array(pel));
        let cons_r = c.query(&Cmd::new("XINFO").arg("CONSUMERS").arg(key).arg(&name))?;
        let mut consumers = Vec::new();
        for cons in array_of(&cons_r, "XINFO CONSUMERS")? {
            let cd = pairs(cons, "XINFO CONSUMERS consumer")?;
            consumers.push((
                bytes_of(field(&cd, "name")?, "consumer name")?,
                int_of(field(&cd, "pending")?, "consumer pending")?,
            ));
        }
        consumers.sort();
        grp.insert(
            "consumers".into(),
            Value::Array(
                consumers
                    .into_iter()
                    .map(|(n, p)| json!({"name": enc(&n), "pending": p}))
                    .collect(),
            ),
        );
        groups.push((name, Value::Object(grp)));
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    out.insert(
        "groups".into(),
        Value::Array(groups.into_iter().map(|(_, g)| g).collect()),
    );
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------

/// Knobs for [`diff_logical_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffOptions {
    /// Largest |expected − actual| (ms) at which key expiries and hash field
    /// expiries still count as equal. 0 (the default) = exact, which is what
    /// [`dump_logical`] delivers on every server (PEXPIRETIME, or PTTL
    /// bracketed by TIME within one millisecond on 6.2).
    pub expire_tolerance_ms: u64,
    /// Stop after this many differences.
    pub limit: usize,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            expire_tolerance_ms: 0,
            limit: 40,
        }
    }
}

/// Differences between two logical documents, `expected` first; empty means
/// equal. Same rules as rdb_lab.py's `diff_logical`: only `functions` and
/// `dbs` are compared (`server`, `rdb`, `generator`, `expired`, `format` are
/// ignored); `encoding` is ignored; stream `entries_added`,
/// `max_deleted_entry_id`, group `entries_read` and `functions` only count
/// when both sides have them; sets, hashes, zsets and field expiries compare
/// regardless of order; zset scores compare as parsed f64.
pub fn diff_logical(expected: &Value, actual: &Value) -> Vec<String> {
    diff_logical_with(expected, actual, &DiffOptions::default())
}

/// [`diff_logical`] with options.
pub fn diff_logical_with(expected: &Value, actual: &Value, opts: &DiffOptions) -> Vec<String> {
    let limit = opts.limit.max(1);
    let mut out = Vec::new();

    let (fe, fa) = (&expected["functions"], &actual["functions"]);
    if !fe.is_null() && !fa.is_null() {
        let (fe, fa) = (sorted_by_name(fe), sorted_by_name(fa));
        if fe != fa {
            out.push(format!(
                "functions: got {}, expected {}",
                short(&fa, 200),
                short(&fe, 200)
            ));
        }
    }

    let empty = Map::new();
    let edbs = expected["dbs"].as_object().unwrap_or(&empty);
    let adbs = actual["dbs"].as_object().unwrap_or(&empty);
    let mut names: Vec<&String> = edbs.keys().chain(adbs.keys()).collect();
    names.sort_by_key(|n| (n.parse::<u64>().unwrap_or(u64::MAX), n.to_string()));
    names.dedup();
    for db in names {
        let em = entries_by_key(&edbs.get(db.as_str()).cloned().unwrap_or(Value::Null));
        let am = entries_by_key(&adbs.get(db.as_str()).cloned().unwrap_or(Value::Null));
        let missing: Vec<&Vec<u8>> = em.keys().filter(|k| !am.contains_key(*k)).collect();
        let extra: Vec<&Vec<u8>> = am.keys().filter(|k| !em.contains_key(*k)).collect();
        if !missing.is_empty() {
            out.push(format!(
                "db{db}: {} key(s) missing, e.g. {}",
                missing.len(),
                key_list(&missing)
            ));
        }
        if !extra.is_empty() {
            out.push(format!(
                "db{db}: {} unexpected key(s), e.g. {}",
                extra.len(),
                key_list(&extra)
            ));
        }
        for (k, e) in &em {
            if out.len() >= limit {
                break;
            }
            let Some(a) = am.get(k) else { continue };
            let (ne, na) = normalize_pair(e, a, opts);
            if ne != na {
                value_diff(
                    &format!("db{db}[{}]", short(&enc(k), 60)),
                    &ne,
                    &na,
                    &mut out,
                    limit,
                );
            }
        }
    }
    out.truncate(limit);
    out
}

fn sorted_by_name(v: &Value) -> Value {
    match v.as_array() {
        Some(a) => {
            let mut a = a.clone();
            a.sort_by_key(|l| l["name"].to_string());
            Value::Array(a)
        }
        None => v.clone(),
    }
}

fn key_list(keys: &[&Vec<u8>]) -> String {
    keys.iter()
        .take(3)
        .map(|k| short(&enc(k), 60))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entries_by_key(v: &Value) -> BTreeMap<Vec<u8>, Value> {
    let mut m = BTreeMap::new();
    for e in v.as_array().into_iter().flatten() {
        let key = dec(&e["key"]).unwrap_or_else(|| e["key"].to_string().into_bytes());
        m.insert(key, e.clone());
    }
    m
}

fn short(v: &Value, limit: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= limit {
        s
    } else {
        let cut: String = s.chars().take(limit.saturating_sub(3)).collect();
        format!("{cut}...")
    }
}

/// Raw bytes of an encoded byte string, for sorting (falls back to its JSON text).
fn sort_key(v: &Value) -> Vec<u8> {
    dec(v).unwrap_or_else(|| v.to_string().into_bytes())
}

/// Sort an array of values (or of `[k, ...]` pairs when `pairs`) by raw bytes.
fn sort_by_bytes(v: &mut Value, pairs: bool) {
    if let Some(a) = v.as_array_mut() {
        a.sort_by(|x, y| {
            let (x, y) = if pairs { (&x[0], &y[0]) } else { (x, y) };
            sort_key(x).cmp(&sort_key(y))
        });
    }
}

/// Copies of two entries, made comparable: informational and one-sided
/// optional fields dropped, unordered collections sorted, scores canonical,
/// expiries within the tolerance made equal.
fn normalize_pair(exp: &Value, act: &Value, opts: &DiffOptions) -> (Value, Value) {
    let (mut a, mut b) = (exp.clone(), act.clone());
    for e in [&mut a, &mut b] {
        let Some(m) = e.as_object_mut() else { continue };
        m.remove("encoding");
        let fx = m.entry("field_expire_ms").or_insert_with(|| json!([]));
        sort_by_bytes(fx, true);
        let typ = m
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        if let Some(v) = m.get_mut("value") {
            match typ.as_str() {
                "set" => sort_by_bytes(v, false),
                "hash" => sort_by_bytes(v, true),
                "zset" => {
                    sort_by_bytes(v, true);
                    for p in v.as_array_mut().into_iter().flatten() {
                        if let Some(s) = p.get(1).and_then(Value::as_str).and_then(parse_score) {
                            p[1] = Value::String(score_repr(s));
                        } else if let Some(f) = p.get(1).and_then(Value::as_f64) {
                            p[1] = Value::String(score_repr(f));
                        }
                    }
                }
                "stream" => {
                    if let Some(groups) = v.get_mut("groups") {
                        sort_by_bytes_field(groups, "name");
                        for g in groups.as_array_mut().into_iter().flatten() {
                            if let Some(cs) = g.get_mut("consumers") {
                                sort_by_bytes_field(cs, "name");
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if a["type"] == "stream" && b["type"] == "stream" {
        let (sa, sb) = (&mut a["value"], &mut b["value"]);
        drop_one_sided(sa, sb, &["entries_added", "max_deleted_entry_id"]);
        if let (Some(ga), Some(gb)) = (
            sa.get_mut("groups").and_then(Value::as_array_mut),
            sb.get_mut("groups").and_then(Value::as_array_mut),
        ) {
            for (x, y) in ga.iter_mut().zip(gb.iter_mut()) {
                drop_one_sided(x, y, &["entries_read"]);
            }
        }
    }
    if opts.expire_tolerance_ms > 0 {
        let tol = opts.expire_tolerance_ms;
        if close(&a["expire_ms"], &b["expire_ms"], tol) {
            b["expire_ms"] = a["expire_ms"].clone();
        }
        if let (Some(fa), Some(fb)) = (
            a["field_expire_ms"].as_array().cloned(),
            b["field_expire_ms"].as_array_mut(),
        ) {
            for (x, y) in fa.iter().zip(fb.iter_mut()) {
                if x[0] == y[0] && close(&x[1], &y[1], tol) {
                    y[1] = x[1].clone();
                }
            }
        }
    }
    (a, b)
}

fn close(a: &Value, b: &Value, tol: u64) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x.abs_diff(y) <= tol,
        _ => false,
    }
}

fn sort_by_bytes_field(v: &mut Value, field: &str) {
    if let Some(a) = v.as_array_mut() {
        a.sort_by_key(|x| sort_key(&x[field]));
    }
}

fn drop_one_sided(a: &mut Value, b: &mut Value, keys: &[&str]) {
    let (Some(ma), Some(mb)) = (a.as_object_mut(), b.as_object_mut()) else {
        return;
    };
    for k in keys {
        if !ma.contains_key(*k) || !mb.contains_key(*k) {
            ma.remove(*k);
            mb.remove(*k);
        }
    }
}

fn is_bytes_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key("base64"))
}

fn value_diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) if !is_bytes_object(a) && !is_bytes_object(b) => {
            let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
            for k in keys {
                match (ma.get(k), mb.get(k)) {
                    (None, Some(y)) => {
                        out.push(format!("{path}.{k}: unexpected {}", short(y, 120)))
                    }
                    (Some(x), None) => {
                        out.push(format!("{path}.{k}: missing (expected {})", short(x, 120)))
                    }
                    (Some(x), Some(y)) => value_diff(&format!("{path}.{k}"), x, y, out, limit),
                    (None, None) => {}
                }
                if out.len() >= limit {
                    return;
                }
            }
        }
        (Value::Array(xa), Value::Array(ya)) => {
            if xa.len() != ya.len() {
                out.push(format!(
                    "{path}: length {} != expected {}",
                    ya.len(),
                    xa.len()
                ));
            }
            for (i, (x, y)) in xa.iter().zip(ya).enumerate() {
                value_diff(&format!("{path}[{i}]"), x, y, out, limit);
                if out.len() >= limit {
                    return;
                }
            }
        }
        _ => out.push(format!(
            "{path}: got {}, expected {}",
            short(b, 120),
            short(a, 120)
        )),
    }
}

// ---------------------------------------------------------------------------
// fixtures
// ---------------------------------------------------------------------------

/// Read a logical-contents JSON document (a fixture's `types.json`), checking
/// its `format` tag.
pub fn load_fixture_json(path: &Path) -> io::Result<Value> {
    let text = fs::read_to_string(path)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })?;
    if doc["format"] != FORMAT {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a {FORMAT} document", path.display()),
        ));
    }
    Ok(doc)
}

/// `<workspace>/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("fixtures")
}

/// One real-server fixture: `fixtures/<name>/types.rdb` + `types.json`.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Directory name, e.g. `redis-7.2.6`.
    pub name: String,
    /// The RDB file the server wrote.
    pub rdb: PathBuf,
    /// Its expected logical contents.
    pub json: PathBuf,
    /// The RDB file's header.
    pub header: RdbHeader,
}

impl Fixture {
    /// The expected logical contents (parsed `json`).
    pub fn expected(&self) -> io::Result<Value> {
        load_fixture_json(&self.json)
    }
}

/// Every `fixtures/*/types.rdb` that has a `types.json` beside it, sorted by
/// directory name.
pub fn list_fixtures() -> io::Result<Vec<Fixture>> {
    let dir = fixtures_dir();
    let mut out = Vec::new();
    for ent in fs::read_dir(&dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?
    {
        let ent = ent?;
        let (rdb, json) = (ent.path().join("types.rdb"), ent.path().join("types.json"));
        if rdb.is_file() && json.is_file() {
            out.push(Fixture {
                name: ent.file_name().to_string_lossy().into_owned(),
                header: RdbHeader::read(&rdb)?,
                rdb,
                json,
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_like_python_repr() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-3.0, "-3.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e300, "1e+300"),
            (1.5e300, "1.5e+300"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.234e-7, "1.234e-07"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (2.5e-5, "2.5e-05"),
            (100.0, "100.0"),
            (12.375, "12.375"),
            (0.3, "0.3"),
            (1.0 / 3.0, "0.3333333333333333"),
        ];
        for (x, want) in cases {
            assert_eq!(score_repr(*x), *want, "{x:e}");
            if x.is_finite() {
                assert_eq!(parse_score(want), Some(*x));
            }
        }
        assert_eq!(parse_score("inf"), Some(f64::INFINITY));
        assert_eq!(parse_score("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score("0.10000000000000001"), Some(0.1));
    }

    #[test]
    fn bytes_round_trip() {
        assert_eq!(enc(b"abc"), json!("abc"));
        let bin = b"\x00\xff\xfe";
        assert_eq!(enc(bin), json!({"base64": "AP/+"}));
        assert_eq!(dec(&enc(bin)).unwrap(), bin);
        assert!(dec(&json!(1)).is_none());
    }

    fn doc(entries: Value) -> Value {
        json!({"functions": null, "dbs": {"0": entries}})
    }

    #[test]
    fn diff_rules() {
        let exp = doc(json!([
            {"key": "s", "type": "set", "expire_ms": null, "value": ["a", "b"], "encoding": "listpack"},
            {"key": "z", "type": "zset", "expire_ms": 5, "value": [["m", "1.0"], ["n", "inf"]]},
            {"key": "x", "type": "stream", "expire_ms": null, "value": {"length": 0, "last_id": "0-0",
              "entries": [], "entries_added": 3, "groups": [{"name": "g", "last_delivered_id": "0-0",
              "entries_read": 1, "pending": [], "consumers": []}]}}
        ]));
        let act = doc(json!([
            {"key": "x", "type": "stream", "expire_ms": null, "value": {"length": 0, "last_id": "0-0",
              "entries": [], "groups": [{"name": "g", "last_delivered_id": "0-0",
              "pending": [], "consumers": []}]}},
            {"key": "z", "type": "zset", "expire_ms": 5, "value": [["n", "inf"], ["m", "1"]], "encoding": "skiplist"},
            {"key": "s", "type": "set", "expire_ms": null, "value": ["b", "a"], "field_expire_ms": []}
        ]));
        assert_eq!(diff_logical(&exp, &act), Vec::<String>::new());

        let mut worse = act.clone();
        worse["dbs"]["0"][1]["value"][1][1] = json!("1.5");
        worse["dbs"]["0"][1]["expire_ms"] = json!(7);
        let d = diff_logical(&exp, &worse);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].contains("expire_ms: got 7, expected 5"), "{d:?}");
        assert!(d[1].contains("value[0][1]"), "{d:?}");
        let tol = DiffOptions {
            expire_tolerance_ms: 2,
            ..DiffOptions::default()
        };
        assert_eq!(diff_logical_with(&exp, &worse, &tol).len(), 1);

        let mut missing = act.clone();
        missing["dbs"]["0"].as_array_mut().unwrap().remove(2);
        missing["dbs"]["1"] =
            json!([{"key": {"base64": "/w=="}, "type": "string", "expire_ms": null, "value": "v"}]);
        let d = diff_logical(&exp, &missing);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].starts_with("db0: 1 key(s) missing"), "{d:?}");
        assert!(d[1].starts_with("db1: 1 unexpected key(s)"), "{d:?}");

        // functions: compared only when both sides have them
        let mut f1 = exp.clone();
        f1["functions"] = json!([{"name": "lib", "engine": "LUA", "code": "x"}]);
        assert!(diff_logical(&f1, &act).is_empty());
        let mut f2 = act.clone();
        f2["functions"] = json!([]);
        assert_eq!(diff_logical(&f1, &f2).len(), 1);
    }
}
