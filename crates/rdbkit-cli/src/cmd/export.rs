//! `rdbkit export`: the engine's [`export`] as JSON lines, one JSON
//! document, Redis commands, redis-rdb-tools' JSON or a memory report (CSV).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::export::{ExportOptions, Format, export};
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::target::Target;

/// Arguments of `rdbkit export`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub(crate) format: Format,
    /// The server that will receive the output (`redis-6.2`, `valkey-9.1`,
    /// `azure-premium`, ...): decides which commands `resp` may use and which
    /// encodings the memory estimate assumes. Default: the release line that
    /// writes the file's RDB version.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    /// The allocator whose size classes the memory estimate (`csv`) rounds to.
    #[arg(long, value_enum, default_value = "jemalloc")]
    pub(crate) allocator: rdbkit_engine::memory::Alloc,
    /// With `--format resp`: one `RESTORE key ttl payload REPLACE ABSTTL` per
    /// key, the payload a DUMP of the value encoded for the target's RDB
    /// version (converted with the same rules as `convert --on-loss warn`).
    #[arg(long)]
    pub(crate) restore: bool,
    #[command(flatten)]
    pub(crate) select: Selection,
}

/// Run `rdbkit export`.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let target = args.target.as_deref().map(Target::parse).transpose()?;
    let restore = match (&args.restore, &args.target) {
        (false, _) => None,
        (true, Some(t)) => Some(Some(rdbkit_writer::target_from_name(t).ok_or_else(
            || anyhow::anyhow!("{}", rdbkit_writer::unknown_target_message(t)),
        )?)),
        (true, None) => Some(None),
    };
    let options = ExportOptions {
        target,
        alloc: args.allocator,
        restore,
    };
    let sel = Selector::new(&args.select)?;
    let summary = export(&args.file, sel, args.format, &options, out)?;
    if let Some(r) = &summary.report {
        eprint!("{r}");
    }
    for w in &summary.warnings {
        eprintln!("rdbkit: warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}
