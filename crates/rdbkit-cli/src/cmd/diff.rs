//! `rdbkit diff`: the logical difference of two snapshots of any versions.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use rdbkit_parser::{DisplayBytes, Record, RecordKind};

use crate::digest::{KeyDigest, digest};
use crate::input::{Visitor, walk};

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

struct Collect<'m> {
    map: &'m mut HashMap<(u64, Vec<u8>), Option<KeyDigest>>,
    keys_only: bool,
}

impl Visitor for Collect<'_> {
    fn record(&mut self, rec: &Record<'_>) -> anyhow::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind {
            let d = if self.keys_only {
                None
            } else {
                Some(digest(e)?)
            };
            self.map.insert((e.db, e.key.to_vec()), d);
        }
        Ok(true)
    }
}

struct Compare<'m, 'o> {
    a: &'m mut HashMap<(u64, Vec<u8>), Option<KeyDigest>>,
    keys_only: bool,
    out: &'o mut dyn Write,
    only_b: u64,
    differ: u64,
    same: u64,
}

fn ttl(t: Option<i64>) -> String {
    t.map_or("none".into(), |t| t.to_string())
}

impl Visitor for Compare<'_, '_> {
    fn record(&mut self, rec: &Record<'_>) -> anyhow::Result<bool> {
        let RecordKind::Entry(e) = &rec.kind else {
            return Ok(true);
        };
        let key = DisplayBytes(&e.key);
        match self.a.remove(&(e.db, e.key.to_vec())) {
            None => {
                self.only_b += 1;
                writeln!(self.out, "only in B:    db {} {key:#}", e.db)?;
            }
            Some(da) => {
                if self.keys_only {
                    self.same += 1;
                    return Ok(true);
                }
                let db = digest(e)?;
                let da = da.unwrap_or(db);
                if da.kind != db.kind {
                    self.differ += 1;
                    writeln!(
                        self.out,
                        "type differs: db {} {key:#} ({} vs {})",
                        e.db, da.kind, db.kind
                    )?;
                } else if da.value != db.value {
                    self.differ += 1;
                    writeln!(self.out, "value differs: db {} {key:#} ({})", e.db, da.kind)?;
                } else if da.expire_ms != db.expire_ms {
                    self.differ += 1;
                    writeln!(
                        self.out,
                        "ttl differs:  db {} {key:#} (A {}, B {})",
                        e.db,
                        ttl(da.expire_ms),
                        ttl(db.expire_ms)
                    )?;
                } else {
                    self.same += 1;
                }
            }
        }
        Ok(true)
    }
}

/// Run `rdbkit diff`: exit 0 when equal, 1 when different.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut a = HashMap::new();
    walk(
        &args.a,
        Default::default(),
        &mut Collect {
            map: &mut a,
            keys_only: args.keys_only,
        },
    )?;
    let mut cmp = Compare {
        a: &mut a,
        keys_only: args.keys_only,
        out,
        only_b: 0,
        differ: 0,
        same: 0,
    };
    walk(&args.b, Default::default(), &mut cmp)?;
    let (only_b, differ, same) = (cmp.only_b, cmp.differ, cmp.same);
    let mut only_a: Vec<_> = a.into_keys().collect();
    only_a.sort();
    for (db, key) in &only_a {
        writeln!(out, "only in A:    db {db} {:#}", DisplayBytes(key))?;
    }
    writeln!(
        out,
        "summary: {same} equal, {} only in A, {only_b} only in B, {differ} different",
        only_a.len()
    )?;
    Ok(if only_a.is_empty() && only_b == 0 && differ == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
