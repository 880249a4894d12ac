//! Conversions proven on real servers: every fixture converted for each of
//! the five installable servers (Redis 6.2 / 7.0 / 8.2, Valkey 8.1 / 9.1) —
//! downgrades, upgrades and Redis <-> Valkey 9 — is loaded by that server,
//! which then holds exactly the fixture's contents minus what the report says
//! was lost, and the report names nothing that was not lost.

use std::path::Path;

use rdbkit_testkit::{Server, ServerKind, diff_logical, dump_logical};
use serde_json::Value;

use crate::common::*;

const SERVERS: [(ServerKind, &str); 5] = [
    (ServerKind::Redis62, "redis-6.2"),
    (ServerKind::Redis70, "redis-7.0"),
    (ServerKind::Valkey81, "valkey-8.1"),
    (ServerKind::Redis82, "redis-8.2"),
    (ServerKind::Valkey91, "valkey-9.1"),
];

fn fixture_json(name: &str) -> Value {
    let path = fixtures_dir().join(name).join("types.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn key_of(e: &Value) -> Value {
    e["key"].clone()
}

/// The fixture's contents minus the report's losses; also checks that every
/// reported loss is real (the key exists and has what was lost).
fn expected_after(fixture: &Value, report: &Value, ctx: &str) -> Value {
    let mut exp = fixture.clone();
    for loss in report["losses"].as_array().unwrap() {
        let kind = loss["kind"].as_str().unwrap();
        if loss["key"].is_null() {
            match kind {
                "function" => {
                    assert!(
                        fixture["functions"]
                            .as_array()
                            .is_some_and(|f| !f.is_empty()),
                        "{ctx}: function loss reported but the fixture has none"
                    );
                    exp["functions"] = Value::Null;
                }
                other => panic!("{ctx}: unexpected key-less loss {other}"),
            }
            continue;
        }
        let db = loss["db"].to_string();
        let key = &loss["key"];
        // Already-expired keys are in the file (and may be reported) but no
        // server holds them after loading.
        let expired = fixture["expired"][&db]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| &key_of(e) == key));
        let list = exp["dbs"][&db].as_array_mut();
        let Some(list) = list else {
            assert!(
                expired,
                "{ctx}: loss for key {key} in db {db}, which the fixture does not have"
            );
            continue;
        };
        let Some(pos) = list.iter().position(|e| &key_of(e) == key) else {
            assert!(
                expired,
                "{ctx}: loss for key {key}, which the fixture does not have"
            );
            continue;
        };
        if loss["key_dropped"] == Value::Bool(true) {
            list.remove(pos);
            continue;
        }
        let entry = &mut list[pos];
        match kind {
            "field-ttls" => {
                assert!(
                    entry
                        .get("field_expire_ms")
                        .is_some_and(|f| !f.as_array().unwrap().is_empty()),
                    "{ctx}: field-ttls loss for {key}, which has no field TTLs"
                );
                entry.as_object_mut().unwrap().remove("field_expire_ms");
            }
            "stream-metadata" | "stream-active-time" => {
                assert_eq!(
                    entry["type"], "stream",
                    "{ctx}: {kind} loss for non-stream {key}"
                );
                // The v1/v2 loader estimates these; compare only what the target rebuilds exactly.
                let v = entry["value"].as_object_mut().unwrap();
                v.remove("entries_added");
                v.remove("max_deleted_entry_id");
                for g in v["groups"].as_array_mut().unwrap() {
                    g.as_object_mut().unwrap().remove("entries_read");
                }
            }
            other => panic!("{ctx}: unexpected loss kind {other} for {key}"),
        }
    }
    exp
}

/// Strip the same optional stream fields from a live dump where the expected
/// side dropped them, so a one-sided presence does not count.
fn align_streams(expected: &Value, live: &mut Value) {
    let Some(dbs) = live["dbs"].as_object_mut() else {
        return;
    };
    for (db, list) in dbs {
        for e in list.as_array_mut().unwrap() {
            if e["type"] != "stream" {
                continue;
            }
            let Some(exp) = expected["dbs"][db]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["key"] == e["key"]))
            else {
                continue;
            };
            let v = e["value"].as_object_mut().unwrap();
            for k in ["entries_added", "max_deleted_entry_id"] {
                if exp["value"].get(k).is_none() {
                    v.remove(k);
                }
            }
            let exp_groups = exp["value"]["groups"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for (g, xg) in v["groups"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .zip(exp_groups)
            {
                if xg.get("entries_read").is_none() {
                    g.as_object_mut().unwrap().remove("entries_read");
                }
            }
        }
    }
}

