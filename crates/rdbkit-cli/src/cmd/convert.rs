//! `rdbkit convert`: rewrite a snapshot for another RDB version (above all an
//! older one), with the conversion rules of the writer crate and a loss
//! report. The same selection flags as `filter` apply.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, bail};
use rdbkit_parser::{RdbVersion, Record, RecordKind};
use rdbkit_writer::{
    ConvertError, ConvertOptions, Converter, FieldTtlPolicy, LossPolicy, ModulePolicy, Report,
    target_from_name,
};

use crate::input::Visitor;
use crate::json;
use crate::output::Output;
use crate::pipeline::{OnDuplicate, Plan, Rewrite, Skipped};
use crate::select::{DbMap, DbMapArgs, SelectArgs, Selector};

/// What to do when the conversion would lose data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnLoss {
    /// Write nothing, exit 2 and list everything that would be lost.
    #[default]
    Error,
    /// Convert anyway with the documented best-effort rules and print the same report.
    Warn,
}

/// How hashes with field TTLs become plain hashes on targets without them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FieldTtl {
    /// Keep the fields, drop their TTLs, drop fields already expired.
    #[default]
    Strip,
    /// Strip, and expire the key at the earliest field expiry.
    KeyTtlMin,
    /// Strip, and expire the key at the latest field expiry.
    KeyTtlMax,
    /// Drop such hashes.
    DropKey,
}

/// Module values and module AUX data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Modules {
    /// Keep them (the target must have the module; the report names it).
    #[default]
    Keep,
    /// Drop them (reported as losses).
    Drop,
}

/// Conversion flags shared by `convert`, `filter --target` and `verify --target`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConvOpts {
    /// Exact RDB version to write instead of a `--target` name.
    #[arg(long, value_name = "N", conflicts_with = "target")]
    pub(crate) rdb_version: Option<u32>,
    /// What to do when data would be lost.
    #[arg(long, value_enum, default_value = "error")]
    pub(crate) on_loss: OnLoss,
    /// How hashes with field TTLs are written for targets without field TTLs.
    #[arg(long, value_enum, default_value = "strip")]
    pub(crate) field_ttl: FieldTtl,
    /// Module values and module AUX data.
    #[arg(long, value_enum, default_value = "keep")]
    pub(crate) modules: Modules,
    /// Do not LZF-compress long strings that are re-encoded, nor the
    /// ziplists/intsets written for compressed listpacks.
    #[arg(long)]
    pub(crate) no_compress: bool,
}

/// The RDB version for a `--target` name or `--rdb-version` number.
pub(crate) fn resolve_target(
    name: Option<&str>,
    number: Option<u32>,
) -> anyhow::Result<Option<RdbVersion>> {
    match (name, number) {
        (Some(n), _) => match target_from_name(n) {
            Some(v) => Ok(Some(v)),
            None => {
                bail!("{}", rdbkit_writer::unknown_target_message(n))
            }
        },
        (None, Some(v)) => {
            if !rdbkit_writer::is_supported_target(RdbVersion(v)) {
                bail!("cannot write RDB version {v} (supported: 1-15, 80-81)");
            }
            Ok(Some(RdbVersion(v)))
        }
        (None, None) => Ok(None),
    }
}

impl ConvOpts {
    /// Conversion options for a target (name, or `--rdb-version`); with no
    /// target at all, `fallback` (the source's version, filled in later).
    pub(crate) fn options(
        &self,
        target: Option<&str>,
        fallback: Option<RdbVersion>,
    ) -> anyhow::Result<ConvertOptions> {
        let t = resolve_target(target, self.rdb_version)?
            .or(fallback)
            .ok_or_else(|| anyhow::anyhow!("give --target T or --rdb-version N"))?;
        let mut o = ConvertOptions::new(t);
        o.on_loss = match self.on_loss {
            OnLoss::Error => LossPolicy::Error,
            OnLoss::Warn => LossPolicy::Warn,
        };
        o.field_ttl = match self.field_ttl {
            FieldTtl::Strip => FieldTtlPolicy::Strip,
            FieldTtl::KeyTtlMin => FieldTtlPolicy::KeyTtlMin,
            FieldTtl::KeyTtlMax => FieldTtlPolicy::KeyTtlMax,
            FieldTtl::DropKey => FieldTtlPolicy::DropKey,
        };
        o.modules = match self.modules {
            Modules::Keep => ModulePolicy::Keep,
            Modules::Drop => ModulePolicy::Drop,
        };
        o.compress = !self.no_compress;
        Ok(o)
    }
}

