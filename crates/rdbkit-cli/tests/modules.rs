//! Module data (issue 19): RedisJSON documents decoded for export, analyze
//! and `--modules json-as-string`, and module data the target cannot load
//! named by the preflight and refused by the rewrites. These tests build
//! their files byte by byte (every RedisJSON encoding, broken ones too);
//! `modules_servers.rs` proves the same on Redis Stack's own snapshots.

use std::path::{Path, PathBuf};

use rdbkit_parser::format::{RDB_TYPE_MODULE_2, RDB_TYPE_STRING};
use rdbkit_testkit::build::{self, ModItem};
use serde_json::Value;

use crate::common::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Every command of a RESP stream, with its arguments.
fn commands(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
    fn line<'a>(b: &mut &'a [u8]) -> &'a [u8] {
        let i = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let l = &b[..i];
        *b = &b[i + 2..];
        l
    }
    let num = |l: &[u8]| -> usize { std::str::from_utf8(&l[1..]).unwrap().parse().unwrap() };
    let mut out = Vec::new();
    while !b.is_empty() {
        let n = num(line(&mut b));
        let mut args = Vec::new();
        for _ in 0..n {
            let len = num(line(&mut b));
            args.push(b[..len].to_vec());
            b = &b[len + 2..];
        }
        out.push(args);
    }
    out
}

/// An expiry prefix (`EXPIRETIME_MS`) then a key record.
fn expiring(ms: i64, record: Vec<u8>) -> Vec<u8> {
    let mut v = vec![0xFC];
    v.extend_from_slice(&ms.to_le_bytes());
    v.extend(record);
    v
}

const DOC3: &str = r#"{"name":"caf\u00e9 \ud83d\ude00","n":[9007199254740993,-0,1e308,0.1],"t":true,"f":false,"z":null,"o":{},"a":[]}"#;
const DOC2: &str = r#"[1,"two",{"three":3}]"#;
/// Far in the future, so that no server drops the key.
const TTL: i64 = 4_102_444_800_000;

/// A file with a JSON document in each RedisJSON encoding (3, 2 with and
/// without its index hint, 0), root scalars, a Bloom filter value, a
/// module AUX record, a plain string, and a TTL on one document.
fn module_file(dir: &Path) -> PathBuf {
    let enc0 = build::module_value(
        "ReJSON-RL",
        0,
        &[
            ModItem::Uint(0x20),
            ModItem::Uint(2),
            ModItem::Uint(0x80),
            ModItem::Str(b"k"),
            ModItem::Uint(0x40),
            ModItem::Uint(3),
            ModItem::Uint(0x8),
            ModItem::Sint(-5),
            ModItem::Uint(0x4),
            ModItem::Double(2.5),
            ModItem::Uint(0x10),
            ModItem::Str(b"0"),
            ModItem::Uint(0x80),
            ModItem::Str(b"s"),
            ModItem::Uint(0x2),
            ModItem::Str("\"q\"\n\u{e9}".as_bytes()),
        ],
    );
    let records = vec![
        expiring(
            TTL,
            build::entry(
                RDB_TYPE_MODULE_2.0,
                b"json:3",
                &build::rejson_value(DOC3.as_bytes()),
            ),
        ),
        build::entry(
            RDB_TYPE_MODULE_2.0,
            b"json:2",
            &build::module_value(
                "ReJSON-RL",
                2,
                &[ModItem::Str(DOC2.as_bytes()), ModItem::Uint(0)],
            ),
        ),
        build::entry(
            RDB_TYPE_MODULE_2.0,
            b"json:2hint",
            &build::module_value(
                "ReJSON-RL",
                2,
                &[
                    ModItem::Str(b"\"just a string\""),
                    ModItem::Uint(1),
                    ModItem::Str(b"key"),
                    ModItem::Str(b"idx"),
                ],
            ),
        ),
        build::entry(RDB_TYPE_MODULE_2.0, b"json:0", &enc0),
        build::entry(
            RDB_TYPE_MODULE_2.0,
            b"json:null",
            &build::rejson_value(b" null "),
        ),
        build::entry(
            RDB_TYPE_MODULE_2.0,
            b"bloom",
            &build::module_value("MBbloom--", 4, &[ModItem::Uint(7), ModItem::Str(b"bits")]),
        ),
        build::entry(RDB_TYPE_STRING.0, b"plain", &build::string(b"v")),
        build::module_aux("ft_index0", 1, &[ModItem::Uint(0)]),
    ];
    let f = dir.join("modules.rdb");
    std::fs::write(&f, build::file(b"REDIS0011", &records)).unwrap();
    f
}

