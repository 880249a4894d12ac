//! `rdbkit diff`: the engine's [`diff`] of two snapshots of any versions.
//!
//! Text: one line per difference, then a summary line. Exit 0 when the
//! files hold the same data, 1 when they differ, 2 on an error.
//!
//! `--json`: one document, `{"differences": [...], "summary": {...}}`
//! (differences first, so that they stream out as they are found). A key,
//! member, field, group or value is a JSON string when it is UTF-8 and
//! `{"base64": "..."}` otherwise; an absent expiry, TTL or counter is
//! `null`; times are Unix ms; stream IDs are `"ms-seq"` strings; scores are
//! strings (`"1.5"`, `"inf"`).
//!
//! - `summary`: `equal` (bool), `same`, `only_a`, `only_b`, `differ` (keys),
//!   `functions_same`, `functions_only_a`, `functions_only_b`,
//!   `functions_differ`.
//! - each difference has `kind`; key differences also `db` and `key`:
//!   - `only_a`, `only_b`: nothing more.
//!   - `type`: `a`, `b` (type names).
//!   - `value`: `type`; `a`, `b` (`{"len": N, "field_ttls": N}`: elements,
//!     hash fields with a TTL); `members` (`null` when the value was not
//!     read again: stdin, past the first 1000, a module value), else a
//!     list of `{"at", ..., "change", ...}`; `more_members` (how many more
//!     differ). `at` is `member`/`field`/`group` with `name`, `index` with
//!     `index`, `byte` with `offset`, `entry` with `id`, or `last_id`.
//!     `change` is `only_a`, `only_b`, `differs`, `value` with `a`, `b`
//!     (the first 64 bytes) and `a_len`, `b_len`; `score` with `a`, `b`;
//!     `ttl` with `a`, `b`; `id` with `a`, `b`.
//!   - `stream_meta`: `changes`, a list of `{"field": "entries_added" |
//!     "max_deleted_id", "a", "b"}` and `{"field": "entries_read",
//!     "group", "a", "b"}`.
//!   - `ttl`: `a`, `b` (expiries).
//!   - `function_only_a`, `function_only_b`: `library`.
//!   - `function`: `library`, `a_len`, `b_len` (source bytes).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::diff::{
    At, Change, DiffOptions, Difference, Excerpt, Member, MetaChange, Shape, Summary, diff,
};
use rdbkit_engine::json;
use rdbkit_parser::{DisplayBytes, StreamId};

/// Arguments of `rdbkit diff`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The first snapshot (A).
    pub(crate) a: String,
    /// The second snapshot (B).
    pub(crate) b: String,
    /// Compare only which keys and function libraries exist, not their
    /// values, TTLs or code.
    #[arg(long)]
    pub(crate) keys_only: bool,
    /// One JSON document instead of lines (schema: README, "diff").
    #[arg(long)]
    pub(crate) json: bool,
}

fn opt<T: std::fmt::Display>(t: Option<T>) -> String {
    t.map_or("none".into(), |t| t.to_string())
}

/// What the elements of a type are called.
fn unit(kind: &str) -> &'static str {
    match kind {
        "string" => "bytes",
        "list" => "elements",
        "set" | "zset" => "members",
        "hash" => "fields",
        "stream" => "entries",
        _ => "",
    }
}

fn counts(kind: &str, a: &Shape, b: &Shape) -> String {
    if kind == "module" {
        return kind.into();
    }
    let mut s = format!("{kind}: {} {}", a.len, unit(kind));
    if a.len != b.len {
        s += &format!(" vs {}", b.len);
    }
    if a.field_ttls != b.field_ttls {
        s += &format!(", {} with TTLs vs {}", a.field_ttls, b.field_ttls);
    } else if a.field_ttls > 0 {
        s += &format!(", {} with TTLs", a.field_ttls);
    }
    s
}

fn excerpt(e: &Excerpt) -> String {
    let mut s = DisplayBytes(&e.head).to_string();
    if e.len > e.head.len() as u64 {
        s += &format!("... ({} bytes)", e.len);
    }
    s
}

