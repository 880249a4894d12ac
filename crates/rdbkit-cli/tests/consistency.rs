//! One front end that behaves the same everywhere (issue 21): each finding
//! of the new-user walk-through as a test that failed on the binary before.
//! Most run on the Redis 8.2 fixture: keys in databases 0, 1 and 15, hash
//! field TTLs, streams and a function library.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;

fn src() -> String {
    fixture_rdb("redis-8.2.3")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `cmd` run with a pseudo-terminal as stdin, stdout and stderr (util-linux
/// `script`): what a user at a terminal sees, and the exit code.
fn on_terminal(args: &[&str]) -> (i32, String) {
    let bin = env!("CARGO_BIN_EXE_rdbkit");
    let line = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    (out.status.code().unwrap_or(-1), text(&out.stdout))
}

/// 1. Nothing is left under the final name when a command fails: the
///    report path is checked before the work.
#[test]
fn a_failed_convert_leaves_no_output() {
    let dir = tmpdir("c21-1");
    let out = dir.join("x.rdb");
    let o = run(&[
        "convert",
        &src(),
        "-o",
        p(&out),
        "--target",
        "azure-premium",
        "--on-loss",
        "warn",
        "-q",
        "--report",
        p(&dir.join("nodir/rep.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.exists(), "the output was left behind");
    let err = text(&o.stderr);
    assert!(err.contains("nodir/rep.json"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no temp file either"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// 2. A closed stderr or stdout is never a panic; a listing cut by `head`
///    exits 0 in every format.
#[test]
fn closed_pipes_are_not_panics() {
    let dir = tmpdir("c21-2");
    let out = dir.join("pw.rdb");
    // stderr closed before the command writes its report to it.
    let mut child = rdbkit()
        .args([
            "convert",
            &src(),
            "-o",
            p(&out),
            "--target",
            "azure-premium",
            "--on-loss",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "a closed stderr made it exit {status}"
    );
    assert!(out.exists());
    // Every export format, stdout closed after a few bytes (`| head -c`).
    for format in ["resp", "jsonl", "json", "csv", "rdbtools-json"] {
        let mut child = rdbkit()
            .args(["export", &src(), "--format", format])
            // resp would refuse what Redis 8.2 has and the target lacks: none.
            .args(if format == "resp" {
                &["--on-loss", "warn"][..]
            } else {
                &[][..]
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut head = [0u8; 10];
        child
            .stdout
            .as_mut()
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        drop(child.stdout.take());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "export --format {format} | head");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// 3. `-o -` with stdout on a terminal is refused unless forced.
#[test]
fn a_snapshot_is_not_written_to_a_terminal() {
    let (code, shown) = on_terminal(&["filter", &src(), "-o", "-", "--db", "1"]);
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("refusing to write a binary snapshot to the terminal"));
    assert!(!shown.contains("REDIS0012"), "{shown}");
    let (code, shown) = on_terminal(&["filter", &src(), "-o", "-", "--db", "1", "--force", "-q"]);
    assert_eq!(code, 0);
    assert!(shown.contains("REDIS0012"));
}

/// 4. A directory or a missing folder as the output is refused before the
///    work, naming the path given; a directory as the input is named so.
#[test]
fn destinations_are_checked_first_and_named_as_given() {
    let dir = tmpdir("c21-4");
    let o = run(&["convert", &src(), "-o", p(&dir), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("is a directory"), "{err}");
    // No report of a conversion: it never started.
    assert!(!err.contains("losses:"), "{err}");
    let missing = dir.join("nodir/out.rdb");
    let o = run(&[
        "convert",
        &src(),
        "-o",
        p(&missing),
        "--target",
        "redis-7.2",
    ]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains(p(&missing)) && !err.contains(".tmp"), "{err}");
    let o = run(&["verify", p(&dir)]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(err.contains("is a directory"), "{err}");
    assert!(!err.contains("No such device"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// 5. `split` says which databases it left out, how many keys each, and
///    the flags that keep them.
#[test]
fn split_names_the_databases_it_leaves_out() {
    let dir = tmpdir("c21-5");
    let o = run(&["split", &src(), "--shards", "3", "--out-dir", p(&dir)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("left out 8 keys outside database 0 (db 1: 5, db 15: 3)"),
        "{err}"
    );
    assert!(
        err.contains("--flatten-db") && err.contains("--all-dbs"),
        "{err}"
    );
    let o = run(&[
        "split",
        &src(),
        "--shards",
        "3",
        "--out-dir",
        p(&dir),
        "--all-dbs",
    ]);
    assert!(!text(&o.stderr).contains("left out"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// 6. `split` has convert's report, per-key list, `--report` file and
///    refusal, and leaves no out-dir behind when it refuses.
#[test]
fn split_reports_and_refuses_as_convert_does() {
    let dir = tmpdir("c21-6");
    let shards = dir.join("shards");
    let report = dir.join("split.json");
    let o = run(&[
        "split",
        &src(),
        "--shards",
        "2",
        "--out-dir",
        p(&shards),
        "--target",
        "azure-premium",
        "--on-loss",
        "warn",
        "--report",
        p(&report),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("losses: "), "{err}");
    // The library is one loss, not one per output.
    assert_eq!(err.matches("fixturelib").count(), 1, "{err}");
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert!(
        r["losses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "function" && l["db"].is_null())
    );
    // A report in a missing folder: refused before the work.
    let o = run(&[
        "split",
        &src(),
        "--shards",
        "2",
        "--out-dir",
        p(&dir.join("s2")),
        "--report",
        p(&dir.join("nodir/r.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("s2").exists());
    // Refused: the list, exit 2, and no folder left.
    let refused_dir = dir.join("refused");
    let o = run(&[
        "split",
        &src(),
        "--shards",
        "2",
        "--out-dir",
        p(&refused_dir),
        "--target",
        "azure-premium",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("would lose data") && err.contains("  "),
        "{err}"
    );
    assert!(
        err.contains("field-ttls"),
        "per-key losses are listed: {err}"
    );
    assert!(!refused_dir.exists(), "an empty out-dir was left");
    std::fs::remove_dir_all(dir).unwrap();
}

/// 9. A selection that matches nothing says so.
#[test]
fn a_selection_that_matches_nothing_warns() {
    let dir = tmpdir("c21-9");
    let o = run(&[
        "filter",
        &src(),
        "-o",
        p(&dir.join("f.rdb")),
        "--match",
        "no-such-key*",
    ]);
    assert!(o.status.success());
    let err = text(&o.stderr);
    assert!(
        err.contains("rdbkit: warning: the selection matched none"),
        "{err}"
    );
    assert!(err.contains("function libraries"), "{err}");
    let o = run(&["keys", &src(), "--match", "no-such-key*"]);
    assert!(text(&o.stderr).contains("the selection matched no key"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// 10. `keys` prints keys in the quoted form `--keys-from` takes: binary
///     keys round-trip.
#[test]
fn keys_and_keys_from_round_trip() {
    let dir = tmpdir("c21-10");
    let o = run(&["keys", &src(), "--match", "key:*"]);
    let listed: Vec<String> = text(&o.stdout)
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap().to_string())
        .collect();
    assert!(
        listed.iter().any(|k| k.contains(r"\x00\xff\xfe")),
        "{listed:?}"
    );
    let keys_file = dir.join("keys.txt");
    std::fs::write(&keys_file, listed.join("\n")).unwrap();
    let out = dir.join("sel.rdb");
    let o = run(&[
        "filter",
        &src(),
        "-o",
        p(&out),
        "--keys-from",
        p(&keys_file),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let again = run(&["keys", p(&out)]);
    let got: Vec<String> = text(&again.stdout)
        .lines()
        .skip(1)
        .map(|l| l.rsplit('\t').next().unwrap().to_string())
        .collect();
    let (mut a, mut b) = (listed.clone(), got);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    std::fs::remove_dir_all(dir).unwrap();
}

/// 11. `-q` is taken by every command; on a terminal, progress never lands
///     in the rows of a command that prints to the same terminal.
#[test]
fn quiet_everywhere_and_no_progress_in_rows() {
    for args in [
        vec!["verify", "-q"],
        vec!["analyze", "-q"],
        vec!["info", "-q"],
        vec!["keys", "-q"],
        vec!["export", "-q"],
    ] {
        let mut a = args.clone();
        let f = src();
        a.push(&f);
        let o = run(&a);
        assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    }
    // A file that takes long enough for the progress line to be drawn.
    let dir = tmpdir("c21-11");
    let big = dir.join("big.rdb");
    std::fs::write(&big, rdbkit_testkit::hash_keys_file(600_000, 0, None, None)).unwrap();
    let (code, shown) = on_terminal(&["keys", p(&big)]);
    assert_eq!(code, 0);
    assert!(shown.contains("\"k599999\""), "the rows are there");
    assert!(!shown.contains("[rdbkit]"), "progress among the rows");
    // The control: a command whose stdout is free draws it on the terminal.
    let (code, shown) = on_terminal(&["filter", p(&big), "-o", p(&dir.join("f.rdb"))]);
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("[rdbkit]"), "no progress line: {shown}");
    let (_, shown) = on_terminal(&["filter", p(&big), "-o", p(&dir.join("g.rdb")), "-q"]);
    assert!(!shown.contains("[rdbkit]"), "-q draws no progress");
    std::fs::remove_dir_all(dir).unwrap();
}

/// 12. One exit-code table: a damaged file is 3 in every command; "needs
///     conversion" (1) is apart from "damaged".
#[test]
fn exit_codes_are_one_table() {
    let dir = tmpdir("c21-12");
    let mut data = std::fs::read(src()).unwrap();
    let n = data.len();
    data[n - 3] ^= 0xff;
    let damaged = dir.join("damaged.rdb");
    std::fs::write(&damaged, &data).unwrap();
    let d = p(&damaged);
    for args in [
        vec!["verify", d],
        vec!["info", d],
        vec!["keys", d],
        vec!["analyze", d],
        vec!["export", d],
        vec!["diff", d, d],
        vec!["verify", d, "--target", "redis-6.2"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {}", text(&o.stderr));
    }
    let o = run(&["verify", &src(), "--target", "redis-7.2"]);
    assert_eq!(o.status.code(), Some(1), "sound, needs a conversion");
    let o = run(&["verify", &src(), "--target", "redis-8.2"]);
    assert_eq!(o.status.code(), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

/// 13. Bad option values are refused before any output.
#[test]
fn bad_values_are_refused_before_output() {
    for bad in [
        vec!["--type", "zsets"],
        vec!["--slot", "20000"],
        vec!["--regex", "("],
    ] {
        let mut a = vec!["keys"];
        let f = src();
        a.push(&f);
        a.extend(bad.iter().copied());
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(o.stdout.is_empty(), "{bad:?}: {}", text(&o.stdout));
    }
}

/// 14. Options that do nothing for the command or mode are refused.
#[test]
fn options_that_do_nothing_are_refused() {
    for args in [
        vec!["verify", "--on-loss", "warn"],
        vec!["verify", "--field-ttl", "drop-key"],
        vec!["verify", "--no-compress"],
        vec!["export", "--format", "jsonl", "--restore"],
        vec!["export", "--format", "jsonl", "--allocator", "libc"],
        vec!["export", "--format", "json", "--target", "redis-6.2"],
    ] {
        let mut a = args.clone();
        let f = src();
        a.push(&f);
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty());
        assert!(text(&o.stderr).starts_with("rdbkit: error:"), "{args:?}");
    }
    let help = text(&run(&["convert", "--help"]).stdout);
    assert!(!help.contains("Optional for filter"), "{help}");
}

/// 15. One vocabulary and one message prefix.
#[test]
fn one_vocabulary_and_one_prefix() {
    let o = run(&["keys", &src(), "--type", "sortedset"]);
    assert!(o.status.success());
    let zsets = text(&o.stdout).lines().skip(1).count();
    let o = run(&["keys", &src(), "--type", "zset"]);
    assert_eq!(text(&o.stdout).lines().skip(1).count(), zsets);
    let o = run(&["analyze", &src(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["types"]["zset"].is_object(), "{}", v["types"]);
    assert!(v["types"].get("sortedset").is_none());
    // A string is one element, as `keys` counts it.
    assert_eq!(
        v["types"]["string"]["elements"],
        v["types"]["string"]["keys"]
    );
    // clap's own errors carry the prefix too.
    let o = run(&["keys", &src(), "--no-such-flag"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).starts_with("rdbkit: error:"),
        "{}",
        text(&o.stderr)
    );
}

/// 16. CSV keys read back to exactly one key: a backslash and control bytes
///     are escaped as invalid UTF-8 is.
#[test]
fn csv_escapes_unambiguously() {
    use rdbkit_testkit::build;
    let dir = tmpdir("c21-16");
    let f = dir.join("k.rdb");
    let records = vec![
        vec![0xfe, 0],
        build::entry(0, b"a\\xFF", &build::string(b"1")),
        build::entry(0, b"b\xff\x00\n", &build::string(b"2")),
    ];
    std::fs::write(&f, build::file(b"REDIS0009", &records)).unwrap();
    let o = run(&["export", p(&f), "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let csv = text(&o.stdout);
    assert!(csv.contains(r",a\\xFF,"), "{csv}");
    assert!(csv.contains(r",b\xFF\x00\x0A,"), "{csv}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// 17. Stable machine keys in the JSON outputs.
#[test]
fn json_keys_are_stable_names() {
    let o = run(&["analyze", &src(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ttl = v["ttl"].as_object().unwrap();
    assert!(
        ttl.keys().all(|k| !k.contains(' ') && !k.contains('<')),
        "{ttl:?}"
    );
    assert!(ttl.contains_key("lt_1m") && ttl.contains_key("none"));
    let info: serde_json::Value =
        serde_json::from_slice(&run(&["info", &src(), "--json"]).stdout).unwrap();
    // One name for the same thing in info and analyze.
    assert!(info["dbs"].is_object() && v["dbs"].is_object());
}

/// 18. Readable UTC times beside the raw ones.
#[test]
fn times_are_readable() {
    let o = run(&["keys", &src(), "--match", "ttl:list"]);
    let out = text(&o.stdout);
    assert!(
        out.contains("4102444800001\t2100-01-01T00:00:00.001Z"),
        "{out}"
    );
    let o = run(&["info", &src()]);
    let out = text(&o.stdout);
    assert!(
        out.contains("ctime            \"1795236162\" (2026-11-21T04:42:42Z)"),
        "{out}"
    );
}

/// 19. Wording: plurals, "not selected" for a plain filter, and no
///     "becomes" for a target without the field at all.
#[test]
fn wording() {
    let dir = tmpdir("c21-19");
    let o = run(&["filter", &src(), "-o", p(&dir.join("f.rdb")), "--db", "1"]);
    let err = text(&o.stderr);
    assert!(err.contains("(97 not selected)"), "{err}");
    assert!(!err.contains("dropped"), "{err}");
    assert!(err.contains("losses: none"), "{err}");
    let o = run(&["verify", &src(), "--target", "azure-premium"]);
    let out = text(&o.stdout);
    assert!(!out.contains("becomes unknown"), "{out}");
    assert!(out.contains("the target's streams have none"), "{out}");
    let o = run(&[
        "export",
        &src(),
        "--format",
        "resp",
        "--target",
        "redis-6.2",
        "--on-loss",
        "warn",
    ]);
    let err = text(&o.stderr);
    assert!(err.contains("1 function library skipped"), "{err}");
    assert!(!err.contains("(y/ies)") && !err.contains("(s)"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// 20. The README says how to install the binary.
#[test]
fn readme_has_the_install_command() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    assert!(readme.contains("cargo install --path crates/rdbkit-cli"));
}
