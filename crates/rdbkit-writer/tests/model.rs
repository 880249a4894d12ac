//! A small logical model of an RDB file, independent of the writer: what a
//! server holds after loading it (keys, types, values, expiries, field TTLs,
//! streams with groups/PELs/consumers), plus the tags the file uses.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rdbkit_parser::*;

pub(crate) fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path().join("types.rdb");
        if p.exists() {
            let name = p
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    assert!(out.len() >= 12, "fixtures missing");
    out
}

pub(crate) type Bytes = Vec<u8>;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LConsumer {
    pub(crate) seen_time: i64,
    pub(crate) active_time: Option<i64>,
    pub(crate) pending: Vec<StreamId>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LGroup {
    pub(crate) last_delivered_id: StreamId,
    pub(crate) entries_read: Option<u64>,
    pub(crate) pending: Vec<(StreamId, i64, u64)>,
    pub(crate) consumers: BTreeMap<Bytes, LConsumer>,
    pub(crate) nacks: Vec<StreamId>,
}

/// (id, deleted, fields)
pub(crate) type LStreamEntry = (StreamId, bool, Vec<(Bytes, Bytes)>);

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LStream {
    pub(crate) ty: u8,
    pub(crate) length: u64,
    pub(crate) last_id: StreamId,
    pub(crate) first_id: Option<StreamId>,
    pub(crate) max_deleted_id: Option<StreamId>,
    pub(crate) entries_added: Option<u64>,
    /// (id, deleted, fields)
    pub(crate) entries: Vec<LStreamEntry>,
    pub(crate) groups: BTreeMap<Bytes, LGroup>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LValue {
    String(Bytes),
    List(Vec<Bytes>),
    Set(BTreeSet<Bytes>),
    /// member -> score bits
    ZSet(BTreeMap<Bytes, u64>),
    /// field -> (value, expiry)
    Hash(BTreeMap<Bytes, (Bytes, Option<i64>)>),
    Stream(Box<LStream>),
    Module(u64, Bytes),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LEntry {
    pub(crate) ty: u8,
    pub(crate) expire_ms: Option<i64>,
    pub(crate) lru_idle: Option<u64>,
    pub(crate) lfu_freq: Option<u8>,
    pub(crate) value: LValue,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Model {
    pub(crate) version: u32,
    pub(crate) entries: BTreeMap<(u64, Bytes), LEntry>,
    pub(crate) functions: BTreeSet<Bytes>,
    pub(crate) aux: BTreeMap<Bytes, Bytes>,
    pub(crate) module_aux: usize,
    /// Every tag byte used: opcodes and prefixes (>= 242) and value types.
    pub(crate) opcodes: BTreeSet<u8>,
    pub(crate) types: BTreeSet<u8>,
    pub(crate) checksum: Option<Checksum>,
}

fn b(i: &Item<'_>) -> Bytes {
    i.to_bytes().into_owned()
}

fn lvalue(v: &RawValue<'_>) -> LValue {
    match v.decode().unwrap() {
        Value::String(s) => LValue::String(s.to_vec()),
        Value::List(l) => LValue::List(l.iter().unwrap().map(|i| b(&i.unwrap())).collect()),
        Value::Set(s) => LValue::Set(s.iter().unwrap().map(|i| b(&i.unwrap())).collect()),
        Value::ZSet(z) => LValue::ZSet(
            z.iter()
                .unwrap()
                .map(|r| {
                    let (m, s) = r.unwrap();
                    (b(&m), s.to_bits())
                })
                .collect(),
        ),
        Value::Hash(h) => LValue::Hash(
            h.iter()
                .unwrap()
                .map(|r| {
                    let f = r.unwrap();
                    (b(&f.field), (b(&f.value), f.expire_ms))
                })
                .collect(),
        ),
        Value::Stream(s) => {
            let entries = s
                .entries()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.id,
                        e.deleted,
                        e.fields.iter().map(|(f, v)| (b(f), b(v))).collect(),
                    )
                })
                .collect();
            let groups = s
                .groups
                .iter()
                .map(|g| {
                    (
                        g.name.to_vec(),
                        LGroup {
                            last_delivered_id: g.last_delivered_id,
                            entries_read: g.entries_read,
                            pending: g
                                .pending
                                .iter()
                                .map(|p| (p.id, p.delivery_time, p.delivery_count))
                                .collect(),
                            consumers: g
                                .consumers
                                .iter()
                                .map(|c| {
                                    (
                                        c.name.to_vec(),
                                        LConsumer {
                                            seen_time: c.seen_time,
                                            active_time: c.active_time,
                                            pending: c.pending.clone(),
                                        },
                                    )
                                })
                                .collect(),
                            nacks: g.nacks.clone(),
                        },
                    )
                })
                .collect();
            LValue::Stream(Box::new(LStream {
                ty: s.ty.0,
                length: s.length,
                last_id: s.last_id,
                first_id: s.first_id,
                max_deleted_id: s.max_deleted_id,
                entries_added: s.entries_added,
                entries,
                groups,
            }))
        }
        Value::Module(m) => LValue::Module(m.id.0, m.raw_items().to_vec()),
    }
}

/// Walk the prefixes of an entry record independently of the writer.
fn entry_tags(raw: &[u8], key_meta_len: usize, out: &mut Model) -> u8 {
    let mut pos = 0;
    loop {
        let t = raw[pos];
        pos += 1;
        match t {
            252 => pos += 8,
            253 => pos += 4,
            249 => pos += 1,
            248 => {
                pos += match raw[pos] >> 6 {
                    0 => 1,
                    1 => 2,
                    _ if raw[pos] == 0x80 => 5,
                    _ => 9,
                }
            }
            243 => pos += key_meta_len,
            ty => return ty,
        }
        out.opcodes.insert(t);
    }
}

pub(crate) fn model(bytes: &[u8]) -> Model {
    let mut r = RdbReader::new(bytes).unwrap();
    let mut m = Model {
        version: r.version().0,
        ..Model::default()
    };
    while let Some(rec) = r.next_record().unwrap() {
        match &rec.kind {
            RecordKind::Entry(e) => {
                let ty = entry_tags(rec.raw, e.key_meta.map_or(0, |k| k.raw.len()), &mut m);
                assert_eq!(ty, e.value.ty().0);
                m.types.insert(ty);
                let prev = m.entries.insert(
                    (e.db, e.key.to_vec()),
                    LEntry {
                        ty,
                        expire_ms: e.expire_ms,
                        lru_idle: e.lru_idle,
                        lfu_freq: e.lfu_freq,
                        value: lvalue(&e.value),
                    },
                );
                assert!(prev.is_none(), "duplicate key");
            }
            other => {
                m.opcodes.insert(rec.raw[0]);
                match other {
                    RecordKind::Aux { key, value } => {
                        m.aux.insert(key.to_vec(), value.to_vec());
                    }
                    RecordKind::Function(f) => {
                        m.functions.insert(f.source.to_vec());
                    }
                    RecordKind::ModuleAux(_) => m.module_aux += 1,
                    RecordKind::Eof { checksum } => m.checksum = Some(*checksum),
                    _ => {}
                }
            }
        }
    }
    m
}

/// Value types a loader of `v` accepts, written from the format reference
/// (§3.1, §5.1) independently of the writer's own table.
pub(crate) fn loader_types(v: u32) -> BTreeSet<u8> {
    let mut s: BTreeSet<u8> = (0..=4).collect();
    if v >= 80 {
        s.extend([5, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]);
        return s;
    }
    let add = |s: &mut BTreeSet<u8>, from: u32, ids: &[u8]| {
        if v >= from {
            s.extend(ids);
        }
    };
    add(&mut s, 2, &[9, 10, 11, 12]);
    add(&mut s, 4, &[13]);
    add(&mut s, 7, &[14]);
    add(&mut s, 8, &[5, 7]);
    add(&mut s, 9, &[15]);
    add(&mut s, 10, &[16, 17, 18, 19]);
    add(&mut s, 11, &[20, 21]);
    add(&mut s, 12, &[22, 23, 24, 25]);
    add(&mut s, 13, &[26]);
    add(&mut s, 14, &[27, 28]);
    s
}

/// Opcodes (and prefixes) a loader of `v` accepts.
pub(crate) fn loader_opcodes(v: u32) -> BTreeSet<u8> {
    let mut s: BTreeSet<u8> = [253, 254, 255].into();
    let lvl = if v >= 80 { 11 } else { v };
    if lvl >= 3 {
        s.insert(252);
    }
    if lvl >= 7 {
        s.extend([250, 251]);
    }
    if lvl >= 9 {
        s.extend([247, 248, 249]);
    }
    if lvl >= 10 {
        s.insert(245);
    }
    if v >= 80 {
        s.insert(243); // SLOT_IMPORT
    } else {
        if v >= 12 {
            s.insert(244);
        }
        if v >= 13 {
            s.insert(243); // KEY_META
        }
    }
    s
}
