//! Flags shared by several commands (the conversion, output and rewrite
//! flags of convert, filter, split, merge, and verify's and export's
//! conversion options), and how they become engine options.

use anyhow::bail;
use rdbkit_engine::rewrite::{OnDuplicate, Plan};
use rdbkit_engine::select::{DbMap, DbMapping, Selection, Selector};
use rdbkit_parser::RdbVersion;
use rdbkit_writer::{ConvertOptions, FieldTtlPolicy, LossPolicy, ModulePolicy, target_from_name};

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
    /// For a target without modules: RedisJSON documents become strings
    /// holding their JSON text (TTL kept, reported as losses of the module
    /// type); other module data is dropped (reported).
    JsonAsString,
}

/// Conversion flags shared by `convert`, `filter --target` and `verify --target`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConvOpts {
    /// Exact RDB version to write instead of a `--target` name.
    #[arg(long, value_name = "N", conflicts_with = "target")]
    pub(crate) rdb_version: Option<u32>,
    /// What to do when data would be lost [default: error].
    #[arg(long, value_enum)]
    pub(crate) on_loss: Option<OnLoss>,
    /// How hashes with field TTLs are written for targets without field
    /// TTLs [default: strip].
    #[arg(long, value_enum)]
    pub(crate) field_ttl: Option<FieldTtl>,
    /// Module values and module AUX data [default: keep].
    #[arg(long, value_enum)]
    pub(crate) modules: Option<Modules>,
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
        o.on_loss = match self.on_loss.unwrap_or_default() {
            OnLoss::Error => LossPolicy::Error,
            OnLoss::Warn => LossPolicy::Warn,
        };
        o.field_ttl = match self.field_ttl.unwrap_or_default() {
            FieldTtl::Strip => FieldTtlPolicy::Strip,
            FieldTtl::KeyTtlMin => FieldTtlPolicy::KeyTtlMin,
            FieldTtl::KeyTtlMax => FieldTtlPolicy::KeyTtlMax,
            FieldTtl::DropKey => FieldTtlPolicy::DropKey,
        };
        o.modules = match self.modules.unwrap_or_default() {
            Modules::Keep => ModulePolicy::Keep,
            Modules::Drop => ModulePolicy::Drop,
            Modules::JsonAsString => ModulePolicy::JsonAsString,
        };
        o.compress = !self.no_compress;
        Ok(o)
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
    /// Without it (or --rdb-version) the output keeps the input's version;
    /// convert needs one.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    #[command(flatten)]
    pub(crate) conv: ConvOpts,
    #[command(flatten)]
    pub(crate) out: OutOpts,
    #[command(flatten)]
    pub(crate) select: Selection,
    #[command(flatten)]
    pub(crate) dbmap: DbMapping,
    /// The target is a cluster, which keeps only database 0: an output with
    /// keys in other databases is refused (exit 2), naming them.
    #[arg(long)]
    pub(crate) cluster: bool,
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
        select: &Selection,
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
            cluster: self.cluster,
            keep_going: self.out.keep_going,
            target_modules: self
                .target
                .as_deref()
                .and_then(rdbkit_writer::lookup_target)
                .map(|t| t.modules),
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
    /// Salvage a damaged input: skip keys whose value does not decode and
    /// stop at a damaged structure, still writing a valid output of
    /// everything before it; what was skipped is reported (exit 3).
    #[arg(long)]
    pub(crate) keep_going: bool,
    /// Write the snapshot to stdout (`-o -`) even when stdout is a terminal.
    #[arg(long)]
    pub(crate) force: bool,
    /// Print the report as JSON on stdout (the `--report` document) instead
    /// of text on stderr.
    #[arg(long)]
    pub(crate) json: bool,
    /// Write gzip (as Redis Cloud and Azure Managed Redis take `.rdb.gz`);
    /// implied by an output name ending in `.gz`.
    #[arg(long)]
    pub(crate) gzip: bool,
}

impl OutOpts {
    /// How the engine finishes the output `output`: padding, report, gzip
    /// (asked for, or by the name).
    pub(crate) fn finish(&self, output: &str) -> anyhow::Result<rdbkit_engine::rewrite::Finish> {
        let gzip = self.gzip || output.ends_with(".gz");
        if gzip && self.pad.is_some() {
            usage!(
                "--pad pads the snapshot itself (a page blob of a plain .rdb); it does not apply to a gzip output"
            );
        }
        Ok(rdbkit_engine::rewrite::Finish {
            pad: self.pad,
            report: self.report.clone(),
            gzip,
        })
    }

    /// Refuse to write a binary snapshot to a terminal (as `gzip` does),
    /// before any work.
    pub(crate) fn check_stdout(&self, output: &str) -> anyhow::Result<()> {
        if output == "-" && !self.force && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            usage!(
                "refusing to write a binary snapshot to the terminal: redirect stdout, give -o FILE, or add --force"
            );
        }
        Ok(())
    }
}
