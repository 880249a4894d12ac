//! `verify` and `info` on good and damaged files: exit codes and messages.

use crate::common::*;

#[test]
fn verify_accepts_every_fixture() {
    for name in fixture_names() {
        let out = run(&["verify", &fixture_rdb(&name)]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.starts_with("OK:"), "{text}");
    }
}

#[test]
fn verify_reports_damage_with_offset_and_key() {
    let path = fixture_rdb("redis-7.2.6");
    let mut data = std::fs::read(&path).unwrap();
    // Flip the checksum: exit 1 naming the mismatch.
    let n = data.len();
    data[n - 1] ^= 0x55;
    let dir = tmpdir("verify");
    let bad = dir.join("bad.rdb");
    std::fs::write(&bad, &data).unwrap();
    let out = run(&["verify", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("checksum mismatch") && text.contains("offset"),
        "{text}"
    );

    // Truncate in the middle of a big value: names the offset and the key.
    let data = std::fs::read(&path).unwrap();
    let cut = data.len() / 2;
    std::fs::write(&bad, &data[..cut]).unwrap();
    let out = run(&["verify", bad.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("byte offset") && text.contains("(key \""),
        "{text}"
    );
    assert!(text.contains("unexpected end of input"), "{text}");

    // Stdin works the same way.
    let out = run_stdin(&["verify", "-"], &data[..cut]);
    assert_eq!(out.status.code(), Some(3));

    // Not an RDB file at all, and a missing file (usage/I/O error: exit 2).
    std::fs::write(&bad, b"hello world, not a dump").unwrap();
    let out = run(&["verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not an RDB file"));
    let out = run(&["verify", dir.join("missing.rdb").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn verify_rejects_duplicate_keys() {
    // db 0: "a" -> "b" twice.
    let mut f = b"REDIS0009\xfe\x00\x00\x01a\x01b\x00\x01a\x01c\xff".to_vec();
    let crc = rdbkit_parser::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    let out = run_stdin(&["verify", "-"], &f);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("duplicate key") && text.contains("\"a\""),
        "{text}"
    );
}

#[test]
fn info_json_counts() {
    let out = run(&["info", "--json", &fixture_rdb("redis-8.2.3")]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 12);
    assert_eq!(v["magic"], "REDIS");
    assert_eq!(v["checksum"], "verified");
    assert_eq!(v["functions"][0], "fixturelib");
    let expected = crate::export_fixtures_expected_count("redis-8.2.3");
    assert_eq!(v["keys"].as_u64().unwrap(), expected);
    let out = run(&["info", &fixture_rdb("valkey-9.1.2")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("VALKEY080"), "{text}");
}

#[test]
fn verify_rejects_duplicate_members_and_empty_collections() {
    let file = |body: &[u8]| {
        let mut f = b"REDIS0009\xfe\x00".to_vec();
        f.extend_from_slice(body);
        f.push(0xff);
        let crc = rdbkit_parser::crc64::crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    };
    // SET "s" {"a", "a"}; HASH "h" {"f": 1, "f": 2}; empty SET "e".
    for (body, want) in [
        (&b"\x02\x01s\x02\x01a\x01a"[..], "duplicate member"),
        (
            &b"\x04\x01h\x02\x01f\x011\x01f\x012"[..],
            "duplicate member",
        ),
        (&b"\x02\x01e\x00"[..], "empty collection"),
    ] {
        let out = run_stdin(&["verify", "-"], &file(body));
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(text.contains(want) && text.contains("(key \""), "{text}");
    }
}

/// A file big enough for many batches of the parallel verify, with one
/// problem `bad` placed deep inside (or none).
fn many_keys(bad: Option<&[u8]>) -> Vec<u8> {
    keys_file(30_000, bad)
}

fn keys_file(n: u32, bad: Option<&[u8]>) -> Vec<u8> {
    rdbkit_testkit::hash_keys_file(n, 21_000, bad, None)
}

#[test]
fn parallel_verify_of_a_file_says_what_the_sequential_walk_says() {
    // A file is verified on every core, stdin on one thread: same verdicts,
    // same messages, whatever the damage and wherever it is.
    let dir = tmpdir("verify-par");
    let cases: [(Option<&[u8]>, &str); 5] = [
        (None, "OK: 30001 records + the end record, 30000 keys"),
        (
            Some(b"\x04\x02hh\x02\x01f\x011\x01f\x012"),
            "duplicate member",
        ),
        (Some(b"\x02\x01e\x00"), "empty collection"),
        // A duplicate of a key that comes later.
        (Some(b"\x00\x06k29999\x01x"), "duplicate key"),
        // An intset blob with an impossible integer width: framed fine,
        // refused when decoded.
        (
            Some(b"\x0b\x02is\x0c\x03\0\0\0\x01\0\0\0\x05\0\0\0"),
            "DAMAGED",
        ),
    ];
    for (bad, want) in cases {
        let data = many_keys(bad);
        let path = dir.join("f.rdb");
        std::fs::write(&path, &data).unwrap();
        let by_file = run(&["verify", path.to_str().unwrap()]);
        let by_stdin = run_stdin(&["verify", "-"], &data);
        let text = String::from_utf8_lossy(&by_file.stdout);
        assert!(text.contains(want), "{want}: {text}");
        assert_eq!(by_file.status.code(), by_stdin.status.code(), "{text}");
        if bad.is_some() {
            assert_eq!(by_file.status.code(), Some(3), "{text}");
        }
        // The duplicate key is named at its second occurrence by both.
        assert_eq!(
            text,
            String::from_utf8_lossy(&by_stdin.stdout),
            "file and stdin disagree"
        );
    }
}

#[test]
fn checksum_of_a_mapped_file_of_many_blocks() {
    // A file of many of the reader's checksum batches with a wrong trailer,
    // damage in its middle, a right trailer, and bytes after the trailer (an
    // AOF preamble).
    let dir = tmpdir("side-crc");
    let good = keys_file(200_000, None);
    assert!(good.len() > 4 << 20);
    let path = dir.join("f.rdb");
    let info = |data: &[u8]| {
        std::fs::write(&path, data).unwrap();
        let out = run(&["info", "--json", path.to_str().unwrap()]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = info(&good);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("\"checksum\":\"verified\""), "{text}");

    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 3] ^= 0x10;
    let (code, text) = info(&bad);
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("checksum mismatch") && text.contains(&format!("offset {}", n - 8)),
        "{text}"
    );
    // A flipped byte in the middle of the data (the hashing thread's part).
    let mut bad = good.clone();
    let mid = n / 2;
    // Inside a value: flip a digit of a field value ("1" -> "3") so the
    // structure stays valid and only the checksum can tell.
    let at = (mid..n)
        .find(|&i| bad[i..].starts_with(b"\x01a\x011"))
        .unwrap()
        + 3;
    bad[at] = b'3';
    let (code, text) = info(&bad);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");

    let mut tail = good.clone();
    tail.extend(std::iter::repeat_n(b'*', 3 << 20));
    let (code, text) = info(&tail);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("\"checksum\":\"verified\""), "{text}");
    assert!(
        text.contains(&format!("\"trailing_bytes\":{}", 3 << 20)),
        "{text}"
    );
}

#[test]
fn parallel_export_matches_stdin_export_up_to_the_damage() {
    // `export` of a file makes its lines on every core; stdin's is
    // sequential. Same lines, same order, and on a value that fails to
    // decode, the same lines before it and an error naming the key.
    let dir = tmpdir("export-par");
    let path = dir.join("f.rdb");
    for bad in [
        None,
        Some(&b"\x0b\x02is\x0c\x03\0\0\0\x01\0\0\0\x05\0\0\0"[..]),
    ] {
        let data = many_keys(bad);
        std::fs::write(&path, &data).unwrap();
        let by_file = run(&["export", "--format", "jsonl", path.to_str().unwrap()]);
        let by_stdin = run_stdin(&["export", "--format", "jsonl", "-"], &data);
        assert_eq!(by_file.status.code(), by_stdin.status.code());
        assert!(
            by_file.stdout == by_stdin.stdout,
            "file and stdin exports differ"
        );
        let lines = by_file.stdout.iter().filter(|&&b| b == b'\n').count();
        match bad {
            None => {
                assert_eq!(by_file.status.code(), Some(0));
                assert_eq!(lines, 30_000);
            }
            Some(_) => {
                assert_ne!(by_file.status.code(), Some(0));
                assert_eq!(lines, 21_000);
                let err = String::from_utf8_lossy(&by_file.stderr);
                assert!(
                    err.contains("key \"is\"") && err.contains("offset"),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn verify_of_a_file_split_over_threads_says_what_the_sequential_walk_says() {
    // Big enough to be cut into runs walked at once (32 MiB and up), with
    // a switch to db 5 half way: runs that start after it must count their
    // keys as db 5's.
    let dir = tmpdir("verify-split");
    let n = 1_700_000;
    let cases: [(Option<&[u8]>, &str); 3] = [
        (
            None,
            "OK: 1700002 records + the end record, 1700000 keys, checksum OK",
        ),
        // db 0's name in db 5: no duplicate.
        (
            Some(b"\x04\x02k7\x01\x01f\x011"),
            "OK: 1700003 records + the end record, 1700001 keys",
        ),
        // db 5's own: a duplicate, named at its second occurrence.
        (Some(b"\x04\x08k1000001\x01\x01f\x011"), "duplicate key"),
    ];
    for (bad, want) in cases {
        let data = rdbkit_testkit::hash_keys_file(n, 1_600_000, bad, Some(900_000));
        assert!(data.len() > 32 << 20, "{}", data.len());
        let path = dir.join("f.rdb");
        std::fs::write(&path, &data).unwrap();
        let by_file = run(&["verify", path.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&by_file.stdout);
        assert!(text.contains(want), "{want}: {text}");
        let damaged = want.contains("duplicate");
        assert_eq!(
            by_file.status.code(),
            Some(if damaged { 3 } else { 0 }),
            "{text}"
        );
        if damaged {
            // Named as the one-thread walk of stdin names it.
            let by_stdin = run_stdin(&["verify", "-"], &data);
            assert_eq!(text, String::from_utf8_lossy(&by_stdin.stdout));
        }
    }
}
