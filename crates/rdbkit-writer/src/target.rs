//! Target names: server releases and managed offers → the RDB version their
//! loader accepts (format reference §5.1, §5.2).

use rdbkit_parser::RdbVersion;

/// A server release line: Redis or Valkey, major and minor version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    /// Valkey rather than Redis.
    pub valkey: bool,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl Release {
    const fn redis(major: u32, minor: u32) -> Release {
        Release {
            valkey: false,
            major,
            minor,
        }
    }

    const fn valkey(major: u32, minor: u32) -> Release {
        Release {
            valkey: true,
            major,
            minor,
        }
    }
}

/// A module whose data types a snapshot may hold (as MODULE_2 values and
/// MODULE_AUX records).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Module {
    /// RedisJSON: JSON documents.
    Json,
    /// RedisBloom: Bloom and Cuckoo filters, Count-Min sketches, Top-K,
    /// t-digest.
    Bloom,
    /// RedisTimeSeries.
    TimeSeries,
    /// RediSearch (the Redis Query Engine): index definitions.
    Search,
}

impl Module {
    /// The module's name as `MODULE LIST` shows it in Redis Stack.
    pub fn name(&self) -> &'static str {
        match self {
            Module::Json => "ReJSON",
            Module::Bloom => "bf",
            Module::TimeSeries => "timeseries",
            Module::Search => "search",
        }
    }

    /// The module that registers a 9-character module type name, from
    /// [`MODULE_TYPES`]; `None` for a type no module here is known to own.
    ///
    /// ```
    /// use rdbkit_writer::Module;
    ///
    /// assert_eq!(Module::of_type("ReJSON-RL"), Some(Module::Json));
    /// assert_eq!(Module::of_type("MBbloomCF"), Some(Module::Bloom));
    /// assert_eq!(Module::of_type("graphdata"), None);
    /// ```
    pub fn of_type(type_name: &str) -> Option<Module> {
        MODULE_TYPES
            .iter()
            .find(|(t, _)| *t == type_name)
            .map(|&(_, m)| m)
    }

    /// Whether a server with `modules` loaded loads data of the module type
    /// `type_name` (a type of no known module: no).
    ///
    /// ```
    /// use rdbkit_writer::Module;
    ///
    /// assert!(Module::type_loads("ReJSON-RL", &[Module::Json]));
    /// assert!(!Module::type_loads("MBbloom--", &[Module::Json]));
    /// assert!(!Module::type_loads("graphdata", &[Module::Json]));
    /// ```
    pub fn type_loads(type_name: &str, modules: &[Module]) -> bool {
        Module::of_type(type_name).is_some_and(|m| modules.contains(&m))
    }

    /// A module type as reports name it: `ReJSON-RL (RedisJSON)`, or
    /// `graphdata (an unknown module)`.
    pub fn describe_type(type_name: &str) -> String {
        match Module::of_type(type_name) {
            Some(m) => format!("{type_name} ({m})"),
            None => format!("{type_name} (an unknown module)"),
        }
    }
}

impl std::fmt::Display for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Module::Json => "RedisJSON",
            Module::Bloom => "RedisBloom",
            Module::TimeSeries => "RedisTimeSeries",
            Module::Search => "RediSearch",
        })
    }
}

/// The module type names (as stored in module ids) of the modules of
/// Redis Stack and Redis 8, each with the module that registers it: the
/// names the modules pass to `RedisModule_CreateDataType`, as found in
/// snapshots written by Redis Stack 7.4.1 (`fixtures/modules`).
pub const MODULE_TYPES: &[(&str, Module)] = &[
    ("ReJSON-RL", Module::Json),
    ("MBbloom--", Module::Bloom),
    ("MBbloomCF", Module::Bloom),
    ("CMSk-TYPE", Module::Bloom),
    ("TopK-TYPE", Module::Bloom),
    ("TDIS-TYPE", Module::Bloom),
    ("TSDB-TYPE", Module::TimeSeries),
    ("ft_index0", Module::Search),
    ("ft_invidx", Module::Search),
    ("scdtype00", Module::Search),
];

/// One name `--target` accepts: the RDB version its loader takes, the
/// release line that runs it (a managed service's engine) and the modules
/// whose data it loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// The name, lower case (`redis-6.2`, `azure-premium`).
    pub name: &'static str,
    /// The newest RDB version the target loads: what a conversion writes.
    pub rdb_version: RdbVersion,
    /// The server release the target runs.
    pub release: Release,
    /// The modules the target has loaded, so that it loads their values
    /// and AUX records; a plain server has none.
    pub modules: &'static [Module],
}

const fn t(name: &'static str, rdb: u32, release: Release) -> TargetSpec {
    TargetSpec {
        name,
        rdb_version: RdbVersion(rdb),
        release,
        modules: &[],
    }
}

const fn with_modules(spec: TargetSpec, modules: &'static [Module]) -> TargetSpec {
    TargetSpec { modules, ..spec }
}

/// The modules of Redis Stack and of Azure Managed Redis: JSON, Bloom,
/// time series and search.
const STACK_MODULES: &[Module] = &[
    Module::Json,
    Module::Bloom,
    Module::TimeSeries,
    Module::Search,
];

impl TargetSpec {
    /// Whether the target has `module` loaded.
    pub fn has_module(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }
}

