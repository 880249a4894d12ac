//! Build the seed corpus of every fuzz target from the real fixtures:
//! `cargo run --example make_seeds -- ../fixtures /tmp/seeds` (from `fuzz/`),
//! then merge them into `corpus/` with libFuzzer (see README.md).
//!
//! Fixture files are cut into records (each made a file of its own with the
//! fixture's header, EOF and a correct checksum), values and blobs, plus a few
//! hand-made seeds for what the fixtures lack (zipmaps, modules, hash field
//! TTLs in every form, old versions). Files are named by an FNV-1a hash of
//! their contents, so running it twice adds nothing.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use rdbkit_parser::{HEADER_LEN, RdbReader, RecordKind, Value, lzf};
use rdbkit_parser_fuzz::{TARGETS, key_record, len_bytes, rdb_file, str_bytes};

/// Seeds larger than this are skipped (they slow the fuzzer down).
const MAX_SEED: usize = 16 << 10;

struct Out {
    root: PathBuf,
    seen: HashSet<(String, Vec<u8>)>,
    count: usize,
    bytes: usize,
}

impl Out {
    fn add(&mut self, target: &str, data: Vec<u8>) {
        if data.len() > MAX_SEED || !self.seen.insert((target.to_string(), data.clone())) {
            return;
        }
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in &data {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(format!("seed-{h:016x}"));
        if !path.exists() {
            self.count += 1;
            self.bytes += data.len();
            fs::write(path, &data).expect("write seed");
        }
    }
}

/// One RDB string at the start of `b`: its decoded bytes and the rest.
fn read_str(b: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let (n, rest) = read_len(b)?;
    match n {
        Len::Len(n) => {
            let n = usize::try_from(n).ok()?;
            Some((rest.get(..n)?.to_vec(), rest.get(n..)?))
        }
        Len::Enc(0) => Some((
            (rest.first()?.to_owned() as i8).to_string().into_bytes(),
            rest.get(1..)?,
        )),
        Len::Enc(1) => Some((
            i16::from_le_bytes(rest.get(..2)?.try_into().ok()?)
                .to_string()
                .into_bytes(),
            rest.get(2..)?,
        )),
        Len::Enc(2) => Some((
            i32::from_le_bytes(rest.get(..4)?.try_into().ok()?)
                .to_string()
                .into_bytes(),
            rest.get(4..)?,
        )),
        Len::Enc(3) => {
            let (Len::Len(clen), rest) = read_len(rest)? else {
                return None;
            };
            let (Len::Len(len), rest) = read_len(rest)? else {
                return None;
            };
            let clen = usize::try_from(clen).ok()?;
            let compressed = rest.get(..clen)?;
            let mut out = Vec::new();
            lzf::decompress_into(compressed, &mut out, usize::try_from(len).ok()?).ok()?;
            Some((out, rest.get(clen..)?))
        }
        Len::Enc(_) => None,
    }
}

/// The compressed bytes and length of an LZF string at the start of `b`.
fn lzf_of(b: &[u8]) -> Option<(Vec<u8>, u64)> {
    let (Len::Enc(3), rest) = read_len(b)? else {
        return None;
    };
    let (Len::Len(clen), rest) = read_len(rest)? else {
        return None;
    };
    let (Len::Len(len), rest) = read_len(rest)? else {
        return None;
    };
    Some((rest.get(..usize::try_from(clen).ok()?)?.to_vec(), len))
}

enum Len {
    Len(u64),
    Enc(u8),
}

fn read_len(b: &[u8]) -> Option<(Len, &[u8])> {
    let (&b0, rest) = b.split_first()?;
    Some(match b0 >> 6 {
        0 => (Len::Len(u64::from(b0 & 0x3f)), rest),
        1 => (
            Len::Len((u64::from(b0 & 0x3f) << 8) | u64::from(*rest.first()?)),
            rest.get(1..)?,
        ),
        2 if b0 == 0x80 => (
            Len::Len(u64::from(u32::from_be_bytes(
                rest.get(..4)?.try_into().ok()?,
            ))),
            rest.get(4..)?,
        ),
        2 if b0 == 0x81 => (
            Len::Len(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?)),
            rest.get(8..)?,
        ),
        2 => return None,
        _ => (Len::Enc(b0 & 0x3f), rest),
    })
}

