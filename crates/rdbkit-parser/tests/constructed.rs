//! Files built byte by byte for constructs no available server writes:
//! RDB 13-15 (stream v4/v5, KEY_META, ARRAY), Redis 7.4 pre-release hash
//! types, Valkey SLOT_IMPORT, module values and aux data, FUNCTION_PRE_GA,
//! SLOT_INFO, IDLE/FREQ, and the oldest forms (RDB 1-4: EXPIRETIME seconds,
//! text scores, zipmaps, no checksum).

use rdbkit_parser::*;
use rdbkit_testkit::build;

/// Builds an RDB file: header, records, EOF and (for RDB >= 5) the CRC-64.
pub(crate) struct Rdb {
    buf: Vec<u8>,
    version: u32,
}

impl Rdb {
    pub(crate) fn new(version: u32) -> Rdb {
        let h = RdbVersion(version).header().unwrap();
        Rdb {
            buf: h.to_vec(),
            version,
        }
    }
    pub(crate) fn byte(mut self, b: u8) -> Self {
        self.buf.push(b);
        self
    }
    pub(crate) fn bytes(mut self, b: &[u8]) -> Self {
        self.buf.extend_from_slice(b);
        self
    }
    pub(crate) fn len(mut self, n: u64) -> Self {
        self.buf.extend(build::len(n));
        self
    }
    pub(crate) fn str(mut self, s: &[u8]) -> Self {
        self.buf.extend(build::string(s));
        self
    }
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xff);
        if self.version >= 5 {
            let c = crc64::crc64(&self.buf);
            self.buf.extend_from_slice(&c.to_le_bytes());
        }
        self.buf
    }
}

/// A listpack element.
pub(crate) enum E<'a> {
    S(&'a [u8]),
    I(i64),
}

