//! Compact values for older targets: listpacks become ziplists and intsets,
//! quicklist v2 becomes quicklist v1 (or one ziplist below RDB 7), and what
//! does not fit falls back to the plain types. Built by hand so that every
//! branch (unsorted sorted sets, PLAIN nodes, LZF like for like, 2.4
//! integer forms) is covered.

use rdbkit_parser::listpack::encode_backlen;
use rdbkit_parser::{RdbReader, RdbVersion, RecordKind};
use rdbkit_testkit::build::{entry, len, string};
use rdbkit_writer::*;

use crate::conversions::{check, run, warn};
use crate::model::*;

/// An LZF RDB string (the blob must compress).
fn lzf_str(b: &[u8]) -> Vec<u8> {
    let mut c = Vec::new();
    rdbkit_parser::lzf::compress(b, &mut c).expect("compressible");
    let mut v = vec![0xc3];
    v.extend(len(c.len() as u64));
    v.extend(len(b.len() as u64));
    v.extend(c);
    v
}

/// A listpack element. Not `rdbkit_testkit::build::Lp`: this listpack
/// writes every integer outside 0-127 in the 64-bit form, where
/// `build::listpack` uses the 13-bit one for -4096..=4095; kept so that the
/// inputs of the tests below stay byte for byte what they were.
enum E<'a> {
    I(i64),
    S(&'a [u8]),
}

