//! Import day (issue 18): gzip in and out, cluster and memory-fit
//! preflight, JSON reports, completions and man pages — each judged by real
//! servers or by parsing, not by the binary's own word.

use std::path::Path;

use rdbkit_testkit::Cmd;
use rdbkit_testkit::{Server, ServerKind};
use serde_json::Value;

use crate::common::*;

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(o: &std::process::Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", text(&o.stdout), text(&o.stderr)))
}

/// A `.rdb.gz` written by convert loads on the real target with the data of
/// the plain conversion; gzip inputs are read from files and from stdin; a
/// file in another compressed format is named.
#[test]
fn gzip_in_and_out_loads_on_real_servers() {
    let dir = tmpdir("gzip");
    let src = fixture_rdb("redis-8.2.3");
    let plain = dir.join("for-azure.rdb");
    let packed = dir.join("for-azure.rdb.gz");
    for out in [&plain, &packed] {
        let o = run(&[
            "convert",
            &src,
            "-o",
            p(out),
            "--target",
            "azure-premium",
            "--on-loss",
            "warn",
            "-q",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let gz = std::fs::read(&packed).unwrap();
    assert_eq!(&gz[..2], b"\x1f\x8b", "a gzip file");
    assert!(gz.len() < std::fs::metadata(&plain).unwrap().len() as usize);
    // Read back through gzip: the same snapshot, byte for byte.
    let unpacked = dir.join("unpacked.rdb");
    let o = run(&["filter", p(&packed), "-o", p(&unpacked), "-q"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(&unpacked).unwrap(),
        std::fs::read(&plain).unwrap()
    );
    // Both load on Redis 6.0 (Azure Premium's engine) with the same data.
    let dumps: Vec<_> = [&plain, &unpacked]
        .iter()
        .map(|f| {
            let s = Server::start(ServerKind::Redis60, Some(f)).expect("Redis 6.0 loads it");
            rdbkit_testkit::dump_logical(&mut s.conn().unwrap())
        })
        .collect();
    assert_eq!(dumps[0], dumps[1]);
    assert!(dumps[0]["dbs"]["0"].as_array().unwrap().len() > 50);
    // stdin, gzip: told by the magic.
    let o = run_stdin(&["verify", "-"], &gz);
    assert!(o.status.success(), "{}", text(&o.stdout));
    let o = run_stdin(&["keys", "-"], &gz);
    assert_eq!(text(&o.stdout).lines().count(), 103);
    // A gzip output of a split, and of stdout.
    let shards = dir.join("shards");
    let o = run(&[
        "split",
        &src,
        "--shards",
        "2",
        "--out-dir",
        p(&shards),
        "--gzip",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for e in std::fs::read_dir(&shards).unwrap() {
        let f = e.unwrap().path();
        assert!(f.to_string_lossy().ends_with(".rdb.gz"), "{f:?}");
        assert!(run(&["verify", p(&f)]).status.success());
    }
    // Another format: named, with how to unpack it.
    let zst = dir.join("dump.rdb.zst");
    std::fs::write(&zst, b"\x28\xb5\x2f\xfd\x00\x00rest").unwrap();
    let o = run(&["info", p(&zst)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("zstd-compressed"),
        "{}",
        text(&o.stderr)
    );
    assert!(text(&o.stderr).contains("zstd -d"));
    // A cut gzip stream is a damaged input.
    let cut = dir.join("cut.rdb.gz");
    std::fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    assert_eq!(run(&["verify", p(&cut)]).status.code(), Some(3));
    // --pad is for page blobs of plain files.
    let o = run(&[
        "convert",
        &src,
        "-o",
        p(&dir.join("x.rdb.gz")),
        "--target",
        "redis-7.2",
        "--on-loss",
        "warn",
        "--pad",
        "512",
    ]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--cluster`: keys outside database 0 are refused (exit 2) naming the
/// databases, and each flag the message names resolves it; the output then
/// loads on a real server with everything in db 0.
#[test]
fn cluster_targets_keep_only_db0() {
    let dir = tmpdir("cluster");
    let src = fixture_rdb("redis-8.2.3");
    let o = run(&["verify", &src, "--target", "redis-7.2", "--cluster"]);
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o.stdout);
    assert!(out.contains("db 1 (5 keys), db 15 (3 keys)"), "{out}");
    let v = json(&run(&[
        "verify",
        &src,
        "--target",
        "redis-7.2",
        "--cluster",
        "--json",
    ]));
    assert_eq!(v["cluster"]["refused"], true);
    assert_eq!(v["outside_db0"][0]["db"], 1);
    assert_eq!(v["outside_db0"][1]["keys"], 3);
    let refused = dir.join("refused.rdb");
    let o = run(&[
        "convert",
        &src,
        "-o",
        p(&refused),
        "--target",
        "redis-7.2",
        "--on-loss",
        "warn",
        "--cluster",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("db 1 (5 keys), db 15 (3 keys)") && err.contains("--flatten-db"),
        "{err}"
    );
    assert!(!refused.exists());
    for (flag, keys) in [(vec!["--db", "0"], 94), (vec!["--flatten-db"], 102)] {
        let out = dir.join(format!("ok-{}.rdb", flag[0].trim_start_matches('-')));
        let mut args = vec![
            "convert",
            &src,
            "-o",
            p(&out),
            "--target",
            "redis-7.2",
            "--on-loss",
            "warn",
            "--cluster",
            "-q",
        ];
        args.extend(flag.iter().copied());
        let o = run(&args);
        assert!(o.status.success(), "{flag:?}: {}", text(&o.stderr));
        let s = Server::start(ServerKind::Valkey81, Some(&out)).expect("Valkey 8.1 loads it");
        let mut c = s.conn().unwrap();
        let dbsize = c.cmd(&["DBSIZE"]).unwrap().as_int().unwrap();
        // Keys already expired (3 in db 0, 1 in db 1) are dropped by the
        // loading server.
        let expired = if keys == 94 { 3 } else { 4 };
        assert_eq!(dbsize, keys - expired, "{flag:?}");
        c.cmd(&["SELECT", "1"]).unwrap();
        assert_eq!(c.cmd(&["DBSIZE"]).unwrap().as_int(), Some(0), "{flag:?}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `used_memory` minus `used_memory_startup` of `kind` after loading `rdb`.
fn loaded_memory(kind: ServerKind, rdb: &Path) -> u64 {
    let s = Server::start(kind, Some(rdb)).expect("the server loads it");
    let mut c = s.conn().unwrap();
    let info = c.cmd(&["INFO", "memory"]).unwrap().as_text().unwrap();
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    field("used_memory") - field("used_memory_startup")
}

/// The memory fit: the estimate for the target line is within the stated
/// accuracy (20 % below to 10 % above) of what real servers report after
/// loading a file
/// that a real server wrote from ordinary commands; the verdict follows
/// the headroom rule.
#[test]
fn memory_fit_matches_real_servers() {
    let dir = tmpdir("memfit");
    // A file written by Redis 7.0 from ordinary commands: strings, small and
    // big hashes, lists, sets of integers and of strings, sorted sets, TTLs.
    let writer = Server::start(ServerKind::Redis70, None).unwrap();
    let mut c = writer.conn().unwrap();
    let mut cmds = Vec::new();
    for i in 0..20_000u32 {
        cmds.push(
            Cmd::new("SET")
                .arg(format!("str:{i}"))
                .arg(format!("value-{}", i * 7919)),
        );
        if i % 4 == 0 {
            cmds.push(
                Cmd::new("PEXPIRE")
                    .arg(format!("str:{i}"))
                    .arg(86_400_000u64),
            );
        }
        if i % 10 == 0 {
            let h = format!("hash:{i}");
            for f in 0..8 {
                cmds.push(
                    Cmd::new("HSET")
                        .arg(&h)
                        .arg(format!("f{f}"))
                        .arg(format!("v{}", i + f)),
                );
            }
            cmds.push(
                Cmd::new("RPUSH")
                    .arg(format!("list:{i}"))
                    .args((0..10).map(|x| format!("item{x}"))),
            );
            cmds.push(
                Cmd::new("SADD")
                    .arg(format!("iset:{i}"))
                    .args((0..12).map(|x| (x * 3).to_string())),
            );
            cmds.push(
                Cmd::new("ZADD")
                    .arg(format!("zset:{i}"))
                    .args((0..10).flat_map(|x| [format!("{}.5", x), format!("m{x}")])),
            );
        }
        if cmds.len() > 5000 {
            c.pipeline(&cmds).unwrap();
            cmds.clear();
        }
    }
    for b in 0..3 {
        cmds.push(
            Cmd::new("SADD")
                .arg(format!("bigset:{b}"))
                .args((0..3000).map(|x| format!("member-{x}"))),
        );
        cmds.push(
            Cmd::new("HSET")
                .arg(format!("bighash:{b}"))
                .args((0..2000).flat_map(|x| [format!("field{x}"), format!("value{x}")])),
        );
    }
    c.pipeline(&cmds).unwrap();
    let rdb = writer.save().unwrap();
    let file = dir.join("mixed.rdb");
    std::fs::copy(&rdb, &file).unwrap();
    drop(writer);
    for (kind, target) in [
        (ServerKind::Redis70, "redis-7.0"),
        (ServerKind::Redis82, "redis-8.2"),
        (ServerKind::Valkey81, "valkey-8.1"),
    ] {
        let real = loaded_memory(kind, &file);
        let v = json(&run(&[
            "verify",
            p(&file),
            "--target",
            target,
            "--max-memory",
            "1GB",
            "--json",
        ]));
        let m = &v["memory"];
        let est = m["keys"].as_u64().unwrap() + m["keyspace"].as_u64().unwrap();
        let ratio = est as f64 / real as f64;
        eprintln!(
            "memory fit {target}: estimate {est} bytes, used_memory - startup {real} ({ratio:.3})"
        );
        assert!(
            (0.80..=1.10).contains(&ratio),
            "{target}: estimate {est} vs used {real} ({ratio:.3})"
        );
        assert_eq!(m["fits"], true);
        assert_eq!(m["headroom_rule"], 0.9);
        // A cache of the estimate itself does not fit by the rule.
        let tight = m["estimate"].as_u64().unwrap().to_string();
        let o = run(&[
            "verify",
            p(&file),
            "--target",
            target,
            "--max-memory",
            &tight,
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            text(&o.stdout).contains("does NOT fit"),
            "{}",
            text(&o.stdout)
        );
    }
    let o = run(&[
        "verify",
        p(&file),
        "--target",
        "azure-premium",
        "--max-memory",
        "P1",
    ]);
    let out = text(&o.stdout);
    assert!(
        out.contains("fits in 6000.0 MB") && out.contains("--pad 512"),
        "{out}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Keys already expired at `--now` are counted, as the target will drop them.
#[test]
fn expired_keys_are_counted_at_now() {
    let src = fixture_rdb("redis-8.2.3");
    let v = json(&run(&["verify", &src, "--target", "redis-8.2", "--json"]));
    assert_eq!(v["expired"], 4);
    // What `keys` lists as expiring by then.
    let at = 7_258_118_400_000i64; // 2200-01-01
    let listed = text(&run(&["keys", &src]).stdout)
        .lines()
        .skip(1)
        .filter(|l| {
            l.split('\t')
                .nth(5)
                .and_then(|t| t.parse::<i64>().ok())
                .is_some_and(|t| t <= at)
        })
        .count();
    assert!(listed > 4);
    let v = json(&run(&[
        "verify",
        &src,
        "--target",
        "redis-8.2",
        "--json",
        "--now",
        "2200-01-01T00:00:00Z",
    ]));
    assert_eq!(v["expired"], listed as u64, "the far-future keys too");
    let v = json(&run(&[
        "verify",
        &src,
        "--target",
        "redis-8.2",
        "--json",
        "--now",
        "0",
    ]));
    assert_eq!(v["expired"], 0);
}

/// Every report has a JSON form with its documented keys; exit codes are
/// those of the text form.
#[test]
fn json_reports_parse() {
    let dir = tmpdir("json");
    let src = fixture_rdb("redis-8.2.3");
    let o = run(&["verify", &src, "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(
        (v["sound"].clone(), v["keys"].clone()),
        (Value::Bool(true), Value::from(102))
    );
    assert_eq!(v["checksum"], "verified");
    let mut bad = std::fs::read(&src).unwrap();
    let n = bad.len();
    bad[n - 2] ^= 1;
    let damaged = dir.join("bad.rdb");
    std::fs::write(&damaged, bad).unwrap();
    let o = run(&["verify", p(&damaged), "--json"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(json(&o)["damage"]["offset"].is_u64());
    let o = run(&["verify", &src, "--target", "azure-premium", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    for k in [
        "source",
        "target",
        "loads_as_is",
        "lossless",
        "report",
        "keys_by_db",
        "outside_db0",
        "expired",
        "memory",
        "padding",
        "cluster",
    ] {
        assert!(v.get(k).is_some(), "verify --target --json has no {k}: {v}");
    }
    assert!(
        v["report"]["losses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "function")
    );
    let o = run(&[
        "convert",
        &src,
        "-o",
        p(&dir.join("c.rdb")),
        "--target",
        "azure-premium",
        "--on-loss",
        "warn",
        "--json",
    ]);
    assert!(o.status.success());
    let v = json(&o);
    assert_eq!(v["stats"]["keys_in"], 102);
    assert!(o.stderr.is_empty() || !text(&o.stderr).contains("losses:"));
    let o = run(&[
        "convert",
        &src,
        "-o",
        p(&dir.join("d.rdb")),
        "--target",
        "azure-premium",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(json(&o)["lossless"], false);
    let o = run(&["filter", &src, "-o", "-", "--json"]);
    assert_eq!(o.status.code(), Some(2), "stdout is the snapshot's");
    let o = run(&[
        "merge",
        &src,
        &src,
        "-o",
        p(&dir.join("m.rdb")),
        "--on-duplicate",
        "keep-first",
        "--json",
    ]);
    assert_eq!(json(&o)["stats"]["duplicates_dropped"], 102);
    let o = run(&[
        "split",
        &src,
        "--shards",
        "2",
        "--out-dir",
        p(&dir.join("s")),
        "--json",
    ]);
    assert_eq!(json(&o)["not_selected_by_db"]["15"], 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Completions for every shell clap knows, and the man pages.
#[test]
fn completions_and_man_pages() {
    for (shell, mark) in [
        ("bash", "_rdbkit()"),
        ("zsh", "#compdef rdbkit"),
        ("fish", "complete -c rdbkit"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[rdbkit]"),
    ] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let s = text(&o.stdout);
        assert!(s.contains(mark), "{shell}: {}", &s[..s.len().min(300)]);
        assert!(
            s.contains("--max-memory") || s.contains("max-memory"),
            "{shell}: flags listed"
        );
    }
    // The bash script is valid bash.
    let dir = tmpdir("man");
    let script = dir.join("rdbkit.bash");
    std::fs::write(&script, run(&["completions", "bash"]).stdout).unwrap();
    let ok = std::process::Command::new("bash")
        .args(["-n", p(&script)])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = run(&["man"]);
    let page = text(&o.stdout);
    assert!(
        page.starts_with(".ie") && page.contains(".TH rdbkit 1"),
        "{page}"
    );
    let o = run(&["man", "--dir", p(&dir)]);
    assert!(o.status.success());
    let verify = std::fs::read_to_string(dir.join("rdbkit-verify.1")).unwrap();
    assert!(verify.contains("max\\-memory"), "{verify}");
    std::fs::remove_dir_all(dir).unwrap();
}
