//! The test kit against real servers: every fixture a server can load is
//! loaded and its live logical contents match the fixture's JSON; files that
//! are too new are refused with the server's own reason.
//!
//! Needs the servers from `scripts/install-servers.sh` (installed on first use).

use std::time::Instant;

use rdbkit_testkit::{
    Cmd, Conn, Fixture, Reply, Server, ServerKind, diff_logical, dump_logical, list_fixtures,
};
use serde_json::{Value, json};

fn fixtures() -> Vec<Fixture> {
    let all = list_fixtures().expect("cannot list <workspace>/fixtures");
    assert!(
        all.len() >= 12,
        "expected the 12 real-server fixtures under {}, found {}",
        rdbkit_testkit::fixtures_dir().display(),
        all.len()
    );
    all
}

fn fixture(name: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("fixture {name} is missing"))
}

/// Load every fixture `kind` can read; each must load and match its JSON.
fn fixtures_match(kind: ServerKind, must_include: &str) {
    let loadable: Vec<Fixture> = fixtures()
        .into_iter()
        .filter(|f| kind.can_load(&f.header))
        .collect();
    assert!(
        loadable.iter().any(|f| f.name == must_include),
        "{kind}: fixture {must_include} should be loadable"
    );
    let mut failures = Vec::new();
    for fx in &loadable {
        let t = Instant::now();
        let expected = fx.expected().expect("fixture JSON");
        let server = match Server::start(kind, Some(&fx.rdb)) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("{} ({}) did not load:\n{e}", fx.name, fx.header));
                continue;
            }
        };
        let live = dump_logical(&mut server.conn().expect("connect"));
        let diff = diff_logical(&expected, &live);
        if !diff.is_empty() {
            failures.push(format!(
                "{} ({}) differs:\n  {}",
                fx.name,
                fx.header,
                diff.join("\n  ")
            ));
            continue;
        }
        // The comparison is not vacuous: the dump holds every key, and a
        // tampered expectation is noticed.
        let n: usize = live["dbs"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_array().unwrap().len())
            .sum();
        assert!(n > 50, "{kind} {}: only {n} keys dumped", fx.name);
        let mut tampered = expected.clone();
        tampered["dbs"]["0"][0]["value"] = json!("tampered");
        assert!(!diff_logical(&tampered, &live).is_empty());
        eprintln!(
            "{kind}: {} ({}) loaded and matched, {n} keys, {:?}",
            fx.name,
            fx.header,
            t.elapsed()
        );
    }
    assert!(
        failures.is_empty(),
        "{kind}: {} of {} fixtures failed:\n{}",
        failures.len(),
        loadable.len(),
        failures.join("\n\n")
    );
}

#[test]
fn redis_6_2_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Redis62, "redis-6.2.14");
}

#[test]
fn redis_7_0_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Redis70, "redis-7.0.15");
}

#[test]
fn redis_6_0_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Redis60, "redis-5.0.14");
}

#[test]
fn valkey_8_1_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Valkey81, "valkey-8.0.1");
}

#[test]
fn redis_8_2_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Redis82, "redis-8.2.3");
}

#[test]
fn valkey_9_1_loads_and_matches_fixtures() {
    fixtures_match(ServerKind::Valkey91, "valkey-9.1.2");
}

#[test]
fn too_new_files_are_refused_with_the_servers_reason() {
    let cases = [
        (
            ServerKind::Redis62,
            "redis-8.2.3",
            "Can't handle RDB format version 12",
        ),
        (
            ServerKind::Redis62,
            "redis-7.0.15",
            "Can't handle RDB format version 10",
        ),
        (
            ServerKind::Valkey91,
            "redis-7.4.1",
            "Can't handle RDB format version 12",
        ),
        (ServerKind::Redis82, "valkey-9.1.2", "Wrong signature"),
    ];
    for (kind, name, want) in cases {
        let fx = fixture(name);
        assert!(!kind.can_load(&fx.header), "{kind} should not load {name}");
        match Server::start(kind, Some(&fx.rdb)) {
            Ok(_) => panic!("{kind} loaded {name} ({}) but should refuse it", fx.header),
            Err(e) => {
                let text = e.to_string();
                assert!(
                    text.contains(want),
                    "{kind} refusing {name}: expected {want:?} in:\n{text}"
                );
                assert!(
                    e.reason.contains(want),
                    "reason {:?} lacks {want:?}",
                    e.reason
                );
            }
        }
    }
}

fn q(c: &mut Conn, cmd: Cmd) -> Reply {
    c.query(&cmd).unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
}

