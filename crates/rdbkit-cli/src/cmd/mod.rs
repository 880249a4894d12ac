//! One module per subcommand, each with its `Args` and a `run` that writes
//! to an injected output.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::Command;

pub(crate) mod analyze;
pub(crate) mod completions;
pub(crate) mod convert;
pub(crate) mod diff;
pub(crate) mod export;
pub(crate) mod filter;
pub(crate) mod info;
pub(crate) mod keys;
pub(crate) mod merge;
pub(crate) mod split;
pub(crate) mod verify;

/// Run a parsed command, writing data to `out`.
/// `quiet`: no summary or report on stderr.
pub(crate) fn run(cmd: Command, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Info(a) => info::run(&a, out),
        Command::Verify(a) => verify::run(&a, out),
        Command::Keys(a) => keys::run(&a, out),
        Command::Export(a) => export::run(&a, quiet, out),
        Command::Diff(a) => diff::run(&a, out),
        Command::Convert(a) => convert::run(&a, quiet, out),
        Command::Filter(a) => filter::run(&a, quiet, out),
        Command::Split(a) => split::run(&a, quiet, out),
        Command::Merge(a) => merge::run(&a, quiet, out),
        Command::Analyze(a) => analyze::run(&a, quiet, out),
        Command::Completions(a) => completions::run(&a, out),
        Command::Man(a) => completions::run_man(&a, out),
    }
}
