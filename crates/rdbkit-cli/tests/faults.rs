//! Faults while writing: a full disk, a killed process, a closed stdout
//! pipe, and a file damaged between writing and renaming. Never a partial
//! file under the final name, never a modified input, a clear message and a
//! non-zero exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

/// A small tmpfs, unmounted on drop. The tests run as root (CI does).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn new(size: &str) -> Tmpfs {
        let dir = tmpdir("tmpfs");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("run mount");
        assert!(
            st.success(),
            "cannot mount a tmpfs at {} (the fault tests need root)",
            dir.display()
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A big RDB 9 file of many small strings, made here.
fn big_input(dir: &Path, keys: usize) -> PathBuf {
    let mut f = b"REDIS0009\xfe\x00".to_vec();
    let v = [b'v'; 60];
    for i in 0..keys {
        let k = format!("key:{i:08}");
        f.push(0);
        f.push(k.len() as u8);
        f.extend_from_slice(k.as_bytes());
        f.push(60);
        f.extend_from_slice(&v);
    }
    f.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let p = dir.join("big.rdb");
    std::fs::write(&p, f).unwrap();
    p
}

#[test]
fn full_disk_leaves_nothing_behind() {
    // A fixture smaller than one output block (the disk fills when the
    // output is finished), and a file of several blocks on a disk that
    // fills with the first (the writing thread fails while the conversion
    // and the check are still running).
    let dir = tmpdir("full");
    let inputs = [
        (fixture_rdb("redis-8.2.3"), "64k"),
        (
            big_input(&dir, 100_000).to_string_lossy().into_owned(),
            "512k",
        ),
    ];
    for (input, size) in inputs {
        let fs = Tmpfs::new(size);
        let before = std::fs::read(&input).unwrap();
        let out = fs.0.join("out.rdb");
        let o = run(&[
            "convert",
            &input,
            "-o",
            out.to_str().unwrap(),
            "--target",
            "redis-7.0",
            "--on-loss",
            "warn",
            "--quiet",
        ]);
        assert_eq!(o.status.code(), Some(2), "{input}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("No space left on device"), "{input}: {err}");
        assert!(
            files_in(&fs.0).is_empty(),
            "{input}: left behind: {:?}",
            files_in(&fs.0)
        );
        assert_eq!(std::fs::read(&input).unwrap(), before);
    }
}

#[test]
fn killed_mid_write_never_leaves_a_file_under_the_final_name() {
    let dir = tmpdir("kill");
    let input = big_input(&dir, 1_500_000);
    let out = dir.join("out.rdb");
    let mut child = rdbkit()
        .args([
            "filter",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--match",
            "key:00*",
            "--quiet",
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the temp file exists, then kill it hard.
    let started = std::time::Instant::now();
    while !files_in(&dir).iter().any(|f| f.ends_with(".tmp")) && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    unsafe_free_kill(child.id());
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(
        !out.exists(),
        "a partial output appeared under the final name"
    );
    // The next run cleans nothing up by itself, but works and is complete.
    let o = run(&[
        "filter",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--match",
        "key:00*",
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = run(&["verify", out.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("1000000 keys"),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

fn unsafe_free_kill(pid: u32) {
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn closed_stdout_pipe_is_an_error_for_snapshots() {
    let dir = tmpdir("pipe");
    let input = big_input(&dir, 200_000);
    // `rdbkit convert ... -o - | head -c 100`
    let mut child = rdbkit()
        .args([
            "convert",
            input.to_str().unwrap(),
            "-o",
            "-",
            "--target",
            "redis-7.0",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 100];
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    drop(stdout);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("Broken pipe") || err.contains("output pipe was closed"),
        "{err}"
    );
    // A listing cut short by `head` is fine.
    let mut child = rdbkit()
        .args(["keys", input.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    std::io::Read::read_exact(&mut stdout, &mut buf).unwrap();
    drop(stdout);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_file_damaged_before_the_rename_is_never_renamed() {
    let dir = tmpdir("corrupt");
    let out = dir.join("out.rdb");
    // convert writes straight through; filter (with a selection) fills in
    // its sizing hints after writing (the RESIZEDB counts of this fixture's
    // output are at bytes 275-284), then rewrites the trailer.
    let runs: [(&[&str], &str); 5] = [
        (
            &["convert", "--target", "redis-6.2", "--on-loss", "warn"],
            "20",
        ),
        (
            &["convert", "--target", "redis-6.2", "--on-loss", "warn"],
            "1000",
        ),
        (
            &["convert", "--target", "redis-6.2", "--on-loss", "warn"],
            "-1",
        ),
        (&["filter", "--match", "*s*"], "277"),
        (&["filter", "--match", "*s*"], "-1"),
    ];
    for (args, offset) in runs {
        let input = fixture_rdb("redis-7.2.6");
        let o = rdbkit()
            .args([args[0], &input, "-o", out.to_str().unwrap(), "--quiet"])
            .args(&args[1..])
            .env("RDBKIT_TEST_CORRUPT_TEMP", offset)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "offset {offset}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("failed verification"), "{err}");
        assert!(
            files_in(&dir).is_empty(),
            "left behind: {:?}",
            files_in(&dir)
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Salvage mode: a key whose value is damaged inside its (intact) framing is
/// skipped and named; a cut-off input still gives a valid output of what
/// came before; both load on a real server.
#[test]
fn keep_going_salvages_damaged_inputs() {
    use rdbkit_parser::{RdbReader, RecordKind};
    let dir = tmpdir("salvage");
    let src = std::fs::read(fixture_rdb("redis-7.2.6")).unwrap();
    // Damage the listpack inside "hash:small" (keeping its string length), fix the CRC.
    let mut bad = src.clone();
    let (at, key_count) = {
        let mut at = None;
        let mut n = 0;
        for rec in RdbReader::new(&src).unwrap() {
            if let RecordKind::Entry(e) = rec.unwrap().kind {
                n += 1;
                if &e.key[..] == b"hash:small" {
                    assert_eq!(e.value.encoding_name(), "hash-listpack");
                    at = Some(e.value.offset() as usize);
                }
            }
        }
        (at.expect("hash:small"), n)
    };
    // body = STR(listpack): 1 length byte, 6 header bytes, then the first element.
    bad[at + 1 + 6] = 0xf6;
    let n = bad.len();
    let crc = rdbkit_parser::crc64::crc64(&bad[..n - 8]);
    bad[n - 8..].copy_from_slice(&crc.to_le_bytes());
    let input = dir.join("damaged.rdb");
    std::fs::write(&input, &bad).unwrap();
    let out = dir.join("out.rdb");
    // Without --keep-going: refused (a damaged input), nothing written.
    let o = run(&[
        "filter",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    let report = dir.join("report.json");
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--target",
        "redis-7.2",
        "--keep-going",
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("(key \"hash:small\")") && err.contains("invalid listpack"),
        "{err}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["skipped"].as_array().unwrap().len(), 1);
    let server = rdbkit_testkit::Server::start(rdbkit_testkit::ServerKind::Valkey81, Some(&out))
        .expect("salvaged file loads");
    let live = rdbkit_testkit::dump_logical(&mut server.conn().unwrap());
    drop(server);
    let fx: serde_json::Value = serde_json::from_slice(
        &std::fs::read(fixtures_dir().join("redis-7.2.6/types.json")).unwrap(),
    )
    .unwrap();
    let mut expected = fx.clone();
    let db0 = expected["dbs"]["0"].as_array_mut().unwrap();
    db0.retain(|e| e["key"] != "hash:small");
    let diff = rdbkit_testkit::diff_logical(&expected, &live);
    assert!(diff.is_empty(), "{}", diff.join("\n"));

    // Cut in the middle: everything before the cut survives.
    let cut = dir.join("cut.rdb");
    std::fs::write(&cut, &src[..src.len() * 2 / 3]).unwrap();
    let o = run(&[
        "filter",
        cut.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--keep-going",
        "--quiet",
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("the rest of the input"));
    let v = run(&["verify", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(v.status.success(), "{text}");
    let kept: u64 = text
        .split(", ")
        .nth(1)
        .unwrap()
        .trim_end_matches(" keys")
        .parse()
        .unwrap();
    assert!(kept > 10 && kept < key_count, "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}
