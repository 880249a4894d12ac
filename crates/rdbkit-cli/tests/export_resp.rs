//! `export --format resp` into real servers: every fixture's commands, sent
//! to an empty Redis 6.2 / 7.0 / 8.2 and Valkey 8.1 / 9.1, rebuild exactly
//! the fixture's logical contents, less what the server cannot hold.

use std::io::{BufReader, Write};
use std::net::TcpStream;

use rdbkit_testkit::{Reply, Server, ServerKind, diff_logical, dump_logical, read_reply};
use serde_json::Value;

use crate::common::*;

/// The command names of a RESP stream (arrays of bulk strings), checking
/// that it is well formed.
pub(crate) fn parse_commands(mut b: &[u8]) -> Vec<String> {
    fn line<'a>(b: &mut &'a [u8]) -> &'a [u8] {
        let i = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let l = &b[..i];
        *b = &b[i + 2..];
        l
    }
    let mut names = Vec::new();
    while !b.is_empty() {
        let head = line(&mut b);
        assert_eq!(
            head[0],
            b'*',
            "not an array: {:?}",
            String::from_utf8_lossy(head)
        );
        let n: usize = std::str::from_utf8(&head[1..]).unwrap().parse().unwrap();
        assert!(n >= 1);
        for i in 0..n {
            let h = line(&mut b);
            assert_eq!(h[0], b'$');
            let len: usize = std::str::from_utf8(&h[1..]).unwrap().parse().unwrap();
            if i == 0 {
                names.push(String::from_utf8_lossy(&b[..len]).into_owned());
            }
            assert_eq!(&b[len..len + 2], b"\r\n");
            b = &b[len + 2..];
        }
    }
    names
}

/// Send raw RESP to the server and return the error replies (command, text).
fn send(server: &Server, resp: &[u8]) -> Vec<(String, String)> {
    let names = parse_commands(resp);
    let stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
    let mut w = stream.try_clone().unwrap();
    let data = resp.to_vec();
    let writer = std::thread::spawn(move || w.write_all(&data).unwrap());
    let mut r = BufReader::new(stream);
    let mut errors = Vec::new();
    for name in &names {
        if let Reply::Error(e) = read_reply(&mut r).unwrap() {
            errors.push((name.clone(), e));
        }
    }
    writer.join().unwrap();
    errors
}

