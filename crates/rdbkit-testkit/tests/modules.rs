//! Servers with Redis Stack's modules: the Stack starts with its four
//! modules and they answer their own commands; chosen modules load into
//! Redis 8.2.3 and Valkey 8.1.8; the module fixture loads with its views
//! equal, and a changed expectation is reported.
//!
//! Needs the servers from `scripts/install-servers.sh` (installed on first use).

use std::collections::BTreeSet;

use rdbkit_testkit::{
    Cmd, Conn, Reply, Server, ServerKind, StackModule, diff_views, module_fixture_rdb,
    module_fixture_views, module_views,
};
use serde_json::Value;

/// The names `MODULE LIST` reports.
fn loaded_modules(c: &mut Conn) -> BTreeSet<String> {
    let reply = c.query(&Cmd::new("MODULE").arg("LIST")).unwrap();
    let mut out = BTreeSet::new();
    for m in reply.as_array().expect("MODULE LIST is an array") {
        let fields = m.as_array().expect("one module is a flat map");
        for pair in fields.chunks(2) {
            if pair[0].as_text().as_deref() == Some("name") {
                out.insert(pair[1].as_text().unwrap());
            }
        }
    }
    out
}

fn text(c: &mut Conn, cmd: Cmd) -> String {
    c.query(&cmd)
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"))
        .as_text()
        .unwrap()
}

#[test]
fn redis_stack_starts_with_its_modules_and_runs_json() {
    let s = Server::start(ServerKind::RedisStack74, None).unwrap();
    assert_eq!(s.modules(), StackModule::ALL);
    let mut c = s.conn().unwrap();
    let info = text(&mut c, Cmd::new("INFO").arg("server"));
    assert!(info.contains("redis_version:7.4.1"), "{info}");
    let names = loaded_modules(&mut c);
    for m in StackModule::ALL {
        assert!(names.contains(m.module_name()), "{m:?} not in {names:?}");
    }

    let doc = r#"{"a":[1,2,{"b":null}],"s":"caf\u00e9 😀","n":9007199254740993}"#;
    let set = c.query(&Cmd::new("JSON.SET").arg("j").arg("$").arg(doc));
    assert_eq!(set.unwrap(), Reply::Status("OK".into()));
    let got: Value = serde_json::from_str(&text(&mut c, Cmd::new("JSON.GET").arg("j"))).unwrap();
    assert_eq!(got, serde_json::from_str::<Value>(doc).unwrap());
    assert_eq!(text(&mut c, Cmd::new("TYPE").arg("j")), "ReJSON-RL");
    assert_eq!(
        text(&mut c, Cmd::new("JSON.GET").arg("j").arg("$.a[2].b")),
        "[null]"
    );
    // A wrong path is the module's error, not a silent nil.
    let bad = c.query_raw(&Cmd::new("JSON.SET").arg("j").arg("$").arg("{not json"));
    assert!(matches!(bad, Ok(Reply::Error(_))), "{bad:?}");
}

#[test]
fn no_modules_means_none_even_for_the_stack() {
    let s = Server::start_with_chosen_modules(ServerKind::RedisStack74, None, &[], &[]).unwrap();
    let mut c = s.conn().unwrap();
    assert_eq!(loaded_modules(&mut c), BTreeSet::new());
    let r = c.query_raw(&Cmd::new("JSON.SET").arg("j").arg("$").arg("1"));
    assert!(matches!(r, Ok(Reply::Error(e)) if e.contains("unknown command")));
}

