//! `rdbkit analyze`: totals, top keys, prefixes, TTLs, bounded prefix table.

use serde_json::Value;

use crate::common::*;

fn analyze(args: &[&str]) -> Value {
    let out = run(&[&["analyze", "--json"], args].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn analyze_totals_and_tops() {
    let f = fixture_rdb("redis-8.2.3");
    let v = analyze(&[&f, "--top", "3"]);
    let keys = crate::export_fixtures_expected_count("redis-8.2.3");
    assert_eq!(v["total"]["keys"].as_u64().unwrap(), keys);
    let per_db: u64 = v["dbs"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["keys"].as_u64().unwrap())
        .sum();
    assert_eq!(per_db, keys);
    let per_type: u64 = v["types"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(per_type, v["total"]["bytes"].as_u64().unwrap());
    assert_eq!(v["top_by_bytes"].as_array().unwrap().len(), 3);
    assert_eq!(v["top_by_bytes"][0]["key"], "str:lzf:big");
    assert_eq!(v["top_by_elements"][0]["key"], "list:compressed");
    assert_eq!(v["top_by_elements"][0]["elements"], 2000);
    assert_eq!(v["prefixes"].as_array().unwrap().len(), 2);
    assert_eq!(v["prefixes"][0][0]["prefix"], "str:");
    // Four keys in the file are past their expiry; ten have a far-future one.
    assert_eq!(v["ttl"]["expired"], 4);
    assert_eq!(v["ttl"]["ge_1y"], 10);
    let enc: u64 = v["encodings"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(enc, keys);
}

#[test]
fn analyze_bounded_prefixes_selection_and_stdin() {
    let f = fixture_rdb("redis-7.0.15");
    let v = analyze(&[&f, "--max-prefixes", "1", "--depth", "1"]);
    assert_eq!(v["prefixes"][0].as_array().unwrap().len(), 1);
    assert!(v["untracked_prefix_keys"].as_u64().unwrap() > 0);
    let v = analyze(&[&f, "--type", "hash", "--delimiter", ":"]);
    assert_eq!(v["types"].as_object().unwrap().len(), 1);
    let data = std::fs::read(&f).unwrap();
    let a = run(&["analyze", "--json", &f]);
    let b = run_stdin(&["analyze", "--json", "-"], &data);
    assert!(b.status.success());
    // Same numbers (TTL buckets may move with the clock only at bucket edges).
    let (a, b): (Value, Value) = (
        serde_json::from_slice(&a.stdout).unwrap(),
        serde_json::from_slice(&b.stdout).unwrap(),
    );
    assert_eq!(a["total"], b["total"]);
    assert_eq!(a["top_by_bytes"], b["top_by_bytes"]);
    let text = run(&["analyze", &f]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("biggest keys by estimated memory:"), "{text}");
    assert!(text.contains("key prefixes, depth 2"), "{text}");
}
