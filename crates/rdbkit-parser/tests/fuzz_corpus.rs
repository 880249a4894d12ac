//! Replay the fuzz corpus on stable: every file in `fuzz/corpus/<target>/`
//! and `fuzz/artifacts/<target>/` goes through the same checks as the
//! libFuzzer target `<target>` (the shared `fuzz/src/checks.rs`), so CI runs
//! every seed and every past crash as an ordinary test.

use std::path::{Path, PathBuf};

#[path = "../../../fuzz/src/checks.rs"]
pub(crate) mod checks;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `dir/<target>/`, as (target, path).
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return out;
    };
    for t in targets {
        let t = t.unwrap().path();
        if !t.is_dir() {
            continue;
        }
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&t).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() && !f.file_name().unwrap().to_string_lossy().starts_with('.') {
                out.push((name.clone(), f));
            }
        }
    }
    out.sort();
    out
}

fn replay(dir: &str) -> usize {
    let files = inputs(&fuzz_dir().join(dir));
    for (target, path) in &files {
        // The writer round trip and the conversion need the writer crate:
        // its own tests (crates/rdbkit-writer/tests/roundtrip_corpus.rs,
        // convert_corpus.rs) replay those corpora.
        if target == "roundtrip" || target == "convert" {
            continue;
        }
        let data = std::fs::read(path).unwrap();
        let result = std::panic::catch_unwind(|| checks::run_target(target, &data));
        match result {
            Ok(true) => {}
            Ok(false) => panic!("{}: no fuzz target named {target}", path.display()),
            Err(_) => panic!(
                "{}: the {target} check failed (replay it with the fuzz target)",
                path.display()
            ),
        }
    }
    files.len()
}

#[test]
fn corpus_replays_clean() {
    let n = replay("corpus");
    assert!(n > 100, "only {n} corpus files found under fuzz/corpus");
}

#[test]
fn artifacts_replay_clean() {
    // Crashes found by fuzzing are kept here once fixed.
    replay("artifacts");
}

#[test]
fn every_target_has_a_corpus() {
    for t in checks::TARGETS {
        let dir = fuzz_dir().join("corpus").join(t);
        let n = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert!(n > 0, "no seeds in {}", dir.display());
    }
}

#[test]
fn fixtures_pass_the_file_checks() {
    for (name, data) in crate::fixtures::fixtures() {
        let r = std::panic::catch_unwind(|| {
            checks::parse_file(&data);
            let mut seeded = vec![0x47];
            seeded.extend_from_slice(&data);
            checks::streaming_differential(&seeded);
        });
        assert!(r.is_ok(), "{name}: fixture fails the fuzz checks");
    }
}