/// The fixture's live contents as `kind` can hold them: without the keys
/// that were already expired (not in `dbs`: PEXPIREAT with a past time
/// deletes them), and without hash field TTLs where the server has none.
fn expected_on(name: &str, kind: ServerKind) -> Value {
    let path = fixtures_dir().join(name).join("types.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let hfe = matches!(kind, ServerKind::Redis82 | ServerKind::Valkey91);
    if !hfe {
        for entries in doc["dbs"].as_object_mut().unwrap().values_mut() {
            for e in entries.as_array_mut().unwrap() {
                e.as_object_mut().unwrap().remove("field_expire_ms");
            }
        }
    }
    doc
}

fn export_resp(name: &str, target: &str) -> Vec<u8> {
    let out = run(&[
        "export",
        "--format",
        "resp",
        "--target",
        target,
        // What the target cannot take is compared by the tests themselves.
        "--on-loss",
        "warn",
        &fixture_rdb(name),
    ]);
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn check_server(kind: ServerKind) {
    for name in fixture_names() {
        let resp = export_resp(&name, kind.name());
        let server = Server::start(kind, None).unwrap_or_else(|e| panic!("{e}"));
        let errors = send(&server, &resp);
        assert!(errors.is_empty(), "{name} on {kind}: {errors:?}");
        let live = dump_logical(&mut server.conn().unwrap());
        let diff = diff_logical(&expected_on(&name, kind), &live);
        assert!(diff.is_empty(), "{name} on {kind}:\n{}", diff.join("\n"));
        // Functions: every library of a 7.0+ fixture is there.
        if kind != ServerKind::Redis62 {
            let exp = expected_on(&name, kind);
            if let Some(f) = exp["functions"].as_array() {
                assert_eq!(
                    live["functions"].as_array().unwrap().len(),
                    f.len(),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn resp_rebuilds_fixtures_on_redis_6_2() {
    check_server(ServerKind::Redis62);
}

#[test]
fn resp_rebuilds_fixtures_on_redis_7_0() {
    check_server(ServerKind::Redis70);
}

#[test]
fn resp_rebuilds_fixtures_on_redis_8_2() {
    check_server(ServerKind::Redis82);
}

#[test]
fn resp_rebuilds_fixtures_on_valkey_8_1() {
    check_server(ServerKind::Valkey81);
}

#[test]
fn resp_rebuilds_fixtures_on_valkey_9_1() {
    check_server(ServerKind::Valkey91);
}

/// A real `redis-cli --pipe` (Debian's redis-tools 7.0.15, installed by
/// `scripts/install-servers.sh`) accepts the output and reports no errors.
#[test]
fn resp_through_real_redis_cli_pipe() {
    for (name, kind) in [
        ("redis-8.2.3", ServerKind::Redis82),
        ("valkey-9.1.2", ServerKind::Redis70),
        ("redis-2.8.24", ServerKind::Redis62),
    ] {
        let resp = export_resp(name, kind.name());
        let server = Server::start(kind, None).unwrap_or_else(|e| panic!("{e}"));
        let out = redis_cli_pipe(&server, resp);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {text}");
        assert!(text.contains("errors: 0,"), "{name}: {text}");
        let live = dump_logical(&mut server.conn().unwrap());
        let diff = diff_logical(&expected_on(name, kind), &live);
        assert!(diff.is_empty(), "{name} on {kind}:\n{}", diff.join("\n"));
    }
}

/// What the target cannot hold is refused as `convert` refuses a loss
/// (nothing written, every loss listed, exit 2); with `--on-loss warn` it is
/// left out with the same list, not sent.
#[test]
fn resp_respects_target_capabilities() {
    let f = fixture_rdb("redis-8.2.3");
    let out = run(&["export", "--format", "resp", "--target", "redis-6.2", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing is written when refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("losses: "), "{err}");
    assert!(err.contains("field-ttls"), "{err}");
    assert!(err.contains("function library"), "{err}");
    assert!(err.contains("--on-loss warn"), "{err}");
    // The per-key list names the keys, as convert's report does.
    let converted = run(&["verify", "--target", "redis-6.2", &f]);
    let conv = String::from_utf8_lossy(&converted.stdout);
    for line in err
        .lines()
        .filter(|l| l.contains("field-ttls") && l.starts_with("  "))
    {
        let key = line.split('"').nth(1).unwrap();
        assert!(
            conv.contains(key),
            "{key} is a field-ttls loss of convert too"
        );
    }
    let out = run(&[
        "export",
        "--format",
        "resp",
        "--target",
        "redis-6.2",
        "--on-loss",
        "warn",
        &f,
    ]);
    assert!(out.status.success());
    let names = parse_commands(&out.stdout);
    for absent in ["HPEXPIREAT", "FUNCTION"] {
        assert!(!names.iter().any(|n| n == absent), "{absent}");
    }
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("hash field TTLs dropped"), "{err}");
    assert!(err.contains("1 function library skipped"), "{err}");
    assert!(err.contains("field-ttls"), "{err}");
    let out = run(&["export", "--format", "resp", "--target", "redis-8.2", &f]);
    let names = parse_commands(&out.stdout);
    assert!(names.iter().any(|n| n == "HPEXPIREAT"));
    assert!(names.iter().any(|n| n == "FUNCTION"));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Batches: no command carries more than 1000 elements (list:compressed has 2000).
    let out = run(&[
        "export",
        "--format",
        "resp",
        "--match",
        "list:compressed",
        &f,
    ]);
    let names = parse_commands(&out.stdout);
    // Function libraries are not keys: selection flags keep them.
    assert_eq!(names, ["FUNCTION", "SELECT", "DEL", "RPUSH", "RPUSH"]);
    let out = run(&["export", "--format", "resp", "--target", "nope-1.0", &f]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--restore`: RESTORE commands whose DUMP payloads are encoded for the
/// target's RDB version rebuild every fixture on Redis 6.2, 7.0 and 8.2
/// (downgrades included: the payloads go through the conversion rules).
#[test]
fn restore_payloads_rebuild_fixtures() {
    for kind in [
        ServerKind::Redis62,
        ServerKind::Redis70,
        ServerKind::Redis82,
    ] {
        for name in fixture_names() {
            let out = run(&[
                "export",
                "--format",
                "resp",
                "--restore",
                "--target",
                kind.name(),
                "--on-loss",
                "warn",
                &fixture_rdb(&name),
            ]);
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let names = parse_commands(&out.stdout);
            assert!(
                names.iter().filter(|n| n.as_str() == "RESTORE").count() > 50,
                "{name}: {names:?}"
            );
            assert!(
                !names
                    .iter()
                    .any(|n| ["RPUSH", "SADD", "HSET", "XADD"].contains(&n.as_str()))
            );
            let server = Server::start(kind, None).unwrap_or_else(|e| panic!("{e}"));
            let errors = send(&server, &out.stdout);
            assert!(errors.is_empty(), "{name} on {kind}: {errors:?}");
            let live = dump_logical(&mut server.conn().unwrap());
            let mut expected = expected_on(&name, kind);
            // Functions are loaded by FUNCTION LOAD where the target has them.
            if kind == ServerKind::Redis62 {
                expected["functions"] = Value::Null;
            }
            let diff = diff_logical(&expected, &live);
            assert!(
                diff.is_empty(),
                "{name} on {kind} (RESTORE):\n{}",
                diff.join("\n")
            );
        }
    }
}
