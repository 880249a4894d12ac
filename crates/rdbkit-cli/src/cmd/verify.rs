//! `rdbkit verify`: the engine's [`verify_file`] (every value decoded and
//! checked as the loaders check it, the checksum, duplicate keys), or with
//! `--target` its [`preflight`] (what a conversion would change or lose).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::preflight::preflight;
use rdbkit_engine::verify::{Verdict, verify_file};
use rdbkit_parser::Checksum;

use crate::exit;

/// Arguments of `rdbkit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// Instead of checking the file itself, say whether target T would load
    /// it as it is, and what `convert --target T` would have to change or lose.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    #[command(flatten)]
    pub(crate) conv: crate::flags::ConvOpts,
}

/// `verify --target T`: a dry run of the conversion.
fn run_preflight(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let p = preflight(&args.file, args.conv.options(args.target.as_deref(), None)?)?;
    let (source, target, report) = (p.source, p.target, &p.report);
    writeln!(out, "{report}")?;
    if p.loads_as_is {
        writeln!(out, "{target}: the file loads as it is")?;
        Ok(ExitCode::from(exit::OK))
    } else if report.is_lossless() {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); `rdbkit convert --target` rewrites it without losing data"
        )?;
        Ok(ExitCode::from(exit::NO))
    } else {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); converting loses: {}",
            report.loss_summary()
        )?;
        Ok(ExitCode::from(exit::NO))
    }
}

/// Run `rdbkit verify`: exit 0 sound, 3 damaged, 2 usage/I/O; with
/// `--target`, 0 when the target loads the file as it is, 1 when it needs a
/// conversion.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let c = &args.conv;
    // A dry run lists every loss and writes nothing: these change nothing.
    for (flag, set) in [
        ("--on-loss", c.on_loss.is_some()),
        ("--no-compress", c.no_compress),
    ] {
        if set {
            usage!("{flag} does nothing for verify (--target lists every loss and writes nothing)");
        }
    }
    if args.target.is_some() || c.rdb_version.is_some() {
        return run_preflight(args, out);
    }
    for (flag, set) in [
        ("--field-ttl", c.field_ttl.is_some()),
        ("--modules", c.modules.is_some()),
    ] {
        if set {
            usage!("{flag} applies only with --target (or --rdb-version)");
        }
    }
    let verdict = verify_file(&args.file)?;
    report(out, &verdict)
}

fn report(out: &mut dyn Write, v: &Verdict) -> anyhow::Result<ExitCode> {
    if let Some(damage) = &v.damage {
        writeln!(out, "DAMAGED: {damage}")?;
        writeln!(out, "(after {} good records, {} keys)", v.records, v.keys)?;
        return Ok(ExitCode::from(exit::DAMAGED));
    }
    let checksum = match v.checksum {
        Some(Checksum::Verified(c)) => format!("checksum OK (0x{c:016x})"),
        Some(Checksum::NotComputed) => "checksum not computed by the saver (stored 0)".into(),
        Some(Checksum::Absent) => "no checksum (RDB < 5)".into(),
        Some(Checksum::Unchecked(c)) => format!("checksum 0x{c:016x} not checked"),
        None => "no checksum".into(),
    };
    // The end record is counted apart: a conversion report counts the
    // records it copies or rewrites, and the end record is always new.
    writeln!(
        out,
        "OK: {} records + the end record, {} keys, {}",
        v.records.saturating_sub(1),
        v.keys,
        checksum
    )?;
    if let Some(t) = v.trailing.filter(|&t| t > 0) {
        writeln!(
            out,
            "note: {t} bytes after the checksum (ignored by loaders)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