/// Whether a server whose loader takes `target` loads a `source` file as it
/// is: Redis loaders take every lower Redis version; Valkey 8.1+ (and 9,
/// RDB 80) take Redis files up to 11 and their own versions up to theirs.
pub(crate) fn loads_as_is(source: RdbVersion, target: RdbVersion) -> bool {
    match (source.is_valkey(), target.is_valkey()) {
        (false, false) | (true, true) => source <= target,
        (false, true) => source.number() <= 11,
        (true, false) => false,
    }
}

/// Arguments of `rdbkit convert` and `rdbkit filter` (one snapshot in, one
/// out; they differ in what is required: convert needs a target).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) input: String,
    /// Where to write (`-` for stdout). Never the input.
    #[arg(short, long, value_name = "OUT")]
    pub(crate) output: String,
    #[command(flatten)]
    pub(crate) rw: RewriteArgs,
}

/// Flags shared by the commands that write snapshots (convert, filter,
/// split, merge): target, conversion, output, selection, db mapping.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RewriteArgs {
    /// Target: a release (`redis-6.2`, `valkey-8.1`, ...) or service
    /// (`azure-premium`, `azure-managed-redis`, `elasticache-valkey-8`).
    /// Optional for filter, split and merge (default: the input's version).
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    #[command(flatten)]
    pub(crate) conv: ConvOpts,
    #[command(flatten)]
    pub(crate) out: OutOpts,
    #[command(flatten)]
    pub(crate) select: SelectArgs,
    #[command(flatten)]
    pub(crate) dbmap: DbMapArgs,
}

impl RewriteArgs {
    /// Whether no target was given: the output keeps the input's version.
    pub(crate) fn same_version(&self) -> bool {
        self.target.is_none() && self.conv.rdb_version.is_none()
    }

    /// The rewrite plan with `select` as the selection. Without a target,
    /// `fallback` is the version to write; `None` with `keep_version` means
    /// "the input's own", which the rewrite learns from the header.
    pub(crate) fn plan(
        &self,
        select: &SelectArgs,
        fallback: Option<RdbVersion>,
        keep_version: bool,
    ) -> anyhow::Result<Plan> {
        let same_version = keep_version && self.same_version();
        // A placeholder target: replaced by the input's version at its header.
        let fallback = fallback.or(same_version.then_some(RdbVersion(9)));
        Ok(Plan {
            selector: Selector::new(select)?,
            dbmap: DbMap::new(&self.dbmap)?,
            on_duplicate: self.out.on_duplicate,
            convert: self.conv.options(self.target.as_deref(), fallback)?,
            same_version,
            keep_going: self.out.keep_going,
        })
    }
}

/// Output flags shared by the commands that write snapshots.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OutOpts {
    /// Pad the output with zero bytes after the checksum to a multiple of N
    /// bytes (Azure page blobs need 512; loaders stop at the checksum).
    #[arg(long, value_name = "N")]
    pub(crate) pad: Option<u64>,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<std::path::PathBuf>,
    /// When two kept keys collide (after --map-db/--flatten-db or across inputs).
    #[arg(long, value_enum, default_value = "error")]
    pub(crate) on_duplicate: OnDuplicate,
    /// No summary or progress on stderr.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Salvage a damaged input: skip keys whose value does not decode and
    /// stop at a damaged structure, still writing a valid output of
    /// everything before it; what was skipped is reported (exit 1).
    #[arg(long)]
    pub(crate) keep_going: bool,
}

