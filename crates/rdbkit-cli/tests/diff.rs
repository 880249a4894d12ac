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
    // stripped differ in value; every stream loses its RDB 10 counters (RDB 9
    // stores none) and the function library is gone.
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
        .map(|l| format!("db {} \"{}\"", l["db"], l["key"].as_str().unwrap()))
        .collect();
    assert_eq!(stripped.len(), 4);
    let o = run(&["diff", &src, converted.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = lines(&o);
    let named = |prefix: &str| -> BTreeSet<String> {
        out.iter()
            .filter_map(|l| l.strip_prefix(prefix))
            .map(|l| l.split(" (").next().unwrap().to_string())
            .collect()
    };
    assert_eq!(named("value differs: "), stripped);
    assert_eq!(named("stream metadata differs: "), streams(&src));
    assert!(out.contains(&"function only in A: \"fixturelib\"".to_string()));
    assert_eq!(
        out.len(),
        stripped.len() + streams(&src).len() + 2,
        "{out:#?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `db N "key"` of every stream of a file.
fn streams(file: &str) -> BTreeSet<String> {
    let keys = run(&["keys", file, "--type", "stream"]);
    lines(&keys)
        .iter()
        .skip(1)
        .map(|l| {
            format!(
                "db {} {}",
                l.split('\t').next().unwrap(),
                l.rsplit('\t').next().unwrap()
            )
        })
        .collect()
}

fn convert(src: &str, out: &std::path::Path, target: &str) {
    let o = run(&[
        "convert",
        src,
        "-o",
        out.to_str().unwrap(),
        "--target",
        target,
        "--on-loss",
        "warn",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn diff_of_an_rdb9_conversion_names_the_lost_library_and_stream_counters() {
    let dir = tmpdir("diff-rdb9");
    let src = fixture_rdb("redis-8.2.3");
    let g = dir.join("azure.rdb");
    convert(&src, &g, "azure-premium");
    let o = run(&["diff", &src, g.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = lines(&o);
    for want in [
        "function only in A: \"fixturelib\"",
        "stream metadata differs: db 0 \"stream:groups\" (entries_added 60 vs none, \
         max_deleted_id 1600000000060-0 vs none, group \"g1\" entries_read 16 vs none)",
        "stream metadata differs: db 0 \"stream:emptied\" (entries_added 1 vs none, \
         max_deleted_id 5-1 vs none)",
        "stream metadata differs: db 15 \"db15:stream\" (entries_added 1 vs none, \
         max_deleted_id 0-0 vs none)",
    ] {
        assert!(out.iter().any(|l| l == want), "{want}\nnot in {out:#?}");
    }
    let summary = out.last().unwrap();
    assert!(
        summary.ends_with("; functions: 0 equal, 1 only in A, 0 only in B, 0 different"),
        "{summary}"
    );
    // The other way round, the library is only in B.
    let o = run(&["diff", g.to_str().unwrap(), &src]);
    assert_eq!(o.status.code(), Some(1));
    assert!(lines(&o).contains(&"function only in B: \"fixturelib\"".to_string()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn diff_names_a_changed_hash_field_and_gives_counts_from_stdin() {
    use rdbkit_testkit::build;
    let dir = tmpdir("diff-field");
    let src = fixture_rdb("redis-8.2.3");
    // hash:ints as the fixture holds it, but field "12" = "99".
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures_dir().join("redis-8.2.3/types.json")).unwrap(),
    )
    .unwrap();
    let fields = doc["dbs"]["0"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key"] == "hash:ints")
        .unwrap()["value"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(fields.len(), 12);
    let mut body = build::len(12);
    for f in &fields {
        let (name, value) = (f[0].as_str().unwrap(), f[1].as_str().unwrap());
        body.extend(build::string(name.as_bytes()));
        body.extend(build::string(if name == "12" {
            b"99"
        } else {
            value.as_bytes()
        }));
    }
    let patch = dir.join("patch.rdb");
    std::fs::write(
        &patch,
        build::file(b"REDIS0012", &[build::entry(4, b"hash:ints", &body)]),
    )
    .unwrap();
    let merged = dir.join("merged.rdb");
    let o = run(&[
        "merge",
        &src,
        patch.to_str().unwrap(),
        "-o",
        merged.to_str().unwrap(),
        "--on-duplicate",
        "keep-last",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let o = run(&["diff", &src, merged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        lines(&o)[0],
        "value differs: db 0 \"hash:ints\" (hash: 12 fields; field \"12\" \"36\" vs \"99\")"
    );
    // Stdin cannot be read twice: the counts only.
    let o = run_stdin(
        &["diff", "-", merged.to_str().unwrap()],
        &std::fs::read(&src).unwrap(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        lines(&o)[0],
        "value differs: db 0 \"hash:ints\" (hash: 12 fields)"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn diff_names_removed_field_ttls() {
    let dir = tmpdir("diff-ttl");
    let src = fixture_rdb("redis-8.2.3");
    let stripped = dir.join("stripped.rdb");
    convert(&src, &stripped, "redis-7.2");
    let o = run(&["diff", &src, stripped.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = lines(&o);
    let line = |key: &str| {
        out.iter()
            .find(|l| l.starts_with(&format!("value differs: db 0 \"{key}\" (")))
            .unwrap_or_else(|| panic!("{key} not in {out:#?}"))
    };
    assert_eq!(
        line("hfe:keyttl"),
        "value differs: db 0 \"hfe:keyttl\" (hash: 2 fields, 1 with TTLs vs 0; \
         field \"a\" ttl 4102444805000 vs none)"
    );
    let small = line("hfe:small");
    assert!(
        small.contains("(hash: 6 fields, 3 with TTLs vs 0; "),
        "{small}"
    );
    for (f, t) in [
        ("f1", 4102444800500u64),
        ("f2", 4102444800500),
        ("f3", 4102444801000),
    ] {
        assert!(
            small.contains(&format!("field \"{f}\" ttl {t} vs none")),
            "{small}"
        );
    }
    let big = line("hfe:big");
    assert!(
        big.contains("(hash: 200 fields, 40 with TTLs vs 0; "),
        "{big}"
    );
    assert!(big.ends_with(", and 37 more)"), "{big}");
    // RDB 11 keeps the library and the stream counters.
    assert_eq!(out.len(), 5, "{out:#?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn diff_json_has_the_documented_keys() {
    let dir = tmpdir("diff-json");
    let src = fixture_rdb("redis-8.2.3");
    let g = dir.join("azure.rdb");
    convert(&src, &g, "azure-premium");
    let o = run(&["diff", "--json", &src, g.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&doc), ["differences", "summary"]);
    let s = &doc["summary"];
    assert_eq!(
        keys(s),
        [
            "differ",
            "equal",
            "functions_differ",
            "functions_only_a",
            "functions_only_b",
            "functions_same",
            "only_a",
            "only_b",
            "same"
        ]
    );
    assert_eq!(s["equal"], false);
    assert_eq!(
        (s["differ"].as_u64(), s["functions_only_a"].as_u64()),
        (Some(11), Some(1))
    );
    let diffs = doc["differences"].as_array().unwrap();
    let of = |kind: &'static str| diffs.iter().filter(move |d| d["kind"] == kind);
    assert_eq!(diffs.len(), 4 + 7 + 1);
    let f: Vec<_> = of("function_only_a").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(keys(f[0]), ["kind", "library"]);
    assert_eq!(f[0]["library"], "fixturelib");
    for d in of("stream_meta") {
        assert_eq!(keys(d), ["changes", "db", "key", "kind"]);
        for c in d["changes"].as_array().unwrap() {
            let want: &[&str] = if c["field"] == "entries_read" {
                &["a", "b", "field", "group"]
            } else {
                &["a", "b", "field"]
            };
            assert_eq!(keys(c), want);
            assert!(c["b"].is_null(), "{c}");
        }
    }
    let groups = of("stream_meta")
        .find(|d| d["key"] == "stream:groups")
        .unwrap();
    assert_eq!(
        groups["changes"],
        serde_json::json!([
            {"field": "entries_added", "a": 60, "b": null},
            {"field": "max_deleted_id", "a": "1600000000060-0", "b": null},
            {"field": "entries_read", "group": "g1", "a": 16, "b": null},
        ])
    );
    for d in of("value") {
        assert_eq!(
            keys(d),
            [
                "a",
                "b",
                "db",
                "key",
                "kind",
                "members",
                "more_members",
                "type"
            ]
        );
        assert_eq!(d["type"], "hash");
        assert_eq!(d["b"]["field_ttls"], 0);
    }
    let keyttl = of("value").find(|d| d["key"] == "hfe:keyttl").unwrap();
    assert_eq!(
        keyttl["members"],
        serde_json::json!([{"at": "field", "name": "a", "change": "ttl", "a": 4102444805000u64, "b": null}])
    );
    assert_eq!(keyttl["a"], serde_json::json!({"len": 2, "field_ttls": 1}));

    // Equal files: no differences, exit 0.
    let o = run(&["diff", "--json", &src, &src]);
    assert_eq!(o.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["differences"], serde_json::json!([]));
    assert_eq!(doc["summary"]["equal"], true);
    assert_eq!(doc["summary"]["functions_same"], 1);
    std::fs::remove_dir_all(dir).unwrap();
}
