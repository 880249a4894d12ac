//! `rdbkit`: inspect, verify, filter, convert and export Redis/Valkey RDB
//! snapshot files. The work is done by the `rdbkit-engine` library; this
//! binary turns flags into its calls and its results into text and exit
//! codes.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

/// Text on stderr that never panics: a closed stderr (`2>&1 | head`) is
/// not worth dying for, and `eprintln!` panics on it.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}

/// A `rdbkit: warning: ...` line on stderr.
macro_rules! warn {
    ($($t:tt)*) => {
        say!("rdbkit: warning: {}\n", format_args!($($t)*))
    };
}

/// Return a usage error (exit 2) made by `format!`.
macro_rules! usage {
    ($($t:tt)*) => {
        return Err(anyhow::Error::new(rdbkit_engine::Error::usage(format!($($t)*))))
    };
}

mod cli;
mod cmd;
mod exit;
mod flags;
mod report;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's text starts with "error:"; every message of ours
            // starts with "rdbkit: ".
            say!("rdbkit: {}", e.render());
            return ExitCode::from(exit::USAGE);
        }
    };
    let writes_snapshot = cli.command.writes_snapshot();
    // Progress goes to stderr; when stdout is the same terminal, a progress
    // line would land inside the rows, so only commands whose stdout is
    // free draw it there.
    let quiet = cli.quiet || (cli.command.prints_to_stdout() && io::stdout().is_terminal());
    rdbkit_engine::source::set_quiet(quiet);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(256 << 10, stdout.lock());
    let result = cmd::run(cli.command, quiet, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let class = exit::Class::of(&e);
            // A closed pipe after a listing (`rdbkit keys f | head`) is not an
            // error; a snapshot cut short on stdout is.
            if class == exit::Class::BrokenPipe && !writes_snapshot {
                return ExitCode::SUCCESS;
            }
            if class == exit::Class::BrokenPipe {
                say!(
                    "rdbkit: error: the output pipe was closed before the snapshot was complete ({e:#})\n"
                );
                return ExitCode::from(exit::USAGE);
            }
            say!("rdbkit: error: {e:#}\n");
            ExitCode::from(class.code())
        }
    }
}
