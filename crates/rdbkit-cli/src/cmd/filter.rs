//! `rdbkit filter`: keep only the selected keys. Kept records are copied byte
//! for byte; the header, database opcodes, sizing hints and checksum are
//! rewritten. With `--target` it also converts, in the same pass.

use std::io::Write;
use std::process::ExitCode;

use crate::cmd::convert::{ConvOpts, OutOpts, rewrite};
use crate::pipeline::Plan;
use crate::select::{DbMap, DbMapArgs, SelectArgs, Selector};

/// Arguments of `rdbkit filter`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) input: String,
    /// Where to write (`-` for stdout). Never the input.
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: String,
    /// Also convert for this target (default: keep the input's version).
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    #[command(flatten)]
    pub(crate) conv: ConvOpts,
    #[command(flatten)]
    pub(crate) out: OutOpts,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    #[command(flatten)]
    pub(crate) dbmap: DbMapArgs,
}

/// Run `rdbkit filter`.
pub(crate) fn run(args: &Args, _out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let same_version = args.target.is_none() && args.conv.rdb_version.is_none();
    let plan = Plan {
        selector: Selector::new(&args.select)?,
        dbmap: DbMap::new(&args.dbmap)?,
        on_duplicate: args.out.on_duplicate,
        // The real target is the input's version, known once its header is read.
        convert: args.conv.options(
            args.target.as_deref(),
            same_version.then_some(rdbkit_parser::RdbVersion(9)),
        )?,
        same_version,
        keep_going: args.out.keep_going,
    };
    rewrite(&[&args.input], &args.output, &plan, &args.out)
}
