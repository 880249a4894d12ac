//! `rdbkit convert`: rewrite a snapshot for another RDB version (above all an
//! older one), with the conversion rules of the writer crate and a loss
//! report. The same selection flags as `filter` apply.

use std::io::Write;
use std::process::ExitCode;

use crate::flags::Args;
use crate::report::rewrite;

/// Run `rdbkit convert`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let plan = args.rw.plan(&args.rw.select, None, false)?;
    rewrite(
        &[&args.input],
        &args.output,
        &plan,
        &args.rw.out,
        quiet,
        out,
    )
}