fn member(m: &Member) -> String {
    let at = match &m.at {
        At::Member(n) => format!("member {}", DisplayBytes(n)),
        At::Field(n) => format!("field {}", DisplayBytes(n)),
        At::Index(i) => format!("index {i}"),
        At::Byte(o) => format!("first difference at byte {o}"),
        At::Entry(id) => format!("entry {id}"),
        At::Group(n) => format!("group {}", DisplayBytes(n)),
        At::LastId => "last_id".into(),
    };
    let change = match &m.change {
        Change::OnlyA => " only in A".into(),
        Change::OnlyB => " only in B".into(),
        Change::Value { a, b } => format!(" {} vs {}", excerpt(a), excerpt(b)),
        Change::Score { a, b } => format!(" score {} vs {}", json::score(*a), json::score(*b)),
        Change::Ttl { a, b } => format!(" ttl {} vs {}", opt(*a), opt(*b)),
        Change::Id { a, b } => format!(" {a} vs {b}"),
        Change::Differs if matches!(m.at, At::Byte(_)) => String::new(),
        Change::Differs => " differs".into(),
    };
    at + &change
}

fn meta(c: &MetaChange) -> String {
    match c {
        MetaChange::EntriesAdded { a, b } => format!("entries_added {} vs {}", opt(*a), opt(*b)),
        MetaChange::MaxDeletedId { a, b } => format!("max_deleted_id {} vs {}", opt(*a), opt(*b)),
        MetaChange::EntriesRead { group, a, b } => format!(
            "group {} entries_read {} vs {}",
            DisplayBytes(group),
            opt(*a),
            opt(*b)
        ),
    }
}

/// One difference as a line of text.
fn line(out: &mut dyn Write, d: &Difference) -> std::io::Result<()> {
    match d {
        Difference::OnlyA { db, key } => {
            writeln!(out, "only in A:    db {db} {:#}", DisplayBytes(key))
        }
        Difference::OnlyB { db, key } => {
            writeln!(out, "only in B:    db {db} {:#}", DisplayBytes(key))
        }
        Difference::Type { db, key, a, b } => writeln!(
            out,
            "type differs: db {db} {:#} ({a} vs {b})",
            DisplayBytes(key)
        ),
        Difference::Value {
            db,
            key,
            kind,
            a,
            b,
            members,
        } => {
            let mut what = counts(kind, a, b);
            if let Some(m) = members.as_ref().filter(|m| !m.first.is_empty()) {
                let named: Vec<String> = m.first.iter().map(member).collect();
                what += &format!("; {}", named.join(", "));
                if m.more > 0 {
                    what += &format!(", and {} more", m.more);
                }
            }
            writeln!(
                out,
                "value differs: db {db} {:#} ({what})",
                DisplayBytes(key)
            )
        }
        Difference::StreamMeta { db, key, changes } => {
            let named: Vec<String> = changes.iter().map(meta).collect();
            writeln!(
                out,
                "stream metadata differs: db {db} {:#} ({})",
                DisplayBytes(key),
                named.join(", ")
            )
        }
        Difference::Ttl { db, key, a, b } => writeln!(
            out,
            "ttl differs:  db {db} {:#} (A {}, B {})",
            DisplayBytes(key),
            opt(*a),
            opt(*b)
        ),
        Difference::FunctionOnlyA { library } => {
            writeln!(out, "function only in A: {library:?}")
        }
        Difference::FunctionOnlyB { library } => {
            writeln!(out, "function only in B: {library:?}")
        }
        Difference::Function {
            library,
            a_len,
            b_len,
        } => writeln!(
            out,
            "function differs: {library:?} (code of {a_len} bytes vs {b_len})"
        ),
    }
}

fn json_opt(o: &mut Vec<u8>, v: Option<impl json::IntLike>) {
    match v {
        Some(v) => json::int(o, v),
        None => json::raw(o, "null"),
    }
}

fn json_id(o: &mut Vec<u8>, id: Option<StreamId>) {
    match id {
        Some(id) => json::str(o, &id.to_string()),
        None => json::raw(o, "null"),
    }
}

fn json_shape(o: &mut Vec<u8>, s: &Shape) {
    json::raw(o, "{\"len\":");
    json::int(o, s.len);
    json::raw(o, ",\"field_ttls\":");
    json::int(o, s.field_ttls);
    json::raw(o, "}");
}

