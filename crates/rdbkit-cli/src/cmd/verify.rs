//! `rdbkit verify`: the engine's [`verify_file`] (every value decoded and
//! checked as the loaders check it, the checksum, duplicate keys), or with
//! `--target` its [`preflight_with`] (what a conversion would change or lose,
//! cluster, memory fit, expired keys).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::export::csv::iso8601_ms;
use rdbkit_engine::preflight::{PreflightOptions, fits, preflight_with};
use rdbkit_engine::select::parse_time;
use rdbkit_engine::target::{Target, parse_size};
use rdbkit_engine::verify::{Verdict, verify_file};
use rdbkit_parser::Checksum;

use crate::exit;
use crate::report::plural;

/// Arguments of `rdbkit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin; `.gz` is read through gzip).
    pub(crate) file: String,
    /// Instead of checking the file itself, say whether target T would load
    /// it as it is, and what `convert --target T` would have to change or lose.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    /// With --target: the target is a cluster, which keeps only database 0
    /// (keys in others: exit 2, with the flags that resolve it).
    #[arg(long)]
    pub(crate) cluster: bool,
    /// With --target: the cache's size (`6GB`, `512MiB`, bytes, or a tier
    /// such as `P1`); says whether the converted file fits.
    #[arg(long, value_name = "SIZE")]
    pub(crate) max_memory: Option<String>,
    /// With --target: the time expired keys are counted at (Unix ms or
    /// ISO 8601 UTC) [default: now].
    #[arg(long, value_name = "TIME")]
    pub(crate) now: Option<String>,
    /// One JSON document instead of text (schema: README, "JSON outputs").
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) conv: crate::flags::ConvOpts,
}

/// Advice for the targets whose import wants a padded file.
fn padding_advice(target: &str) -> Option<&'static str> {
    target.starts_with("azure").then_some(
        "an Azure page blob must be a multiple of 512 bytes: convert with --pad 512 (a block blob needs none)",
    )
}

/// `verify --target T`: a dry run of the conversion.
fn run_preflight(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let max_memory = args.max_memory.as_deref().map(parse_size).transpose()?;
    let mut options = PreflightOptions::new(args.conv.options(args.target.as_deref(), None)?);
    if let Some(t) = &args.now {
        options.now_ms = parse_time(t)?;
    }
    options.target_modules = args
        .target
        .as_deref()
        .and_then(rdbkit_writer::lookup_target)
        .map(|t| t.modules);
    if max_memory.is_some() {
        let release = match &args.target {
            Some(t) => Target::parse(t)?,
            None => Target::for_rdb(options.convert.target),
        };
        options.memory = Some(release);
    }
    let p = preflight_with(&args.file, &options)?;
    let padding = args.target.as_deref().and_then(padding_advice);
    let outside = p.outside_db0();
    let refused = args.cluster && !outside.is_empty();
    let too_big = matches!((&p.memory, max_memory), (Some(m), Some(max)) if !fits(m.total(), max));
    let code = if refused {
        exit::USAGE
    } else if p.loads_as_is && !too_big {
        exit::OK
    } else {
        exit::NO
    };
    if args.json {
        let cluster = format!("{{\"asked\":{},\"refused\":{refused}}}", args.cluster);
        out.write_all(&p.to_json(options.now_ms, max_memory, padding, &[("cluster", cluster)]))?;
        return Ok(ExitCode::from(code));
    }
    let (source, target, report) = (p.source, p.target, &p.report);
    writeln!(out, "{report}")?;
    if !outside.is_empty() {
        let err = rdbkit_engine::Error::Cluster { dbs: outside };
        match args.cluster {
            true => writeln!(out, "cluster: refused: {err}")?,
            false => writeln!(
                out,
                "databases: keys outside db 0; a cluster target keeps only db 0 (--cluster refuses such a file)"
            )?,
        }
    }
    if p.expired > 0 {
        writeln!(
            out,
            "expired: {} already expired at {}: the target drops them on load (Redis Cloud does not import them)",
            plural(p.expired, "key", "keys"),
            iso8601_ms(options.now_ms)
        )?;
    }
    if let (Some(m), Some(release)) = (&p.memory, options.memory) {
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1e6);
        write!(
            out,
            "memory: about {} on {release} after the load (keys {}, keyspace tables {}, an empty server {})",
            mb(m.total()),
            mb(m.keys),
            mb(m.keyspace),
            mb(m.startup)
        )?;
        if let Some(max) = max_memory {
            let verdict = if fits(m.total(), max) {
                "fits"
            } else {
                "does NOT fit"
            };
            write!(
                out,
                "; {verdict} in {} (the data may fill {:.0}% of the cache, the rest is headroom for fragmentation, buffers and reserved memory)",
                mb(max),
                100.0 * rdbkit_engine::preflight::HEADROOM_RULE
            )?;
        }
        writeln!(out)?;
    }
    if let Some(p) = padding {
        writeln!(out, "padding: {p}")?;
    }
    if !p.missing_modules.is_empty() {
        let what: Vec<String> = p.missing_modules.iter().map(|u| u.to_string()).collect();
        writeln!(
            out,
            "modules: the target does not load this module data: {}; {}",
            what.join("; "),
            rdbkit_engine::preflight::MODULE_CHOICES
        )?;
    }
    if refused {
        return Ok(ExitCode::from(code));
    }
    if p.loads_as_is {
        writeln!(out, "{target}: the file loads as it is")?;
    } else if !p.missing_modules.is_empty() {
        writeln!(
            out,
            "{target}: the file does not load: module data the target has no module for (above)"
        )?;
    } else if report.is_lossless() {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); `rdbkit convert --target` rewrites it without losing data"
        )?;
    } else {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); converting loses: {}",
            report.loss_summary()
        )?;
    }
    Ok(ExitCode::from(code))
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
        ("--cluster", args.cluster),
        ("--max-memory", args.max_memory.is_some()),
        ("--now", args.now.is_some()),
    ] {
        if set {
            usage!("{flag} applies only with --target (or --rdb-version)");
        }
    }
    let verdict = verify_file(&args.file)?;
    if args.json {
        out.write_all(&verdict.to_json())?;
        return Ok(ExitCode::from(if verdict.is_sound() {
            exit::OK
        } else {
            exit::DAMAGED
        }));
    }
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
