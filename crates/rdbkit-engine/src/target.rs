//! Target servers named on the command line (`--target redis-6.2`,
//! `azure-premium`, `valkey-9.1`, ...) and what each one can do, for the
//! commands whose output depends on the server that will receive it: which
//! commands `export --format resp` may emit, and which encodings and
//! conversion thresholds the memory model assumes.
//!
//! The RDB version a target loads is the writer crate's business (conversion
//! rules live there); this module only answers "does this server have
//! command X / structure Y".

use std::fmt;

use rdbkit_parser::RdbVersion;
use rdbkit_writer::Module;

/// Redis or Valkey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Redis (any license era).
    Redis,
    /// Valkey (forked from Redis 7.2.4).
    Valkey,
}

/// A server release line, e.g. Redis 6.2 or Valkey 8.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Redis or Valkey.
    pub flavor: Flavor,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// The modules it has loaded (the writer's target registry; none for a
    /// plain release line).
    pub modules: &'static [Module],
}

impl Target {
    const fn redis(major: u32, minor: u32) -> Target {
        Target {
            flavor: Flavor::Redis,
            major,
            minor,
            modules: &[],
        }
    }

    const fn valkey(major: u32, minor: u32) -> Target {
        Target {
            flavor: Flavor::Valkey,
            major,
            minor,
            modules: &[],
        }
    }

    /// The release line of a target name, from the writer crate's table
    /// of targets (the one registry: every command takes the same names).
    pub fn parse(s: &str) -> crate::Result<Target> {
        let spec = rdbkit_writer::lookup_target(s)
            .ok_or_else(|| crate::Error::usage(rdbkit_writer::unknown_target_message(s)))?;
        let r = spec.release;
        Ok(Target {
            flavor: if r.valkey {
                Flavor::Valkey
            } else {
                Flavor::Redis
            },
            major: r.major,
            minor: r.minor,
            modules: spec.modules,
        })
    }

    /// The release line that writes files of `version`: the natural target
    /// when none is given (the file came from such a server, so everything in
    /// it has a command there).
    pub fn for_rdb(version: RdbVersion) -> Target {
        if version.is_valkey() {
            return Target::valkey(9, 0);
        }
        match version.number() {
            0..=6 => Target::redis(2, 8),
            7 => Target::redis(3, 2),
            8 => Target::redis(4, 0),
            9 => Target::redis(6, 2),
            10 => Target::redis(7, 0),
            11 => Target::redis(7, 2),
            12 => Target::redis(8, 2),
            _ => Target::redis(8, 6),
        }
    }

    /// Whether this is at least Redis `redis`; Valkey counts as Redis 7.2
    /// for everything it inherited.
    fn redis_at_least(&self, major: u32, minor: u32) -> bool {
        match self.flavor {
            Flavor::Redis => (self.major, self.minor) >= (major, minor),
            Flavor::Valkey => (7, 2) >= (major, minor),
        }
    }

    /// Whether the target loads the data of `module`.
    pub fn has_module(&self, module: Module) -> bool {
        self.modules.contains(&module)
    }

    /// True for Valkey.
    pub fn is_valkey(&self) -> bool {
        self.flavor == Flavor::Valkey
    }

    /// `(major, minor)`.
    pub fn version(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// Streams (XADD, XGROUP, XCLAIM, XSETID): Redis 5.0+.
    pub fn has_streams(&self) -> bool {
        self.redis_at_least(5, 0)
    }

    /// `XSETID … ENTRIESADDED … MAXDELETEDID …` and
    /// `XGROUP CREATE … ENTRIESREAD …`: Redis 7.0+ (stream metadata v2).
    pub fn has_stream_counters(&self) -> bool {
        self.redis_at_least(7, 0)
    }

    /// `XGROUP CREATECONSUMER`: Redis 6.2+.
    pub fn has_create_consumer(&self) -> bool {
        self.redis_at_least(6, 2)
    }

    /// Functions (`FUNCTION LOAD`): Redis 7.0+.
    pub fn has_functions(&self) -> bool {
        self.redis_at_least(7, 0)
    }

    /// Hash field TTLs (`HPEXPIREAT`): Redis 7.4+, Valkey 9.0+.
    pub fn has_hash_field_ttl(&self) -> bool {
        match self.flavor {
            Flavor::Redis => self.version() >= (7, 4),
            Flavor::Valkey => self.version() >= (9, 0),
        }
    }

    /// Variadic `HSET` (several field/value pairs): Redis 4.0+; older servers
    /// need `HMSET`.
    pub fn has_variadic_hset(&self) -> bool {
        self.redis_at_least(4, 0)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            Flavor::Redis => "redis",
            Flavor::Valkey => "valkey",
        };
        write!(f, "{name}-{}.{}", self.major, self.minor)
    }
}

