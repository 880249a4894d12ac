//! `rdbkit split`: one snapshot into several by cluster hash slot, in one
//! pass: every key goes to exactly one output (the one whose slot range holds
//! `CRC16(hash tag) mod 16384`). Cluster nodes keep only db 0, so by default
//! only db 0 is split (`--all-dbs` keeps the others, `--flatten-db` moves
//! every key into db 0).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cmd::convert::RewriteArgs;
use rdbkit_engine::rewrite::{Finish, Plan, shard_ranges};
use rdbkit_engine::slot::{SLOTS, parse_range};

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
pub(crate) fn run(args: &Args, _out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    rdbkit_engine::source::set_quiet(args.rw.out.quiet);
    if !args.rw.select.slots.is_empty() {
        bail!("--slot cannot be combined with split (the outputs' ranges select the slots)");
    }
    let targets: Vec<((u16, u16), String)> = match (args.shards, &args.out_dir) {
        (Some(n), Some(dir)) => {
            if n == 0 || n > SLOTS {
                bail!("--shards must be between 1 and 16384");
            }
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            shard_ranges(n)
                .into_iter()
                .enumerate()
                .map(|(i, (a, b))| {
                    (
                        (a, b),
                        dir.join(format!("shard-{i}-{a}-{b}.rdb"))
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
    if targets.is_empty() {
        bail!("give --slots A-B=FILE (repeatable) or --shards N --out-dir DIR");
    }
    let mut sorted: Vec<_> = targets.iter().map(|(r, _)| *r).collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[1].0 <= w[0].1) {
        bail!("the slot ranges overlap: every key must go to exactly one file");
    }
    let _same_version = args.rw.target.is_none() && args.rw.conv.rdb_version.is_none();
    let mut plans = Vec::new();
    for ((a, b), _) in &targets {
        let mut sel = args.rw.select.clone();
        sel.slots = vec![format!("{a}-{b}")];
        if !args.all_dbs && !args.rw.dbmap.flatten_db && sel.db.is_empty() {
            sel.db = vec![0];
        }
        plans.push(args.rw.plan(&sel, None, true)?);
    }
    let parts: Vec<(Plan, String)> = plans
        .into_iter()
        .zip(targets.iter().map(|(_, f)| f.clone()))
        .collect();
    let finish = Finish {
        pad: args.rw.out.pad,
        report: None,
    };
    let reports = rdbkit_engine::rewrite::split(&args.input, &parts, &finish)?;
    let mut total = 0;
    for (((a, b), file), report) in targets.iter().zip(&reports) {
        total += report.stats.keys_out;
        if !args.rw.out.quiet {
            eprintln!("slots {a}-{b}: {} keys -> {file}", report.stats.keys_out);
        }
    }
    if !args.rw.out.quiet {
        let keys_in = reports.first().map_or(0, |r| r.stats.keys_in);
        eprintln!(
            "{total} of {keys_in} keys written to {} files",
            reports.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
