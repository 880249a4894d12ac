//! `rdbkit verify` against the real loaders' own check.
//!
//! Seeded mutations of every fixture (see `rdbkit_testkit::mutate`: a bit
//! flipped, a byte set, inserted, deleted or nudged, the checksum zeroed so
//! that the value checks decide) are given to `rdbkit verify` and to the
//! checker of the loader of the file's own version (`redis-check-rdb` /
//! `valkey-check-rdb`: the installed server binary run under that name),
//! and the two verdicts must be equal. The other installed loaders that read
//! the file are asked too; where they disagree with the file's own loader the
//! case is counted, not failed (`verify` follows the file's own version).
//!
//! One rule the checkers cannot see: a key that appears twice. The checker
//! loads no database, so it never finds the repeat, while the server
//! refuses the file ("Duplicated key found in RDB file"). `verify` follows
//! the server; such a case is confirmed by starting the real server on it.
//!
//! The same cases are the oracle for conversions: a mutated file that its
//! own loader accepts is converted (`--on-loss warn`) for every installed
//! server, and that server's checker must accept the output.
//!
//! `RDBKIT_DIFF_CASES` (default 300) and `RDBKIT_DIFF_SEED` (default 1) set
//! the run; `RDBKIT_DIFF_CONVERT` (default 40) how many accepted cases are
//! also converted. Every case is reproducible from its seed and index, and a
//! case that disagrees is kept under `target/differential/` for a look.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rdbkit_testkit::mutate::{Mutation, Rng, mutate, structure_points};
use rdbkit_testkit::{LoaderVerdict, RdbHeader, Server, ServerKind};

use crate::common::*;

