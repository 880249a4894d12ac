//! The four rules on which `verify` used to disagree with the real loaders,
//! each on a file built by hand and judged three ways: by the expected
//! verdict, by the real loader's checker, and by `rdbkit verify`. The
//! conversions of the files the loaders accept are loaded on real servers.

use std::path::{Path, PathBuf};

use rdbkit_testkit::build::{Lp, entry, file, len, listpack, stream_v1, string};
use rdbkit_testkit::{Cmd, Reply, Server, ServerKind};

use crate::common::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn verify_ok(path: &Path) -> bool {
    let out = run(&["verify", &path.to_string_lossy()]);
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("verify: {out:?}"),
    }
}

/// rdbkit and `kind`'s checker both give `want`.
fn judged(kind: ServerKind, path: &Path, want: bool) {
    let loader = kind.check_rdb(path).unwrap();
    assert_eq!(
        loader.ok,
        want,
        "{kind} ({}) on {}: {loader}",
        kind.checker_name(),
        path.display()
    );
    assert_eq!(verify_ok(path), want, "rdbkit verify {}", path.display());
}

fn convert(src: &Path, out: &Path, target: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "convert".to_string(),
        src.to_string_lossy().into_owned(),
        "-o".into(),
        out.to_string_lossy().into_owned(),
        "--target".into(),
        target.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&args)
}

/// Convert the file holding sorted set `z` for `kind`, load it there and
/// compare `ZRANGE z 0 -1 WITHSCORES` with `want`.
fn converted_scores(dir: &Path, src: &Path, kind: ServerKind, want: &[&[u8]]) {
    let target = kind.target_name();
    let out = dir.join("out.rdb");
    let o = convert(src, &out, target, &[]);
    assert!(o.status.success(), "{o:?}");
    let server = Server::start(kind, Some(&out)).expect("loads");
    let scores = query(
        &server,
        Cmd::new("ZRANGE").args(["z", "0", "-1", "WITHSCORES"]),
    );
    let want = want.iter().map(|b| Reply::Bulk(b.to_vec())).collect();
    assert_eq!(scores, Reply::Array(want), "{target}");
}

fn query(server: &Server, cmd: Cmd) -> Reply {
    server.conn().unwrap().query(&cmd).unwrap()
}