/// The JSON documents of [`module_file`], parsed, by key.
fn expected_documents() -> Vec<(&'static str, Value)> {
    let j = |s: &str| serde_json::from_str::<Value>(s).unwrap();
    vec![
        ("json:3", j(DOC3)),
        ("json:2", j(DOC2)),
        ("json:2hint", j("\"just a string\"")),
        ("json:0", j(r#"{"k":[-5,2.5,false],"s":"\"q\"\n\u00e9"}"#)),
        ("json:null", Value::Null),
    ]
}

fn jsonl(path: &Path) -> Vec<Value> {
    let o = run(&["export", p(path), "--format", "jsonl"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn export_gives_json_documents_as_themselves() {
    let dir = tmpdir("modules-export");
    let f = module_file(&dir);
    let lines = jsonl(&f);
    for (key, doc) in expected_documents() {
        let l = lines.iter().find(|l| l["key"] == key).unwrap();
        assert_eq!(l["type"], "json", "{key}");
        assert_eq!(l["value"], doc, "{key}");
    }
    let j3 = lines.iter().find(|l| l["key"] == "json:3").unwrap();
    assert_eq!(j3["expire_ms"], TTL);
    // Other module values stay opaque, with their module's name.
    let bloom = lines.iter().find(|l| l["key"] == "bloom").unwrap();
    assert_eq!(bloom["type"], "module");
    assert_eq!(bloom["value"]["module"], "MBbloom--");
    assert!(bloom["value"].get("not_decoded").is_none());
    // The one document has the same values (and is one JSON document).
    let o = run(&["export", p(&f), "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let keys = doc["dbs"]["0"].as_array().unwrap();
    for (key, want) in expected_documents() {
        let e = keys.iter().find(|e| e["key"] == key).unwrap();
        assert_eq!(e["value"], want, "{key}");
    }
    // From stdin (the sequential exporter): the same lines.
    let o = run_stdin(
        &["export", "-", "--format", "jsonl"],
        &std::fs::read(&f).unwrap(),
    );
    let again: Vec<Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(again, lines);
}

/// RedisJSON values that do not decode: kept opaque with the reason, and
/// named on stderr; convert --modules json-as-string drops them, reported.
#[test]
fn undecodable_json_stays_opaque_and_is_reported() {
    let dir = tmpdir("modules-undecodable");
    let bad = [
        (&b"json:badtext"[..], build::rejson_value(b"{\"a\":")),
        (
            b"json:encver1",
            build::module_value("ReJSON-RL", 1, &[ModItem::Str(b"{}")]),
        ),
        (
            b"json:extra",
            build::module_value("ReJSON-RL", 3, &[ModItem::Str(b"{}"), ModItem::Uint(1)]),
        ),
    ];
    let mut records: Vec<Vec<u8>> = bad
        .iter()
        .map(|(k, v)| build::entry(RDB_TYPE_MODULE_2.0, k, v))
        .collect();
    records.push(build::entry(
        RDB_TYPE_MODULE_2.0,
        b"json:ok",
        &build::rejson_value(b"[1]"),
    ));
    let f = dir.join("bad.rdb");
    std::fs::write(&f, build::file(b"REDIS0011", &records)).unwrap();

    let o = run(&["export", p(&f), "--format", "jsonl"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("3 RedisJSON values not decoded"), "{err}");
    assert!(err.contains("json:badtext"), "{err}");
    for l in text(&o.stdout).lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        if v["key"] == "json:ok" {
            assert_eq!(v["value"], serde_json::json!([1]));
            continue;
        }
        assert_eq!(v["type"], "module", "{l}");
        let why = v["value"]["not_decoded"].as_str().unwrap();
        assert!(!why.is_empty(), "{l}");
        assert!(v["value"]["raw"]["base64"].is_string(), "{l}");
    }

    let out = dir.join("out.rdb");
    let o = run(&[
        "convert",
        p(&f),
        "-o",
        p(&out),
        "--target",
        "redis-6.2",
        "--modules",
        "json-as-string",
        "--on-loss",
        "warn",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("not decoded"), "{err}");
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 1, "only the decodable document is left");
    assert_eq!(lines[0]["type"], "string");
    assert_eq!(lines[0]["value"], "[1]");
}

#[test]
fn json_as_string_writes_the_text_and_drops_other_module_data() {
    let dir = tmpdir("modules-as-string");
    let f = module_file(&dir);
    let out = dir.join("out.rdb");
    let base = [
        "convert",
        p(&f),
        "-o",
        p(&out),
        "--target",
        "azure-premium",
        "--modules",
        "json-as-string",
    ];
    // A loss like any other: refused without --on-loss warn, nothing written.
    let o = run(&base);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("module-type"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());

    let report = dir.join("report.json");
    let mut args = base.to_vec();
    args.extend(["--on-loss", "warn", "--report", p(&report)]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let lines = jsonl(&out);
    for (key, doc) in expected_documents() {
        let l = lines.iter().find(|l| l["key"] == key).unwrap();
        assert_eq!(l["type"], "string", "{key}");
        let s = l["value"].as_str().unwrap();
        let parsed: Value = serde_json::from_str(s).unwrap_or_else(|e| panic!("{key}: {e}: {s}"));
        assert_eq!(parsed, doc, "{key}");
    }
    let j3 = lines.iter().find(|l| l["key"] == "json:3").unwrap();
    assert_eq!(j3["expire_ms"], TTL, "the TTL is kept");
    assert!(lines.iter().any(|l| l["key"] == "plain"));
    assert!(
        !lines.iter().any(|l| l["key"] == "bloom"),
        "the Bloom filter is dropped"
    );
    // Nothing of any module is left: no module value, no module AUX.
    let o = run(&["info", p(&out), "--json"]);
    let info: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["version"], 9);
    let o = run(&["verify", p(&out), "--target", "azure-premium", "--json"]);
    let pre: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pre["modules"], serde_json::json!([]), "{pre}");
    assert_eq!(o.status.code(), Some(0), "{pre}");
    // The report names each document, the Bloom filter and the AUX record.
    let r: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let text_r = r.to_string();
    assert_eq!(r["loss_counts"]["module-type"], 5, "{text_r}");
    assert_eq!(r["loss_counts"]["module-value"], 1, "{text_r}");
    assert_eq!(r["loss_counts"]["module-aux"], 1, "{text_r}");
}

#[test]
fn preflight_names_module_data_the_target_cannot_load() {
    let dir = tmpdir("modules-preflight");
    let f = module_file(&dir);
    let o = run(&["verify", p(&f), "--target", "azure-premium"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let out = text(&o.stdout);
    for want in [
        "ReJSON-RL (RedisJSON): 5 values",
        "MBbloom-- (RedisBloom): 1 value",
        "ft_index0 (RediSearch): 1 AUX record",
        "--modules json-as-string",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let o = run(&["verify", p(&f), "--target", "azure-premium", "--json"]);
    let pre: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pre["loads_as_is"], false);
    assert_eq!(pre["missing_modules"].as_array().unwrap().len(), 3, "{pre}");
    // A target with the modules loads it as it is (RDB 11 on Redis Stack 7.2).
    let o = run(&["verify", p(&f), "--target", "redis-stack-7.2", "--json"]);
    let pre: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pre["missing_modules"], serde_json::json!([]), "{pre}");
    assert_eq!(pre["modules"].as_array().unwrap().len(), 3, "{pre}");
    assert_eq!(o.status.code(), Some(0), "{pre}");
    // With json-as-string nothing is missing: the output holds no module data.
    let o = run(&[
        "verify",
        p(&f),
        "--target",
        "azure-premium",
        "--modules",
        "json-as-string",
        "--json",
    ]);
    let pre: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pre["missing_modules"], serde_json::json!([]), "{pre}");
}

#[test]
fn rewrites_refuse_module_data_the_named_target_cannot_load() {
    let dir = tmpdir("modules-refuse");
    let f = module_file(&dir);
    let out = dir.join("out.rdb");
    for cmd in ["convert", "filter"] {
        let o = run(&[cmd, p(&f), "-o", p(&out), "--target", "azure-premium"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(err.contains("ReJSON-RL (RedisJSON)"), "{err}");
        assert!(err.contains("nothing was written"), "{err}");
        assert!(!out.exists(), "{cmd}");
    }
    // A bare RDB version names no modules: nothing to refuse.
    let o = run(&["convert", p(&f), "-o", p(&out), "--rdb-version", "9"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A target with them takes the file as it is.
    let o = run(&[
        "convert",
        p(&f),
        "-o",
        p(&out),
        "--target",
        "azure-managed-redis",
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn resp_writes_json_set_for_targets_with_redisjson() {
    let dir = tmpdir("modules-resp");
    let f = module_file(&dir);
    let o = run(&[
        "export",
        p(&f),
        "--format",
        "resp",
        "--target",
        "redis-stack-7.4",
        "--on-loss",
        "warn",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let cmds = commands(&o.stdout);
    let sets: Vec<&Vec<Vec<u8>>> = cmds.iter().filter(|c| c[0] == b"JSON.SET").collect();
    assert_eq!(sets.len(), 5);
    for (key, doc) in expected_documents() {
        let c = sets.iter().find(|c| c[1] == key.as_bytes()).unwrap();
        assert_eq!(c[2], b"$");
        assert_eq!(
            serde_json::from_slice::<Value>(&c[3]).unwrap(),
            doc,
            "{key}"
        );
    }
    assert!(
        cmds.iter()
            .any(|c| c[0] == b"PEXPIREAT" && c[1] == b"json:3")
    );
    // A target without RedisJSON: skipped, named, and refused by default.
    let o = run(&["export", p(&f), "--format", "resp", "--target", "redis-7.0"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let o = run(&[
        "export",
        p(&f),
        "--format",
        "resp",
        "--target",
        "redis-7.0",
        "--on-loss",
        "warn",
    ]);
    assert!(o.status.success());
    let cmds = commands(&o.stdout);
    assert!(!cmds.iter().any(|c| c[0] == b"JSON.SET"));
    assert!(
        text(&o.stderr).contains("6 module values skipped"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn analyze_counts_json_documents_by_root() {
    let dir = tmpdir("modules-analyze");
    let f = module_file(&dir);
    let o = run(&["analyze", p(&f), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let a: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        a["json_documents"],
        serde_json::json!({"object": 2, "array": 1, "string": 1, "null": 1})
    );
    assert_eq!(a["json_not_decoded"], 0);
    let o = run(&["analyze", p(&f)]);
    let t = text(&o.stdout);
    assert!(t.contains("JSON documents (RedisJSON), by root:"), "{t}");
}