fn listpack(elems: &[E<'_>]) -> Vec<u8> {
    let mut body: Vec<u8> = Vec::new();
    for e in elems {
        let mut enc: Vec<u8> = Vec::new();
        match e {
            E::I(v) if (0..128).contains(v) => enc.push(*v as u8),
            E::I(v) => {
                enc.push(0xf4);
                enc.extend(v.to_le_bytes());
            }
            E::S(s) if s.len() < 64 => {
                enc.push(0x80 | s.len() as u8);
                enc.extend_from_slice(s);
            }
            E::S(s) if s.len() < 4096 => {
                enc.extend([0xe0 | (s.len() >> 8) as u8, s.len() as u8]);
                enc.extend_from_slice(s);
            }
            E::S(s) => {
                enc.push(0xf0);
                enc.extend((s.len() as u32).to_le_bytes());
                enc.extend_from_slice(s);
            }
        }
        let mut back = [0u8; 5];
        let n = encode_backlen(enc.len() as u64, &mut back);
        body.extend(&enc);
        body.extend(&back[..n]);
    }
    let mut out = ((body.len() + 7) as u32).to_le_bytes().to_vec();
    out.extend((elems.len() as u16).to_le_bytes());
    out.extend(body);
    out.push(0xff);
    out
}

fn file(v: u32, records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = RdbVersion(v).header().unwrap().to_vec();
    out.extend([0xfe, 0]);
    for r in records {
        out.extend_from_slice(r);
    }
    out.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// key -> (type id, value body) of every entry.
fn bodies(out: &[u8]) -> Vec<(Vec<u8>, u8, Vec<u8>)> {
    let mut v = Vec::new();
    for rec in RdbReader::new(out).unwrap() {
        if let RecordKind::Entry(e) = rec.unwrap().kind {
            v.push((e.key.to_vec(), e.value.ty().0, e.value.body().to_vec()));
        }
    }
    v
}

fn types_of(out: &[u8]) -> Vec<(String, u8)> {
    bodies(out)
        .into_iter()
        .map(|(k, t, _)| (String::from_utf8(k).unwrap(), t))
        .collect()
}

fn doc(n: usize) -> Vec<u8> {
    b"{\"user\":1234,\"name\":\"someone\"},".repeat(n / 31 + 1)[..n].to_vec()
}

fn sample() -> Vec<u8> {
    let long = vec![b'x'; 300];
    let huge = vec![b'h'; 20_000];
    let ints: Vec<E<'_>> = (0..600).map(|i| E::I(i * 37 - 5000)).collect();
    let hash = listpack(&[
        E::S(b"f1"),
        E::S(b"v1"),
        E::S(b"n"),
        E::I(-5),
        E::S(b"text-int"),
        E::S(b"12"),
        E::S(b"padded"),
        E::S(b"007"),
        E::S(b"big"),
        E::I(1 << 40),
        E::S(b"long"),
        E::S(&long),
        E::S(b"huge"),
        E::S(&huge),
    ]);
    let zset = listpack(&[
        E::S(b"a"),
        E::I(-3),
        E::S(b"b"),
        E::S(b"1.5"),
        E::S(b"c"),
        E::S(b"1.5"),
        E::I(7),
        E::I(100),
        E::S(b"top"),
        E::S(b"inf"),
    ]);
    let unsorted = listpack(&[E::S(b"a"), E::I(5), E::S(b"b"), E::I(1)]);
    let set_ints = listpack(&[E::I(9), E::I(-70000), E::S(b"12"), E::I(1 << 33)]);
    let set_mixed = listpack(&[E::I(1), E::S(b"01"), E::S(b"x")]);
    let set_big = listpack(&ints);
    let node1 = listpack(&[E::S(b"a"), E::I(1), E::S(&long)]);
    let node2 = listpack(&[E::I(-1), E::S(b"z")]);
    let empty = listpack(&[]);
    let mut quick = len(3);
    // An empty node in the middle: loaders skip it, so does the output.
    for n in [&node1, &empty, &node2] {
        quick.extend(len(2));
        quick.extend(string(n));
    }
    let mut plain_node = len(2);
    plain_node.extend(len(2));
    plain_node.extend(string(&node1));
    plain_node.extend(len(1));
    plain_node.extend(string(&huge));
    let mut small_list = len(1);
    small_list.extend(len(2));
    small_list.extend(string(&node2));
    file(
        11,
        &[
            entry(16, b"hash", &string(&hash)),
            entry(17, b"zset", &string(&zset)),
            entry(17, b"zset-unsorted", &string(&unsorted)),
            entry(20, b"set-ints", &string(&set_ints)),
            entry(20, b"set-mixed", &string(&set_mixed)),
            entry(20, b"set-600", &string(&set_big)),
            entry(18, b"list", &quick),
            entry(18, b"list-plain", &plain_node),
            entry(18, b"list-small", &small_list),
        ],
    )
}

fn t(k: &str, ty: u8) -> (String, u8) {
    (k.to_string(), ty)
}

#[test]
fn compact_types_per_target() {
    let data = sample();
    let src = model(&data);
    // Every target: contents kept, types known to the target, plan = convert.
    for v in [1, 2, 4, 6, 7, 8, 9, 10, 11, 12, 80] {
        check("compact", &data, &src, &warn(v, 0));
    }
    let types = |v: u32| types_of(&run(&data, &warn(v, 0)).unwrap().0);
    assert_eq!(
        types(9),
        vec![
            t("hash", 13),
            t("zset", 12),
            t("zset-unsorted", 5),
            t("set-ints", 11),
            t("set-mixed", 2),
            t("set-600", 2),
            t("list", 14),
            t("list-plain", 1),
            t("list-small", 14),
        ]
    );
    assert_eq!(
        types(10)[3..6],
        [t("set-ints", 11), t("set-mixed", 2), t("set-600", 2)]
    );
    assert_eq!(types(10)[6], t("list", 18));
    // Below RDB 7: one ziplist for small lists, plain lists otherwise.
    let six = types(6);
    assert_eq!(
        six[6..],
        [t("list", 1), t("list-plain", 1), t("list-small", 10)]
    );
    assert_eq!(six[..2], [t("hash", 13), t("zset", 12)]);
    assert_eq!(types(7)[1], t("zset", 12));
    // RDB 2-3: no hash ziplists.
    assert_eq!(
        types(2)[..4],
        [
            t("hash", 4),
            t("zset", 12),
            t("zset-unsorted", 3),
            t("set-ints", 11)
        ]
    );
    // RDB 1: plain types only.
    assert!(types(1).iter().all(|(_, ty)| *ty <= 4));

    let (_, report) = run(&data, &warn(9, 0)).unwrap();
    assert_eq!(report.stats.keys_in, 9);
    assert_eq!(report.stats.keys_out, 9);
    assert_eq!(report.stats.rewritten, 9);
    assert!(report.notes.is_empty(), "{report}");
}

#[test]
fn empty_compact_values_are_skipped_with_a_note() {
    let empty = listpack(&[]);
    let mut quick = len(2);
    for _ in 0..2 {
        quick.extend(len(2));
        quick.extend(string(&empty));
    }
    let data = file(
        11,
        &[
            entry(16, b"h", &string(&empty)),
            entry(17, b"z", &string(&empty)),
            entry(20, b"s", &string(&empty)),
            entry(18, b"l", &quick),
            entry(0, b"k", &string(b"v")),
        ],
    );
    for v in [6, 9, 10] {
        let o = warn(v, 0);
        let (out, report) = run(&data, &o).unwrap();
        let kept: Vec<String> = types_of(&out).into_iter().map(|(k, _)| k).collect();
        // RDB 10 copies what it loads (16-18); the set listpack it does not
        // load is transcoded, found empty and skipped.
        let want: &[&str] = if v == 10 {
            &["h", "z", "l", "k"]
        } else {
            &["k"]
        };
        assert_eq!(kept, want, "RDB {v}");
        let skipped = report
            .notes
            .iter()
            .find(|n| n.kind == NoteKind::EmptyCollectionSkipped)
            .map_or(0, |n| n.count);
        assert_eq!(skipped, if v == 10 { 1 } else { 4 }, "RDB {v}");
        let planned = plan(&mut RdbReader::new(&data).unwrap(), &o).unwrap();
        assert_eq!(planned, report);
    }
}

#[test]
fn ziplist_bytes_for_a_small_hash() {
    let hash = listpack(&[E::S(b"a"), E::I(1), E::S(b"bb"), E::S(b"300")]);
    let data = file(11, &[entry(16, b"h", &string(&hash))]);
    let (out, _) = run(&data, &warn(9, 0)).unwrap();
    let b = bodies(&out);
    // STR of 24 bytes: header (24 bytes, tail at 19, 4 entries), "a", 1, "bb", 300.
    let want: Vec<u8> = [
        &[24u8][..],
        &[24, 0, 0, 0, 19, 0, 0, 0, 4, 0],
        &[0, 1, b'a'],
        &[3, 0xf2],
        &[2, 2, b'b', b'b'],
        &[4, 0xc0, 0x2c, 0x01],
        &[0xff],
    ]
    .concat();
    assert_eq!(b, vec![(b"h".to_vec(), 13, want)]);
}

#[test]
fn lzf_like_for_like() {
    let value = doc(500);
    let hash = listpack(&[E::S(b"field"), E::S(&value), E::S(b"other"), E::S(&value)]);
    let set = listpack(&(0..100).map(|i| E::I((1 << 40) + i)).collect::<Vec<_>>());
    let node = listpack(&[E::S(&value), E::S(&value), E::I(3)]);
    let quick = |s: Vec<u8>| {
        let mut q = len(1);
        q.extend(len(2));
        q.extend(s);
        q
    };
    let compressed = file(
        11,
        &[
            entry(16, b"h", &lzf_str(&hash)),
            entry(20, b"s", &lzf_str(&set)),
            entry(18, b"l", &quick(lzf_str(&node))),
        ],
    );
    let uncompressed = file(
        11,
        &[
            entry(16, b"h", &string(&hash)),
            entry(20, b"s", &string(&set)),
            entry(18, b"l", &quick(string(&node))),
        ],
    );
    // The blob's first byte: 0xC3 = LZF. For the quicklist, after the node count.
    let lzf_flags = |out: &[u8]| -> Vec<bool> {
        bodies(out)
            .iter()
            .map(|(_, ty, b)| {
                if *ty == 14 {
                    b[1] == 0xc3
                } else {
                    b[0] == 0xc3
                }
            })
            .collect()
    };
    let mut o = warn(9, 0);
    let (out, _) = run(&compressed, &o).unwrap();
    assert_eq!(types_of(&out), [t("h", 13), t("s", 11), t("l", 14)]);
    assert_eq!(lzf_flags(&out), [true, true, true]);
    assert_same(&compressed, &out);
    let (out, _) = run(&uncompressed, &o).unwrap();
    assert_eq!(lzf_flags(&out), [false, false, false]);
    assert_same(&uncompressed, &out);
    o.compress = false;
    let (out, _) = run(&compressed, &o).unwrap();
    assert_eq!(lzf_flags(&out), [false, false, false]);
    assert_same(&compressed, &out);
}

fn assert_same(a: &[u8], b: &[u8]) {
    let (a, b) = (model(a), model(b));
    let values = |m: &Model| {
        m.entries
            .values()
            .map(|e| e.value.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&a), values(&b));
}

/// The encoding byte of every entry of a ziplist.
fn ziplist_encodings(z: &[u8]) -> Vec<u8> {
    let mut pos = 10;
    let mut out = Vec::new();
    while z[pos] != 0xff {
        pos += if z[pos] == 0xfe { 5 } else { 1 };
        let enc = z[pos];
        out.push(enc);
        pos += match enc >> 6 {
            0 => 1 + usize::from(enc & 0x3f),
            1 => 2 + ((usize::from(enc & 0x3f) << 8) | usize::from(z[pos + 1])),
            2 => 5 + u32::from_be_bytes(z[pos + 1..pos + 5].try_into().unwrap()) as usize,
            _ => match enc {
                0xc0 => 3,
                0xd0 => 5,
                0xe0 => 9,
                0xf0 => 4,
                0xfe => 2,
                _ => 1,
            },
        };
    }
    out
}

#[test]
fn ziplists_for_redis_2_4_use_only_16_32_64_bit_integers() {
    // An RDB 9 hash ziplist with an immediate, an int8 and an int24, for RDB 2-5.
    let mut z = ziplist::ZiplistEncoder::new(ziplist::IntForms::All);
    for v in [&b"a"[..], b"5", b"b", b"-100", b"c", b"100000", b"d", b"x"] {
        z.push_bytes(v);
    }
    let blob = z.finish().unwrap().to_vec();
    assert_eq!(ziplist_encodings(&blob), [1, 0xf6, 1, 0xfe, 1, 0xf0, 1, 1]);
    let data = file(
        9,
        &[
            entry(13, b"h", &string(&blob)),
            entry(10, b"l", &string(&blob)),
        ],
    );
    let src = model(&data);
    for v in [2, 4, 5] {
        let out = check("legacy", &data, &src, &warn(v, 0));
        for (k, ty, body) in bodies(&out) {
            if ty == 4 && v < 4 {
                continue; // no hash ziplists before RDB 4
            }
            assert!(ty == 13 || ty == 10, "{k:?} for RDB {v}: type {ty}");
            // body = STR(ziplist): skip the one-byte length.
            assert_eq!(
                ziplist_encodings(&body[1..]),
                [1, 0xc0, 1, 0xc0, 1, 0xd0, 1, 1],
                "{k:?} for RDB {v}"
            );
        }
    }
    // RDB 6 and later copy the blob as it is.
    let (out, report) = run(&data, &warn(6, 0)).unwrap();
    assert_eq!(report.stats.rewritten, 0);
    assert_eq!(bodies(&out)[0].2[1..], blob[..]);
}