fn json_member(o: &mut Vec<u8>, m: &Member) {
    json::raw(o, "{\"at\":");
    match &m.at {
        At::Member(n) | At::Field(n) | At::Group(n) => {
            let at = match m.at {
                At::Member(_) => "member",
                At::Field(_) => "field",
                _ => "group",
            };
            json::str(o, at);
            json::raw(o, ",\"name\":");
            json::bytes(o, n);
        }
        At::Index(i) => {
            json::raw(o, "\"index\",\"index\":");
            json::int(o, *i);
        }
        At::Byte(b) => {
            json::raw(o, "\"byte\",\"offset\":");
            json::int(o, *b);
        }
        At::Entry(id) => {
            json::raw(o, "\"entry\",\"id\":");
            json_id(o, Some(*id));
        }
        At::LastId => json::raw(o, "\"last_id\""),
    }
    json::raw(o, ",\"change\":");
    match &m.change {
        Change::OnlyA => json::raw(o, "\"only_a\""),
        Change::OnlyB => json::raw(o, "\"only_b\""),
        Change::Differs => json::raw(o, "\"differs\""),
        Change::Value { a, b } => {
            json::raw(o, "\"value\",\"a\":");
            json::bytes(o, &a.head);
            json::raw(o, ",\"a_len\":");
            json::int(o, a.len);
            json::raw(o, ",\"b\":");
            json::bytes(o, &b.head);
            json::raw(o, ",\"b_len\":");
            json::int(o, b.len);
        }
        Change::Score { a, b } => {
            json::raw(o, "\"score\",\"a\":");
            json::score_str(o, *a);
            json::raw(o, ",\"b\":");
            json::score_str(o, *b);
        }
        Change::Ttl { a, b } => {
            json::raw(o, "\"ttl\",\"a\":");
            json_opt(o, *a);
            json::raw(o, ",\"b\":");
            json_opt(o, *b);
        }
        Change::Id { a, b } => {
            json::raw(o, "\"id\",\"a\":");
            json_id(o, Some(*a));
            json::raw(o, ",\"b\":");
            json_id(o, Some(*b));
        }
    }
    json::raw(o, "}");
}

fn json_key(o: &mut Vec<u8>, kind: &str, db: u64, key: &[u8]) {
    json::raw(o, "{\"kind\":");
    json::str(o, kind);
    json::raw(o, ",\"db\":");
    json::int(o, db);
    json::raw(o, ",\"key\":");
    json::bytes(o, key);
}

