//! Module data on real servers (issue 19), from the snapshot a real Redis
//! Stack 7.4.1 wrote (`fixtures/modules`): every rewrite loads back on a
//! server with the modules with the modules' own views equal (read with
//! `scripts/module_views.py`); `--modules json-as-string` outputs load on
//! servers without modules, where `GET` gives each document.

use std::path::{Path, PathBuf};

use rdbkit_testkit::{
    Server, ServerKind, diff_views, module_fixture_rdb, module_fixture_views, module_views,
};
use serde_json::Value;

use crate::common::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn rdbkit_ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "rdbkit {}: {}",
        args.join(" "),
        text(&o.stderr)
    );
}

/// Start `kind` with the Stack's modules on `rdb` and compare its views
/// with `want`.
fn assert_views(kind: ServerKind, rdb: &Path, want: &Value, what: &str) {
    let s = Server::start_with_modules(kind, Some(rdb), &[])
        .unwrap_or_else(|e| panic!("{what}: {kind} does not load it: {e}"));
    let got = module_views(&s).unwrap();
    let d = diff_views(want, &got);
    assert!(
        d.is_empty(),
        "{what} on {kind}: {} differences:\n{}",
        d.len(),
        d.join("\n")
    );
}

/// The fixture itself, as a control: loaded again, it holds its JSON.
/// A changed expectation is seen (the comparison can fail).
#[test]
fn the_fixture_holds_its_views() {
    let want = module_fixture_views().unwrap();
    assert_views(
        ServerKind::RedisStack74,
        &module_fixture_rdb(),
        &want,
        "the fixture",
    );
    let s = Server::start(ServerKind::RedisStack74, Some(&module_fixture_rdb())).unwrap();
    let got = module_views(&s).unwrap();
    let mut changed = want.clone();
    changed["dbs"]["0"]["json:nested"]["view"]["json"][0]["a"] = Value::Null;
    changed["dbs"]["0"]["bf:auto"]["view"]["exists"]["absent:1"] = Value::from(1);
    changed["indexes"]["idx:docs"]["num_docs"] = Value::from(29);
    assert_eq!(diff_views(&changed, &got).len(), 3);
}

/// filter, merge and convert outputs load on Redis Stack 7.4.1 with the
/// modules' views equal: the JSON documents, the filters, the time series
/// (samples, labels, rules), the search indexes.
#[test]
fn rewrites_load_on_redis_stack_with_equal_views() {
    let dir = tmpdir("modules-stack");
    let src = module_fixture_rdb();
    let want = module_fixture_views().unwrap();
    let out = |n: &str| -> PathBuf { dir.join(n) };

    let filtered = out("filter.rdb");
    rdbkit_ok(&["filter", p(&src), "-o", p(&filtered), "-q"]);
    assert_views(ServerKind::RedisStack74, &filtered, &want, "filter");

    // Converted for Redis Stack 7.2 (RDB 11) and re-encoded to RDB 12.
    for (name, args) in [
        ("convert-11.rdb", vec!["--target", "redis-stack-7.2"]),
        ("convert-12.rdb", vec!["--target", "redis-stack-7.4"]),
    ] {
        let f = out(name);
        let mut a = vec!["convert", p(&src), "-o", p(&f), "-q"];
        a.extend(args);
        rdbkit_ok(&a);
        assert_views(ServerKind::RedisStack74, &f, &want, name);
    }

    // Merged with a file of plain keys in another database.
    let other = out("other.rdb");
    let mut rec = vec![0xFE, 5, 0];
    rec.extend(rdbkit_testkit::build::string(b"merged:key"));
    rec.extend(rdbkit_testkit::build::string(b"v"));
    let mut bytes = b"REDIS0012".to_vec();
    bytes.extend(rec);
    bytes.push(0xFF);
    bytes.extend([0u8; 8]);
    std::fs::write(&other, bytes).unwrap();
    let merged = out("merge.rdb");
    rdbkit_ok(&["merge", p(&src), p(&other), "-o", p(&merged), "-q"]);
    let mut want_merged = want.clone();
    want_merged["dbs"]["5"] = serde_json::json!({
        "merged:key": {"type": "string", "pexpiretime": -1, "view": "v"}
    });
    assert_views(ServerKind::RedisStack74, &merged, &want_merged, "merge");

    // A selection: only the JSON documents and the time series.
    let some = out("some.rdb");
    rdbkit_ok(&[
        "filter",
        p(&src),
        "-o",
        p(&some),
        "-q",
        "--match",
        "json:*",
        "--match",
        "ts:*",
    ]);
    let mut want_some = want.clone();
    for db in want_some["dbs"].as_object_mut().unwrap().values_mut() {
        db.as_object_mut()
            .unwrap()
            .retain(|k, _| k.starts_with("json:") || k.starts_with("ts:"));
    }
    want_some["dbs"]
        .as_object_mut()
        .unwrap()
        .retain(|_, v| !v.as_object().unwrap().is_empty());
    // The indexes come with the module AUX data; they now index nothing.
    for ix in want_some["indexes"].as_object_mut().unwrap().values_mut() {
        ix["num_docs"] = Value::from(0);
    }
    assert_views(
        ServerKind::RedisStack74,
        &some,
        &want_some,
        "filter --match",
    );
}

