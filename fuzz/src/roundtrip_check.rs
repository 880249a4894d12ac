// Round trip: arbitrary logical content -> rdbkit-writer for a target
// version -> rdbkit-parser -> the same content. Shared by the `roundtrip`
// fuzz target and the writer's `tests/roundtrip_corpus.rs` (through
// `include!`, so both run exactly this code).

/// Logical values the writer is asked to write.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    ZSet(Vec<(Vec<u8>, f64)>),
    Hash(Vec<(Vec<u8>, Vec<u8>, Option<i64>)>),
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn take(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a.to_vec()
    }
    fn blob(&mut self) -> Option<Vec<u8>> {
        let n = usize::from(self.byte()? % 40);
        Some(self.take(n))
    }
    fn u64(&mut self, n: usize) -> Option<u64> {
        let b = self.take(n);
        if b.len() < n {
            return None;
        }
        Some(b.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x)))
    }
}

fn dedup<T>(v: &mut Vec<T>, key: impl Fn(&T) -> Vec<u8>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(key(x)));
}

/// Decode the fuzz input into a target version and keys.
fn model(data: &[u8]) -> Option<(rdbkit_parser::RdbVersion, Vec<(Vec<u8>, Option<i64>, Model)>)> {
    const TARGETS: [u32; 9] = [6, 7, 8, 9, 10, 11, 12, 13, 80];
    let mut b = Bytes(data);
    let target = rdbkit_parser::RdbVersion(TARGETS[usize::from(b.byte()?) % TARGETS.len()]);
    let hfe = target.is_valkey() || target.0 >= 12;
    let mut keys = Vec::new();
    while let Some(tag) = b.byte() {
        if keys.len() >= 32 {
            break;
        }
        let expire = if tag & 0x80 != 0 { Some(1 + (b.u64(5)? & ((1 << 39) - 1)) as i64) } else { None };
        let n = usize::from(b.byte()? % 8) + 1;
        let value = match tag % 6 {
            0 => Model::Str(b.blob()?),
            1 => Model::List((0..n).map(|_| b.blob()).collect::<Option<_>>()?),
            2 => {
                let mut v: Vec<Vec<u8>> = (0..n).map(|_| b.blob()).collect::<Option<_>>()?;
                dedup(&mut v, |x| x.clone());
                Model::Set(v)
            }
            3 => {
                let mut v = Vec::new();
                for _ in 0..n {
                    let m = b.blob()?;
                    let s = f64::from_bits(b.u64(8)?);
                    v.push((m, if s.is_nan() { 0.0 } else { s }));
                }
                dedup(&mut v, |x| x.0.clone());
                Model::ZSet(v)
            }
            k => {
                let mut v = Vec::new();
                for _ in 0..n {
                    let f = b.blob()?;
                    let val = b.blob()?;
                    let ttl = if k == 5 && hfe && b.byte()? & 1 == 1 {
                        Some(1 + (b.u64(5)? & ((1 << 47) - 1)) as i64)
                    } else {
                        None
                    };
                    v.push((f, val, ttl));
                }
                dedup(&mut v, |x| x.0.clone());
                Model::Hash(v)
            }
        };
        keys.push((format!("k{}", keys.len()).into_bytes(), expire, value));
    }
    Some((target, keys))
}

fn read_back(v: &rdbkit_parser::RawValue<'_>) -> Model {
    use rdbkit_parser::Value;
    let b = |i: rdbkit_parser::Item<'_>| i.to_bytes().into_owned();
    match v.decode().expect("decode what the writer wrote") {
        Value::String(s) => Model::Str(s.into_owned()),
        Value::List(l) => Model::List(l.iter().unwrap().map(|r| b(r.unwrap())).collect()),
        Value::Set(s) => Model::Set(s.iter().unwrap().map(|r| b(r.unwrap())).collect()),
        Value::ZSet(z) => Model::ZSet(z.iter().unwrap().map(|r| r.unwrap()).map(|(m, s)| (b(m), s)).collect()),
        Value::Hash(h) => Model::Hash(
            h.iter()
                .unwrap()
                .map(|r| r.unwrap())
                .map(|f| (b(f.field), b(f.value), f.expire_ms))
                .collect(),
        ),
        other => panic!("unexpected value {other:?}"),
    }
}

fn normalized(m: &Model) -> Model {
    let mut m = m.clone();
    match &mut m {
        Model::Set(v) => v.sort(),
        Model::ZSet(v) => v.sort_by(|a, b| a.0.cmp(&b.0)),
        Model::Hash(v) => v.sort(),
        _ => {}
    }
    m
}

/// Write the content the input describes, read it back, compare. Panics on
/// any difference (that is the finding).
pub fn roundtrip(data: &[u8]) {
    use rdbkit_writer::{EntryMeta, RdbWriter};
    let Some((target, keys)) = model(data) else { return };
    let mut w = RdbWriter::new(Vec::new(), target).expect("supported target");
    w.write_select_db(0).unwrap();
    let mut written = Vec::new();
    for (key, expire, value) in &keys {
        let meta = EntryMeta { expire_ms: *expire, ..EntryMeta::default() };
        let r = match value {
            Model::Str(s) => w.write_string(key, &meta, s),
            Model::List(v) => w.write_list(key, &meta, v),
            Model::Set(v) => w.write_set(key, &meta, v),
            Model::ZSet(v) => w.write_zset(key, &meta, v.iter().map(|(m, s)| (m, *s))),
            Model::Hash(v) if v.iter().any(|f| f.2.is_some()) => {
                w.write_hash_with_ttls(key, &meta, v.iter().map(|(f, x, t)| (f, x, *t)))
            }
            Model::Hash(v) => w.write_hash(key, &meta, v.iter().map(|(f, x, _)| (f, x))),
        };
        match r {
            Ok(()) => written.push((key.clone(), *expire, value.clone())),
            // A value the target cannot hold must be refused before any byte is written.
            Err(_) => {}
        }
    }
    let file = w.finish().expect("finish");
    let mut got = Vec::new();
    for rec in rdbkit_parser::RdbReader::new(&file).expect("header") {
        if let rdbkit_parser::RecordKind::Entry(e) = rec.expect("a record the writer wrote").kind {
            got.push((e.key.into_owned(), e.expire_ms, read_back(&e.value)));
        }
    }
    assert_eq!(got.len(), written.len(), "key count");
    for ((k1, e1, v1), (k2, e2, v2)) in written.iter().zip(&got) {
        assert_eq!(k1, k2);
        assert_eq!(e1, e2, "expiry of {k1:?}");
        assert_eq!(normalized(v1), normalized(v2), "value of {k1:?} for {target}");
    }
}