/// One difference as a JSON object (the schema is in the module doc).
fn json_difference(o: &mut Vec<u8>, d: &Difference) {
    match d {
        Difference::OnlyA { db, key } => json_key(o, "only_a", *db, key),
        Difference::OnlyB { db, key } => json_key(o, "only_b", *db, key),
        Difference::Type { db, key, a, b } => {
            json_key(o, "type", *db, key);
            json::raw(o, ",\"a\":");
            json::str(o, a);
            json::raw(o, ",\"b\":");
            json::str(o, b);
        }
        Difference::Value {
            db,
            key,
            kind,
            a,
            b,
            members,
        } => {
            json_key(o, "value", *db, key);
            json::raw(o, ",\"type\":");
            json::str(o, kind);
            json::raw(o, ",\"a\":");
            json_shape(o, a);
            json::raw(o, ",\"b\":");
            json_shape(o, b);
            json::raw(o, ",\"members\":");
            match members {
                Some(m) => {
                    json::raw(o, "[");
                    for (i, x) in m.first.iter().enumerate() {
                        if i > 0 {
                            json::raw(o, ",");
                        }
                        json_member(o, x);
                    }
                    json::raw(o, "]");
                }
                None => json::raw(o, "null"),
            }
            json::raw(o, ",\"more_members\":");
            json::int(o, members.as_ref().map_or(0, |m| m.more));
        }
        Difference::StreamMeta { db, key, changes } => {
            json_key(o, "stream_meta", *db, key);
            json::raw(o, ",\"changes\":[");
            for (i, c) in changes.iter().enumerate() {
                if i > 0 {
                    json::raw(o, ",");
                }
                match c {
                    MetaChange::EntriesAdded { a, b } => {
                        json::raw(o, "{\"field\":\"entries_added\",\"a\":");
                        json_opt(o, *a);
                        json::raw(o, ",\"b\":");
                        json_opt(o, *b);
                    }
                    MetaChange::MaxDeletedId { a, b } => {
                        json::raw(o, "{\"field\":\"max_deleted_id\",\"a\":");
                        json_id(o, *a);
                        json::raw(o, ",\"b\":");
                        json_id(o, *b);
                    }
                    MetaChange::EntriesRead { group, a, b } => {
                        json::raw(o, "{\"field\":\"entries_read\",\"group\":");
                        json::bytes(o, group);
                        json::raw(o, ",\"a\":");
                        json_opt(o, *a);
                        json::raw(o, ",\"b\":");
                        json_opt(o, *b);
                    }
                }
                json::raw(o, "}");
            }
            json::raw(o, "]");
        }
        Difference::Ttl { db, key, a, b } => {
            json_key(o, "ttl", *db, key);
            json::raw(o, ",\"a\":");
            json_opt(o, *a);
            json::raw(o, ",\"b\":");
            json_opt(o, *b);
        }
        Difference::FunctionOnlyA { library } | Difference::FunctionOnlyB { library } => {
            let kind = match d {
                Difference::FunctionOnlyA { .. } => "function_only_a",
                _ => "function_only_b",
            };
            json::raw(o, "{\"kind\":");
            json::str(o, kind);
            json::raw(o, ",\"library\":");
            json::str(o, library);
        }
        Difference::Function {
            library,
            a_len,
            b_len,
        } => {
            json::raw(o, "{\"kind\":\"function\",\"library\":");
            json::str(o, library);
            json::raw(o, ",\"a_len\":");
            json::int(o, *a_len);
            json::raw(o, ",\"b_len\":");
            json::int(o, *b_len);
        }
    }
    json::raw(o, "}");
}

fn json_summary(o: &mut Vec<u8>, s: &Summary) {
    json::raw(o, "\"summary\":{\"equal\":");
    json::raw(o, if s.is_equal() { "true" } else { "false" });
    for (name, v) in [
        ("same", s.same),
        ("only_a", s.only_a),
        ("only_b", s.only_b),
        ("differ", s.differ),
        ("functions_same", s.functions_same),
        ("functions_only_a", s.functions_only_a),
        ("functions_only_b", s.functions_only_b),
        ("functions_differ", s.functions_differ),
    ] {
        json::raw(o, ",\"");
        json::raw(o, name);
        json::raw(o, "\":");
        json::int(o, v);
    }
    json::raw(o, "}");
}

/// Run `rdbkit diff`: exit 0 when equal, 1 when different.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = DiffOptions {
        keys_only: args.keys_only,
        ..DiffOptions::default()
    };
    let s = if args.json {
        out.write_all(b"{\"differences\":[")?;
        let mut first = true;
        let mut o = Vec::new();
        let s = diff(&args.a, &args.b, options, |d| {
            o.clear();
            if !first {
                o.push(b',');
            }
            first = false;
            json_difference(&mut o, d);
            Ok(out.write_all(&o)?)
        })?;
        o.clear();
        json::raw(&mut o, "],");
        json_summary(&mut o, &s);
        json::raw(&mut o, "}\n");
        out.write_all(&o)?;
        s
    } else {
        let s = diff(&args.a, &args.b, options, |d| Ok(line(out, d)?))?;
        write!(
            out,
            "summary: {} equal, {} only in A, {} only in B, {} different",
            s.same, s.only_a, s.only_b, s.differ
        )?;
        let libraries =
            s.functions_same + s.functions_only_a + s.functions_only_b + s.functions_differ;
        if libraries > 0 {
            write!(
                out,
                "; functions: {} equal, {} only in A, {} only in B, {} different",
                s.functions_same, s.functions_only_a, s.functions_only_b, s.functions_differ
            )?;
        }
        writeln!(out)?;
        s
    };
    Ok(if s.is_equal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