/// A conversion that writes nothing: the report of what it would do.
pub(crate) struct DryRun {
    options: ConvertOptions,
    state: Option<(
        RdbVersion,
        Converter,
        rdbkit_writer::RdbWriter<std::io::Sink>,
    )>,
}

impl DryRun {
    pub(crate) fn new(mut options: ConvertOptions) -> DryRun {
        options.on_loss = LossPolicy::Warn;
        DryRun {
            options,
            state: None,
        }
    }

    pub(crate) fn finish(self) -> anyhow::Result<(RdbVersion, Report)> {
        let (source, conv, w) = self.state.ok_or_else(|| anyhow::anyhow!("empty input"))?;
        let (_, report) = conv.finish(w)?;
        Ok((source, report))
    }
}

impl Visitor for DryRun {
    fn header(&mut self, version: RdbVersion) -> anyhow::Result<()> {
        let conv = Converter::new(version, self.options.clone())?;
        let w = conv.writer(std::io::sink())?;
        self.state = Some((version, conv, w));
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> anyhow::Result<bool> {
        if let Some((_, conv, w)) = self.state.as_mut()
            && !matches!(rec.kind, RecordKind::Eof { .. })
        {
            conv.convert_record(rec, w)?;
        }
        Ok(true)
    }
}

/// The report as JSON.
pub(crate) fn report_json(r: &Report, extra: &[(&str, u64)]) -> Vec<u8> {
    let mut o = Vec::new();
    json::raw(&mut o, "{\"source\":");
    json::str(&mut o, &r.source.to_string());
    json::raw(&mut o, ",\"target\":");
    json::str(&mut o, &r.target.to_string());
    json::raw(&mut o, ",\"lossless\":");
    json::raw(&mut o, if r.is_lossless() { "true" } else { "false" });
    json::raw(&mut o, ",\"loss_counts\":{");
    for (i, (k, n)) in r.loss_counts.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::str(&mut o, k.as_str());
        o.push(b':');
        json::int(&mut o, n);
    }
    json::raw(&mut o, "},\"losses\":[");
    for (i, l) in r.losses.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::raw(&mut o, "{\"offset\":");
        json::int(&mut o, l.offset);
        json::raw(&mut o, ",\"db\":");
        json::int(&mut o, l.db);
        json::raw(&mut o, ",\"key\":");
        match &l.key {
            Some(k) => json::bytes(&mut o, k),
            None => json::raw(&mut o, "null"),
        }
        json::raw(&mut o, ",\"kind\":");
        json::str(&mut o, l.kind.as_str());
        json::raw(&mut o, ",\"key_dropped\":");
        json::raw(&mut o, if l.kind.drops_key() { "true" } else { "false" });
        json::raw(&mut o, ",\"detail\":");
        json::str(&mut o, &l.detail);
        o.push(b'}');
    }
    json::raw(&mut o, "],\"notes\":[");
    for (i, n) in r.notes.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        json::raw(&mut o, "{\"kind\":");
        json::str(&mut o, n.kind.as_str());
        json::raw(&mut o, ",\"detail\":");
        json::str(&mut o, &n.detail);
        json::raw(&mut o, ",\"count\":");
        json::int(&mut o, n.count);
        json::raw(&mut o, ",\"first_offset\":");
        json::int(&mut o, n.first_offset);
        o.push(b'}');
    }
    let s = &r.stats;
    json::raw(
        &mut o,
        &format!(
            "],\"stats\":{{\"records\":{},\"keys_in\":{},\"keys_out\":{},\"keys_filtered\":{},\"copied\":{},\"rewritten\":{},\"dropped\":{}",
            s.records, s.keys_in, s.keys_out, s.keys_filtered, s.copied, s.rewritten, s.dropped
        ),
    );
    for (k, v) in extra {
        json::raw(&mut o, &format!(",\"{k}\":{v}"));
    }
    json::raw(&mut o, "}}\n");
    o
}

