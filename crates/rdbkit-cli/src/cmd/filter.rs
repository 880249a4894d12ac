//! `rdbkit filter`: keep only the selected keys. Kept records are copied byte
//! for byte; the header, database opcodes, sizing hints and checksum are
//! rewritten. With `--target` it also converts, in the same pass.

use std::io::Write;
use std::process::ExitCode;

use crate::flags::Args;
use crate::report::rewrite;

/// Run `rdbkit filter`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let plan = args.rw.plan(&args.rw.select, None, true)?;
    rewrite(
        &[&args.input],
        &args.output,
        &plan,
        &args.rw.out,
        quiet,
        out,
    )
}
