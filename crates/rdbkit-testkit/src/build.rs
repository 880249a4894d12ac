//! RDB bytes built by hand, for tests that need a file no server writes
//! (a stored length that lies, a count byte out of range).

use rdbkit_parser::RdbVersion;
use rdbkit_parser::listpack::encode_backlen;

/// An RDB length (`rdbSaveLen`): 6, 14, 32 or 64 bits, shortest form, by
/// the writer's own encoder.
pub fn len(n: u64) -> Vec<u8> {
    let mut buf = [0u8; 9];
    // Any current version allows the 64-bit form.
    let used = rdbkit_writer::length::encode_len(n, RdbVersion(12), &mut buf).unwrap_or(0);
    buf[..used].to_vec()
}

/// A raw RDB string: its length and bytes.
pub fn string(b: &[u8]) -> Vec<u8> {
    let mut v = len(b.len() as u64);
    v.extend_from_slice(b);
    v
}

/// A key record in database 0's stream of records: type byte, key, body.
pub fn entry(ty: u8, key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend(string(key));
    v.extend_from_slice(body);
    v
}

/// A whole file: `header` (`REDIS0009`, `VALKEY080`), SELECTDB 0, the
/// records, EOF and a checksum of 0 ("not computed", which every loader
/// accepts).
pub fn file(header: &[u8], records: &[Vec<u8>]) -> Vec<u8> {
    let mut v = header.to_vec();
    v.extend_from_slice(&[0xfe, 0]);
    for r in records {
        v.extend_from_slice(r);
    }
    v.push(0xff);
    v.extend_from_slice(&[0; 8]);
    v
}

/// A listpack element.
#[derive(Debug, Clone, Copy)]
pub enum Lp<'a> {
    /// An integer, in the smallest encoding Redis would use.
    Int(i64),
    /// A string.
    Str(&'a [u8]),
}

/// A listpack blob of `elements`, with the count in its header (65535,
/// "unknown", from that many on).
pub fn listpack(elements: &[Lp<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elements {
        let start = body.len();
        match *e {
            Lp::Int(v @ 0..=127) => body.push(v as u8),
            Lp::Int(v @ -4096..=4095) => {
                let u = (v as u16) & 0x1fff;
                body.push(0xc0 | (u >> 8) as u8);
                body.push(u as u8);
            }
            Lp::Int(v) => {
                body.push(0xf4);
                body.extend_from_slice(&v.to_le_bytes());
            }
            Lp::Str(s) if s.len() < 64 => {
                body.push(0x80 | s.len() as u8);
                body.extend_from_slice(s);
            }
            Lp::Str(s) if s.len() < 4096 => {
                body.push(0xe0 | (s.len() >> 8) as u8);
                body.push(s.len() as u8);
                body.extend_from_slice(s);
            }
            Lp::Str(s) => {
                body.push(0xf0);
                body.extend_from_slice(&(s.len() as u32).to_le_bytes());
                body.extend_from_slice(s);
            }
        }
        let mut back = [0u8; 5];
        let n = encode_backlen((body.len() - start) as u64, &mut back);
        body.extend_from_slice(&back[..n]);
    }
    let mut out = ((6 + body.len() + 1) as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&(elements.len().min(65535) as u16).to_le_bytes());
    out.extend(body);
    out.push(0xff);
    out
}

/// The body of a type-15 stream (`RDB_TYPE_STREAM_LISTPACKS`, RDB 9-10
/// layout) with one node holding `entries` (IDs `ms-1`, `ms-2`, ... of one
/// millisecond, each with the same single field `f`), no consumer groups,
/// and `length` stored as the stream's length whatever the entries say.
pub fn stream_v1(ms: u64, values: &[&[u8]], length: u64) -> Vec<u8> {
    // Master entry: count, deleted, field count, field names, terminator.
    let mut lp = vec![
        Lp::Int(values.len() as i64),
        Lp::Int(0),
        Lp::Int(1),
        Lp::Str(b"f"),
        Lp::Int(0),
    ];
    // Each entry with the master's fields (flag 2, SAMEFIELDS): ms and seq
    // differences from the master ID, the value, and its element count.
    for (i, v) in values.iter().enumerate() {
        lp.extend([
            Lp::Int(2),
            Lp::Int(0),
            Lp::Int(i as i64),
            Lp::Str(v),
            Lp::Int(4),
        ]);
    }
    let mut master = ms.to_be_bytes().to_vec();
    master.extend_from_slice(&1u64.to_be_bytes());
    let mut body = len(1);
    body.extend(string(&master));
    body.extend(string(&listpack(&lp)));
    body.extend(len(length));
    // Last ID, then no groups.
    body.extend(len(ms));
    body.extend(len(values.len() as u64));
    body.extend(len(0));
    body
}
