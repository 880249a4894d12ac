//! `rdbkit`: inspect, verify, filter, convert and export Redis/Valkey RDB
//! snapshot files.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let writes_snapshot = cli.command.writes_snapshot();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(256 << 10, stdout.lock());
    let result = cmd::run(cli.command, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let broken_pipe = e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
                    || c.downcast_ref::<rdbkit_engine::Error>()
                        .is_some_and(rdbkit_engine::Error::is_broken_pipe)
            });
            // A closed pipe after a listing (`rdbkit keys f | head`) is not an
            // error; a snapshot cut short on stdout is.
            if broken_pipe && !writes_snapshot {
                return ExitCode::SUCCESS;
            }
            if broken_pipe {
                eprintln!(
                    "rdbkit: error: the output pipe was closed before the snapshot was complete ({e:#})"
                );
                return ExitCode::from(2);
            }
            eprintln!("rdbkit: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
