//! `filter`, `split` and `merge` on the fixtures, proven on real servers.
//! Expected key sets are computed from the fixture JSON with predicates
//! written here, independently of the selection code.

use std::path::Path;

use rdbkit_testkit::{Server, ServerKind, diff_logical, dump_logical};
use serde_json::{Map, Value};

use crate::common::*;

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures_dir().join(name).join("types.json")).unwrap())
        .unwrap()
}

fn key_text(e: &Value) -> String {
    match &e["key"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fixture's live contents restricted to keys for which `keep(db, key, entry)` holds.
fn expected_subset(fx: &Value, keep: impl Fn(&str, &str, &Value) -> bool) -> Value {
    let mut dbs = Map::new();
    for (db, list) in fx["dbs"].as_object().unwrap() {
        let kept: Vec<Value> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| keep(db, &key_text(e), e))
            .cloned()
            .collect();
        if !kept.is_empty() {
            dbs.insert(db.clone(), Value::Array(kept));
        }
    }
    serde_json::json!({"functions": fx["functions"].clone(), "dbs": dbs})
}

fn live(kind: ServerKind, rdb: &Path) -> Value {
    let server = Server::start(kind, Some(rdb))
        .unwrap_or_else(|e| panic!("{} refused {}:\n{e}", kind.name(), rdb.display()));
    dump_logical(&mut server.conn().unwrap())
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn filtered_outputs_load_and_hold_exactly_the_selected_keys() {
    let dir = tmpdir("filter");
    for (name, kind) in [
        ("redis-6.2.14", ServerKind::Redis62),
        ("redis-7.0.15", ServerKind::Redis70),
        ("valkey-8.0.1", ServerKind::Valkey81),
        ("redis-8.2.3", ServerKind::Redis82),
        ("valkey-9.1.2", ServerKind::Valkey91),
    ] {
        let fx = fixture_json(name);
        let out = dir.join(format!("{name}.rdb"));
        let o = run(&[
            "filter",
            &fixture_rdb(name),
            "-o",
            out.to_str().unwrap(),
            "--match",
            "hash:*",
            "--match",
            "list:*",
            "--match",
            "stream:*",
            "--exclude-match",
            "*big*",
            "--db",
            "0",
            "--quiet",
        ]);
        ok(&o);
        // Same version, byte-for-byte records: the header is the input's.
        assert_eq!(
            std::fs::read(&out).unwrap()[..9],
            std::fs::read(fixture_rdb(name)).unwrap()[..9]
        );
        let expected = expected_subset(&fx, |db, k, _| {
            db == "0"
                && (k.starts_with("hash:") || k.starts_with("list:") || k.starts_with("stream:"))
                && !k.contains("big")
        });
        assert!(
            expected["dbs"]["0"].as_array().unwrap().len() >= 5,
            "{name}: selection too small to mean anything"
        );
        let diff = diff_logical(&expected, &live(kind, &out));
        assert!(diff.is_empty(), "{name}:\n{}", diff.join("\n"));

        // By type, across all dbs, with the dbs flattened into 0.
        let out2 = dir.join(format!("{name}-flat.rdb"));
        let o = run(&[
            "filter",
            &fixture_rdb(name),
            "-o",
            out2.to_str().unwrap(),
            "--type",
            "zset",
            "--type",
            "set",
            "--flatten-db",
            "--quiet",
        ]);
        ok(&o);
        let mut flat: Vec<Value> = Vec::new();
        for (_, list) in fx["dbs"].as_object().unwrap() {
            flat.extend(
                list.as_array()
                    .unwrap()
                    .iter()
                    .filter(|e| e["type"] == "zset" || e["type"] == "set")
                    .cloned(),
            );
        }
        let expected =
            serde_json::json!({"functions": fx["functions"].clone(), "dbs": {"0": flat}});
        let got = live(kind, &out2);
        assert_eq!(
            got["dbs"].as_object().unwrap().len(),
            1,
            "{name}: flattened output has other dbs"
        );
        let diff = diff_logical(&expected, &got);
        assert!(diff.is_empty(), "{name} (flattened):\n{}", diff.join("\n"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// An independent bitwise CRC16/XMODEM (the cluster spec's function).
fn slot(key: &[u8]) -> u16 {
    let tag = match key.iter().position(|&b| b == b'{') {
        Some(o) => match key[o + 1..].iter().position(|&b| b == b'}') {
            Some(n) if n > 0 => &key[o + 1..o + 1 + n],
            _ => key,
        },
        None => key,
    };
    let mut crc: u16 = 0;
    for &b in tag {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

#[test]
fn split_then_merge_gives_back_the_original() {
    assert_eq!(slot(b"123456789"), 0x31c3);
    assert_eq!(slot(b"foo"), 12182);
    let dir = tmpdir("split");
    for (name, kind) in [
        ("redis-7.2.6", ServerKind::Valkey81),
        ("redis-8.2.3", ServerKind::Redis82),
    ] {
        let fx = fixture_json(name);
        let shards = dir.join(name);
        let o = run(&[
            "split",
            &fixture_rdb(name),
            "--shards",
            "3",
            "--out-dir",
            shards.to_str().unwrap(),
            "--all-dbs",
            "--quiet",
        ]);
        ok(&o);
        let mut files: Vec<_> = std::fs::read_dir(&shards)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 3);
        let mut total = 0;
        for f in &files {
            // shard-I-A-B.rdb
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            let parts: Vec<u16> = stem
                .split('-')
                .skip(1)
                .map(|p| p.parse().unwrap())
                .collect();
            let (a, b) = (parts[1], parts[2]);
            let expected = expected_subset(&fx, |_, _, e| {
                let k = rdbkit_testkit::dec(&e["key"]).unwrap();
                (a..=b).contains(&slot(&k))
            });
            let got = live(kind, f);
            let diff = diff_logical(&expected, &got);
            assert!(diff.is_empty(), "{name} {stem}:\n{}", diff.join("\n"));
            total += got["dbs"]
                .as_object()
                .unwrap()
                .values()
                .map(|l| l.as_array().unwrap().len())
                .sum::<usize>();
        }
        let all: usize = fx["dbs"]
            .as_object()
            .unwrap()
            .values()
            .map(|l| l.as_array().unwrap().len())
            .sum();
        assert_eq!(total, all, "{name}: every key in exactly one shard");
        // Merge the shards back: logically equal to the original file.
        let merged = dir.join(format!("{name}-merged.rdb"));
        let mut args = vec!["merge".to_string()];
        args.extend(files.iter().map(|f| f.to_string_lossy().into_owned()));
        args.extend([
            "-o".into(),
            merged.to_string_lossy().into_owned(),
            "--quiet".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&run(&args));
        let o = run(&["diff", &fixture_rdb(name), merged.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
        let diff = diff_logical(&fx, &live(kind, &merged));
        assert!(diff.is_empty(), "{name} merged:\n{}", diff.join("\n"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn merge_with_a_duplicate_key_writes_nothing_and_names_it() {
    let dir = tmpdir("merge-dup");
    let out = dir.join("out.rdb");
    let a = fixture_rdb("redis-7.2.6");
    let b = fixture_rdb("valkey-8.0.1");
    let o = run(&["merge", &a, &b, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("duplicate key \""), "{err}");
    assert!(!out.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "a temp file was left behind"
    );
    // keep-last: the second input's values win; the result loads.
    let o = run(&[
        "merge",
        &a,
        &b,
        "-o",
        out.to_str().unwrap(),
        "--on-duplicate",
        "keep-last",
        "--quiet",
    ]);
    ok(&o);
    let got = live(ServerKind::Valkey81, &out);
    let diff = diff_logical(&fixture_json("valkey-8.0.1"), &got);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    // Different versions: a 6.2 file and a 8.2 file merge into RDB 12 and load on 8.2.
    let c = fixture_rdb("redis-6.2.14");
    let d = dir.join("db3.rdb");
    ok(&run(&[
        "filter",
        &fixture_rdb("redis-8.2.3"),
        "-o",
        d.to_str().unwrap(),
        "--map-db",
        "0=3",
        "--db",
        "0",
        "--quiet",
    ]));
    let o = run(&[
        "merge",
        &c,
        d.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    ok(&o);
    let got = live(ServerKind::Redis82, &out);
    let fx62 = fixture_json("redis-6.2.14");
    let fx82 = fixture_json("redis-8.2.3");
    let mut expected = fx62.clone();
    expected["functions"] = fx82["functions"].clone();
    expected["dbs"]["3"] = fx82["dbs"]["0"].clone();
    let diff = diff_logical(&expected, &got);
    assert!(diff.is_empty(), "{}", diff.join("\n"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// The sizing hints of a file: each RESIZEDB's (db, keys, expires) and each
/// SLOT_INFO's (db, slot, keys, expires), and the real counts per db and
/// per (db, slot).
#[allow(clippy::type_complexity)]
fn hints_and_counts(
    path: &Path,
) -> (
    Vec<(u64, u64, u64)>,
    Vec<(u64, u64, u64, u64)>,
    std::collections::BTreeMap<u64, (u64, u64)>,
    std::collections::BTreeMap<(u64, u16), (u64, u64)>,
) {
    use rdbkit_parser::{RdbReader, RecordKind};
    let data = std::fs::read(path).unwrap();
    let (mut resize, mut slots) = (Vec::new(), Vec::new());
    let (mut per_db, mut per_slot) = (Default::default(), Default::default());
    let (per_db_ref, per_slot_ref): (
        &mut std::collections::BTreeMap<u64, (u64, u64)>,
        &mut std::collections::BTreeMap<(u64, u16), (u64, u64)>,
    ) = (&mut per_db, &mut per_slot);
    let mut db = 0;
    for rec in RdbReader::new(&data).unwrap() {
        match rec.unwrap().kind {
            RecordKind::SelectDb { db: d } => db = d,
            RecordKind::ResizeDb {
                db_size,
                expires_size,
            } => resize.push((db, db_size, expires_size)),
            RecordKind::SlotInfo {
                slot,
                keys,
                expires,
            } => slots.push((db, slot, keys, expires)),
            RecordKind::Entry(e) => {
                let x = u64::from(e.expire_ms.is_some());
                let c = per_db_ref.entry(e.db).or_default();
                c.0 += 1;
                c.1 += x;
                let c = per_slot_ref.entry((e.db, slot(&e.key))).or_default();
                c.0 += 1;
                c.1 += x;
            }
            _ => {}
        }
    }
    (resize, slots, per_db, per_slot)
}

#[test]
fn filtered_sizing_hints_are_the_real_counts() {
    // A file output is written in one pass and its hints are filled in
    // afterwards; stdout gets them from a counting pre-pass. Both must give
    // each database's (and each slot's) real key and expiry counts.
    let dir = tmpdir("hints");
    for name in fixture_names() {
        let input = fixture_rdb(&name);
        let out = dir.join(format!("{name}.rdb"));
        for args in [
            &["--match", "*s*"][..],
            &["--flatten-db", "--on-duplicate", "keep-first"][..],
        ] {
            let o = rdbkit()
                .args(["filter", &input, "-o", out.to_str().unwrap(), "--quiet"])
                .args(args)
                .output()
                .unwrap();
            ok(&o);
            let (resize, _, per_db, _) = hints_and_counts(&out);
            let version: u32 = std::fs::read(&out).unwrap()[5..9]
                .iter()
                .fold(0, |v, d| v * 10 + u32::from(d - b'0'));
            if version >= 7 {
                assert_eq!(
                    resize.len(),
                    per_db.len(),
                    "{name} {args:?}: one hint per db"
                );
            }
            for (db, keys, expires) in &resize {
                assert_eq!(
                    Some(&(*keys, *expires)),
                    per_db.get(db),
                    "{name} {args:?} db {db}"
                );
            }
            let via_stdout = rdbkit()
                .args(["filter", &input, "-o", "-", "--quiet"])
                .args(args)
                .output()
                .unwrap();
            ok(&via_stdout);
            let piped = dir.join(format!("{name}-stdout.rdb"));
            std::fs::write(&piped, &via_stdout.stdout).unwrap();
            assert_eq!(hints_and_counts(&piped).0, resize, "{name} {args:?}");
        }
    }

    // SLOT_INFO (Redis 7.4+ cluster nodes): a hand-built RDB 12 file with
    // two slots ({a}: 15495, {b}: 3300).
    let mut f = b"REDIS0012\xfe\x00\xfb\x03\x01".to_vec();
    f.extend_from_slice(b"\xf4\x80\x00\x00\x3c\x87\x02\x01");
    f.extend_from_slice(b"\x00\x04{a}1\x01x");
    f.extend_from_slice(b"\xfc\x00\x00\x00\x00\x00\x00\x00\x01\x00\x04{a}2\x01y");
    f.extend_from_slice(b"\xf4\x80\x00\x00\x0c\xe4\x01\x00");
    f.extend_from_slice(b"\x00\x04{b}1\x01z");
    f.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let input = dir.join("slots.rdb");
    std::fs::write(&input, &f).unwrap();
    let (_, slots, _, _) = hints_and_counts(&input);
    assert_eq!(
        slots,
        [(0, 15495, 2, 1), (0, 3300, 1, 0)],
        "the input's own hints"
    );
    let out = dir.join("slots-out.rdb");
    let o = rdbkit()
        .args([
            "filter",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--match", "*2", "--quiet"])
        .output()
        .unwrap();
    ok(&o);
    let (resize, slots, per_db, per_slot) = hints_and_counts(&out);
    assert_eq!(resize, [(0, 1, 1)]);
    assert_eq!(per_db.get(&0), Some(&(1, 1)));
    assert_eq!(slots.len(), 2, "both slots keep their hint");
    for (db, slot, keys, expires) in slots {
        let real = per_slot
            .get(&(db, slot as u16))
            .copied()
            .unwrap_or_default();
        assert_eq!((keys, expires), real, "slot {slot}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
