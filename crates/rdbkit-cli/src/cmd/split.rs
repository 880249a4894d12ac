//! `rdbkit split`: one snapshot into several by cluster hash slot, in one
//! pass: every key goes to exactly one output (the one whose slot range holds
//! `CRC16(hash tag) mod 16384`). Cluster nodes keep only db 0, so by default
//! only db 0 is split (`--all-dbs` keeps the others, `--flatten-db` moves
//! every key into db 0).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rdbkit_engine::rewrite::{merge_split_reports, shard_ranges};
use rdbkit_engine::slot::{SLOTS, parse_range};

use crate::exit;
use crate::flags::RewriteArgs;
use crate::report::{plural, refused};

/// Arguments of `rdbkit split`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot to split (`-` for stdin).
    pub(crate) input: String,
    /// An output: slot range and file, `A-B=FILE` (repeatable).
    #[arg(long = "slots", value_name = "A-B=FILE", conflicts_with = "shards")]
    pub(crate) ranges: Vec<String>,
    /// Split into N even slot ranges, written to `--out-dir` as `shard-I-A-B.rdb`.
    #[arg(long, value_name = "N", requires = "out_dir")]
    pub(crate) shards: Option<u16>,
    /// Directory for `--shards` outputs (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) out_dir: Option<PathBuf>,
    /// Split every database, not only db 0.
    #[arg(long)]
    pub(crate) all_dbs: bool,
    #[command(flatten)]
    pub(crate) rw: RewriteArgs,
}

/// Run `rdbkit split`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if !args.rw.select.slots.is_empty() {
        usage!("--slot cannot be combined with split (the outputs' ranges select the slots)");
    }
    let mut made_dir = None;
    let targets: Vec<((u16, u16), String)> = match (args.shards, &args.out_dir) {
        (Some(n), Some(dir)) => {
            if n == 0 || n > SLOTS {
                usage!("--shards must be between 1 and 16384");
            }
            if !dir.exists() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                made_dir = Some(dir.clone());
            }
            shard_ranges(n)
                .into_iter()
                .enumerate()
                .map(|(i, (a, b))| {
                    (
                        (a, b),
                        dir.join(format!(
                            "shard-{i}-{a}-{b}.rdb{}",
                            if args.rw.out.gzip { ".gz" } else { "" }
                        ))
                        .to_string_lossy()
                        .into_owned(),
                    )
                })
                .collect()
        }
        _ => args
            .ranges
            .iter()
            .map(|s| {
                let (range, file) = s
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("bad --slots {s:?}: expected A-B=FILE"))?;
                Ok((parse_range(range)?, file.to_string()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let result = split(args, &targets, quiet, out);
    // A split that wrote nothing leaves no folder it made.
    if let Some(dir) = made_dir
        && !matches!(result, Ok(c) if c == ExitCode::SUCCESS)
    {
        let _ = std::fs::remove_dir(dir);
    }
    result
}

fn split(
    args: &Args,
    targets: &[((u16, u16), String)],
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if targets.is_empty() {
        usage!("give --slots A-B=FILE (repeatable) or --shards N --out-dir DIR");
    }
    let mut sorted: Vec<_> = targets.iter().map(|(r, _)| *r).collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[1].0 <= w[0].1) {
        usage!("the slot ranges overlap: every key must go to exactly one file");
    }
    // Cluster nodes keep only db 0.
    let only_db0 = !args.all_dbs && !args.rw.dbmap.flatten_db && args.rw.select.db.is_empty();
    let mut parts = Vec::new();
    for ((a, b), file) in targets {
        let mut sel = args.rw.select.clone();
        sel.slots = vec![format!("{a}-{b}")];
        if only_db0 {
            sel.db = vec![0];
        }
        parts.push((args.rw.plan(&sel, None, true)?, file.clone()));
    }
    // One packing for all outputs: gzip when asked, or when every name says so.
    let named_gz = targets.iter().filter(|(_, f)| f.ends_with(".gz")).count();
    if named_gz > 0 && named_gz < targets.len() {
        usage!("some outputs end in .gz and some do not: give all .gz names, or --gzip");
    }
    let gz = args.rw.out.gzip || named_gz > 0;
    let finish = args.rw.out.finish(if gz { "all.gz" } else { "all" })?;
    let done = match rdbkit_engine::rewrite::split(&args.input, &parts, &finish) {
        Ok(done) => done,
        Err(e) => match e.lossy_report() {
            Some(report) => {
                if args.rw.out.json {
                    out.write_all(&rdbkit_engine::rewrite::report_json(report, &[]))?;
                }
                refused(report);
                return Ok(ExitCode::from(exit::USAGE));
            }
            None => return Err(e.into()),
        },
    };
    let merged = merge_split_reports(&done.reports);
    if args.rw.out.json
        && let Some(report) = &merged
    {
        let left = rdbkit_engine::rewrite::db_counts_json(&done.not_selected_by_db);
        out.write_all(&rdbkit_engine::rewrite::split_report_json(report, &left))?;
    }
    let quiet = quiet || args.rw.out.json;
    if let Some(report) = &merged
        && !quiet
    {
        say!("{report}");
        if !report.is_lossless() {
            say!("rdbkit: wrote the outputs with the losses above (--on-loss warn)\n");
        }
    }
    let mut total = 0;
    for (((a, b), file), report) in targets.iter().zip(&done.reports) {
        total += report.stats.keys_out;
        if !quiet {
            say!(
                "slots {a}-{b}: {} -> {file}\n",
                plural(report.stats.keys_out, "key", "keys")
            );
        }
    }
    let keys_in: u64 = done.keys_by_db.values().sum();
    if !quiet {
        say!(
            "{total} of {} written to {}\n",
            plural(keys_in, "key", "keys"),
            plural(done.reports.len() as u64, "file", "files")
        );
    }
    if only_db0 {
        let others: Vec<String> = done
            .not_selected_by_db
            .iter()
            .filter(|(db, _)| **db != 0)
            .map(|(db, n)| format!("db {db}: {n}"))
            .collect();
        if !others.is_empty() {
            let left: u64 = done
                .not_selected_by_db
                .iter()
                .filter(|(db, _)| **db != 0)
                .map(|(_, n)| n)
                .sum();
            warn!(
                "left out {} outside database 0 ({}): cluster nodes keep only db 0; --flatten-db moves them into db 0, --all-dbs keeps their databases",
                plural(left, "key", "keys"),
                others.join(", ")
            );
        }
    }
    if let (Some(report), Some((plan, _))) = (&merged, parts.first()) {
        crate::report::warn_if_nothing_selected(plan, report);
    }
    Ok(ExitCode::SUCCESS)
}
