//! The dry run of a conversion: what `convert --target T` would change or
//! lose, and whether T loads the file as it is (`rdbkit verify --target`).
//!
//! ```
//! use rdbkit_engine::preflight::preflight;
//! use rdbkit_writer::{ConvertOptions, target_from_name};
//!
//! # let dir = std::env::temp_dir().join(format!("rdbkit-doc-preflight-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("dump.rdb");
//! // An RDB 9 file with one string key.
//! std::fs::write(&path, b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
//! let target = target_from_name("redis-6.0").unwrap();
//! let p = preflight(path.to_str().unwrap(), ConvertOptions::new(target))?;
//! assert!(p.loads_as_is && p.report.is_lossless());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use rdbkit_parser::{RdbVersion, Record, RecordKind};
use rdbkit_writer::{ConvertOptions, Converter, LossPolicy, Module, ModulePolicy, Report};

use crate::source::{Visitor, walk};

/// Whether a server whose loader takes `target` loads a `source` file as it
/// is: Redis loaders take every lower Redis version; Valkey 8.1+ (and 9,
/// RDB 80) take Redis files up to 11 and their own versions up to theirs.
pub fn loads_as_is(source: RdbVersion, target: RdbVersion) -> bool {
    match (source.is_valkey(), target.is_valkey()) {
        (false, false) | (true, true) => source <= target,
        (false, true) => source.number() <= 11,
        (true, false) => false,
    }
}

/// What a dry run looks at besides the conversion.
#[derive(Debug, Clone)]
pub struct PreflightOptions {
    /// The conversion (its loss policy is taken as "warn").
    pub convert: ConvertOptions,
    /// The time keys are judged expired at (Unix ms): a loading master
    /// drops them, and Redis Cloud does not import them.
    pub now_ms: i64,
    /// Estimate the memory of the loaded file on this release line (the
    /// model of [`crate::memory`]).
    pub memory: Option<crate::target::Target>,
    /// The modules the target has loaded (the target registry's list,
    /// [`rdbkit_writer::TargetSpec::modules`]); `None` when the target is
    /// only an RDB version, whose modules nobody knows.
    pub target_modules: Option<&'static [Module]>,
}

impl PreflightOptions {
    /// A dry run of `convert` judged at the current time, without a memory
    /// estimate.
    pub fn new(convert: ConvertOptions) -> PreflightOptions {
        PreflightOptions {
            convert,
            now_ms: crate::select::now_ms(),
            memory: None,
            target_modules: None,
        }
    }
}

/// The module data of one module type in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleUse {
    /// The module type name (`ReJSON-RL`, `MBbloom--`, `ft_index0`).
    pub type_name: String,
    /// The module that registers the type, when known.
    pub module: Option<Module>,
    /// Keys holding values of the type.
    pub values: u64,
    /// MODULE_AUX records of the type.
    pub aux: u64,
}

/// What to do about module data a target cannot load: the two
/// `--modules` choices, as every message words them.
pub const MODULE_CHOICES: &str = "--modules json-as-string makes RedisJSON documents strings and drops the other module data, --modules drop drops it all (both report each key)";

impl std::fmt::Display for ModuleUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&Module::describe_type(&self.type_name))?;
        let mut parts = Vec::new();
        if self.values > 0 {
            parts.push(rdbkit_writer::count(self.values, "value", "values"));
        }
        if self.aux > 0 {
            parts.push(rdbkit_writer::count(self.aux, "AUX record", "AUX records"));
        }
        write!(f, ": {}", parts.join(", "))
    }
}

/// What a dry run found.
#[derive(Debug)]
pub struct Preflight {
    /// The file's version.
    pub source: RdbVersion,
    /// The target's version.
    pub target: RdbVersion,
    /// Whether the target loads the file as it is.
    pub loads_as_is: bool,
    /// What `convert` would do: every loss and note, the counts.
    pub report: Report,
    /// Keys per database (a cluster keeps only database 0).
    pub keys_by_db: BTreeMap<u64, u64>,
    /// Keys whose expiry is at or before [`PreflightOptions::now_ms`].
    pub expired: u64,
    /// The memory estimate, when asked for.
    pub memory: Option<MemoryEstimate>,
    /// Every module type with data in the file.
    pub modules: Vec<ModuleUse>,
    /// The module types whose data the converted file would still hold
    /// (`--modules keep`) and the target cannot load: its module list lacks
    /// their module (empty when the target's modules are not known).
    pub missing_modules: Vec<ModuleUse>,
}

impl Preflight {
    /// The databases other than 0 that hold keys, with their key counts.
    pub fn outside_db0(&self) -> Vec<(u64, u64)> {
        self.keys_by_db
            .iter()
            .filter(|(db, n)| **db != 0 && **n > 0)
            .map(|(db, n)| (*db, *n))
            .collect()
    }
}

/// What the target would use after loading the file, as the memory model
/// estimates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The keys' own memory (the sum of the model's `MEMORY USAGE`).
    pub keys: u64,
    /// The keyspace's tables (main and expires).
    pub keyspace: u64,
    /// What an empty server uses (`used_memory_startup`, about 1 MiB).
    pub startup: u64,
}

