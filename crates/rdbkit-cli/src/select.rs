//! Key selection shared by the commands that take selection flags.

use anyhow::Context;
use rdbkit_parser::{Entry, ValueKind};

/// Selection flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct SelectArgs {
    /// Only keys in this database (repeatable).
    #[arg(long = "db", value_name = "N")]
    pub(crate) db: Vec<u64>,
    /// Only keys matching this Redis-style glob (`*`, `?`, `[a-z]`, `\` escapes; repeatable).
    #[arg(long = "match", value_name = "GLOB")]
    pub(crate) glob: Vec<String>,
    /// Only keys matching this regular expression (repeatable).
    #[arg(long = "regex", value_name = "RE")]
    pub(crate) regex: Vec<String>,
    /// Only keys of this type: string, list, set, zset, hash, stream, module (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub(crate) types: Vec<String>,
}

/// A compiled selection.
#[derive(Debug)]
pub(crate) struct Selector {
    dbs: Vec<u64>,
    globs: Vec<Vec<u8>>,
    regexes: Vec<regex::bytes::Regex>,
    types: Vec<ValueKind>,
}

pub(crate) fn parse_type(s: &str) -> anyhow::Result<ValueKind> {
    Ok(match s {
        "string" => ValueKind::String,
        "list" => ValueKind::List,
        "set" => ValueKind::Set,
        "zset" => ValueKind::ZSet,
        "hash" => ValueKind::Hash,
        "stream" => ValueKind::Stream,
        "module" => ValueKind::Module,
        _ => anyhow::bail!(
            "unknown type {s:?}: expected string, list, set, zset, hash, stream or module"
        ),
    })
}

impl Selector {
    pub(crate) fn new(a: &SelectArgs) -> anyhow::Result<Selector> {
        Ok(Selector {
            dbs: a.db.clone(),
            globs: a.glob.iter().map(|g| g.as_bytes().to_vec()).collect(),
            regexes: a
                .regex
                .iter()
                .map(|r| regex::bytes::Regex::new(r).with_context(|| format!("bad --regex {r:?}")))
                .collect::<anyhow::Result<_>>()?,
            types: a
                .types
                .iter()
                .map(|t| parse_type(t))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// Whether the entry is selected. Type checks use the type id only (no decoding).
    pub(crate) fn matches(&self, e: &Entry<'_>) -> bool {
        (self.dbs.is_empty() || self.dbs.contains(&e.db))
            && (self.globs.is_empty() || self.globs.iter().any(|g| glob_match(g, &e.key)))
            && (self.regexes.is_empty() || self.regexes.iter().any(|r| r.is_match(&e.key)))
            && (self.types.is_empty() || e.value.kind().is_some_and(|k| self.types.contains(&k)))
    }
}

/// Redis's glob semantics (`stringmatchlen`): `*`, `?`, `[...]` with ranges
/// and `^` negation, `\` escapes. Binary safe; iterative with backtracking to
/// the last `*` so that hostile patterns stay linear-ish.
pub(crate) fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if let Some(&c) = pat.get(p) {
            match c {
                b'*' => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class_match(pat, p, s[i]) {
                        if ok {
                            p = next;
                            i += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pat.len() => {
                    if pat[p + 1] == s[i] {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                _ => {
                    if c == s[i] {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Match one byte against the class starting at `pat[p] == b'['`; returns
/// (matched, index after the class), or `None` for an unterminated class
/// (Redis then treats the rest as the class; we treat it as no match).
fn class_match(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let negate = pat.get(j) == Some(&b'^');
    if negate {
        j += 1;
    }
    let mut hit = false;
    loop {
        let x = *pat.get(j)?;
        if x == b']' {
            break;
        }
        if x == b'\\' {
            j += 1;
            if *pat.get(j)? == c {
                hit = true;
            }
        } else if pat.get(j + 1) == Some(&b'-') && pat.get(j + 2).is_some_and(|&e| e != b']') {
            let (mut lo, mut hi) = (x, pat[j + 2]);
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if (lo..=hi).contains(&c) {
                hit = true;
            }
            j += 2;
        } else if x == c {
            hit = true;
        }
        j += 1;
    }
    Some((hit != negate, j + 1))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes());
        assert!(m("*", ""));
        assert!(m("user:*", "user:1"));
        assert!(!m("user:*", "use"));
        assert!(m("h?llo", "hello"));
        assert!(m("h[ae]llo", "hallo"));
        assert!(!m("h[^e]llo", "hello"));
        assert!(m("h[a-b]llo", "hbllo"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*d", "xxaxxbxxcxx"));
        assert!(m("stream:*", "stream:big"));
    }
}
