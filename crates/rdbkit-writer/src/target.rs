//! Target names: server releases and managed offers → the RDB version their
//! loader accepts (format reference §5.1, §5.2).

use rdbkit_parser::RdbVersion;

/// Every name [`target_from_name`] knows, with its RDB version, in a stable
/// order (for help texts).
pub const TARGETS: &[(&str, u32)] = &[
    ("redis-2.6", 6),
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
    ("redis-8.0", 12),
    ("redis-8.2", 12),
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
];

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
    let name = name.trim();
    TARGETS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, v)| RdbVersion(v))
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
        for (_, v) in TARGETS {
            assert!(crate::writer::is_supported_target(RdbVersion(*v)));
        }
    }
}
