//! Command-line definitions (clap). Resolved configuration lives with each
//! command; these types only describe the flags.

use clap::{Parser, Subcommand};

use crate::cmd;

/// Inspect, verify, filter, convert and export Redis/Valkey RDB snapshots.
#[derive(Debug, Parser)]
#[command(name = "rdbkit", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Summarize a snapshot: version, aux fields, keys per db, types, encodings, expiries.
    Info(cmd::info::Args),
    /// Walk the whole file, decode every value and check the checksum (exit 1 if damaged).
    Verify(cmd::verify::Args),
    /// List keys: db, type, encoding, element count, serialized size, expiry.
    Keys(cmd::keys::Args),
    /// Export keys as JSON (lines, one document, or redis-rdb-tools' shape), Redis commands (RESP) or a memory report (CSV).
    Export(cmd::export::Args),
    /// Where the memory goes: biggest keys, key prefixes, totals per type and db, TTLs, encodings.
    Analyze(cmd::analyze::Args),
    /// Logical difference of two snapshots (any versions); exit 1 when they differ.
    Diff(cmd::diff::Args),
}