impl MemoryEstimate {
    /// The whole estimate: what `used_memory` would say after the load.
    pub fn total(&self) -> u64 {
        self.keys + self.keyspace + self.startup
    }
}

/// How much of a cache's memory the data may fill: the rest is headroom for
/// fragmentation, client and replication buffers, and what managed services
/// reserve (Azure keeps `maxmemory-reserved` apart).
pub const HEADROOM_RULE: f64 = 0.9;

/// Whether an estimate fits a cache of `max_memory` bytes by
/// [`HEADROOM_RULE`].
pub fn fits(estimate: u64, max_memory: u64) -> bool {
    (estimate as f64) <= HEADROOM_RULE * max_memory as f64
}

impl Preflight {
    /// The preflight as one JSON document (`verify --target --json`):
    /// `source`, `target` (versions), `loads_as_is`, `lossless`, `report`
    /// (as [`crate::rewrite::report_json`]), `keys_by_db`, `outside_db0`
    /// (`[{"db", "keys"}]`), `expired`, `now_ms`, `memory` (`null`, or
    /// `{"estimate", "keys", "keyspace", "startup", "max_memory", "fits",
    /// "headroom_rule"}`), `padding` (advice, or `null`), `modules` and
    /// `missing_modules` (`[{"type", "module", "values", "aux"}]`, `module`
    /// `null` when unknown). `extra` members
    /// (name and raw JSON) are added at the end.
    pub fn to_json(
        &self,
        now_ms: i64,
        max_memory: Option<u64>,
        padding: Option<&str>,
        extra: &[(&str, String)],
    ) -> Vec<u8> {
        use crate::json;
        let mut o = Vec::new();
        json::raw(&mut o, "{\"source\":");
        json::str(&mut o, &self.source.to_string());
        json::raw(&mut o, ",\"target\":");
        json::str(&mut o, &self.target.to_string());
        json::raw(&mut o, ",\"loads_as_is\":");
        json::raw(&mut o, if self.loads_as_is { "true" } else { "false" });
        json::raw(&mut o, ",\"lossless\":");
        json::raw(
            &mut o,
            if self.report.is_lossless() {
                "true"
            } else {
                "false"
            },
        );
        json::raw(&mut o, ",\"report\":");
        let mut r = crate::rewrite::report_json(&self.report, &[]);
        r.pop();
        o.extend_from_slice(&r);
        json::raw(&mut o, ",\"keys_by_db\":{");
        for (i, (db, n)) in self.keys_by_db.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::str(&mut o, &db.to_string());
            o.push(b':');
            json::int(&mut o, *n);
        }
        json::raw(&mut o, "},\"outside_db0\":[");
        for (i, (db, n)) in self.outside_db0().iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::raw(&mut o, &format!("{{\"db\":{db},\"keys\":{n}}}"));
        }
        json::raw(
            &mut o,
            &format!("],\"expired\":{},\"now_ms\":{now_ms}", self.expired),
        );
        json::raw(&mut o, ",\"memory\":");
        match &self.memory {
            None => json::raw(&mut o, "null"),
            Some(m) => {
                json::raw(
                    &mut o,
                    &format!(
                        "{{\"estimate\":{},\"keys\":{},\"keyspace\":{},\"startup\":{},\"max_memory\":",
                        m.total(),
                        m.keys,
                        m.keyspace,
                        m.startup
                    ),
                );
                match max_memory {
                    Some(max) => json::raw(
                        &mut o,
                        &format!(
                            "{max},\"fits\":{},\"headroom_rule\":{HEADROOM_RULE}}}",
                            fits(m.total(), max)
                        ),
                    ),
                    None => json::raw(
                        &mut o,
                        &format!("null,\"fits\":null,\"headroom_rule\":{HEADROOM_RULE}}}"),
                    ),
                }
            }
        }
        json::raw(&mut o, ",\"padding\":");
        match padding {
            Some(p) => json::str(&mut o, p),
            None => json::raw(&mut o, "null"),
        }
        for (name, list) in [
            ("modules", &self.modules),
            ("missing_modules", &self.missing_modules),
        ] {
            json::raw(&mut o, &format!(",\"{name}\":["));
            for (i, u) in list.iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                json::raw(&mut o, "{\"type\":");
                json::str(&mut o, &u.type_name);
                json::raw(&mut o, ",\"module\":");
                match u.module {
                    Some(m) => json::str(&mut o, &m.to_string()),
                    None => json::raw(&mut o, "null"),
                }
                json::raw(
                    &mut o,
                    &format!(",\"values\":{},\"aux\":{}}}", u.values, u.aux),
                );
            }
            o.push(b']');
        }
        for (k, v) in extra {
            json::raw(&mut o, &format!(",\"{k}\":{v}"));
        }
        json::raw(&mut o, "}\n");
        o
    }
}

/// Roughly what an empty Redis or Valkey reports as `used_memory_startup`.
const STARTUP: u64 = 1 << 20;

