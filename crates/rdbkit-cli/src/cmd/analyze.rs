//! `rdbkit analyze`: where the memory of a snapshot goes (the engine's
//! [`analyze`](rdbkit_engine::analyze)): biggest keys by estimated memory and by element count, a key-prefix
//! tree, per-type and per-db totals, a TTL histogram and encoding counts;
//! with `--html`, all of it and the file's facts as one page
//! ([`html`](rdbkit_engine::analyze::html)), from the same one pass.

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::analyze::html::{HtmlOptions, report};
use rdbkit_engine::analyze::{AnalyzeOptions, analyze};
use rdbkit_engine::memory::Alloc;
use rdbkit_engine::output::{Output, check_destination};
use rdbkit_engine::preflight::PreflightOptions;
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::target::Target;
use rdbkit_writer::ConvertOptions;

/// Rows of each top table by default: more with `--html`, whose tables sort.
const TOP: usize = 10;
const TOP_HTML: usize = 100;

/// Arguments of `rdbkit analyze`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// How many keys and prefixes to list in each top table [default: 10,
    /// 100 with --html].
    #[arg(long, value_name = "N")]
    pub(crate) top: Option<usize>,
    /// Separator of key segments for the prefix tree.
    #[arg(long, default_value = ":", value_name = "STR")]
    pub(crate) delimiter: String,
    /// Prefix tree depth (segments).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub(crate) depth: usize,
    /// Most distinct prefixes tracked (bounds memory).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) max_prefixes: usize,
    /// The server whose memory the estimate models (default: the file's own
    /// release line); with --html, the page also shows whether T loads the
    /// file as it is and what converting for T would lose.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    /// The allocator whose size classes the estimate rounds to.
    #[arg(long, value_enum, default_value = "jemalloc")]
    pub(crate) allocator: Alloc,
    /// Machine-readable output.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write the analysis as one self-contained HTML page to FILE (`-`:
    /// stdout); nothing is printed unless --json is given too.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<String>,
    #[command(flatten)]
    pub(crate) select: Selection,
}

impl Args {
    /// Whether the command writes to stdout (a progress line would land in it).
    pub(crate) fn prints_to_stdout(&self) -> bool {
        self.json || self.html.as_deref().is_none_or(|h| h == "-")
    }
}

/// Run `rdbkit analyze`.
pub(crate) fn run(args: &Args, quiet: bool, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = AnalyzeOptions {
        top: args
            .top
            .unwrap_or(if args.html.is_some() { TOP_HTML } else { TOP }),
        delimiter: args.delimiter.as_bytes().to_vec(),
        depth: args.depth,
        max_prefixes: args.max_prefixes,
        target: args.target.as_deref().map(Target::parse).transpose()?,
        alloc: args.allocator,
    };
    let selector = Selector::new(&args.select)?;
    let Some(html) = &args.html else {
        let a = analyze(&args.file, selector, &options)?;
        if args.json {
            a.write_json(out)?;
        } else {
            a.write_text(out)?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    if html == "-" && args.json {
        usage!("--html - and --json would both write to stdout: give --html a file name");
    }
    // Refuse a bad destination before the pass, not after it.
    check_destination(std::path::Path::new(html))?;
    let preflight = match &args.target {
        Some(t) => {
            let mut p = PreflightOptions::new(ConvertOptions::new(
                crate::flags::resolve_target(Some(t), None)?
                    .ok_or_else(|| anyhow::anyhow!("no target"))?,
            ));
            p.target_modules = rdbkit_writer::lookup_target(t).map(|s| s.modules);
            Some(p)
        }
        None => None,
    };
    let mut page = Output::create(html, &[&args.file])?;
    let r = report(&args.file, selector, &options, preflight)?;
    let mut opts = HtmlOptions::new(&args.file);
    opts.target_name = args.target.clone();
    let text = r.html(&opts);
    page.writer().write_all(text.as_bytes())?;
    page.commit(None, |_| Ok(()), || Ok(()))?;
    if args.json {
        r.analysis.write_json(out)?;
    }
    if !quiet && html != "-" {
        say!("rdbkit: wrote {html} ({} KiB)\n", text.len().div_ceil(1024));
    }
    Ok(ExitCode::SUCCESS)
}