fn convert(input: &str, out: &Path, target: &str, extra: &[&str]) -> (std::process::Output, Value) {
    let report = out.with_extension("report.json");
    let mut args = vec![
        "convert",
        input,
        "-o",
        out.to_str().unwrap(),
        "--target",
        target,
        "--quiet",
    ];
    args.extend_from_slice(&["--report", report.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let o = run(&args);
    let r = std::fs::read(&report)
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap_or(Value::Null);
    (o, r)
}

fn check_on_server(
    kind: ServerKind,
    target: &str,
    fixture: &str,
    dir: &Path,
) -> Result<(), String> {
    let ctx = format!("{fixture} -> {target}");
    let out = dir.join(format!("{fixture}-{target}.rdb"));
    let (o, report) = convert(&fixture_rdb(fixture), &out, target, &["--on-loss", "warn"]);
    if !o.status.success() {
        return Err(format!(
            "{ctx}: convert failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let server = Server::start(kind, Some(&out))
        .map_err(|e| format!("{ctx}: the server refused the output:\n{e}"))?;
    let mut live = dump_logical(&mut server.conn().map_err(|e| e.to_string())?);
    let expected = expected_after(&fixture_json(fixture), &report, &ctx);
    align_streams(&expected, &mut live);
    let diff = diff_logical(&expected, &live);
    if !diff.is_empty() {
        return Err(format!(
            "{ctx}: live contents differ:\n  {}",
            diff.join("\n  ")
        ));
    }
    Ok(())
}

#[test]
fn every_fixture_converts_and_loads_on_every_server() {
    let dir = tmpdir("convert-servers");
    let names = fixture_names();
    let jobs: Vec<(ServerKind, &str, String)> = SERVERS
        .iter()
        .flat_map(|&(k, t)| names.iter().map(move |n| (k, t, n.clone())))
        .collect();
    for (k, _) in SERVERS {
        k.ensure_installed().expect("install the test servers");
    }
    // Two workers: the machine has two cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some((k, t, n)) = jobs.get(i) else { break };
                    if let Err(e) = check_on_server(*k, t, n, &dir) {
                        failures.lock().unwrap().push(e);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} conversions failed:\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n\n")
    );
    assert_eq!(jobs.len(), 60);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn default_refuses_a_lossy_conversion_and_writes_nothing() {
    let dir = tmpdir("convert-refuse");
    let out = dir.join("out.rdb");
    let (o, report) = convert(&fixture_rdb("redis-8.2.3"), &out, "azure-premium", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "output written despite the refusal");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "only the report may exist"
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("would lose data") && stderr.contains("hfe:small"),
        "{stderr}"
    );
    assert_eq!(report["lossless"], Value::Bool(false));
    // A lossless conversion under the same default succeeds.
    let (o, report) = convert(&fixture_rdb("redis-6.2.14"), &out, "redis-8.2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(report["lossless"], Value::Bool(true));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn padded_output_loads_and_input_is_never_overwritten() {
    let dir = tmpdir("convert-pad");
    let out = dir.join("padded.rdb");
    let (o, _) = convert(
        &fixture_rdb("valkey-9.1.2"),
        &out,
        "azure-premium",
        &["--on-loss", "warn", "--pad", "512"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let len = std::fs::metadata(&out).unwrap().len();
    assert_eq!(len % 512, 0);
    let server = Server::start(ServerKind::Redis62, Some(&out)).expect("padded file loads");
    assert!(
        dump_logical(&mut server.conn().unwrap())["dbs"]["0"]
            .as_array()
            .unwrap()
            .len()
            > 50
    );
    // Refuse to write over the input, even through another path.
    let copy = dir.join("in.rdb");
    std::fs::copy(fixture_rdb("redis-7.0.15"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let alias = dir.join(".").join("in.rdb");
    let o = run(&[
        "convert",
        copy.to_str().unwrap(),
        "-o",
        alias.to_str().unwrap(),
        "--target",
        "redis-8.2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("refusing to write the output over the input")
    );
    assert_eq!(std::fs::read(&copy).unwrap(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

/// RDB 6, 7 and 8 have no installable server: the outputs read back equal to
/// the fixture minus the reported losses, and use only the type ids that the
/// real 2.8 / 3.2 / 4.0 servers wrote (or the plain types every loader knows).
#[test]
fn old_targets_without_servers() {
    let dir = tmpdir("convert-old");
    let allowed = |v: u32| -> Vec<&'static str> {
        let mut a = vec![
            "string",
            "list",
            "set",
            "zset",
            "hash",
            "list-ziplist",
            "set-intset",
            "zset-ziplist",
            "hash-ziplist",
        ];
        if v >= 7 {
            a.push("quicklist");
        }
        if v >= 8 {
            a.extend(["zset-v2", "module-value"]);
        }
        a
    };
    for (target, v) in [("redis-2.8", 6u32), ("redis-3.2", 7), ("redis-4.0", 8)] {
        for name in fixture_names() {
            let ctx = format!("{name} -> {target}");
            let out = dir.join(format!("{name}-{v}.rdb"));
            let (o, report) = convert(&fixture_rdb(&name), &out, target, &["--on-loss", "warn"]);
            assert!(
                o.status.success(),
                "{ctx}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let data = std::fs::read(&out).unwrap();
            assert_eq!(&data[..9], format!("REDIS{v:04}").as_bytes(), "{ctx}");
            let info = run(&["info", "--json", out.to_str().unwrap()]);
            let info: Value = serde_json::from_slice(&info.stdout).unwrap();
            for enc in info["encodings"].as_object().unwrap().keys() {
                assert!(
                    allowed(v).contains(&enc.as_str()),
                    "{ctx}: RDB {v} output uses {enc}"
                );
            }
            // Read back with the parser: the fixture (expired keys included) minus losses.
            let mut fx = fixture_json(&name);
            let expired = fx["expired"].as_object().cloned().unwrap_or_default();
            for (db, list) in expired {
                let l = fx["dbs"]
                    .as_object_mut()
                    .unwrap()
                    .entry(db)
                    .or_insert(Value::Array(vec![]));
                l.as_array_mut()
                    .unwrap()
                    .extend(list.as_array().unwrap().iter().cloned());
            }
            fx["expired"] = Value::Null;
            let expected = expected_after(&fx, &report, &ctx);
            let exported = run(&["export", "--format", "json", out.to_str().unwrap()]);
            let mut actual: Value = serde_json::from_slice(&exported.stdout).unwrap();
            actual["functions"] = Value::Null;
            align_streams(&expected, &mut actual);
            let diff = diff_logical(&expected, &actual);
            assert!(diff.is_empty(), "{ctx}:\n{}", diff.join("\n"));
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