/// Class 1: a stream whose stored length (5) is not its number of entries
/// (2). Every loader takes it (XLEN says 5); verify says sound, and each
/// conversion keeps the length, notes it, and loads with the same XLEN and
/// entries.
#[test]
fn stream_length_that_differs_from_the_entries_is_kept() {
    let dir = tmpdir("rule-stream-length");
    let body = stream_v1(1_700_000_000_000, &[b"a", b"b"], 5);
    let src = write(
        &dir,
        "s.rdb",
        &file(b"REDIS0009", &[entry(15, b"s", &body)]),
    );
    judged(ServerKind::Redis62, &src, true);
    judged(ServerKind::Redis82, &src, true);
    // Valkey 9 refuses the mismatch in any file.
    assert!(!ServerKind::Valkey91.check_rdb(&src).unwrap().ok);
    for kind in [
        ServerKind::Redis60,
        ServerKind::Redis70,
        ServerKind::Redis82,
    ] {
        let target = kind.target_name();
        let out = dir.join(format!("{target}.rdb"));
        let report = dir.join(format!("{target}.json"));
        let o = convert(&src, &out, target, &["--report", &report.to_string_lossy()]);
        assert!(o.status.success(), "{target}: {o:?}");
        let report = std::fs::read_to_string(&report).unwrap();
        assert!(report.contains("stream-length-kept"), "{target}: {report}");
        let server = Server::start(kind, Some(&out)).expect("loads");
        assert_eq!(
            query(&server, Cmd::new("XLEN").arg("s")),
            Reply::Integer(5),
            "{target}"
        );
        let range = query(&server, Cmd::new("XRANGE").args(["s", "-", "+"]));
        let want = |id: &str, v: &str| {
            Reply::Array(vec![
                Reply::Bulk(id.into()),
                Reply::Array(vec![Reply::Bulk(b"f".to_vec()), Reply::Bulk(v.into())]),
            ])
        };
        assert_eq!(
            range,
            Reply::Array(vec![
                want("1700000000000-1", "a"),
                want("1700000000000-2", "b")
            ]),
            "{target}"
        );
    }
    // For Valkey 9 the length becomes the live count: a loss, refused by
    // default, and then the file loads with XLEN 2.
    let out = dir.join("valkey.rdb");
    let o = convert(&src, &out, "valkey-9.1", &[]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("stream-length"),
        "{o:?}"
    );
    let o = convert(&src, &out, "valkey-9.1", &["--on-loss", "warn"]);
    assert!(o.status.success(), "{o:?}");
    judged(ServerKind::Valkey91, &out, true);
    let server = Server::start(ServerKind::Valkey91, Some(&out)).expect("loads");
    assert_eq!(query(&server, Cmd::new("XLEN").arg("s")), Reply::Integer(2));
    // And a VALKEY file with the mismatch is damaged, for verify as for
    // Valkey 9.
    let bad = write(
        &dir,
        "v80.rdb",
        &file(b"VALKEY080", &[entry(15, b"s", &body)]),
    );
    judged(ServerKind::Valkey91, &bad, false);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A stored length without any node: 6.x load it, 7.0 and later refuse it
/// ("Stream length inconsistent with rax entries"). verify follows the
/// file's version; a conversion for 7.0+ writes length 0 and says so.
#[test]
fn stream_length_without_nodes_follows_the_version() {
    let dir = tmpdir("rule-stream-empty");
    let mut body = len(0);
    body.extend(len(3));
    body.extend(len(1_700_000_000_000));
    body.extend(len(3));
    body.extend(len(0));
    let rec = entry(15, b"s", &body);
    let v9 = write(
        &dir,
        "v9.rdb",
        &file(b"REDIS0009", std::slice::from_ref(&rec)),
    );
    let v10 = write(&dir, "v10.rdb", &file(b"REDIS0010", &[rec]));
    judged(ServerKind::Redis62, &v9, true);
    judged(ServerKind::Redis70, &v10, false);
    assert!(!ServerKind::Redis70.check_rdb(&v9).unwrap().ok);

    let out = dir.join("out.rdb");
    let o = convert(&v9, &out, "redis-7.0", &[]);
    assert_eq!(o.status.code(), Some(2), "refused by default: {o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("stream-length"),
        "{o:?}"
    );
    assert!(!out.exists());
    let o = convert(&v9, &out, "redis-7.0", &["--on-loss", "warn"]);
    assert!(o.status.success(), "{o:?}");
    let server = Server::start(ServerKind::Redis70, Some(&out)).expect("loads");
    assert_eq!(query(&server, Cmd::new("XLEN").arg("s")), Reply::Integer(0));
    assert_eq!(
        query(&server, Cmd::new("EXISTS").arg("s")),
        Reply::Integer(1)
    );
    // A 6.x target keeps it as it is.
    let o = convert(&v9, &out, "azure-premium", &[]);
    assert!(o.status.success(), "{o:?}");
    let server = Server::start(ServerKind::Redis60, Some(&out)).expect("loads");
    assert_eq!(query(&server, Cmd::new("XLEN").arg("s")), Reply::Integer(3));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Class 2: a type-3 sorted set's text score is read with sscanf("%lg"):
/// a number at its start is enough. Text that starts with none is refused.
#[test]
fn text_scores_are_read_as_sscanf_reads_them() {
    let dir = tmpdir("rule-text-score");
    let zset = |score: &[u8]| {
        let mut body = len(2);
        body.extend(string(b"a"));
        body.extend(string(score));
        body.extend(string(b"b"));
        body.extend(string(b" 983868.3\xc9\x01"));
        entry(3, b"z", &body)
    };
    let src = write(&dir, "z.rdb", &file(b"REDIS0006", &[zset(b"-431429,605")]));
    judged(ServerKind::Redis62, &src, true);
    converted_scores(
        &dir,
        &src,
        ServerKind::Redis82,
        &[b"a", b"-431429", b"b", b"983868.3"],
    );
    for bad in [&b""[..], b"x1", b"  ", b"nan"] {
        let p = write(&dir, "bad.rdb", &file(b"REDIS0006", &[zset(bad)]));
        judged(ServerKind::Redis62, &p, false);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Class 3: Valkey 9's HASH_2 field expiry must be -1 (none) or a time;
/// anything below -1 is refused. 0 (long expired) loads.
#[test]
fn valkey_field_expiry_below_minus_one_is_refused() {
    let dir = tmpdir("rule-hash2");
    let hash = |expiry: i64| {
        let mut body = len(2);
        body.extend(string(b"f"));
        body.extend(string(b"v"));
        body.extend_from_slice(&(-1i64).to_le_bytes());
        body.extend(string(b"g"));
        body.extend(string(b"w"));
        body.extend_from_slice(&expiry.to_le_bytes());
        entry(22, b"h", &body)
    };
    for (expiry, loads) in [
        (-1, true),
        (0, true),
        (4_102_444_800_000, true),
        (-2, false),
        (-5, false),
        (i64::MIN, false),
    ] {
        let p = write(&dir, "h.rdb", &file(b"VALKEY080", &[hash(expiry)]));
        judged(ServerKind::Valkey91, &p, loads);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Class 4: a zipmap's count byte is the pair count unless it is 254
/// ("unknown"): 255 is refused ("Zipmap integrity check failed").
#[test]
fn zipmap_count_byte_255_is_refused() {
    let dir = tmpdir("rule-zipmap");
    let zipmap = |count: u8| {
        let blob = [count, 1, b'a', 1, 0, b'b', 0xff];
        entry(9, b"h", &string(&blob))
    };
    for (count, loads) in [
        (1, true),
        (254, true),
        (255, false),
        (2, false),
        (253, false),
    ] {
        let p = write(&dir, "zm.rdb", &file(b"REDIS0006", &[zipmap(count)]));
        judged(ServerKind::Redis62, &p, loads);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Listpack and ziplist scores are never checked while loading and read
/// with strtod later: text that is no number is a score of 0.
#[test]
fn listpack_scores_are_read_as_strtod_reads_them() {
    let dir = tmpdir("rule-lp-score");
    let lp = listpack(&[
        Lp::Str(b"a"),
        Lp::Str(b"abc"),
        Lp::Str(b"b"),
        Lp::Str(b"1.5x"),
    ]);
    let src = write(
        &dir,
        "z.rdb",
        &file(b"REDIS0011", &[entry(17, b"z", &string(&lp))]),
    );
    judged(ServerKind::Valkey81, &src, true);
    judged(ServerKind::Redis82, &src, true);
    converted_scores(&dir, &src, ServerKind::Redis62, &[b"a", b"0", b"b", b"1.5"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A group's pending entries each belong to a consumer: one that no
/// consumer claims ("Stream CG PEL entry without consumer") and one twice
/// in a consumer's PEL ("Duplicated consumer PEL entry") are refused; one
/// that a second consumer claims too loads (the second takes it over).
#[test]
fn pending_entries_belong_to_exactly_one_consumer() {
    let dir = tmpdir("rule-pel");
    let ms = 1_700_000_000_000u64;
    let id = |seq: u64| {
        let mut v = ms.to_be_bytes().to_vec();
        v.extend_from_slice(&seq.to_be_bytes());
        v
    };
    // Two entries (ms-1, ms-2), one group whose PEL holds both, and
    // consumers owning the given entries.
    let stream = |owners: &[&[u64]]| {
        let mut body = stream_v1(ms, &[b"a", b"b"], 2);
        body.pop(); // no groups: replaced below
        body.extend(len(1));
        body.extend(string(b"g"));
        body.extend(len(ms));
        body.extend(len(2));
        body.extend(len(2));
        for seq in [1, 2] {
            body.extend(id(seq));
            body.extend_from_slice(&(ms as i64).to_le_bytes());
            body.extend(len(1));
        }
        body.extend(len(owners.len() as u64));
        for (i, owned) in owners.iter().enumerate() {
            body.extend(string(format!("c{i}").as_bytes()));
            body.extend_from_slice(&(ms as i64).to_le_bytes());
            body.extend(len(owned.len() as u64));
            for &seq in *owned {
                body.extend(id(seq));
            }
        }
        file(b"REDIS0009", &[entry(15, b"s", &body)])
    };
    for (owners, loads) in [
        (&[&[1u64, 2][..]][..], true),
        (&[&[1][..], &[2][..]][..], true),
        (&[&[1, 2][..], &[2][..]][..], true),
        (&[&[1, 2, 2][..]][..], false),
        (&[&[1][..]][..], false),
        (&[&[1][..], &[][..]][..], false),
    ] {
        let p = write(&dir, "pel.rdb", &stream(owners));
        judged(ServerKind::Redis62, &p, loads);
        judged(ServerKind::Redis82, &p, loads);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A stream node's listpack header count is never read by Redis or
/// Valkey 8 (`streamValidateListpackIntegrity` walks the entries by their
/// own counts): a wrong one loads there. Valkey 9 checks it in every file;
/// a conversion for Valkey 9 sets it right.
#[test]
fn stream_node_listpack_counts_are_checked_by_valkey_9_only() {
    let dir = tmpdir("rule-stream-count");
    let mut body = stream_v1(1_700_000_000_000, &[b"a", b"b"], 2);
    // The node listpack follows the 1-byte node count, the 17-byte key
    // string and its own 1-byte length: its count is at bytes 4-5.
    let lp_at = 1 + 17 + 1;
    body[lp_at + 4] = 0x0a;
    body[lp_at + 5] = 0xc1;
    let rec = entry(15, b"s", &body);
    let p = write(
        &dir,
        "s.rdb",
        &file(b"REDIS0009", std::slice::from_ref(&rec)),
    );
    judged(ServerKind::Redis62, &p, true);
    judged(ServerKind::Redis82, &p, true);
    assert!(ServerKind::Valkey81.check_rdb(&p).unwrap().ok);
    assert!(!ServerKind::Valkey91.check_rdb(&p).unwrap().ok);
    let v80 = write(&dir, "s80.rdb", &file(b"VALKEY080", &[rec]));
    judged(ServerKind::Valkey91, &v80, false);

    let out = dir.join("valkey.rdb");
    let o = convert(&p, &out, "valkey-9.1", &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("stream-listpack-recounted"),
        "{o:?}"
    );
    judged(ServerKind::Valkey91, &out, true);
    let server = Server::start(ServerKind::Valkey91, Some(&out)).expect("loads");
    assert_eq!(query(&server, Cmd::new("XLEN").arg("s")), Reply::Integer(2));
    // Redis targets keep the node as it is.
    let o = convert(&p, &out, "redis-7.0", &[]);
    assert!(o.status.success(), "{o:?}");
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("recounted"),
        "{o:?}"
    );
    judged(ServerKind::Redis70, &out, true);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Stream nodes may come in any order (the loader's radix tree sorts them),
/// but a node key may not repeat ("Listpack re-added with existing key").
#[test]
fn stream_nodes_in_any_order_but_no_key_twice() {
    let dir = tmpdir("rule-stream-nodes");
    // A node of one entry (ms-1, field f) keyed by its ID ms-1.
    let node = |ms: u64| {
        let lp = listpack(&[
            Lp::Int(1),
            Lp::Int(0),
            Lp::Int(1),
            Lp::Str(b"f"),
            Lp::Int(0),
            Lp::Int(2),
            Lp::Int(0),
            Lp::Int(0),
            Lp::Str(b"v"),
            Lp::Int(4),
        ]);
        let mut key = ms.to_be_bytes().to_vec();
        key.extend_from_slice(&1u64.to_be_bytes());
        let mut v = string(&key);
        v.extend(string(&lp));
        v
    };
    let stream = |order: &[u64]| {
        let mut body = len(order.len() as u64);
        for &ms in order {
            body.extend(node(ms));
        }
        body.extend(len(order.len() as u64));
        body.extend(len(order.iter().copied().max().unwrap_or(0)));
        body.extend(len(1));
        body.extend(len(0));
        file(b"REDIS0009", &[entry(15, b"s", &body)])
    };
    for (order, loads) in [
        (&[1000u64, 2000][..], true),
        (&[2000, 1000][..], true),
        (&[2000, 1000, 2000][..], false),
    ] {
        let p = write(&dir, "s.rdb", &stream(order));
        judged(ServerKind::Redis62, &p, loads);
        judged(ServerKind::Redis82, &p, loads);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A key prefix given twice (two expiries, two IDLEs) loads: each opcode
/// just sets its value again, and the last one counts.
#[test]
fn a_prefix_given_twice_keeps_the_last() {
    let dir = tmpdir("rule-prefix-twice");
    let (first, last) = (4_102_444_800_000i64, 4_102_444_900_000i64);
    let mut rec = vec![0xfc];
    rec.extend_from_slice(&first.to_le_bytes());
    rec.push(0xfc);
    rec.extend_from_slice(&last.to_le_bytes());
    rec.extend([0xf8, 5, 0xf8, 6]);
    rec.extend(entry(0, b"k", &string(b"v")));
    let src = write(&dir, "p.rdb", &file(b"REDIS0009", &[rec]));
    judged(ServerKind::Redis62, &src, true);
    judged(ServerKind::Redis82, &src, true);
    for kind in [
        ServerKind::Redis70,
        ServerKind::Redis82,
        ServerKind::Valkey91,
    ] {
        let out = dir.join("out.rdb");
        let o = convert(&src, &out, kind.target_name(), &[]);
        assert!(o.status.success(), "{o:?}");
        let server = Server::start(kind, Some(&out)).expect("loads");
        let at = query(&server, Cmd::new("PEXPIRETIME").arg("k"));
        assert_eq!(at, Reply::Integer(last), "{kind}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A loader knows the types of its own release only: a set listpack
/// (type 20, Redis 7.2) in an RDB 10 file is refused by Redis 7.0 ("Invalid
/// object type"), and the same record in an RDB 11 file loads.
#[test]
fn a_type_newer_than_the_file_version_is_refused() {
    let dir = tmpdir("rule-type-version");
    let lp = listpack(&[Lp::Str(b"a"), Lp::Str(b"b")]);
    let rec = entry(20, b"s", &string(&lp));
    let v10 = write(
        &dir,
        "v10.rdb",
        &file(b"REDIS0010", std::slice::from_ref(&rec)),
    );
    judged(ServerKind::Redis70, &v10, false);
    let v11 = write(&dir, "v11.rdb", &file(b"REDIS0011", &[rec]));
    judged(ServerKind::Valkey81, &v11, true);
    std::fs::remove_dir_all(dir).unwrap();
}