/// The Stack's modules load into Redis 8.2.3 and Valkey 8.1.8 too: the
/// fixture's own file loads on Redis 8.2 (RDB 12) and its conversion to
/// RDB 11 on Valkey 8.1, with the views equal.
#[test]
fn module_data_converted_to_rdb_11_loads_on_valkey_with_the_modules() {
    let dir = tmpdir("modules-valkey");
    let src = module_fixture_rdb();
    let want = module_fixture_views().unwrap();
    assert_views(ServerKind::Redis82, &src, &want, "the fixture");
    let f = dir.join("for-valkey.rdb");
    // A plain valkey-8.1 target promises no modules, so it is refused ...
    let o = run(&["convert", p(&src), "-o", p(&f), "--target", "valkey-8.1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("ReJSON-RL (RedisJSON)"));
    assert!(!f.exists());
    // ... and the RDB version of a server that has them is written.
    rdbkit_ok(&["convert", p(&src), "-o", p(&f), "--rdb-version", "11", "-q"]);
    assert!(std::fs::read(&f).unwrap().starts_with(b"REDIS0011"));
    assert_views(ServerKind::Valkey81, &f, &want, "convert 12 -> 11");
}

/// `--modules json-as-string` for servers without modules: each loads the
/// output, `GET` of every RedisJSON key gives its document (compared as
/// parsed JSON with the fixture's `JSON.GET`), expiries are kept, the other
/// module keys are gone and the plain keys are intact.
#[test]
fn json_as_string_loads_on_servers_without_modules() {
    let dir = tmpdir("modules-as-string-servers");
    let src = module_fixture_rdb();
    let want = module_fixture_views().unwrap();
    for (kind, target) in [
        (ServerKind::Redis60, "azure-premium"),
        (ServerKind::Redis62, "redis-6.2"),
        (ServerKind::Redis70, "redis-7.0"),
        (ServerKind::Valkey81, "valkey-8.1"),
        (ServerKind::Valkey91, "valkey-9.1"),
    ] {
        let f = dir.join(format!("{target}.rdb"));
        rdbkit_ok(&[
            "convert",
            p(&src),
            "-o",
            p(&f),
            "--target",
            target,
            "--modules",
            "json-as-string",
            "--on-loss",
            "warn",
            "-q",
        ]);
        let s = Server::start(kind, Some(&f))
            .unwrap_or_else(|e| panic!("{kind} does not load the json-as-string file: {e}"));
        let mut c = s.conn().unwrap();
        let mut documents = 0;
        for (db, keys) in want["dbs"].as_object().unwrap() {
            c.cmd(&["SELECT", db]).unwrap();
            let mut expected_keys = 0;
            for (key, k) in keys.as_object().unwrap() {
                let ty = k["type"].as_str().unwrap();
                let got_type = c.cmd(&["TYPE", key]).unwrap().as_text().unwrap();
                match ty {
                    "ReJSON-RL" => {
                        assert_eq!(got_type, "string", "{kind} {key}");
                        let s = c.cmd(&["GET", key]).unwrap().as_text().unwrap();
                        let doc: Value = serde_json::from_str(&s)
                            .unwrap_or_else(|e| panic!("{kind} {key}: {e}: {s}"));
                        // JSON.GET $ gives the root in an array.
                        assert_eq!(doc, k["view"]["json"][0], "{kind} {key}");
                        documents += 1;
                        expected_keys += 1;
                        let ttl = c.cmd(&["PTTL", key]).unwrap().as_int().unwrap();
                        if k["pexpiretime"].as_i64().unwrap() > 0 {
                            assert!(ttl > 0, "{kind} {key}: the expiry is kept");
                        } else {
                            assert_eq!(ttl, -1, "{kind} {key}");
                        }
                    }
                    "string" | "hash" | "list" | "set" | "zset" => {
                        assert_eq!(got_type, ty, "{kind} {key}");
                        expected_keys += 1;
                    }
                    _ => assert_eq!(got_type, "none", "{kind} {key}: a {ty} key is dropped"),
                }
            }
            let size = c.cmd(&["DBSIZE"]).unwrap().as_int().unwrap();
            assert_eq!(size, expected_keys, "{kind} db {db}");
        }
        assert_eq!(documents, 40, "{kind}: every document of the fixture");
        if kind != ServerKind::Redis60 && kind != ServerKind::Redis62 {
            // PEXPIRETIME (7.0+): the exact expiry of each document.
            c.cmd(&["SELECT", "0"]).unwrap();
            for i in 0..3 {
                let key = format!("json:ttl:{i}");
                let t = c.cmd(&["PEXPIRETIME", &key]).unwrap().as_int().unwrap();
                assert_eq!(
                    Value::from(t),
                    want["dbs"]["0"][&key]["pexpiretime"],
                    "{kind} {key}"
                );
            }
        }
    }
}

/// `export --format resp --target redis-stack-7.4` through a real
/// `redis-cli --pipe` into an empty Redis Stack: every JSON document comes
/// back with `JSON.GET` equal (its exact text too), with its expiry; the
/// other module values are skipped and named.
#[test]
fn resp_json_set_rebuilds_the_documents_on_redis_stack() {
    let src = module_fixture_rdb();
    let want = module_fixture_views().unwrap();
    let o = run(&[
        "export",
        p(&src),
        "--format",
        "resp",
        "--target",
        "redis-stack-7.4",
        "--on-loss",
        "warn",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("module values skipped"),
        "{}",
        text(&o.stderr)
    );
    let resp = o.stdout;
    let server = Server::start(ServerKind::RedisStack74, None).unwrap();
    let out = redis_cli_pipe(&server, resp);
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("errors: 0,"),
        "{}",
        text(&out.stdout)
    );
    let got = module_views(&server).unwrap();
    let mut n = 0;
    for (db, keys) in want["dbs"].as_object().unwrap() {
        for (key, k) in keys.as_object().unwrap() {
            let g = &got["dbs"][db][key];
            match k["type"].as_str().unwrap() {
                "ReJSON-RL" => {
                    assert_eq!(g, k, "db {db} {key}");
                    n += 1;
                }
                "string" | "hash" | "list" | "set" | "zset" => assert_eq!(g, k, "db {db} {key}"),
                _ => assert!(g.is_null(), "db {db} {key}: skipped, not rebuilt"),
            }
        }
    }
    assert_eq!(n, 40);
}
