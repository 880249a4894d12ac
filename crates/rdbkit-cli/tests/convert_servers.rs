//! Conversions proven on real servers: every fixture converted for each of
//! the six installable servers (Redis 6.0 / 6.2 / 7.0 / 8.2, Valkey 8.1 /
//! 9.1; 6.0 as `--target azure-premium`) —
//! downgrades, upgrades and Redis <-> Valkey 9 — is loaded by that server,
//! which then holds exactly the fixture's contents minus what the report says
//! was lost, and the report names nothing that was not lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rdbkit_parser::{NodeContainer, RdbReader, RecordKind, Value as Parsed};

use rdbkit_testkit::build;
use rdbkit_testkit::{Server, ServerKind, diff_logical, dump_logical};
use serde_json::Value;

use crate::common::*;

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
    check_on_server_with(kind, target, fixture, dir, &[])
}

/// [`check_on_server`] with extra server config.
fn check_on_server_with(
    kind: ServerKind,
    target: &str,
    fixture: &str,
    dir: &Path,
    server_args: &[&str],
) -> Result<(), String> {
    let ctx = format!("{fixture} -> {target} {server_args:?}");
    let out = dir.join(format!("{fixture}-{target}.rdb"));
    let (o, report) = convert(&fixture_rdb(fixture), &out, target, &["--on-loss", "warn"]);
    if !o.status.success() {
        return Err(format!(
            "{ctx}: convert failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    let server = Server::start_with(kind, Some(&out), server_args)
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
    let jobs: Vec<(ServerKind, &str, String)> = ServerKind::ALL
        .iter()
        .flat_map(|&k| names.iter().map(move |n| (k, k.target_name(), n.clone())))
        .collect();
    for k in ServerKind::ALL {
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
    assert_eq!(jobs.len(), 72);
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

/// Every key's type id, and for lists whether a node is PLAIN, for sets
/// whether an intset can hold the members (canonical integers, at most 512).
fn key_types(path: &Path) -> BTreeMap<(u64, Vec<u8>), (u8, bool)> {
    let data = std::fs::read(path).unwrap();
    let mut out = BTreeMap::new();
    for rec in RdbReader::new(&data).unwrap() {
        let RecordKind::Entry(e) = rec.unwrap().kind else {
            continue;
        };
        let fact = match e.value.decode().unwrap() {
            Parsed::List(l) => l
                .nodes()
                .is_some_and(|n| n.iter().any(|n| n.container() == NodeContainer::Plain)),
            Parsed::Set(s) => {
                let items: Vec<_> = s.iter().unwrap().map(Result::unwrap).collect();
                items.len() <= 512 && items.iter().all(|i| i.as_i64().is_some())
            }
            _ => false,
        };
        out.insert((e.db, e.key.to_vec()), (e.value.ty().0, fact));
    }
    out
}

/// Converting for Redis 6.2 keeps compact values compact: listpack hashes
/// and sorted sets become ziplists (13, 12), quicklist v2 becomes quicklist
/// (14) unless a node is PLAIN, integer set listpacks become intsets (11).
/// Redis 6.2 then loads every output with `sanitize-dump-payload yes`, which
/// deep-validates each ziplist and intset (prevlen, zltail, counts,
/// duplicates, order) while loading the file.
#[test]
fn compact_values_stay_compact_for_redis_6_2_under_deep_sanitization() {
    ServerKind::Redis62
        .ensure_installed()
        .expect("install the test servers");
    let dir = tmpdir("convert-compact");
    let mut written = BTreeSet::new();
    let mut failures = Vec::new();
    for name in fixture_names() {
        let r = check_on_server_with(
            ServerKind::Redis62,
            "redis-6.2",
            &name,
            &dir,
            &["--sanitize-dump-payload", "yes"],
        );
        if let Err(e) = r {
            failures.push(e);
            continue;
        }
        let before = key_types(Path::new(&fixture_rdb(&name)));
        let after = key_types(&dir.join(format!("{name}-redis-6.2.rdb")));
        for (k, (ty, fact)) in before {
            let want = match ty {
                16 => 13,
                17 => 12,
                18 if fact => 1,
                18 => 14,
                20 if fact => 11,
                20 => 2,
                _ => continue,
            };
            let got = after.get(&k).map(|t| t.0);
            assert_eq!(
                got,
                Some(want),
                "{name}: key {:?} of type {ty}",
                String::from_utf8_lossy(&k.1)
            );
            written.insert(want);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // (Real servers keep integer sets as intsets: set listpacks of integers
    // are covered by the hand-built file below.)
    for ty in [12, 13, 14] {
        assert!(
            written.contains(&ty),
            "no fixture value became type {ty}: {written:?}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A listpack of integers (`Ok`, always in the 64-bit form, unlike
/// `build::listpack`) and short strings (`Err`).
fn lp(elems: &[Result<i64, &[u8]>]) -> Vec<u8> {
    let mut body: Vec<u8> = Vec::new();
    for e in elems {
        let enc: Vec<u8> = match e {
            Ok(v) => [&[0xf4][..], &v.to_le_bytes()].concat(),
            Err(s) if s.len() < 64 => [&[0x80 | s.len() as u8][..], s].concat(),
            Err(s) => [&[0xe0 | (s.len() >> 8) as u8, s.len() as u8][..], s].concat(),
        };
        let mut back = [0u8; 5];
        let n = rdbkit_parser::listpack::encode_backlen(enc.len() as u64, &mut back);
        body.extend(&enc);
        body.extend(&back[..n]);
    }
    let mut out = ((body.len() + 7) as u32).to_le_bytes().to_vec();
    out.extend((elems.len() as u16).to_le_bytes());
    out.extend(body);
    out.push(0xff);
    out
}

fn rdb_lzf(b: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    rdbkit_parser::lzf::compress(b, &mut c).unwrap();
    [
        vec![0xc3],
        build::len(c.len() as u64),
        build::len(b.len() as u64),
        c,
    ]
    .concat()
}

/// Hand-built Redis 7.2 listpacks of every kind, converted for Redis 6.2 and
/// loaded with deep sanitization: the server holds them in the compact
/// encodings and answers with the same contents.
#[test]
fn hand_built_listpacks_load_as_ziplists_and_intsets_on_redis_6_2() {
    let kind = ServerKind::Redis62;
    kind.ensure_installed().expect("install the test servers");
    let dir = tmpdir("convert-lp");
    let long = vec![b'v'; 300];
    let doc = b"{\"a\":1,\"b\":2}".repeat(20);
    let mut rdb = b"REDIS0011\xfe\x00".to_vec();
    let mut entry = |ty: u8, key: &[u8], body: &[u8]| rdb.extend(build::entry(ty, key, body));
    let set = lp(&[Ok(9), Ok(-70000), Err(b"12"), Ok(1 << 33)]);
    entry(20, b"s", &build::string(&set));
    let zset = lp(&[
        Err(b"a"),
        Ok(-3),
        Err(b"b"),
        Err(b"1.5"),
        Err(b"c"),
        Err(b"1.5"),
        Ok(7),
        Ok(100),
        Err(b"top"),
        Err(b"inf"),
    ]);
    entry(17, b"z", &build::string(&zset));
    let hash = lp(&[
        Err(b"f"),
        Err(&long),
        Err(b"n"),
        Ok(-5),
        Err(b"t"),
        Err(b"007"),
        Err(b"d"),
        Err(&doc),
    ]);
    entry(16, b"h", &rdb_lzf(&hash));
    let n1 = lp(&[Err(b"x"), Ok(1), Err(&long)]);
    let n2 = lp(&[Err(&doc), Ok(i64::MIN)]);
    let mut list = vec![2u8];
    list.extend([2]);
    list.extend(build::string(&n1));
    list.extend([2]);
    list.extend(rdb_lzf(&n2));
    entry(18, b"l", &list);
    rdb.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&rdb);
    rdb.extend(crc.to_le_bytes());
    let input = dir.join("lp.rdb");
    std::fs::write(&input, &rdb).unwrap();

    let out = dir.join("lp-6.2.rdb");
    let (o, _) = convert(input.to_str().unwrap(), &out, "redis-6.2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let types: Vec<u8> = key_types(&out).values().map(|t| t.0).collect();
    // Keys in order h, l, s, z.
    assert_eq!(types, [13, 14, 11, 12]);

    let server = Server::start_with(kind, Some(&out), &["--sanitize-dump-payload", "yes"])
        .unwrap_or_else(|e| panic!("Redis 6.2 refused the output:\n{e}"));
    let mut c = server.conn().unwrap();
    let texts = |r: rdbkit_testkit::Reply| -> Vec<Vec<u8>> {
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_bytes().unwrap().to_vec())
            .collect()
    };
    for (key, enc) in [
        ("s", "intset"),
        ("z", "ziplist"),
        ("h", "ziplist"),
        ("l", "quicklist"),
    ] {
        let r = c.cmd(&["OBJECT", "ENCODING", key]).unwrap();
        assert_eq!(r.as_text().as_deref(), Some(enc), "{key}");
    }
    let mut members = texts(c.cmd(&["SMEMBERS", "s"]).unwrap());
    members.sort();
    assert_eq!(
        members,
        [&b"-70000"[..], b"12", b"8589934592", b"9"].map(<[u8]>::to_vec)
    );
    let z = texts(c.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]).unwrap());
    assert_eq!(
        z,
        [
            &b"a"[..],
            b"-3",
            b"b",
            b"1.5",
            b"c",
            b"1.5",
            b"7",
            b"100",
            b"top",
            b"inf"
        ]
        .map(<[u8]>::to_vec)
    );
    assert_eq!(
        c.cmd(&["ZSCORE", "z", "c"]).unwrap().as_bytes(),
        Some(&b"1.5"[..])
    );
    assert_eq!(
        texts(c.cmd(&["HGETALL", "h"]).unwrap()),
        [&b"f"[..], &long, b"n", b"-5", b"t", b"007", b"d", &doc].map(<[u8]>::to_vec)
    );
    assert_eq!(
        c.cmd(&["HGET", "h", "t"]).unwrap().as_bytes(),
        Some(&b"007"[..])
    );
    assert_eq!(
        texts(c.cmd(&["LRANGE", "l", "0", "-1"]).unwrap()),
        [&b"x"[..], b"1", &long, &doc, b"-9223372036854775808"].map(<[u8]>::to_vec)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A list far bigger than what rdbkit holds in memory at once (the writer's
/// transcoding buffer, the output verifier's record buffer and export's
/// text all stop well below it): filter, convert and export stream it, and
/// Redis 6.2 loads the conversion with every element in place.
#[test]
fn a_huge_list_streams_through_filter_convert_and_export() {
    let kind = ServerKind::Redis62;
    kind.ensure_installed().expect("install the test servers");
    let dir = tmpdir("huge-list");
    let elem = |i: usize| format!("element-{i:07}-{}", "x".repeat(40));
    let (nodes, per_node) = (6_000usize, 128usize);
    let mut rdb = b"REDIS0011\xfe\x00\x00\x05small\x01v".to_vec();
    rdb.push(18);
    rdb.extend(build::string(b"big"));
    rdb.extend(build::len(nodes as u64));
    for n in 0..nodes {
        let items: Vec<String> = (0..per_node).map(|j| elem(n * per_node + j)).collect();
        let node = lp(&items
            .iter()
            .map(|s| Err(s.as_bytes()))
            .collect::<Vec<Result<i64, &[u8]>>>());
        rdb.push(2);
        rdb.extend(build::string(&node));
    }
    rdb.extend(b"\x00\x05after\x01w");
    rdb.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&rdb);
    rdb.extend(crc.to_le_bytes());
    assert!(rdb.len() > 40 << 20, "{}", rdb.len());
    let input = dir.join("huge.rdb");
    std::fs::write(&input, &rdb).unwrap();
    let total = nodes * per_node;

    // filter: copied as it is, verified from disk once written.
    let filtered = dir.join("filtered.rdb");
    let o = rdbkit()
        .args([
            "filter",
            input.to_str().unwrap(),
            "-o",
            filtered.to_str().unwrap(),
        ])
        .args(["--match", "*", "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["verify", filtered.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    // convert for Redis 6.2: too big to transcode in memory, written as a
    // plain list element by element.
    let out = dir.join("huge-6.2.rdb");
    let (o, _) = convert(input.to_str().unwrap(), &out, "redis-6.2", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let server = Server::start(kind, Some(&out)).expect("Redis 6.2 loads the huge list");
    let mut c = server.conn().unwrap();
    assert_eq!(
        c.cmd(&["LLEN", "big"]).unwrap().as_int(),
        Some(total as i64)
    );
    for i in [0, 1, total / 2, total - 1] {
        let r = c.cmd(&["LINDEX", "big", &i.to_string()]).unwrap();
        assert_eq!(r.as_bytes(), Some(elem(i).as_bytes()), "element {i}");
    }
    assert_eq!(
        c.cmd(&["GET", "after"]).unwrap().as_bytes(),
        Some(&b"w"[..])
    );
    drop(server);

    // export: the same lines from the map (written element by element) as
    // from stdin.
    let by_file = run(&["export", "--format", "jsonl", input.to_str().unwrap()]);
    assert!(by_file.status.success());
    let lines: Vec<&[u8]> = by_file.stdout.split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), 4, "3 keys and the final newline");
    let big: serde_json::Value = serde_json::from_slice(lines[1]).unwrap();
    let values = big["value"].as_array().unwrap();
    assert_eq!(values.len(), total);
    assert_eq!(values[total - 1].as_str(), Some(elem(total - 1).as_str()));
    let by_stdin = run_stdin(&["export", "--format", "jsonl", "-"], &rdb);
    assert!(
        by_file.stdout == by_stdin.stdout,
        "file and stdin exports differ"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
