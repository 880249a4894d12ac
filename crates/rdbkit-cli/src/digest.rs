//! Order-independent 128-bit digests of logical values, so that two
//! snapshots can be compared key by key without holding either in memory.
//!
//! Sets, hashes and sorted sets are digested as the wrapping sum of their
//! members' digests (a multiset digest: any order gives the same result);
//! lists and stream entries in order. Stream metadata that differs between
//! RDB versions by design (entries_added, max_deleted_id, entries_read,
//! consumer seen/active times) is left out; entries, length, last ID, groups,
//! their PELs and consumers are in.

use std::hash::Hasher;

use rdbkit_parser::{Entry, Item, Value};

#[derive(Default)]
struct H128(
    std::collections::hash_map::DefaultHasher,
    std::collections::hash_map::DefaultHasher,
);

impl H128 {
    fn new(tag: u8) -> H128 {
        let mut h = H128::default();
        h.1.write_u64(0x9e37_79b9_7f4a_7c15);
        h.write(&[tag]);
        h
    }
    fn write(&mut self, b: &[u8]) {
        self.0.write(b);
        self.1.write(b);
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.write_usize(b.len());
        self.1.write_usize(b.len());
        self.write(b);
    }
    fn item(&mut self, i: &Item<'_>) {
        self.bytes(&i.to_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }
    fn finish(&self) -> u128 {
        (u128::from(self.0.finish()) << 64) | u128::from(self.1.finish())
    }
}

/// What `diff` compares for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct KeyDigest {
    pub(crate) kind: &'static str,
    pub(crate) value: u128,
    pub(crate) expire_ms: Option<i64>,
}

fn score_bits(s: f64) -> u64 {
    // -0.0 and 0.0 are the same score.
    if s == 0.0 { 0 } else { s.to_bits() }
}

/// Digest an entry's logical value.
pub(crate) fn digest(e: &Entry<'_>) -> anyhow::Result<KeyDigest> {
    let v = e.value.decode()?;
    let kind = v.kind().as_str();
    let value = match &v {
        Value::String(s) => {
            let mut h = H128::new(0);
            h.bytes(s);
            h.finish()
        }
        Value::List(l) => {
            let mut h = H128::new(1);
            for i in l.iter()? {
                h.item(&i?);
            }
            h.finish()
        }
        Value::Set(s) => {
            let mut sum = 0u128;
            for i in s.iter()? {
                let mut h = H128::new(2);
                h.item(&i?);
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::ZSet(z) => {
            let mut sum = 0u128;
            for r in z.iter()? {
                let (m, s) = r?;
                let mut h = H128::new(3);
                h.item(&m);
                h.u64(score_bits(s));
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::Hash(hash) => {
            let mut sum = 0u128;
            for r in hash.iter()? {
                let f = r?;
                let mut h = H128::new(4);
                h.item(&f.field);
                h.item(&f.value);
                h.u64(f.expire_ms.map_or(u64::MAX, |t| t as u64));
                sum = sum.wrapping_add(h.finish());
            }
            sum
        }
        Value::Stream(s) => {
            let mut h = H128::new(5);
            h.u64(s.length);
            h.u64(s.last_id.ms);
            h.u64(s.last_id.seq);
            for r in s.entries() {
                let en = r?;
                if en.deleted {
                    continue;
                }
                h.u64(en.id.ms);
                h.u64(en.id.seq);
                h.u64(en.fields.len() as u64);
                for (f, v) in &en.fields {
                    h.item(f);
                    h.item(v);
                }
            }
            let mut groups: Vec<_> = s.groups.iter().collect();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in groups {
                h.bytes(&g.name);
                h.u64(g.last_delivered_id.ms);
                h.u64(g.last_delivered_id.seq);
                for p in &g.pending {
                    h.u64(p.id.ms);
                    h.u64(p.id.seq);
                    h.u64(p.delivery_time as u64);
                    h.u64(p.delivery_count);
                }
                let mut cons: Vec<_> = g.consumers.iter().collect();
                cons.sort_by(|a, b| a.name.cmp(&b.name));
                for c in cons {
                    h.bytes(&c.name);
                    for id in &c.pending {
                        h.u64(id.ms);
                        h.u64(id.seq);
                    }
                }
            }
            h.finish()
        }
        Value::Module(m) => {
            let mut h = H128::new(6);
            h.u64(m.id.0);
            h.bytes(m.raw_items());
            h.finish()
        }
    };
    Ok(KeyDigest {
        kind,
        value,
        expire_ms: e.expire_ms,
    })
}