/// Rewrite `inputs` into `output` under `plan`: temp file, verification,
/// rename; the report goes to stderr (and `--report`). Shared by convert,
/// filter and merge.
pub(crate) fn rewrite(
    inputs: &[&str],
    output: &str,
    plan: &Plan,
    out_opts: &OutOpts,
) -> anyhow::Result<ExitCode> {
    // The output is verified (every value decoded, checksum) on a second
    // thread while it is written, instead of by a re-read afterwards.
    let mut out = Output::create_verified(output, inputs)?;
    // A file output gets its sizing hints filled in after the fact, so the
    // inputs are read once (stdout cannot be patched: a pre-pass counts).
    let one_pass = out.can_patch();
    let patches;
    let result = {
        let mut rw = Rewrite::new(plan, out.writer(), inputs.len());
        rw.one_pass = one_pass;
        rw.prepass(inputs)?;
        let mut r = Ok(());
        for (i, path) in inputs.iter().enumerate() {
            r = rw.feed(i, path);
            if r.is_err() {
                break;
            }
        }
        let dups = rw.duplicates_dropped;
        let skipped = std::mem::take(&mut rw.skipped);
        patches = rw.patches();
        r.and_then(|()| rw.finish()).map(|rep| (rep, dups, skipped))
    };
    if let (edits, Some(trailer)) = patches {
        for (at, bytes) in edits {
            out.patch(at, bytes, trailer);
        }
    }
    let write_report = |r: &Report, dups: u64, skipped: &[Skipped]| -> anyhow::Result<()> {
        if let Some(p) = &out_opts.report {
            let mut j = report_json(r, &[("duplicates_dropped", dups)]);
            // Append the salvage list before the closing brace.
            j.truncate(j.len() - 2);
            json::raw(&mut j, ",\"skipped\":[");
            for (i, s) in skipped.iter().enumerate() {
                if i > 0 {
                    j.push(b',');
                }
                json::raw(
                    &mut j,
                    &format!("{{\"input\":{},\"offset\":{},\"key\":", s.input, s.offset),
                );
                match &s.key {
                    Some(k) => json::bytes(&mut j, k),
                    None => json::raw(&mut j, "null"),
                }
                json::raw(&mut j, ",\"rest_of_input\":");
                json::raw(&mut j, if s.rest_of_input { "true" } else { "false" });
                json::raw(&mut j, ",\"error\":");
                json::str(&mut j, &s.error);
                j.push(b'}');
            }
            json::raw(&mut j, "]}\n");
            std::fs::write(p, j)
                .with_context(|| format!("cannot write the report {}", p.display()))?;
        }
        Ok(())
    };
    match result {
        Ok((report, dups, skipped)) => {
            out.commit(out_opts.pad, |_| Ok(()))?;
            write_report(&report, dups, &skipped)?;
            for s in &skipped {
                eprintln!(
                    "rdbkit: warning: skipped {} (input {}): {}",
                    if s.rest_of_input {
                        "the rest of the input"
                    } else {
                        "a damaged key"
                    },
                    inputs.get(s.input).unwrap_or(&"?"),
                    s.error
                );
            }
            if !out_opts.quiet {
                eprint!("{report}");
                if dups > 0 {
                    eprintln!("duplicate keys left out: {dups}");
                }
                if !report.is_lossless() {
                    eprintln!("rdbkit: wrote {output} with the losses above (--on-loss warn)");
                }
            }
            if !skipped.is_empty() {
                eprintln!(
                    "rdbkit: wrote {output} from a damaged input: {} skip(s) listed above",
                    skipped.len()
                );
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => match e.downcast::<ConvertError>() {
            Ok(ConvertError::Lossy(report)) => {
                drop(out);
                write_report(&report, 0, &[])?;
                eprint!("{report}");
                eprintln!(
                    "rdbkit: error: converting to {} would lose data ({}); nothing was written. Use --on-loss warn to convert anyway.",
                    report.target,
                    report.loss_summary()
                );
                Ok(ExitCode::from(2))
            }
            Ok(other) => Err(other.into()),
            Err(e) => Err(e),
        },
    }
}

/// Run `rdbkit convert`.
pub(crate) fn run(args: &Args, _out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let plan = args.rw.plan(&args.rw.select, None, false)?;
    rewrite(&[&args.input], &args.output, &plan, &args.rw.out)
}
