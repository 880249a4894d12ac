//! The exported logical contents of every real fixture equal its JSON: every
//! db, key, type, value, expiry, field TTL, stream group/PEL/consumer and
//! function library, including the keys the JSON lists as already expired.

use serde_json::{Map, Value};

use crate::common::*;

/// The fixture's expected contents as a parser sees them: `dbs` plus `expired`.
fn expected_with_expired(name: &str) -> Value {
    let path = fixtures_dir().join(name).join("types.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let expired = doc["expired"].as_object().cloned().unwrap_or_default();
    let dbs = doc["dbs"].as_object_mut().unwrap();
    for (db, entries) in expired {
        let list = dbs.entry(db).or_insert_with(|| Value::Array(vec![]));
        list.as_array_mut()
            .unwrap()
            .extend(entries.as_array().unwrap().iter().cloned());
    }
    doc
}

fn export_json(name: &str) -> Value {
    let out = run(&["export", "--format", "json", &fixture_rdb(name)]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{name}: bad JSON: {e}"))
}

#[test]
fn export_json_equals_fixture_contents() {
    for name in fixture_names() {
        let expected = expected_with_expired(&name);
        let mut actual = export_json(&name);
        // Servers < 7.0 have no FUNCTION command: the fixture says null.
        if expected["functions"].is_null() {
            assert_eq!(actual["functions"], Value::Array(vec![]), "{name}");
        } else {
            assert!(
                !actual["functions"].as_array().unwrap().is_empty(),
                "{name}: functions missing"
            );
        }
        let diff = rdbkit_testkit::diff_logical(&expected, &actual);
        assert!(diff.is_empty(), "{name}:\n{}", diff.join("\n"));
        // The diff must be able to fail: drop one key and see it reported.
        let db0 = actual["dbs"]["0"].as_array_mut().unwrap();
        db0.pop();
        assert!(
            !rdbkit_testkit::diff_logical(&expected, &actual).is_empty(),
            "{name}"
        );
    }
}

#[test]
fn jsonl_has_one_object_per_key_with_db() {
    for name in fixture_names() {
        let out = run(&["export", "--format", "jsonl", &fixture_rdb(name.as_str())]);
        assert!(out.status.success());
        let expected = expected_with_expired(&name);
        let mut dbs: Map<String, Value> = Map::new();
        for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut v: Value = serde_json::from_slice(line).unwrap();
            let db = v.as_object_mut().unwrap().remove("db").unwrap().to_string();
            dbs.entry(db)
                .or_insert_with(|| Value::Array(vec![]))
                .as_array_mut()
                .unwrap()
                .push(v);
        }
        let actual = serde_json::json!({"functions": null, "dbs": dbs});
        let diff = rdbkit_testkit::diff_logical(&expected, &actual);
        assert!(diff.is_empty(), "{name}:\n{}", diff.join("\n"));
    }
}

#[test]
fn selection_flags() {
    let f = fixture_rdb("redis-8.2.3");
    let out = run(&["export", &f, "--match", "hfe:*", "--type", "hash"]);
    let lines: Vec<Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert!(lines.len() >= 4);
    assert!(
        lines
            .iter()
            .all(|v| v["key"].as_str().unwrap().starts_with("hfe:"))
    );
    let out = run(&["keys", &f, "--db", "15"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1 + 3, "{text}");
    assert!(text.lines().skip(1).all(|l| l.starts_with("15\t")));
    let out = run(&["keys", &f, "--regex", "^stream:(big|simple)$"]);
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 3);
}

#[test]
fn stdin_export_equals_file_export() {
    for name in ["redis-2.8.24", "redis-7.0.15", "valkey-9.1.2"] {
        let path = fixture_rdb(name);
        let a = run(&["export", &path]);
        let b = run_stdin(&["export", "-"], &std::fs::read(&path).unwrap());
        assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
        assert_eq!(a.stdout, b.stdout, "{name}");
    }
}