/// Cache sizes of the managed services' published tiers, by tier name:
/// Azure Cache for Redis Basic/Standard C0–C6 and Premium P1–P5, from the
/// sizes on Azure's pricing page
/// (<https://azure.microsoft.com/en-us/pricing/details/cache/>), taken as
/// GB = 10^9 bytes (the smaller reading of "GB").
pub const SERVICE_SIZES: &[(&str, u64)] = &[
    ("C0", 250_000_000),
    ("C1", 1_000_000_000),
    ("C2", 2_500_000_000),
    ("C3", 6_000_000_000),
    ("C4", 13_000_000_000),
    ("C5", 26_000_000_000),
    ("C6", 53_000_000_000),
    ("P1", 6_000_000_000),
    ("P2", 13_000_000_000),
    ("P3", 26_000_000_000),
    ("P4", 53_000_000_000),
    ("P5", 120_000_000_000),
];

/// A memory size: bytes (`1048576`), with a unit (`512MB`, `6GB`, `1.5GiB`;
/// KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024), or a service
/// tier of [`SERVICE_SIZES`] (`P1`).
///
/// ```
/// use rdbkit_engine::target::parse_size;
///
/// assert_eq!(parse_size("6GB")?, 6_000_000_000);
/// assert_eq!(parse_size("512MiB")?, 512 << 20);
/// assert_eq!(parse_size("p1")?, 6_000_000_000);
/// assert!(parse_size("lots").is_err());
/// # Ok::<(), rdbkit_engine::Error>(())
/// ```
pub fn parse_size(s: &str) -> crate::Result<u64> {
    let t = s.trim();
    if let Some((_, n)) = SERVICE_SIZES
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(t))
    {
        return Ok(*n);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => crate::error::bail!(
            "bad size {s:?}: expected bytes, a number with KB/MB/GB/TB or KiB/MiB/GiB/TiB, or a tier name ({})",
            SERVICE_SIZES
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok((v * mult as f64) as u64),
        _ => crate::error::bail!("bad size {s:?}: expected a number before the unit"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_capabilities() {
        let t = |s| Target::parse(s).unwrap();
        assert_eq!(t("azure-premium"), Target::redis(6, 0));
        assert_eq!(t("redis-6.2").to_string(), "redis-6.2");
        assert_eq!(t("Valkey-9.1"), Target::valkey(9, 1));
        assert_eq!(t("elasticache-valkey-7"), Target::valkey(7, 2));
        // Only the registry's names.
        assert!(Target::parse("redis-8").is_err());
        assert!(Target::parse("redis-1.0").is_err());
        assert!(Target::parse("memcached-1.6").is_err());
        assert!(Target::parse("valkey-7.0").is_err());
        assert!(!t("redis-7.2").has_hash_field_ttl());
        assert!(t("redis-7.4").has_hash_field_ttl());
        assert!(!t("valkey-8.1").has_hash_field_ttl());
        assert!(t("valkey-9.0").has_hash_field_ttl());
        assert!(t("valkey-8.1").has_stream_counters() && t("valkey-8.1").has_functions());
        assert!(!t("redis-6.2").has_stream_counters() && t("redis-6.2").has_create_consumer());
        assert!(!t("azure-premium").has_create_consumer());
        assert!(!t("redis-3.2").has_variadic_hset() && !t("redis-4.0").has_streams());
        assert_eq!(Target::for_rdb(RdbVersion(80)), Target::valkey(9, 0));
        assert_eq!(Target::for_rdb(RdbVersion(9)), Target::redis(6, 2));
    }
}