fn header_index(h: &[u8]) -> u8 {
    match h {
        b"REDIS0003" => 0,
        b"REDIS0006" => 1,
        b"REDIS0008" => 2,
        b"REDIS0009" => 3,
        b"REDIS0011" => 4,
        b"REDIS0012" => 5,
        b"REDIS0013" => 6,
        b"VALKEY080" => 7,
        _ => 3,
    }
}

fn from_fixture(out: &mut Out, data: &[u8]) {
    let header: [u8; 9] = data[..HEADER_LEN].try_into().expect("header");
    let hidx = header_index(&header);
    let records: Vec<_> = RdbReader::new(data)
        .expect("fixture")
        .map(|r| r.expect("fixture record"))
        .collect();
    // streaming_differential: the first records of the file, in a few chunkings.
    let mut prefix = Vec::new();
    for r in &records {
        if prefix.len() + r.raw.len() > 12 << 10 {
            break;
        }
        prefix.extend_from_slice(r.raw);
    }
    for seed in [0u8, 0x21, 0x63, 0xe0] {
        let mut s = vec![seed];
        s.extend_from_slice(&rdb_file(&header, &prefix));
        out.add("streaming_differential", s);
    }
    for r in &records {
        let RecordKind::Entry(e) = &r.kind else {
            if !matches!(r.kind, RecordKind::Eof { .. }) {
                out.add("parse_file", rdb_file(&header, r.raw));
            }
            continue;
        };
        // The value under a short key, and the record as it was when it has prefixes.
        let body = e.value.body();
        let ty = e.value.ty().0;
        let rec = key_record(ty, b"k", body);
        out.add("parse_file", rdb_file(&header, &rec));
        if e.expire_ms.is_some() || e.lru_idle.is_some() || e.lfu_freq.is_some() {
            out.add("parse_file", rdb_file(&header, r.raw));
        }
        // length_string: the value body alone.
        let b0 = if ty == 0 { 0 } else { 0x80 | ty };
        let mut ls = vec![b0, hidx];
        ls.extend_from_slice(body);
        out.add("length_string", ls);
        if let Some((c, len)) = lzf_of(body) {
            let mut l = vec![0u8];
            l.extend_from_slice(&c);
            out.add("lzf", l);
            let mut l = vec![0x80u8];
            l.extend_from_slice(&(len as u32).to_le_bytes());
            l.extend_from_slice(&c);
            out.add("lzf", l);
        }
        // Blobs.
        let blob_target = match ty {
            10 | 12 | 13 => Some("ziplist"),
            11 => Some("intset"),
            9 => Some("zipmap"),
            16 | 17 | 20 => Some("listpack"),
            _ => None,
        };
        if let Some(t) = blob_target
            && let Some((b, _)) = read_str(body)
        {
            out.add(t, b);
        }
        if ty == 25
            && let Some((b, _)) = body.get(8..).and_then(read_str)
        {
            out.add("listpack", b);
        }
        match e.value.decode() {
            Ok(Value::List(l)) => {
                for n in l.nodes().unwrap_or_default() {
                    let t = match n.container() {
                        rdbkit_parser::NodeContainer::Ziplist => "ziplist",
                        rdbkit_parser::NodeContainer::Listpack => "listpack",
                        rdbkit_parser::NodeContainer::Plain => continue,
                    };
                    out.add(t, n.data().to_vec());
                }
                // Quicklist nodes stored LZF-compressed.
                let mut rest = read_len(body).map(|(_, r)| r).unwrap_or_default();
                while !rest.is_empty() {
                    if ty == 18 {
                        rest = read_len(rest).map(|(_, r)| r).unwrap_or_default();
                    }
                    if let Some((c, len)) = lzf_of(rest) {
                        let mut l = vec![0u8];
                        l.extend_from_slice(&c);
                        out.add("lzf", l);
                        let mut l = vec![0x80u8];
                        l.extend_from_slice(&(len as u32).to_le_bytes());
                        l.extend_from_slice(&c);
                        out.add("lzf", l);
                    }
                    match read_str(rest) {
                        Some((_, r)) => rest = r,
                        None => break,
                    }
                }
            }
            Ok(Value::Stream(s)) => {
                for n in &s.nodes {
                    out.add("listpack", n.listpack().to_vec());
                }
            }
            _ => {}
        }
    }
}