/// Build a listpack (strings with the 6/32-bit forms, integers as i64).
/// Not `build::listpack`, which writes integers in their smallest form:
/// these tests read every integer in the 64-bit one.
pub(crate) fn listpack(elems: &[E<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elems {
        let start = body.len();
        match e {
            E::S(s) if s.len() < 64 => {
                body.push(0x80 | s.len() as u8);
                body.extend_from_slice(s);
            }
            E::S(s) => {
                body.push(0xf0);
                body.extend_from_slice(&(s.len() as u32).to_le_bytes());
                body.extend_from_slice(s);
            }
            E::I(v) => {
                body.push(0xf4);
                body.extend_from_slice(&v.to_le_bytes());
            }
        }
        let l = (body.len() - start) as u64;
        let mut b = [0u8; 5];
        let n = listpack::encode_backlen(l, &mut b);
        body.extend_from_slice(&b[..n]);
    }
    let mut out = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(elems.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

fn records(file: &[u8]) -> Vec<Record<'_>> {
    RdbReader::new(file)
        .unwrap()
        .collect::<Result<Vec<_>>>()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn entries(file: &[u8]) -> Vec<Entry<'_>> {
    records(file)
        .into_iter()
        .filter_map(|r| match r.kind {
            RecordKind::Entry(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId { ms, seq }
}

/// A one-node stream body up to (not including) the consumer groups:
/// entries 100-0 {f: a} and 100-1 {f: b} (SAMEFIELDS), 100-1 deleted.
fn stream_head(out: &mut Vec<u8>, v2: bool) {
    out.extend(build::len(1));
    out.extend(build::string(&id(100, 0).to_raw()));
    let lp = listpack(&[
        E::I(1),
        E::I(1),
        E::I(1),
        E::S(b"f"),
        E::I(0),
        E::I(2), // SAMEFIELDS
        E::I(0),
        E::I(0),
        E::S(b"a"),
        E::I(4),
        E::I(3), // DELETED | SAMEFIELDS
        E::I(0),
        E::I(1),
        E::S(b"b"),
        E::I(4),
    ]);
    out.extend(build::string(&lp));
    out.extend(build::len(1)); // length
    out.extend(build::len(100));
    out.extend(build::len(1)); // last id 100-1
    if v2 {
        out.extend(build::len(100));
        out.extend(build::len(0)); // first id
        out.extend(build::len(100));
        out.extend(build::len(1)); // max deleted
        out.extend(build::len(2)); // entries added
    }
}

/// One group "g" with a PEL of 100-0 owned by consumer "c".
fn stream_group(out: &mut Vec<u8>, v: u32) {
    out.extend(build::len(1));
    out.extend(build::string(b"g"));
    out.extend(build::len(100));
    out.extend(build::len(0));
    if v >= 2 {
        out.extend(build::len(u64::MAX)); // entries_read unknown
    }
    out.extend(build::len(1));
    out.extend_from_slice(&id(100, 0).to_raw());
    out.extend_from_slice(&1234i64.to_le_bytes());
    out.extend(build::len(3));
    out.extend(build::len(1));
    out.extend(build::string(b"c"));
    out.extend_from_slice(&1000i64.to_le_bytes());
    if v >= 3 {
        out.extend_from_slice(&2000i64.to_le_bytes());
    }
    out.extend(build::len(1));
    out.extend_from_slice(&id(100, 0).to_raw());
    if v >= 5 {
        out.extend(build::len(1));
        out.extend_from_slice(&id(100, 0).to_raw());
    }
}

fn idmp(out: &mut Vec<u8>) {
    out.extend(build::len(60));
    out.extend(build::len(1000));
    out.extend(build::len(1));
    out.extend(build::string(b"producer-1"));
    out.extend(build::len(1));
    out.extend(build::string(b"iid-1"));
    out.extend(build::len(100));
    out.extend(build::len(0));
    out.extend(build::len(7));
    out.extend(build::len(2));
}

fn check_stream(s: &Stream<'_>, v: u32) {
    let live: Vec<_> = s
        .entries()
        .map(|e| e.unwrap())
        .filter(|e| !e.deleted)
        .collect();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, id(100, 0));
    assert_eq!(live[0].fields[0].0, Item::from(&b"f"[..]));
    assert_eq!(live[0].fields[0].1, Item::from(&b"a"[..]));
    assert_eq!(s.length, 1);
    assert_eq!(s.last_id, id(100, 1));
    let g = &s.groups[0];
    assert_eq!(&g.name[..], b"g");
    assert_eq!(g.pending[0].delivery_count, 3);
    assert_eq!(g.consumers[0].pending, vec![id(100, 0)]);
    if v >= 2 {
        assert_eq!(s.entries_added, Some(2));
        assert_eq!(s.max_deleted_id, Some(id(100, 1)));
        assert_eq!(g.entries_read, None);
    }
    assert_eq!(g.consumers[0].active_time, (v >= 3).then_some(2000));
    assert_eq!(g.nacks.len(), usize::from(v >= 5));
    assert_eq!(s.idmp.is_some(), v >= 4);
    if let Some(i) = &s.idmp {
        assert_eq!(
            (i.duration, i.max_entries, i.iids_added, i.iids_duplicates),
            (60, 1000, 7, 2)
        );
        assert_eq!(&i.producers[0].0[..], b"producer-1");
        assert_eq!(i.producers[0].1[0].1, id(100, 0));
    }
}

#[test]
fn streams_v1_to_v5() {
    for (ty, v, rdb) in [
        (15u8, 1u32, 9u32),
        (19, 2, 10),
        (21, 3, 11),
        (26, 4, 13),
        (27, 5, 14),
    ] {
        let mut body = Vec::new();
        stream_head(&mut body, v >= 2);
        stream_group(&mut body, v);
        if v >= 4 {
            idmp(&mut body);
        }
        let file = Rdb::new(rdb).byte(ty).str(b"s").bytes(&body).finish();
        let e = entries(&file);
        assert_eq!(e.len(), 1, "type {ty}");
        match e[0].value.decode().unwrap() {
            Value::Stream(s) => check_stream(&s, v),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn key_meta_before_a_key() {
    // KEY_META, one class "test" v1 with ALLOW_IGNORE, one UINT item, EOF; then "k" -> "v".
    let mut meta = Vec::new();
    meta.extend(build::len(1));
    meta.extend_from_slice(&0x1234_5609u32.to_le_bytes());
    meta.extend(build::len(2));
    meta.extend(build::len(42));
    meta.extend(build::len(0));
    let file = Rdb::new(13)
        .byte(0xfc)
        .bytes(&5000i64.to_le_bytes())
        .byte(0xf3)
        .bytes(&meta)
        .byte(0)
        .str(b"k")
        .str(b"v")
        .finish();
    let e = entries(&file);
    assert_eq!(e[0].expire_ms, Some(5000));
    let km = e[0].key_meta.unwrap();
    assert_eq!(km.classes, 1);
    assert_eq!(km.raw, &meta[..]);
    // KEY_META must be the last prefix.
    let bad = Rdb::new(13)
        .byte(0xf3)
        .bytes(&meta)
        .byte(0xfc)
        .bytes(&[0; 8])
        .byte(0)
        .str(b"k")
        .str(b"v")
        .finish();
    let err = RdbReader::new(&bad).unwrap().find_map(|r| r.err()).unwrap();
    assert!(err.to_string().contains("after KEY_META"), "{err}");
}

#[test]
fn array_type_is_refused_with_the_key_named() {
    let file = Rdb::new(14).byte(28).str(b"arr").bytes(&[1, 2, 3]).finish();
    let err = RdbReader::new(&file)
        .unwrap()
        .find_map(|r| r.err())
        .unwrap();
    assert!(
        matches!(err.kind(), ErrorKind::UnsupportedType { .. }),
        "{err}"
    );
    assert_eq!(err.key(), Some(&b"arr"[..]));
}

#[test]
fn redis_74_pre_release_hash_types_and_slot_info() {
    // 22: LEN n, (LEN abs-expiry|0, field, value)*; 23: listpack triplets.
    let mut h22 = Vec::new();
    h22.extend(build::len(2));
    h22.extend(build::len(4_000_000_000_000));
    h22.extend(build::string(b"a"));
    h22.extend(build::string(b"1"));
    h22.extend(build::len(0));
    h22.extend(build::string(b"b"));
    h22.extend(build::string(b"2"));
    let lp = listpack(&[
        E::S(b"x"),
        E::S(b"1"),
        E::I(4_000_000_000_001),
        E::S(b"y"),
        E::S(b"2"),
        E::I(0),
    ]);
    let file = Rdb::new(12)
        .byte(0xf4)
        .len(5)
        .len(2)
        .len(0)
        .byte(22)
        .str(b"h22")
        .bytes(&h22)
        .byte(23)
        .str(b"h23")
        .str(&lp)
        .finish();
    let recs = records(&file);
    assert!(matches!(
        recs[0].kind,
        RecordKind::SlotInfo {
            slot: 5,
            keys: 2,
            expires: 0
        }
    ));
    for e in entries(&file) {
        let Value::Hash(h) = e.value.decode().unwrap() else {
            panic!()
        };
        assert!(h.has_field_ttls());
        let f: Vec<HashField<'_>> = h.iter().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(f.len(), 2);
        assert!(f[0].expire_ms.unwrap() >= 4_000_000_000_000);
        assert_eq!(f[1].expire_ms, None);
    }
}

#[test]
fn valkey_slot_import_and_hash_2() {
    let mut h = Vec::new();
    h.extend(build::len(2));
    h.extend(build::string(b"f"));
    h.extend(build::string(b"v"));
    h.extend_from_slice(&4_000_000_000_000i64.to_le_bytes());
    h.extend(build::string(b"g"));
    h.extend(build::string(b"w"));
    h.extend_from_slice(&(-1i64).to_le_bytes());
    let file = Rdb::new(80)
        .byte(0xf3)
        .str(&[b'j'; 40])
        .len(1)
        .len(0)
        .len(100)
        .byte(0xfe)
        .len(0)
        .byte(22)
        .str(b"h")
        .bytes(&h)
        .finish();
    let recs = records(&file);
    match &recs[0].kind {
        RecordKind::SlotImport { job, ranges } => {
            assert_eq!(job.len(), 40);
            assert_eq!(ranges, &vec![(0, 100)]);
        }
        k => panic!("{k:?}"),
    }
    let e = entries(&file);
    assert_eq!(e[0].value.encoding_name(), "hash-2");
    let Value::Hash(h) = e[0].value.decode().unwrap() else {
        panic!()
    };
    let f: Vec<_> = h.iter().unwrap().map(|r| r.unwrap().expire_ms).collect();
    assert_eq!(f, vec![Some(4_000_000_000_000), None]);
}

#[test]
fn modules_functions_and_lru_hints() {
    let mid = ModuleId::from_name("ReJSON-RL", 3).unwrap();
    let mut items = Vec::new();
    for (op, payload) in [
        (2u64, vec![7u8]),
        (5, vec![3, b'a', b'b', b'c']),
        (4, 1.5f64.to_le_bytes().to_vec()),
    ] {
        items.extend(build::len(op));
        items.extend_from_slice(&payload);
    }
    items.extend(build::len(0));
    let mut pre_ga = Vec::new();
    pre_ga.extend(build::string(b"lib"));
    pre_ga.extend(build::string(b"LUA"));
    pre_ga.extend(build::len(1));
    pre_ga.extend(build::string(b"a description"));
    pre_ga.extend(build::string(b"return 1"));
    let file = Rdb::new(10)
        .byte(0xf7)
        .len(mid.0)
        .len(2)
        .len(1)
        .bytes(&items)
        .byte(0xf6)
        .bytes(&pre_ga)
        .byte(0xf5)
        .str(b"#!lua name=mylib\nreturn 2")
        .byte(0xf8)
        .len(3600)
        .byte(0xf9)
        .byte(5)
        .byte(7)
        .str(b"json")
        .len(mid.0)
        .bytes(&items)
        .byte(0xfd)
        .bytes(&1_700_000_000i32.to_le_bytes())
        .byte(0)
        .str(b"old-expiry")
        .str(b"x")
        .finish();
    let recs = records(&file);
    match &recs[0].kind {
        RecordKind::ModuleAux(m) => {
            assert_eq!(m.id.name(), "ReJSON-RL");
            assert_eq!(m.when, 1);
        }
        k => panic!("{k:?}"),
    }
    let funcs: Vec<_> = recs
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::Function(f) => Some((
                f.pre_ga,
                f.library_name().unwrap().to_string(),
                f.engine().unwrap().to_string(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        funcs,
        vec![
            (true, "lib".into(), "lua".into()),
            (false, "mylib".into(), "lua".into())
        ]
    );
    let e = entries(&file);
    assert_eq!((e[0].lru_idle, e[0].lfu_freq), (Some(3600), Some(5)));
    let Value::Module(m) = e[0].value.decode().unwrap() else {
        panic!()
    };
    assert_eq!(m.id.encver(), 3);
    let it = m.items().unwrap();
    assert_eq!(it.len(), 3);
    assert_eq!(it[0], ModuleItem::Uint(7));
    assert_eq!(it[2], ModuleItem::Double(1.5));
    assert_eq!(e[1].expire_ms, Some(1_700_000_000_000));
}

#[test]
fn oldest_forms_without_checksum() {
    // RDB 3: no AUX, no checksum; zipmap hash (type 9), text-score zset (type 3)
    // with +inf/-inf markers, EXPIRETIME_MS.
    let zipmap = [2, 1, b'a', 2, 1, b'b', b'c', 0, 1, b'd', 0, 0, 0xff];
    let mut z = Vec::new();
    z.extend(build::len(3));
    z.extend(build::string(b"lo"));
    z.push(255);
    z.extend(build::string(b"mid"));
    z.extend_from_slice(&[3, b'1', b'.', b'5']);
    z.extend(build::string(b"hi"));
    z.push(254);
    let file = Rdb::new(3)
        .byte(0xfe)
        .len(0)
        .byte(9)
        .str(b"zm")
        .str(&zipmap)
        .byte(0xfc)
        .bytes(&99i64.to_le_bytes())
        .byte(3)
        .str(b"z")
        .bytes(&z)
        .finish();
    let recs = records(&file);
    assert!(matches!(
        recs.last().unwrap().kind,
        RecordKind::Eof {
            checksum: Checksum::Absent
        }
    ));
    let e = entries(&file);
    let Value::Hash(h) = e[0].value.decode().unwrap() else {
        panic!()
    };
    assert_eq!(h.len().unwrap(), 2);
    let Value::ZSet(z) = e[1].value.decode().unwrap() else {
        panic!()
    };
    let scores: Vec<f64> = z.iter().unwrap().map(|r| r.unwrap().1).collect();
    assert_eq!(scores, vec![f64::NEG_INFINITY, 1.5, f64::INFINITY]);
    assert_eq!(e[1].expire_ms, Some(99));
}

/// An LZF-stored RDB string: `0xC3`, compressed length, length, bytes.
fn lzf_string(data: &[u8]) -> Vec<u8> {
    lzf_string_claiming(data, data.len() as u64)
}

/// [`lzf_string`] that claims `len` decompressed bytes, right or not.
fn lzf_string_claiming(data: &[u8], len: u64) -> Vec<u8> {
    let mut c = Vec::new();
    lzf::compress(data, &mut c).expect("compressible");
    let mut out = vec![0xC3];
    out.extend(build::len(c.len() as u64));
    out.extend(build::len(len));
    out.extend(c);
    out
}

/// A list of more compressed nodes than a list keeps decompressed: the
/// nodes past that budget are read from their compressed form (as owned
/// elements), with the same elements, in order, and the same checks.
#[test]
fn giant_compressed_quicklists_read_their_late_nodes_compressed() {
    const NODES: usize = 1_100;
    const PER: usize = 800;
    let mut body = build::len(NODES as u64 + 1);
    let elem = |n: usize, i: usize| format!("node{n:05}-element{i:04}");
    // Node n's listpack: PER strings.
    let node = |n: usize| {
        let owned: Vec<String> = (0..PER).map(|i| elem(n, i)).collect();
        listpack(&owned.iter().map(|s| E::S(s.as_bytes())).collect::<Vec<_>>())
    };
    for n in 0..NODES {
        body.extend(build::len(2)); // PACKED
        body.extend(lzf_string(&node(n)));
    }
    // A compressed PLAIN node last.
    let plain = vec![b'p'; 5000];
    body.extend(build::len(1));
    body.extend(lzf_string(&plain));
    let file = Rdb::new(11)
        .bytes(&build::entry(
            format::RDB_TYPE_LIST_QUICKLIST_2.0,
            b"big",
            &body,
        ))
        .finish();
    const { assert!(NODES * PER * 22 > 16 << 20, "more than the eager budget") };
    let e = entries(&file);
    let Value::List(l) = e[0].value.decode().unwrap() else {
        panic!("a list")
    };
    let mut n = 0usize;
    for (k, it) in l.iter().unwrap().enumerate() {
        let it = it.unwrap();
        if k < NODES * PER {
            assert_eq!(
                it.to_bytes(),
                elem(k / PER, k % PER).as_bytes(),
                "element {k}"
            );
        } else {
            assert_eq!(it.to_bytes(), &plain[..]);
        }
        n += 1;
    }
    assert_eq!(n, NODES * PER + 1);
    // The walk that hands out elements in place gives the same ones.
    let (mut seen, mut good) = (0usize, Vec::new());
    let walked = l
        .iter()
        .unwrap()
        .try_for_each_checked(|it| {
            if seen % 100_003 == 0 {
                good.push(it.to_bytes().into_owned());
            }
            seen += 1;
            true
        })
        .unwrap();
    assert_eq!(walked, Some((NODES * PER + 1) as u64));
    let want: Vec<Vec<u8>> = (0..NODES * PER)
        .step_by(100_003)
        .map(|k| elem(k / PER, k % PER).into_bytes())
        .collect();
    assert_eq!(good, want);
    // The fallible walk stops at the first error of `f` and returns it.
    let mut k = 0u64;
    let stopped = l.iter().unwrap().for_each_checked(|_| {
        k += 1;
        if k == 850_000 {
            Err(Error::new(
                7,
                ErrorKind::Invalid {
                    what: "test",
                    reason: "stop".into(),
                },
            ))
        } else {
            Ok(())
        }
    });
    assert!(stopped.unwrap_err().to_string().contains("stop"));
    assert_eq!(k, 850_000);
    assert_eq!(
        l.iter()
            .unwrap()
            .for_each_checked(|_| Ok::<(), Error>(()))
            .unwrap(),
        (NODES * PER + 1) as u64
    );
    let nodes = l.nodes().unwrap();
    assert_eq!(nodes.last().unwrap().data().unwrap().as_ref(), &plain[..]);
    // The first nodes were kept decompressed, the last ones compressed.
    assert!(matches!(
        nodes[0].data().unwrap(),
        std::borrow::Cow::Borrowed(_)
    ));
    assert!(matches!(
        nodes[NODES - 1].data().unwrap(),
        std::borrow::Cow::Owned(_)
    ));

    // A late node whose stream does not give its stated length is refused
    // when it is read (an early one when the list is decoded), by the
    // iterator and by the checked walk alike.
    let mut body = build::len(NODES as u64);
    for n in 0..NODES {
        let lp = node(n);
        // The last node claims 5 bytes more than its stream gives.
        let claimed = lp.len() as u64 + if n == NODES - 1 { 5 } else { 0 };
        body.extend(build::len(2));
        body.extend(lzf_string_claiming(&lp, claimed));
    }
    let file = Rdb::new(11)
        .bytes(&build::entry(
            format::RDB_TYPE_LIST_QUICKLIST_2.0,
            b"big",
            &body,
        ))
        .finish();
    let e = entries(&file);
    let Value::List(l) = e[0].value.decode().unwrap() else {
        panic!("a list")
    };
    let err = l.iter().unwrap().find_map(|r| r.err()).unwrap().to_string();
    assert!(err.contains("LZF") || err.contains("lzf"), "{err}");
    let err2 = l
        .iter()
        .unwrap()
        .try_for_each_checked(|_| true)
        .unwrap_err()
        .to_string();
    assert_eq!(err, err2);
}
