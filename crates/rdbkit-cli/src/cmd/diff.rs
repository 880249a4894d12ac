//! `rdbkit diff`: the engine's [`diff`] of two snapshots of any versions.
//!
//! Text: one line per difference, then a summary line. Exit 0 when the
//! files hold the same data, 1 when they differ, 2 on an error.
//!
//! `--json`: the engine's [`difference_json`] and [`summary_json`]
//! (schema there and in the README).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::diff::{
    At, Change, DiffOptions, Difference, Excerpt, Member, MetaChange, Shape, diff, difference_json,
    summary_json,
};
use rdbkit_engine::json;
use rdbkit_parser::DisplayBytes;

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
            difference_json(&mut o, d);
            Ok(out.write_all(&o)?)
        })?;
        o.clear();
        json::raw(&mut o, "],");
        summary_json(&mut o, &s);
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