/// Dry-run the conversion of `path` (`-` for stdin) under `options`
/// (their loss policy is taken as "warn": every loss is listed).
pub fn preflight(path: &str, options: ConvertOptions) -> crate::Result<Preflight> {
    preflight_with(path, &PreflightOptions::new(options))
}

/// [`preflight`] with the expiry time and the memory estimate.
pub fn preflight_with(path: &str, options: &PreflightOptions) -> crate::Result<Preflight> {
    let target = options.convert.target;
    let mut dry = DryRun::new(options.convert.clone());
    dry.now_ms = options.now_ms;
    if let Some(t) = options.memory {
        let all = crate::select::Selector::new(&Default::default())?;
        dry.sizer = Some(crate::memory::Sizer::new(all, Some(t), Default::default()));
    }
    walk(path, Default::default(), &mut dry)?;
    let (modules, missing_modules) = dry.module_uses(options);
    let (keys_by_db, expired, sized) = (
        std::mem::take(&mut dry.keys_by_db),
        dry.expired,
        dry.sizer.take().map(|s| (s, dry.memory, dry.expires)),
    );
    let (source, report) = dry.finish()?;
    let keys: u64 = keys_by_db.values().sum();
    let memory = sized.map(|(sizer, bytes, expires)| MemoryEstimate {
        keys: bytes,
        keyspace: sizer.model().map_or(0, |m| m.keyspace(keys, expires)),
        startup: STARTUP,
    });
    Ok(Preflight {
        source,
        target,
        loads_as_is: loads_as_is(source, target) && missing_modules.is_empty(),
        report,
        keys_by_db,
        expired,
        memory,
        modules,
        missing_modules,
    })
}

/// A conversion that writes nothing: a [`Visitor`] that reports what it
/// would do.
#[derive(Debug)]
pub struct DryRun {
    options: ConvertOptions,
    state: Option<(
        RdbVersion,
        Converter,
        rdbkit_writer::RdbWriter<std::io::Sink>,
    )>,
    keys_by_db: BTreeMap<u64, u64>,
    now_ms: i64,
    expired: u64,
    expires: u64,
    sizer: Option<crate::memory::Sizer>,
    memory: u64,
    /// Module type name → (values, AUX records).
    modules: BTreeMap<String, (u64, u64)>,
}

impl DryRun {
    /// A dry run under `options` (losses are listed, never refused).
    pub fn new(mut options: ConvertOptions) -> DryRun {
        options.on_loss = LossPolicy::Warn;
        DryRun {
            options,
            state: None,
            keys_by_db: BTreeMap::new(),
            now_ms: crate::select::now_ms(),
            expired: 0,
            expires: 0,
            sizer: None,
            memory: 0,
            modules: BTreeMap::new(),
        }
    }

    /// After the walk: every module type with data in the file, and those
    /// whose data the output would keep (`--modules keep`) that the
    /// target of `options` cannot load.
    pub(crate) fn module_uses(
        &mut self,
        options: &PreflightOptions,
    ) -> (Vec<ModuleUse>, Vec<ModuleUse>) {
        let modules: Vec<ModuleUse> = std::mem::take(&mut self.modules)
            .into_iter()
            .map(|(type_name, (values, aux))| ModuleUse {
                module: Module::of_type(&type_name),
                type_name,
                values,
                aux,
            })
            .collect();
        let missing = match options.target_modules {
            Some(has) if options.convert.modules == ModulePolicy::Keep => modules
                .iter()
                .filter(|u| !Module::type_loads(&u.type_name, has))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        (modules, missing)
    }

    /// The file's version and the report, once the walk is over.
    pub fn finish(self) -> crate::Result<(RdbVersion, Report)> {
        let (source, conv, w) = self
            .state
            .ok_or_else(|| crate::Error::usage("empty input"))?;
        let (_, report) = conv.finish(w)?;
        Ok((source, report))
    }
}

impl Visitor for DryRun {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        let conv = Converter::new(version, self.options.clone())?;
        let w = conv.writer(std::io::sink())?;
        self.state = Some((version, conv, w));
        if let Some(s) = &mut self.sizer {
            s.header(version);
        }
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        if let RecordKind::ModuleAux(aux) = &rec.kind {
            self.modules.entry(aux.id.name()).or_default().1 += 1;
        }
        if let RecordKind::Entry(e) = &rec.kind {
            if e.value.kind() == Some(rdbkit_parser::ValueKind::Module)
                && let rdbkit_parser::Value::Module(m) = e.value.decode()?
            {
                self.modules.entry(m.id.name()).or_default().0 += 1;
            }
            *self.keys_by_db.entry(e.db).or_insert(0) += 1;
            if let Some(t) = e.expire_ms {
                self.expires += 1;
                self.expired += u64::from(t <= self.now_ms);
            }
        }
        if let Some(s) = &self.sizer
            && let Some((_, m)) = s.measure(rec)?
        {
            self.memory += m.bytes;
        }
        if let Some((_, conv, w)) = self.state.as_mut()
            && !matches!(rec.kind, RecordKind::Eof { .. })
        {
            conv.convert_record(rec, w)?;
        }
        Ok(true)
    }
}
