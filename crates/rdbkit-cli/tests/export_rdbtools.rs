//! `export --format rdbtools-json` against redis-rdb-tools itself: rdbtools
//! (0.1.15, with python-lzf) is installed from PyPI into a venv under
//! `target/rdbtools-venv`, run on every fixture it can read (RDB <= 9), and
//! its output must equal ours, as parsed JSON and byte for byte.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

/// `target/rdbtools-venv/bin/rdb`, installing it on first use.
fn rdbtools() -> PathBuf {
    let venv = rdbkit_testkit::workspace_root().join("target/rdbtools-venv");
    let rdb = venv.join("bin/rdb");
    if rdb.exists() {
        return rdb;
    }
    let ok = |c: &mut Command| {
        let out = c.output().expect("run python3");
        assert!(
            out.status.success(),
            "installing rdbtools failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(Command::new("python3").arg("-m").arg("venv").arg(&venv));
    ok(Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "rdbtools==0.1.15",
        "python-lzf==0.2.6",
    ]));
    rdb
}

#[test]
fn rdbtools_json_equals_redis_rdb_tools() {
    let rdb = rdbtools();
    let mut compared = 0;
    for name in fixture_names() {
        let path = fixture_rdb(&name);
        let head = rdbkit_testkit::RdbHeader::read(std::path::Path::new(&path)).unwrap();
        // rdbtools reads RDB 1-9.
        if head.magic != "REDIS" || head.version > 9 {
            continue;
        }
        let theirs = Command::new(&rdb)
            .args(["--command", "json", &path])
            .output()
            .unwrap();
        assert!(
            theirs.status.success(),
            "{name}: rdbtools: {}",
            String::from_utf8_lossy(&theirs.stderr)
        );
        let ours = run(&["export", "--format", "rdbtools-json", &path]);
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let a: serde_json::Value = serde_json::from_slice(&ours.stdout).unwrap();
        let b: serde_json::Value = serde_json::from_slice(&theirs.stdout).unwrap();
        assert_eq!(a, b, "{name}: parsed JSON differs");
        assert!(ours.stdout == theirs.stdout, "{name}: bytes differ");
        compared += 1;
    }
    assert_eq!(compared, 5, "RDB 6-9 fixtures: 2.8, 3.2, 4.0, 5.0, 6.2");
}

/// Newer files (which rdbtools cannot read) come out in the same shape.
#[test]
fn rdbtools_json_shape_on_newer_files() {
    let out = run(&[
        "export",
        "--format",
        "rdbtools-json",
        &fixture_rdb("valkey-9.1.2"),
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dbs = v.as_array().unwrap();
    assert_eq!(dbs.len(), 3, "dbs 0, 1 and 15");
    assert_eq!(dbs[0]["stream:big"], serde_json::json!({}));
    assert!(dbs[0]["hash:small"].is_object());
    assert!(
        dbs[0]["zset:small"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s.is_string())
    );
    assert!(dbs[0]["list:small"].is_array());
}