/// Each module alone, and all four, in Redis 8.2.3 and Valkey 8.1.8: the
/// server starts, `MODULE LIST` names exactly what was asked, and each
/// module's own commands work.
#[test]
fn chosen_modules_load_into_redis_82_and_valkey_81() {
    for kind in [ServerKind::Redis82, ServerKind::Valkey81] {
        for m in StackModule::ALL {
            let s = Server::start_with_chosen_modules(kind, None, &[m], &[])
                .unwrap_or_else(|e| panic!("{kind} with {m:?}: {e}"));
            let names = loaded_modules(&mut s.conn().unwrap());
            assert!(names.contains(m.module_name()), "{kind}: {names:?}");
            for other in StackModule::ALL.iter().filter(|&&o| o != m) {
                assert!(!names.contains(other.module_name()), "{kind}: {names:?}");
            }
        }
        let s = Server::start_with_modules(kind, None, &[])
            .unwrap_or_else(|e| panic!("{kind} with all four: {e}"));
        let mut c = s.conn().unwrap();
        let ok = |c: &mut Conn, args: &[&str]| {
            let r = c
                .cmd(args)
                .unwrap_or_else(|e| panic!("{kind} {args:?}: {e}"));
            assert!(!matches!(r, Reply::Error(_)), "{kind} {args:?}: {r}");
            r
        };
        ok(&mut c, &["JSON.SET", "j", "$", r#"{"x":[1]}"#]);
        assert_eq!(
            ok(&mut c, &["JSON.GET", "j"]).as_text().unwrap(),
            r#"{"x":[1]}"#
        );
        ok(&mut c, &["BF.ADD", "b", "member"]);
        assert_eq!(ok(&mut c, &["BF.EXISTS", "b", "member"]).as_int(), Some(1));
        ok(&mut c, &["CF.ADD", "c", "member"]);
        ok(&mut c, &["TS.ADD", "t", "1000", "2.5"]);
        let range = ok(&mut c, &["TS.RANGE", "t", "-", "+"]);
        let sample: Vec<String> = range.as_array().unwrap()[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_text().unwrap())
            .collect();
        assert_eq!(sample, ["1000", "2.5"], "{kind}: {range}");
        ok(&mut c, &["HSET", "doc:1", "title", "hello world"]);
        ok(
            &mut c,
            &[
                "FT.CREATE",
                "i",
                "ON",
                "HASH",
                "PREFIX",
                "1",
                "doc:",
                "SCHEMA",
                "title",
                "TEXT",
            ],
        );
        // FT.CREATE indexes existing hashes in the background.
        let mut found = Reply::Nil;
        for _ in 0..200 {
            found = ok(&mut c, &["FT.SEARCH", "i", "hello"]);
            if found
                .as_array()
                .and_then(|a| a.first())
                .and_then(Reply::as_int)
                == Some(1)
            {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            found
                .as_array()
                .and_then(|a| a.first())
                .and_then(Reply::as_int),
            Some(1),
            "{kind}: {found}"
        );
    }
}

/// The fixture's file holds its views; the comparison sees a changed JSON
/// document, a changed number's text, a Bloom filter that would claim a
/// member, a lost time-series sample, a changed expiry, an index count, a
/// missing key and an extra one.
#[test]
fn the_module_fixture_holds_its_views_and_a_change_is_seen() {
    let want = module_fixture_views().unwrap();
    let s = Server::start(ServerKind::RedisStack74, Some(&module_fixture_rdb())).unwrap();
    let got = module_views(&s).unwrap();
    assert_eq!(diff_views(&want, &got), Vec::<String>::new());

    let db0 = &want["dbs"]["0"];
    for key in ["json:nested", "bf:auto", "cf:1", "ts:temp", "idx:docs"] {
        assert!(
            db0.get(key).is_some() || want["indexes"].get(key).is_some(),
            "{key}"
        );
    }
    let mut changed = want.clone();
    let d = &mut changed["dbs"]["0"];
    d["json:nested"]["view"]["json"][0]["a"] = Value::Null;
    d["json:numbers"]["view"]["text"] = Value::from(
        d["json:numbers"]["view"]["text"]
            .as_str()
            .unwrap()
            .replace("-0.0", "0.0"),
    );
    d["bf:auto"]["view"]["exists"]["absent:1"] = Value::from(1);
    d["ts:temp"]["view"]["range"].as_array_mut().unwrap().pop();
    d["json:ttl:0"]["pexpiretime"] = Value::from(1);
    d.as_object_mut().unwrap().remove("plain:string");
    d["not:there"] = serde_json::json!({"type": "string", "pexpiretime": -1, "view": "x"});
    changed["indexes"]["idx:docs"]["num_docs"] = Value::from(29);
    let diff = diff_views(&changed, &got);
    assert_eq!(diff.len(), 8, "{diff:#?}");
    for (needle, what) in [
        ("json:nested", "the document"),
        ("json:numbers", "the -0.0 text"),
        ("bf:auto", "the filter"),
        ("ts:temp", "the samples"),
        ("json:ttl:0", "the expiry"),
        ("\"plain:string\": not expected", "the extra key"),
        ("\"not:there\": missing", "the missing key"),
        ("indexes", "the index"),
    ] {
        assert!(
            diff.iter().any(|l| l.contains(needle)),
            "{what} is not reported: {diff:#?}"
        );
    }
}
