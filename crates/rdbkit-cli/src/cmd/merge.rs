//! `rdbkit merge`: several snapshots into one, with database remapping and a
//! duplicate-key policy (a duplicate key makes every server refuse the file,
//! so one is never written twice).

use std::io::Write;
use std::process::ExitCode;

use anyhow::bail;
use rdbkit_parser::RdbVersion;

use crate::flags::RewriteArgs;
use crate::report::rewrite;

/// Arguments of `rdbkit merge`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshots to merge, in order (at most one may be `-`).
    #[arg(required = true, num_args = 2..)]
    pub(crate) inputs: Vec<String>,
    /// Where to write (`-` for stdout). Never an input.
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: String,
    #[command(flatten)]
    pub(crate) rw: RewriteArgs,
}

/// Run `rdbkit merge`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if args.inputs.iter().filter(|i| *i == "-").count() > 1 {
        bail!("at most one input can be stdin");
    }
    let fallback = if args.rw.target.is_none() && args.rw.conv.rdb_version.is_none() {
        let versions: Vec<RdbVersion> = args
            .inputs
            .iter()
            .map(|p| rdbkit_engine::source::header_version(p))
            .collect::<rdbkit_engine::Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        if versions.iter().any(|v| v.is_valkey()) && versions.iter().any(|v| !v.is_valkey()) {
            bail!("the inputs mix Redis and Valkey 9 files: choose the output with --target");
        }
        match versions.iter().max() {
            Some(v) => Some(*v),
            None => bail!("give --target when the only input is stdin"),
        }
    } else {
        None
    };
    let plan = args.rw.plan(&args.rw.select, fallback, false)?;
    let inputs: Vec<&str> = args.inputs.iter().map(String::as_str).collect();
    rewrite(&inputs, &args.output, &plan, &args.rw.out, quiet, out)
}
