//! `rdbkit diff`: the engine's [`diff`] of two snapshots of any versions.

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::diff::{DiffOptions, Difference, diff};
use rdbkit_parser::DisplayBytes;

/// Arguments of `rdbkit diff`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The first snapshot (A).
    pub(crate) a: String,
    /// The second snapshot (B).
    pub(crate) b: String,
    /// Compare only which keys exist, not their values or TTLs.
    #[arg(long)]
    pub(crate) keys_only: bool,
}

fn ttl(t: Option<i64>) -> String {
    t.map_or("none".into(), |t| t.to_string())
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
        Difference::Value { db, key, kind } => writeln!(
            out,
            "value differs: db {db} {:#} ({kind})",
            DisplayBytes(key)
        ),
        Difference::Ttl { db, key, a, b } => writeln!(
            out,
            "ttl differs:  db {db} {:#} (A {}, B {})",
            DisplayBytes(key),
            ttl(*a),
            ttl(*b)
        ),
    }
}

/// Run `rdbkit diff`: exit 0 when equal, 1 when different.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = DiffOptions {
        keys_only: args.keys_only,
    };
    let s = diff(&args.a, &args.b, options, |d| Ok(line(out, d)?))?;
    writeln!(
        out,
        "summary: {} equal, {} only in A, {} only in B, {} different",
        s.same, s.only_a, s.only_b, s.differ
    )?;
    Ok(if s.is_equal() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
