//! `rdbkit analyze`: where the memory of a snapshot goes (the engine's
//! [`analyze`](rdbkit_engine::analyze)): biggest keys by estimated memory and by element count, a key-prefix
//! tree, per-type and per-db totals, a TTL histogram and encoding counts.

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::analyze::{AnalyzeOptions, analyze};
use rdbkit_engine::memory::Alloc;
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::target::Target;

/// Arguments of `rdbkit analyze`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// How many keys and prefixes to list in each top table.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub(crate) top: usize,
    /// Separator of key segments for the prefix tree.
    #[arg(long, default_value = ":", value_name = "STR")]
    pub(crate) delimiter: String,
    /// Prefix tree depth (segments).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) depth: usize,
    /// Most distinct prefixes tracked (bounds memory).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) max_prefixes: usize,
    /// The server whose memory the estimate models (default: the file's own release line).
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    /// The allocator whose size classes the estimate rounds to.
    #[arg(long, value_enum, default_value = "jemalloc")]
    pub(crate) allocator: Alloc,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) select: Selection,
}

/// Run `rdbkit analyze`.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = AnalyzeOptions {
        top: args.top,
        delimiter: args.delimiter.as_bytes().to_vec(),
        depth: args.depth,
        max_prefixes: args.max_prefixes,
        target: args.target.as_deref().map(Target::parse).transpose()?,
        alloc: args.allocator,
    };
    let a = analyze(&args.file, Selector::new(&args.select)?, &options)?;
    if args.json {
        a.write_json(out)?;
    } else {
        a.write_text(out)?;
    }
    Ok(ExitCode::SUCCESS)
}
