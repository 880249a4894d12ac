//! `rdbkit export`: the engine's [`export`] as JSON lines, one JSON
//! document, Redis commands, redis-rdb-tools' JSON or a memory report (CSV).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::export::{ExportOptions, Format, export};
use rdbkit_engine::memory::Alloc;
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::target::Target;
use rdbkit_writer::LossPolicy;

use crate::exit;
use crate::flags::OnLoss;

/// Arguments of `rdbkit export`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub(crate) format: Format,
    /// `resp` and `csv`: the server that will receive the output
    /// (`redis-6.2`, `valkey-9.1`, `azure-premium`, ...): which commands
    /// `resp` may use, which encodings the memory estimate assumes.
    /// Default: the release line that writes the file's RDB version.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    /// `csv`: the allocator whose size classes the memory estimate rounds
    /// to [default: jemalloc].
    #[arg(long, value_enum)]
    pub(crate) allocator: Option<Alloc>,
    /// `resp`: one `RESTORE key ttl payload REPLACE ABSTTL` per key, the
    /// payload a DUMP of the value encoded for the target's RDB version
    /// (converted with the rules of `convert`).
    #[arg(long)]
    pub(crate) restore: bool,
    /// `resp`: what to do when the target cannot take everything (field
    /// TTLs, streams, function libraries, module values): `error` writes
    /// nothing and lists what would be left out [default: error].
    #[arg(long, value_enum)]
    pub(crate) on_loss: Option<OnLoss>,
    #[command(flatten)]
    pub(crate) select: Selection,
}

impl Args {
    /// Options that do nothing for the chosen format are refused, before
    /// anything is read.
    fn check(&self) -> anyhow::Result<()> {
        let f = self.format;
        let name = match f {
            Format::Jsonl => "jsonl",
            Format::Json => "json",
            Format::Resp => "resp",
            Format::Csv => "csv",
            Format::RdbtoolsJson => "rdbtools-json",
        };
        let given = [
            (
                "--target",
                self.target.is_some(),
                [Format::Resp, Format::Csv],
            ),
            (
                "--allocator",
                self.allocator.is_some(),
                [Format::Csv, Format::Csv],
            ),
            ("--restore", self.restore, [Format::Resp, Format::Resp]),
            (
                "--on-loss",
                self.on_loss.is_some(),
                [Format::Resp, Format::Resp],
            ),
        ];
        for (flag, set, applies) in given {
            if set && !applies.contains(&f) {
                usage!("{flag} does nothing with --format {name}");
            }
        }
        Ok(())
    }
}

/// Run `rdbkit export`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    args.check()?;
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
        alloc: args.allocator.unwrap_or_default(),
        restore,
        on_loss: match args.on_loss.unwrap_or_default() {
            OnLoss::Error => LossPolicy::Error,
            OnLoss::Warn => LossPolicy::Warn,
        },
    };
    let sel = Selector::new(&args.select)?;
    let summary = match export(&args.file, sel, args.format, &options, out) {
        Ok(s) => s,
        Err(e) => match e.lossy_report() {
            Some(report) => {
                out.flush()?;
                say_losses(report);
                let written = if args.file == "-" {
                    "the output above is incomplete (stdin can be read only once)"
                } else {
                    "nothing was written"
                };
                say!(
                    "rdbkit: error: the export for {} would leave out data ({}); {written}. Use --on-loss warn to export anyway.\n",
                    args.target
                        .as_deref()
                        .unwrap_or("the file's own release line"),
                    report.loss_summary()
                );
                return Ok(ExitCode::from(exit::USAGE));
            }
            None => return Err(e.into()),
        },
    };
    if let Some(r) = &summary.report
        && !quiet
    {
        say_losses(r);
    }
    for w in &summary.warnings {
        warn!("{w}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The losses of a report, one per line, as `convert` lists them.
fn say_losses(r: &rdbkit_writer::Report) {
    say!("losses: {}\n", r.loss_summary());
    for l in &r.losses {
        say!("  {l}\n");
    }
    if r.losses_truncated() {
        say!(
            "  ... ({} more)\n",
            r.losses_total() - r.losses.len() as u64
        );
    }
}
