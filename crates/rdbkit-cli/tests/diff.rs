//! `diff` of a file with its own filtered or converted version reports
//! exactly what changed.

use std::collections::BTreeSet;

use crate::common::*;

fn lines(o: &std::process::Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn diff_reports_exactly_what_filter_and_convert_changed() {
    let dir = tmpdir("diff");
    let src = fixture_rdb("redis-8.2.3");

    // Identical files: exit 0.
    let o = run(&["diff", &src, &src]);
    assert_eq!(o.status.code(), Some(0));

    // Filtered: exactly the dropped keys are "only in A".
    let filtered = dir.join("filtered.rdb");
    let o = run(&[
        "filter",
        &src,
        "-o",
        filtered.to_str().unwrap(),
        "--exclude-match",
        "hash:*",
        "--quiet",
    ]);
    assert!(o.status.success());
    let o = run(&["diff", &src, filtered.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let keys = run(&["keys", &src, "--match", "hash:*"]);
    let dropped: BTreeSet<String> = lines(&keys)
        .iter()
        .skip(1)
        .map(|l| {
            format!(
                "only in A:    db {} {}",
                l.split('\t').next().unwrap(),
                l.rsplit('\t').next().unwrap()
            )
        })
        .collect();
    assert!(dropped.len() >= 5);
    let reported: BTreeSet<String> = lines(&o)
        .into_iter()
        .filter(|l| !l.starts_with("summary"))
        .collect();
    assert_eq!(reported, dropped);

    // Converted to RDB 9 (Redis 6): exactly the hashes whose field TTLs were
    // stripped differ; streams lose only metadata diff does not compare.
    let converted = dir.join("converted.rdb");
    let report = dir.join("report.json");
    let o = run(&[
        "convert",
        &src,
        "-o",
        converted.to_str().unwrap(),
        "--target",
        "redis-6.2",
        "--on-loss",
        "warn",
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let stripped: BTreeSet<String> = r["losses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["kind"] == "field-ttls")
        .map(|l| {
            format!(
                "value differs: db {} \"{}\" (hash)",
                l["db"],
                l["key"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(stripped.len(), 4);
    let o = run(&["diff", &src, converted.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let reported: BTreeSet<String> = lines(&o)
        .into_iter()
        .filter(|l| !l.starts_with("summary"))
        .collect();
    assert_eq!(reported, stripped);
    std::fs::remove_dir_all(dir).unwrap();
}
