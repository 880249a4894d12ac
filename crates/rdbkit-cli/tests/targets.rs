//! One registry of target names: every command that takes `--target`
//! accepts every listed name and refuses an unknown one with the same
//! message.

use crate::common::*;

/// Each command with `--target`, as arguments before the target name.
fn commands(file: &str, dir: &str) -> Vec<Vec<String>> {
    let o = format!("{dir}/out.rdb");
    [
        vec!["verify", file],
        vec!["convert", file, "-o", &o, "--on-loss", "warn"],
        vec!["filter", file, "-o", &o, "--on-loss", "warn"],
        vec![
            "split",
            file,
            "--shards",
            "2",
            "--out-dir",
            dir,
            "--on-loss",
            "warn",
        ],
        vec![
            "merge",
            file,
            file,
            "-o",
            &o,
            "--on-loss",
            "warn",
            "--on-duplicate",
            "keep-first",
        ],
        vec!["export", file, "--format", "resp"],
        vec!["export", file, "--format", "resp", "--restore"],
        vec!["export", file, "--format", "csv"],
        vec!["analyze", file],
    ]
    .into_iter()
    .map(|c| c.into_iter().map(String::from).collect())
    .collect()
}

fn run_with(cmd: &[String], target: &str) -> std::process::Output {
    let mut args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    args.extend(["--target", target]);
    run(&args)
}

#[test]
fn every_command_takes_the_same_target_names() {
    let dir = tmpdir("targets");
    let d = dir.to_string_lossy().into_owned();
    let file = fixture_rdb("redis-6.2.14");
    for cmd in commands(&file, &d) {
        for t in rdbkit_writer::TARGETS {
            let out = run_with(&cmd, t.name);
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !err.contains("unknown target"),
                "{cmd:?} --target {}: {err}",
                t.name
            );
        }
        for bad in ["redis-9.9", "memcached-1.6", "redis-8"] {
            let out = run_with(&cmd, bad);
            assert_eq!(out.status.code(), Some(2), "{cmd:?} --target {bad}");
            let err = String::from_utf8_lossy(&out.stderr);
            let want = rdbkit_writer::unknown_target_message(bad);
            assert!(err.contains(&want), "{cmd:?} --target {bad}: {err}");
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