/// The loader `verify` follows for a file of this header: the newest
/// installed release line that writes that version.
fn own_loader(h: &RdbHeader) -> ServerKind {
    match (h.magic.as_str(), h.version) {
        ("VALKEY", _) => ServerKind::Valkey91,
        (_, 0..=9) => ServerKind::Redis62,
        (_, 10) => ServerKind::Redis70,
        // Redis 7.2 writes 11 too, but is not installable here; Valkey 8.0
        // and 8.1 write it.
        (_, 11) => ServerKind::Valkey81,
        _ => ServerKind::Redis82,
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `rdbkit verify`'s verdict: `Ok(true)` sound, `Ok(false)` damaged, and
/// anything else (a usage or I/O exit, a crash) is a bug of its own.
fn rdbkit_verdict(path: &Path) -> Result<(bool, String), String> {
    let out = run(&["verify", &path.to_string_lossy()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok((true, text)),
        Some(3) => Ok((false, text)),
        _ => Err(format!("verify exited {}: {text}", out.status)),
    }
}

struct Fixture {
    name: String,
    data: Vec<u8>,
    points: Vec<u64>,
    header: RdbHeader,
}

fn fixtures() -> Vec<Fixture> {
    fixture_names()
        .into_iter()
        .map(|name| {
            let data = std::fs::read(fixture_rdb(&name)).unwrap();
            let points = structure_points(&data);
            let header = RdbHeader::parse(&data).unwrap();
            Fixture {
                name,
                data,
                points,
                header,
            }
        })
        .collect()
}

/// One case's outcome.
struct Outcome {
    fixture: String,
    mutation: Mutation,
    rdbkit: bool,
    rdbkit_text: String,
    own: (ServerKind, LoaderVerdict),
    others_disagree: Vec<(ServerKind, LoaderVerdict)>,
    conversions: Vec<String>,
    kept: Option<PathBuf>,
    /// The checker accepted a repeated key that the server refused.
    duplicate_confirmed: bool,
}

fn keep_dir() -> PathBuf {
    rdbkit_testkit::workspace_root()
        .join("target")
        .join("differential")
}

fn run_case(
    fx: &Fixture,
    seed: u64,
    index: u64,
    convert: bool,
    dir: &Path,
) -> Result<Outcome, String> {
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01b3) ^ index);
    let (data, mutation) = mutate(&fx.data, &fx.points, &mut rng);
    let path = dir.join(format!("case-{index}.rdb"));
    std::fs::write(&path, &data).map_err(|e| e.to_string())?;
    let own = own_loader(&fx.header);
    let own_verdict = own.check_rdb(&path)?;
    let (rdbkit, rdbkit_text) = rdbkit_verdict(&path)?;
    let mut own_verdict = own_verdict;
    let mut duplicate_confirmed = false;
    if !rdbkit
        && own_verdict.ok
        && rdbkit_text.contains("duplicate key")
        && let Err(e) = Server::start(own, Some(&path))
    {
        duplicate_confirmed = true;
        own_verdict = LoaderVerdict {
            ok: false,
            offset: None,
            reason: format!("the server refuses it: {}", e.reason),
        };
    }
    let mut others_disagree = Vec::new();
    for kind in ServerKind::ALL {
        if kind != own && kind.can_load(&fx.header) {
            let v = kind.check_rdb(&path)?;
            if v.ok != own_verdict.ok {
                others_disagree.push((kind, v));
            }
        }
    }
    let mut conversions = Vec::new();
    if convert && own_verdict.ok {
        for kind in ServerKind::ALL {
            let target = kind.target_name();
            let out = dir.join(format!("case-{index}-{target}.rdb"));
            let o = run(&[
                "convert",
                &path.to_string_lossy(),
                "-o",
                &out.to_string_lossy(),
                "--target",
                target,
                "--on-loss",
                "warn",
            ]);
            if !o.status.success() {
                conversions.push(format!(
                    "convert --target {target} failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
                continue;
            }
            let v = kind.check_rdb(&out)?;
            if !v.ok {
                conversions.push(format!(
                    "{kind} ({}) refuses the --target {target} output: {v}",
                    kind.checker_name()
                ));
            }
            let _ = std::fs::remove_file(&out);
        }
    }
    let kept = if rdbkit != own_verdict.ok || !conversions.is_empty() {
        let keep = keep_dir();
        std::fs::create_dir_all(&keep).map_err(|e| e.to_string())?;
        let p = keep.join(format!("seed{seed}-case{index}-{}.rdb", fx.name));
        std::fs::copy(&path, &p).map_err(|e| e.to_string())?;
        Some(p)
    } else {
        None
    };
    let _ = std::fs::remove_file(&path);
    Ok(Outcome {
        fixture: fx.name.clone(),
        mutation,
        rdbkit,
        rdbkit_text,
        own: (own, own_verdict),
        others_disagree,
        conversions,
        kept,
        duplicate_confirmed,
    })
}

#[test]
fn verify_agrees_with_the_real_loaders_on_mutated_fixtures() {
    let cases = env_num("RDBKIT_DIFF_CASES", 300);
    let seed = env_num("RDBKIT_DIFF_SEED", 1);
    let convert_cases = env_num("RDBKIT_DIFF_CONVERT", 40) as usize;
    let fixtures = fixtures();
    let dir = tmpdir("differential");
    let next = AtomicUsize::new(0);
    let converted = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if i >= cases {
                        break;
                    }
                    // The fixture comes from the case's own generator too.
                    let fx = &fixtures
                        [(Rng::new(seed ^ (i << 20)).below(fixtures.len() as u64)) as usize];
                    // Conversions for the first accepted cases only (they
                    // cost six conversions and six checks each).
                    let convert = converted.load(Ordering::Relaxed) < convert_cases;
                    match run_case(fx, seed, i, convert, &dir) {
                        Ok(o) => {
                            if convert && o.own.1.ok {
                                converted.fetch_add(1, Ordering::Relaxed);
                            }
                            outcomes.lock().unwrap().push(o);
                        }
                        Err(e) => errors.lock().unwrap().push(format!("case {i}: {e}")),
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    let errors = errors.into_inner().unwrap();
    assert!(
        errors.is_empty(),
        "cases that could not run:\n{}",
        errors.join("\n")
    );
    let outcomes = outcomes.into_inner().unwrap();
    assert_eq!(outcomes.len() as u64, cases);

    // Counts per mutation class: agree / rdbkit accepts what the loader
    // refuses / rdbkit refuses what the loader accepts.
    let mut table: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    let mut loaded = 0;
    let mut duplicates = 0;
    let mut loaders_disagree: BTreeMap<String, u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for o in &outcomes {
        let row = table.entry(o.mutation.class()).or_default();
        let col = match (o.rdbkit, o.own.1.ok) {
            (a, b) if a == b => 0,
            (true, false) => 1,
            _ => 2,
        };
        row[col] += 1;
        loaded += u64::from(o.own.1.ok);
        duplicates += u64::from(o.duplicate_confirmed);
        for (kind, _) in &o.others_disagree {
            *loaders_disagree
                .entry(format!("{} vs {kind}", o.own.0))
                .or_default() += 1;
        }
        if col != 0 {
            failures.push(format!(
                "{} {}: rdbkit says {}, {} says {}\n  rdbkit: {}\n  kept: {}",
                o.fixture,
                o.mutation,
                if o.rdbkit { "sound" } else { "damaged" },
                o.own.0,
                o.own.1,
                o.rdbkit_text.trim().replace('\n', " "),
                o.kept
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
            ));
        }
        for c in &o.conversions {
            failures.push(format!(
                "{} {} (loads on {}): {c}\n  kept: {}",
                o.fixture,
                o.mutation,
                o.own.0,
                o.kept
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string()),
            ));
        }
    }
    eprintln!(
        "loader differential, seed {seed}, {cases} cases ({loaded} load on the file's own loader, {} of them converted for every server):",
        converted.load(Ordering::Relaxed)
    );
    eprintln!(
        "  {:<10} {:>8} {:>16} {:>16}",
        "mutation", "agree", "rdbkit accepts", "rdbkit refuses"
    );
    for (class, [a, b, c]) in &table {
        eprintln!("  {class:<10} {a:>8} {b:>16} {c:>16}");
    }
    eprintln!(
        "  (of the agreements, {duplicates} repeated keys the checker cannot see and the server refused)"
    );
    for (pair, n) in &loaders_disagree {
        eprintln!("  loaders disagree ({pair}): {n}");
    }
    assert!(
        failures.is_empty(),
        "{} disagreements with the real loaders:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
