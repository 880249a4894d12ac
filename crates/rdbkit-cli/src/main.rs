//! `rdbkit`: inspect, verify, filter, convert and export Redis/Valkey RDB
//! snapshot files.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;
mod digest;
mod input;
mod json;
mod keyhash;
mod keylog;
mod output;
mod pipeline;
mod select;
mod slot;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(256 << 10, stdout.lock());
    let result = cmd::run(cli.command, &mut out).and_then(|code| {
        out.flush()?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`rdbkit keys f | head`) is not an error.
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("rdbkit: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