/// Every target name, the one registry every command uses, in a stable
/// order (for help texts and messages).
pub const TARGETS: &[TargetSpec] = &[
    t("redis-2.6", 6, Release::redis(2, 6)),
    t("redis-2.8", 6, Release::redis(2, 8)),
    t("redis-3.0", 6, Release::redis(3, 0)),
    t("redis-3.2", 7, Release::redis(3, 2)),
    t("redis-4.0", 8, Release::redis(4, 0)),
    t("redis-5.0", 9, Release::redis(5, 0)),
    t("redis-6.0", 9, Release::redis(6, 0)),
    t("redis-6.2", 9, Release::redis(6, 2)),
    t("redis-7.0", 10, Release::redis(7, 0)),
    t("redis-7.2", 11, Release::redis(7, 2)),
    t("redis-7.4", 12, Release::redis(7, 4)),
    t("redis-8.0", 12, Release::redis(8, 0)),
    t("redis-8.2", 12, Release::redis(8, 2)),
    t("redis-8.4", 12, Release::redis(8, 4)),
    t("redis-8.6", 13, Release::redis(8, 6)),
    // Redis Stack: the server with RedisJSON, RediSearch, RedisBloom and
    // RedisTimeSeries loaded (redis.io, "Redis Stack"). The plain release
    // names above are servers without modules: Redis 8's own packages build
    // those types in, but a server built from source has them only with
    // BUILD_WITH_MODULES, so the plain names promise nothing.
    with_modules(
        t("redis-stack-7.2", 11, Release::redis(7, 2)),
        STACK_MODULES,
    ),
    with_modules(
        t("redis-stack-7.4", 12, Release::redis(7, 4)),
        STACK_MODULES,
    ),
    t("valkey-7.2", 11, Release::valkey(7, 2)),
    t("valkey-8.0", 11, Release::valkey(8, 0)),
    t("valkey-8.1", 11, Release::valkey(8, 1)),
    t("valkey-9.0", 80, Release::valkey(9, 0)),
    t("valkey-9.1", 80, Release::valkey(9, 1)),
    // Azure Cache for Redis Premium runs Redis 6.0 without modules (Azure
    // offers modules only on its Enterprise tiers: learn.microsoft.com,
    // "Use Redis modules with Azure Cache for Redis").
    t("azure-premium", 9, Release::redis(6, 0)),
    // Azure Managed Redis imports what Redis 7.2 loads and runs RediSearch,
    // RedisJSON, RedisBloom and RedisTimeSeries (learn.microsoft.com, "Use
    // Redis modules with Azure Managed Redis").
    with_modules(
        t("azure-managed-redis", 11, Release::redis(7, 2)),
        STACK_MODULES,
    ),
    // ElastiCache's JSON and Bloom types are its own implementations; no
    // AWS document says they load RedisJSON or RedisBloom snapshot data.
    t("elasticache-valkey-7", 11, Release::valkey(7, 2)),
    t("elasticache-valkey-8", 11, Release::valkey(8, 0)),
];

/// The target of a name (case-insensitive, surrounding blanks ignored).
///
/// ```
/// use rdbkit_writer::lookup_target;
///
/// let t = lookup_target("Azure-Premium").unwrap();
/// assert_eq!((t.release.major, t.release.minor, t.rdb_version.0), (6, 0, 9));
/// assert!(lookup_target("redis-9.9").is_none());
/// ```
pub fn lookup_target(name: &str) -> Option<&'static TargetSpec> {
    let name = name.trim();
    TARGETS.iter().find(|t| t.name.eq_ignore_ascii_case(name))
}

/// The RDB version to write for a target name such as `redis-6.2`,
/// `valkey-8.1` or `azure-premium` (case-insensitive); `None` for an
/// unknown name.
///
/// ```
/// use rdbkit_parser::RdbVersion;
/// use rdbkit_writer::target_from_name;
///
/// assert_eq!(target_from_name("redis-6.2"), Some(RdbVersion(9)));
/// assert_eq!(target_from_name("Valkey-9.1"), Some(RdbVersion(80)));
/// assert_eq!(target_from_name("redis-9.9"), None);
/// ```
pub fn target_from_name(name: &str) -> Option<RdbVersion> {
    lookup_target(name).map(|t| t.rdb_version)
}

/// The one message for a name that is not a target, listing the names.
///
/// ```
/// let m = rdbkit_writer::unknown_target_message("redis-9.9");
/// assert!(m.starts_with("unknown target \"redis-9.9\"; known targets: redis-2.6, "));
/// assert!(m.contains("azure-premium"));
/// ```
pub fn unknown_target_message(name: &str) -> String {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    format!(
        "unknown target {name:?}; known targets: {}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        for (name, v) in [
            ("redis-2.8", 6),
            ("redis-3.0", 6),
            ("redis-3.2", 7),
            ("redis-4.0", 8),
            ("redis-5.0", 9),
            ("redis-6.0", 9),
            ("redis-6.2", 9),
            ("redis-7.0", 10),
            ("redis-7.2", 11),
            ("redis-7.4", 12),
            ("redis-8.4", 12),
            ("redis-8.6", 13),
            ("valkey-7.2", 11),
            ("valkey-8.0", 11),
            ("valkey-8.1", 11),
            ("valkey-9.0", 80),
            ("valkey-9.1", 80),
            ("azure-premium", 9),
            ("azure-managed-redis", 11),
            ("elasticache-valkey-7", 11),
            ("elasticache-valkey-8", 11),
        ] {
            assert_eq!(target_from_name(name), Some(RdbVersion(v)), "{name}");
        }
        assert_eq!(target_from_name("REDIS-7.0"), Some(RdbVersion(10)));
        assert_eq!(target_from_name("redis"), None);
        for t in TARGETS {
            assert!(crate::writer::is_supported_target(t.rdb_version));
            assert_eq!(lookup_target(t.name), Some(t));
        }
    }
}
