//! Command-line definitions (clap). Resolved configuration lives with each
//! command; these types only describe the flags.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Inspect, verify, filter, convert and export Redis/Valkey RDB snapshots.
#[derive(Debug, Parser)]
#[command(name = "rdbkit", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// No progress line, summary or report on stderr (warnings and errors
    /// still are).
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Summarize a snapshot: version, aux fields, keys per db, types, encodings, expiries.
    Info(cmd::info::Args),
    /// Walk the whole file, decode every value as its loader would and check the checksum (exit 3 if damaged); --target T: would T load it.
    Verify(cmd::verify::Args),
    /// List keys: db, type, encoding, element count, serialized size, expiry.
    Keys(cmd::keys::Args),
    /// Export keys as JSON (lines, one document, or redis-rdb-tools' shape), Redis commands (RESP) or a memory report (CSV).
    Export(cmd::export::Args),
    /// Rewrite a snapshot for another server version (e.g. Redis 8 -> Azure Cache for Redis 6), with a loss report.
    Convert(crate::flags::Args),
    /// Keep only the selected keys (byte-for-byte copies), optionally converting too.
    Filter(crate::flags::Args),
    /// Split a snapshot into several by cluster hash slot (ranges or N even shards).
    Split(cmd::split::Args),
    /// Merge several snapshots into one, with db remapping and a duplicate-key policy.
    Merge(cmd::merge::Args),
    /// Where the memory goes: biggest keys, key prefixes, totals per type and db, TTLs, encodings.
    Analyze(cmd::analyze::Args),
    /// Logical difference of two snapshots (any versions); exit 1 when they differ.
    Diff(cmd::diff::Args),
    /// Shell completions (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(cmd::completions::Args),
    /// The man page on stdout (or all of them into --dir).
    Man(cmd::completions::ManArgs),
}

impl Command {
    /// Whether the command writes a snapshot (a cut-short output is an error).
    pub(crate) fn writes_snapshot(&self) -> bool {
        matches!(
            self,
            Command::Convert(_) | Command::Filter(_) | Command::Split(_) | Command::Merge(_)
        )
    }

    /// Whether the command prints to stdout (rows, reports, a snapshot to
    /// `-o -`).
    pub(crate) fn prints_to_stdout(&self) -> bool {
        match self {
            Command::Convert(a) | Command::Filter(a) => a.output == "-",
            Command::Merge(a) => a.output == "-",
            Command::Split(_) => false,
            Command::Analyze(a) => a.prints_to_stdout(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