/// A listpack of raw element encodings (each gets its backlen).
fn listpack(elements: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elements {
        body.extend_from_slice(e);
        let mut b = [0u8; 5];
        let n = rdbkit_parser::listpack::encode_backlen(e.len() as u64, &mut b);
        body.extend_from_slice(&b[..n]);
    }
    let mut out = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(elements.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

fn hand_made(out: &mut Out) {
    // Spec test vectors (§9).
    out.add("parse_file", rdb_file(b"REDIS0006", b""));
    out.add("parse_file", rdb_file(b"VALKEY080", b""));
    out.add(
        "parse_file",
        rdb_file(b"REDIS0009", b"\xfe\x00\x00\x01a\x01b"),
    );
    out.add(
        "parse_file",
        rdb_file(b"REDIS0001", b"\xfe\x00\x00\x01a\x01b"),
    );
    // Zipmap (Redis 2.4): {"a": "bc", "d": ""} with padding, and a 254+ length.
    let zm = vec![2, 1, b'a', 2, 1, b'b', b'c', 0, 1, b'd', 0, 0, 0xff];
    out.add("zipmap", zm.clone());
    let mut big = vec![1, 1, b'f', 0xfe];
    big.extend_from_slice(&300u32.to_le_bytes());
    big.push(2);
    big.extend(std::iter::repeat_n(b'v', 302));
    big.push(0xff);
    out.add("zipmap", big);
    out.add(
        "parse_file",
        rdb_file(b"REDIS0002", &key_record(9, b"h", &str_bytes(&zm))),
    );
    // Module value and module AUX with every item kind.
    let id = len_bytes(0x1234_5678_9abc_def0);
    let mut items = Vec::new();
    items.extend_from_slice(&[1, 0x05]); // SINT 5
    items.extend_from_slice(&[2, 0x40, 0xff]); // UINT
    items.push(3);
    items.extend_from_slice(&1.5f32.to_le_bytes());
    items.push(4);
    items.extend_from_slice(&2.5f64.to_le_bytes());
    items.extend_from_slice(&[5, 3, b'a', b'b', b'c']);
    items.push(0);
    let mut mv = id.clone();
    mv.extend_from_slice(&items);
    out.add(
        "parse_file",
        rdb_file(b"REDIS0009", &key_record(7, b"m", &mv)),
    );
    let mut aux = vec![0xf7];
    aux.extend_from_slice(&id);
    aux.extend_from_slice(&[2, 1]);
    aux.extend_from_slice(&items);
    out.add("parse_file", rdb_file(b"REDIS0009", &aux));
    // Redis 8.6 key metadata before a string.
    let mut km = vec![0xf3, 1];
    km.extend_from_slice(&0x1234_5601u32.to_le_bytes());
    km.extend_from_slice(&[2, 7, 0]);
    km.extend_from_slice(&key_record(0, b"k", b"\x01v"));
    out.add("parse_file", rdb_file(b"REDIS0013", &km));
    // Valkey SLOT_IMPORT, Redis SLOT_INFO, pre-GA function, prefixes.
    let mut si = vec![0xf3];
    si.extend_from_slice(&str_bytes(b"job"));
    si.extend_from_slice(&[1, 0, 0x7f, 0xff]);
    out.add("parse_file", rdb_file(b"VALKEY080", &si));
    out.add("parse_file", rdb_file(b"REDIS0012", b"\xf4\x05\x01\x00"));
    out.add(
        "parse_file",
        rdb_file(b"REDIS0010", b"\xf6\x03lib\x03LUA\x01\x04desc\x06return"),
    );
    let mut pre = vec![0xfd];
    pre.extend_from_slice(&100i32.to_le_bytes());
    pre.extend_from_slice(&[0xf8, 5, 0xf9, 7]);
    pre.extend_from_slice(&key_record(0, b"k", b"\x01v"));
    out.add("parse_file", rdb_file(b"REDIS0009", &pre));
    // Hash field TTLs: Redis 22 (pre-GA) and 24, Valkey 22.
    let mut h22 = vec![1, 0x81];
    h22.extend_from_slice(&1_700_000_000_000u64.to_be_bytes());
    h22.extend_from_slice(b"\x01f\x01v");
    out.add(
        "parse_file",
        rdb_file(b"REDIS0012", &key_record(22, b"h", &h22)),
    );
    let mut h24 = 1_700_000_000_000i64.to_le_bytes().to_vec();
    h24.extend_from_slice(b"\x02\x05\x01f\x01v\x00\x01g\x01w");
    out.add(
        "parse_file",
        rdb_file(b"REDIS0012", &key_record(24, b"h", &h24)),
    );
    let mut v22 = b"\x01\x01f\x01v".to_vec();
    v22.extend_from_slice(&(-1i64).to_le_bytes());
    out.add(
        "parse_file",
        rdb_file(b"VALKEY080", &key_record(22, b"h", &v22)),
    );
    // Old plain types: list, set, zset (text scores incl. inf/nan), hash, zset2.
    out.add(
        "parse_file",
        rdb_file(b"REDIS0006", &key_record(1, b"l", b"\x02\x01a\xc0\x05")),
    );
    out.add(
        "parse_file",
        rdb_file(b"REDIS0006", &key_record(2, b"s", b"\x02\x01a\x01b")),
    );
    out.add(
        "parse_file",
        rdb_file(
            b"REDIS0006",
            &key_record(3, b"z", b"\x03\x01a\x031.5\x01b\xfe\x01c\xff"),
        ),
    );
    out.add(
        "parse_file",
        rdb_file(b"REDIS0006", &key_record(4, b"h", b"\x01\x01f\x01v")),
    );
    let mut z2 = b"\x01\x01a".to_vec();
    z2.extend_from_slice(&1.25f64.to_le_bytes());
    out.add(
        "parse_file",
        rdb_file(b"REDIS0008", &key_record(5, b"z", &z2)),
    );
    // length_string: every length form and string encoding.
    for body in [
        &b"\x00"[..],
        b"\x3fxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        b"\x40\x03abc",
        b"\x80\x00\x00\x00\x02ab",
        b"\x81\x00\x00\x00\x00\x00\x00\x00\x01a",
        b"\xc0\x80",
        b"\xc1\x00\x80",
        b"\xc2\xff\xff\xff\x7f",
        b"\xc3\x06\x0a\x02abc\xa0\x02",
    ] {
        let mut s = vec![0u8, 3];
        s.extend_from_slice(body);
        out.add("length_string", s);
    }
    // Intsets of each width.
    for (w, vals) in [
        (2u32, vec![-3i64, 7]),
        (4, vec![-70000, 70000]),
        (8, vec![i64::MIN, 0, i64::MAX]),
    ] {
        let mut b = w.to_le_bytes().to_vec();
        b.extend_from_slice(&(vals.len() as u32).to_le_bytes());
        for v in vals {
            b.extend_from_slice(&v.to_le_bytes()[..w as usize]);
        }
        out.add("intset", b);
    }
    // Streams of every version (the fixtures hold 15, 19 and 21 only): one
    // node with two entries (one SAMEFIELDS, one with its own fields, one
    // deleted), a group with a PEL and a consumer owning one entry, and for
    // v4 (26) the IDMP block, for v5 (27) a NACK zone.
    let lp = listpack(&[
        &[2],          // count
        &[1],          // deleted
        &[1],          // master fields
        &[0x81, b'f'], // "f"
        &[0],          // master terminator
        &[2],          // flags: SAMEFIELDS
        &[0],          // ms delta
        &[0],          // seq delta
        &[0x81, b'v'], // value of "f"
        &[4],          // lp-count
        &[1],          // flags: DELETED
        &[1],          // ms delta
        &[0],          // seq delta
        &[2],          // two fields
        &[0x81, b'a'],
        &[0xc0 | 0x1f, 0xff], // -1 (13-bit)
        &[0x81, b'b'],
        &[0xf1, 0x39, 0x30], // 12345 (16-bit)
        &[8],                // lp-count 2n + 4
        &[2],                // third entry, SAMEFIELDS
        &[3],
        &[0],
        &[0x83, b'x', b'y', b'z'],
        &[4],
    ]);
    let id = |ms: u64, seq: u64| [ms.to_be_bytes(), seq.to_be_bytes()].concat();
    for (ty, header) in [
        (15u8, b"REDIS0009"),
        (19, b"REDIS0010"),
        (21, b"REDIS0011"),
        (26, b"REDIS0013"),
        (27, b"REDIS0014"),
    ] {
        let v = match ty {
            15 => 1,
            19 => 2,
            21 => 3,
            26 => 4,
            _ => 5,
        };
        let mut b = len_bytes(1);
        b.extend_from_slice(&str_bytes(&id(1000, 0)));
        b.extend_from_slice(&str_bytes(&lp));
        b.extend_from_slice(&[2, 0x43, 0xeb, 0]); // length 2, last ID 1003-0
        if v >= 2 {
            b.extend_from_slice(&[0x43, 0xe8, 0, 0x43, 0xe9, 0, 3]); // first, max deleted, added
        }
        b.push(1); // one group
        b.extend_from_slice(&str_bytes(b"grp"));
        b.extend_from_slice(&[0x43, 0xe8, 0]); // last delivered 1000-0
        if v >= 2 {
            b.push(1); // entries read
        }
        b.push(2); // group PEL
        for ms in [1000u64, 1003] {
            b.extend_from_slice(&id(ms, 0));
            b.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
            b.push(1);
        }
        b.push(1); // one consumer
        b.extend_from_slice(&str_bytes(b"alice"));
        b.extend_from_slice(&1_700_000_000_000i64.to_le_bytes());
        if v >= 3 {
            b.extend_from_slice(&1_700_000_000_001i64.to_le_bytes());
        }
        b.push(1);
        b.extend_from_slice(&id(1003, 0));
        if v >= 5 {
            b.push(1); // NACK zone
            b.extend_from_slice(&id(1000, 0));
        }
        if v >= 4 {
            b.extend_from_slice(&[0x40, 0x64, 0x40, 0x80, 1]); // duration 100, max 128, one producer
            b.extend_from_slice(&str_bytes(b"p1"));
            b.push(1);
            b.extend_from_slice(&str_bytes(b"iid-1"));
            b.extend_from_slice(&[0x43, 0xe8, 0]);
            b.extend_from_slice(&[1, 0]); // added, duplicates
        }
        out.add("parse_file", rdb_file(header, &key_record(ty, b"s", &b)));
        let mut ls = vec![0x80 | ty, header_index(header)];
        ls.extend_from_slice(&b);
        out.add("length_string", ls);
    }
    out.add("listpack", lp);
    // LZF: literal then an overlapping back-reference (§9).
    out.add("lzf", b"\x00\x02abc\xa0\x02".to_vec());
    out.add("lzf", b"\x80\x0a\x00\x00\x00\x02abc\xa0\x02".to_vec());
}

fn main() {
    let mut args = std::env::args().skip(1);
    let fixtures = PathBuf::from(args.next().unwrap_or_else(|| "../fixtures".into()));
    let corpus = PathBuf::from(args.next().unwrap_or_else(|| "corpus".into()));
    let mut out = Out {
        root: corpus.clone(),
        seen: HashSet::new(),
        count: 0,
        bytes: 0,
    };
    let mut files: Vec<PathBuf> = fs::read_dir(&fixtures)
        .expect("fixtures dir")
        .map(|e| e.expect("entry").path().join("types.rdb"))
        .filter(|p| p.exists())
        .collect();
    files.sort();
    for f in &files {
        from_fixture(&mut out, &fs::read(f).expect("read fixture"));
    }
    hand_made(&mut out);
    for t in TARGETS {
        fs::create_dir_all(Path::new(&corpus).join(t)).expect("mkdir");
    }
    println!(
        "{} new seeds, {} bytes, from {} fixtures",
        out.count,
        out.bytes,
        files.len()
    );
}