/// Write known data through the client and read it back with `dump_logical`:
/// binary keys, exact absolute expiries (bracketed PTTL on 6.2), scores,
/// hash field TTLs, a db above 15 (`--databases 32`), a stream with a PEL.
fn write_and_dump(kind: ServerKind) {
    let server = Server::start_with(kind, None, &["--databases", "32"]).expect("start");
    let mut c = server.conn().unwrap();
    let exp_at = 4102444800123_i64;
    q(&mut c, Cmd::new("SET").arg(b"k\xff\x00").arg(b"v\r\n\xfe"));
    q(&mut c, Cmd::new("PEXPIREAT").arg(b"k\xff\x00").arg(exp_at));
    q(
        &mut c,
        Cmd::new("ZADD").args(["z", "1e300", "a", "-inf", "b", "0.1", "c", "-3", "d"]),
    );
    q(&mut c, Cmd::new("RPUSH").args(["l", "x", "y", "x"]));
    q(&mut c, Cmd::new("SADD").args(["s", "b", "a"]));
    q(&mut c, Cmd::new("HSET").args(["h", "f", "1", "g", "2"]));
    let field_ttls = !matches!(
        kind,
        ServerKind::Redis62 | ServerKind::Redis70 | ServerKind::Valkey81
    );
    if field_ttls {
        let r = q(
            &mut c,
            Cmd::new("HPEXPIREAT")
                .arg("h")
                .arg(exp_at + 5)
                .args(["FIELDS", "1", "g"]),
        );
        assert_eq!(r, Reply::Array(vec![Reply::Integer(1)]));
    }
    q(&mut c, Cmd::new("XADD").args(["st", "1-1", "a", "1"]));
    q(&mut c, Cmd::new("XADD").args(["st", "2-0", "b", "2"]));
    q(&mut c, Cmd::new("XGROUP").args(["CREATE", "st", "g1", "0"]));
    q(
        &mut c,
        Cmd::new("XREADGROUP").args(["GROUP", "g1", "alice", "COUNT", "1", "STREAMS", "st", ">"]),
    );
    q(&mut c, Cmd::new("SELECT").arg(20u32));
    q(&mut c, Cmd::new("SET").args(["in20", ""]));

    let live = dump_logical(&mut c);
    assert_eq!(
        live["dbs"]["20"],
        json!([{"key": "in20", "type": "string", "expire_ms": null,
        "value": "", "encoding": live["dbs"]["20"][0]["encoding"].clone()}])
    );
    let db0 = &live["dbs"]["0"];
    let entry = |k: &str| -> &Value {
        db0.as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .unwrap_or_else(|| panic!("{kind}: {k} not dumped: {db0}"))
    };
    let first = db0
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == json!({"base64": "a/8A"}))
        .unwrap_or_else(|| panic!("{kind}: binary key not dumped: {db0}"));
    assert_eq!(first["value"], json!({"base64": "dg0K/g=="}), "{kind}");
    assert_eq!(
        first["expire_ms"],
        json!(exp_at),
        "{kind}: expiry must be exact"
    );
    assert_eq!(
        entry("z")["value"],
        json!([["a", "1e+300"], ["b", "-inf"], ["c", "0.1"], ["d", "-3.0"]]),
        "{kind}"
    );
    assert_eq!(entry("l")["value"], json!(["x", "y", "x"]));
    assert_eq!(entry("s")["value"], json!(["a", "b"]));
    assert_eq!(entry("h")["value"], json!([["f", "1"], ["g", "2"]]));
    if field_ttls {
        assert_eq!(
            entry("h")["field_expire_ms"],
            json!([["g", exp_at + 5]]),
            "{kind}"
        );
    } else {
        assert!(entry("h").get("field_expire_ms").is_none());
    }
    let st = &entry("st")["value"];
    assert_eq!(st["length"], 2);
    assert_eq!(st["last_id"], "2-0");
    assert_eq!(
        st["entries"],
        json!([["1-1", [["a", "1"]]], ["2-0", [["b", "2"]]]])
    );
    let g = &st["groups"][0];
    assert_eq!(g["name"], "g1");
    assert_eq!(g["last_delivered_id"], "1-1");
    assert_eq!(g["consumers"], json!([{"name": "alice", "pending": 1}]));
    let pe = &g["pending"][0];
    assert_eq!(
        (&pe[0], &pe[1], &pe[3]),
        (&json!("1-1"), &json!("alice"), &json!(1))
    );
    assert!(
        pe[2].as_i64().unwrap() > 1_600_000_000_000,
        "delivery time {pe}"
    );

    // A dump diffs clean against itself and notices a changed expiry.
    assert!(diff_logical(&live, &live).is_empty());
    let mut other = live.clone();
    other["dbs"]["0"][0]["expire_ms"] = json!(exp_at + 1);
    assert_eq!(diff_logical(&live, &other).len(), 1);
    if kind == ServerKind::Redis62 {
        assert!(live["functions"].is_null());
    } else {
        assert_eq!(live["functions"], json!([]));
    }
}

#[test]
fn write_and_dump_on_redis_6_2() {
    write_and_dump(ServerKind::Redis62);
}

#[test]
fn write_and_dump_on_valkey_9_1() {
    write_and_dump(ServerKind::Valkey91);
}

#[test]
fn write_and_dump_on_redis_8_2_and_save() {
    write_and_dump(ServerKind::Redis82);
    // SAVE writes a file the server itself reads back.
    let server = Server::start(ServerKind::Redis82, None).unwrap();
    let mut c = server.conn().unwrap();
    q(&mut c, Cmd::new("SET").args(["a", "1"]));
    let path = server.save().unwrap();
    let header = rdbkit_testkit::RdbHeader::read(&path).unwrap();
    assert_eq!(header.to_string(), "REDIS0012");
    let again = Server::start(ServerKind::Redis82, Some(&path)).unwrap();
    let live = dump_logical(&mut again.conn().unwrap());
    assert_eq!(live["dbs"]["0"][0]["value"], "1");
}
