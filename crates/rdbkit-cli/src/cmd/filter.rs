//! `rdbkit filter`: keep only the selected keys. Kept records are copied byte
//! for byte; the header, database opcodes, sizing hints and checksum are
//! rewritten. With `--target` it also converts, in the same pass.

use std::io::Write;
use std::process::ExitCode;

use crate::cmd::convert::{RewriteArgs, rewrite};

/// Arguments of `rdbkit filter`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) input: String,
    /// Where to write (`-` for stdout). Never the input.
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: String,
    #[command(flatten)]
    pub(crate) rw: RewriteArgs,
}

/// Run `rdbkit filter`.
pub(crate) fn run(args: &Args, _out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let plan = args.rw.plan(&args.rw.select, None, true)?;
    rewrite(&[&args.input], &args.output, &plan, &args.rw.out)
}
