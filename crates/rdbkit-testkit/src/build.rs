//! RDB bytes built by hand, for tests that need a file no server writes
//! (a stored length that lies, a count byte out of range).

use rdbkit_parser::RdbVersion;
use rdbkit_parser::format::{
    RDB_ENC_INT8, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENCVAL, RDB_OPCODE_EOF, RDB_OPCODE_SELECTDB,
};
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

/// A string that reads as the integer `v`, stored as Redis stores one
/// (`rdbTryIntegerEncoding`): the smallest of the INT8, INT16 and INT32
/// special encodings that holds it; beyond 32 bits, the raw decimal text.
pub fn int_string(v: i64) -> Vec<u8> {
    let special = |enc: u8, le: &[u8]| {
        let mut out = vec![(RDB_ENCVAL << 6) | enc];
        out.extend_from_slice(le);
        out
    };
    if let Ok(b) = i8::try_from(v) {
        special(RDB_ENC_INT8, &b.to_le_bytes())
    } else if let Ok(h) = i16::try_from(v) {
        special(RDB_ENC_INT16, &h.to_le_bytes())
    } else if let Ok(w) = i32::try_from(v) {
        special(RDB_ENC_INT32, &w.to_le_bytes())
    } else {
        string(v.to_string().as_bytes())
    }
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
    v.extend_from_slice(&[RDB_OPCODE_SELECTDB.0, 0]);
    for r in records {
        v.extend_from_slice(r);
    }
    v.push(RDB_OPCODE_EOF.0);
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

/// One module item: its `RDB_MODULE_OPCODE_*` and payload.
#[derive(Debug, Clone, Copy)]
pub enum ModItem<'a> {
    /// SINT (saved as a length, two's complement).
    Sint(i64),
    /// UINT.
    Uint(u64),
    /// DOUBLE (8 bytes, little-endian).
    Double(f64),
    /// STRING.
    Str(&'a [u8]),
}

fn module_items(name: &str, encver: u16, items: &[ModItem<'_>]) -> Vec<u8> {
    use rdbkit_parser::format::{
        RDB_MODULE_OPCODE_DOUBLE, RDB_MODULE_OPCODE_EOF, RDB_MODULE_OPCODE_SINT,
        RDB_MODULE_OPCODE_STRING, RDB_MODULE_OPCODE_UINT,
    };
    let id = rdbkit_parser::ModuleId::from_name(name, encver)
        .unwrap_or_else(|| panic!("{name:?} is not a 9-character module type name"));
    let mut v = len(id.0);
    for it in items {
        match *it {
            ModItem::Sint(n) => {
                v.extend(len(RDB_MODULE_OPCODE_SINT));
                v.extend(len(n as u64));
            }
            ModItem::Uint(n) => {
                v.extend(len(RDB_MODULE_OPCODE_UINT));
                v.extend(len(n));
            }
            ModItem::Double(d) => {
                v.extend(len(RDB_MODULE_OPCODE_DOUBLE));
                v.extend_from_slice(&d.to_le_bytes());
            }
            ModItem::Str(s) => {
                v.extend(len(RDB_MODULE_OPCODE_STRING));
                v.extend(string(s));
            }
        }
    }
    v.extend(len(RDB_MODULE_OPCODE_EOF));
    v
}

/// The body of a MODULE_2 value (type 7): the id of module type `name`
/// with `encver`, the items, the EOF item.
pub fn module_value(name: &str, encver: u16, items: &[ModItem<'_>]) -> Vec<u8> {
    module_items(name, encver, items)
}

/// A whole MODULE_AUX record (opcode 247) of module type `name`, written
/// after the keyspace (`when` 2).
pub fn module_aux(name: &str, encver: u16, items: &[ModItem<'_>]) -> Vec<u8> {
    let mut v = vec![rdbkit_parser::format::RDB_OPCODE_MODULE_AUX.0];
    let body = module_items(name, encver, items);
    // The id, then `UINT when`, then the items.
    let id_len = len(rdbkit_parser::ModuleId::from_name(name, encver).map_or(0, |i| i.0)).len();
    v.extend_from_slice(&body[..id_len]);
    v.extend(len(rdbkit_parser::format::RDB_MODULE_OPCODE_UINT));
    v.extend(len(2));
    v.extend_from_slice(&body[id_len..]);
    v
}

/// A RedisJSON value as RedisJSON 2.2+ saves it (encver 3): the JSON text.
pub fn rejson_value(json: &[u8]) -> Vec<u8> {
    module_value("ReJSON-RL", 3, &[ModItem::Str(json)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::{RdbReader, RecordKind, Value};

    #[test]
    fn integer_strings_read_back_in_the_smallest_form() {
        for (v, size) in [
            (0i64, 2usize),
            (-128, 2),
            (127, 2),
            (128, 3),
            (-32768, 3),
            (32768, 5),
            (i64::from(i32::MIN), 5),
            (i64::from(i32::MAX) + 1, 11),
            (i64::MIN, 21),
        ] {
            let s = int_string(v);
            assert_eq!(s.len(), size, "{v}");
            let f = file(b"REDIS0009", &[entry(0, b"k", &s)]);
            let decoded: Vec<Vec<u8>> = RdbReader::new(&f)
                .unwrap()
                .filter_map(|r| match r.unwrap().kind {
                    RecordKind::Entry(e) => match e.value.decode().unwrap() {
                        Value::String(s) => Some(s.to_vec()),
                        other => panic!("{other:?}"),
                    },
                    _ => None,
                })
                .collect();
            assert_eq!(decoded, [v.to_string().into_bytes()], "{v}");
        }
        assert_eq!(int_string(12), [0xc0, 12]);
        assert_eq!(string(b"ab"), [2, b'a', b'b']);
        assert_eq!(len(16384), [0x80, 0, 0, 0x40, 0]);
    }
}
