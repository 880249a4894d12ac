//! Ziplists (`ziplist.c`): the compact list/hash/zset blob of Redis 2.4 - 6.2,
//! and the node format of quicklist v1.
//!
//! Layout: `u32 zlbytes`, `u32 zltail`, `u16 zllen`, entries, `0xFF`. Each entry
//! is `prevlen`, an encoding byte (plus length bytes) and the data. The walk
//! applies the checks of Redis's deep validation (`ziplistValidateIntegrity`):
//! every entry inside the blob, each `prevlen` equal to the size of the entry
//! before it, `zltail` pointing at the last entry, and the count matching
//! `zllen` unless that says 65535 ("count by walking").

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::item::Item;

const ZIP_END: u8 = 0xff;
const ZIP_BIG_PREVLEN: u8 = 0xfe;
const HEADER_SIZE: usize = 10;
/// `zllen` value meaning "too many to count in 16 bits".
pub const ZIPLIST_COUNT_UNKNOWN: u16 = u16::MAX;

/// A ziplist blob whose header has been checked.
#[derive(Clone, Debug)]
pub struct Ziplist<'a> {
    blob: &'a [u8],
    zltail: u32,
    zllen: u16,
    offset: u64,
}

fn bad(offset: u64, reason: String) -> Error {
    Error::new(offset, ErrorKind::invalid("ziplist", reason))
}

fn le_u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(s))
}

impl<'a> Ziplist<'a> {
    /// Check the header of `blob`, which starts at file offset `offset`.
    pub fn parse(blob: &'a [u8], offset: u64) -> Result<Ziplist<'a>> {
        if blob.len() < HEADER_SIZE + 1 {
            return Err(bad(
                offset,
                format!("{} bytes is shorter than the 11-byte minimum", blob.len()),
            ));
        }
        let zlbytes = le_u32_at(blob, 0).unwrap_or(0);
        if zlbytes as usize != blob.len() {
            return Err(bad(
                offset,
                format!(
                    "header says {} bytes but the blob has {}",
                    zlbytes,
                    blob.len()
                ),
            ));
        }
        let zltail = le_u32_at(blob, 4).unwrap_or(0);
        if zltail as usize >= blob.len() {
            return Err(bad(
                offset,
                format!(
                    "tail offset {} lies outside the {}-byte blob",
                    zltail,
                    blob.len()
                ),
            ));
        }
        let zllen = u16::from_le_bytes([
            blob.get(8).copied().unwrap_or(0),
            blob.get(9).copied().unwrap_or(0),
        ]);
        if blob.last() != Some(&ZIP_END) {
            return Err(bad(offset, "missing the 0xFF end marker".into()));
        }
        Ok(Ziplist {
            blob,
            zltail,
            zllen,
            offset,
        })
    }

    /// The entry count from the header, if it is not "count by walking".
    pub fn len_hint(&self) -> Option<u64> {
        (self.zllen != ZIPLIST_COUNT_UNKNOWN).then_some(u64::from(self.zllen))
    }

    /// The entries, in order. Each is checked as it is reached; the iterator
    /// stops after the first error.
    pub fn entries(&self) -> ZiplistEntries<'a> {
        ZiplistEntries {
            blob: self.blob,
            pos: HEADER_SIZE,
            prev_size: 0,
            prev_start: None,
            count: 0,
            zltail: self.zltail,
            zllen: self.zllen,
            offset: self.offset,
            done: false,
        }
    }
}

/// Iterator over a ziplist's entries.
#[derive(Clone, Debug)]
pub struct ZiplistEntries<'a> {
    blob: &'a [u8],
    pos: usize,
    prev_size: usize,
    prev_start: Option<usize>,
    count: u64,
    zltail: u32,
    zllen: u16,
    offset: u64,
    done: bool,
}

impl<'a> ZiplistEntries<'a> {
    fn fail(&mut self, at: usize, reason: String) -> Option<Result<Item<'a>>> {
        self.done = true;
        Some(Err(bad(
            self.offset,
            format!("entry at blob byte {at}: {reason}"),
        )))
    }

    fn get(&self, at: usize, n: usize) -> Option<&'a [u8]> {
        self.blob.get(at..at.checked_add(n)?)
    }

    fn finish(&mut self) -> Option<Result<Item<'a>>> {
        self.done = true;
        let last = self.prev_start.unwrap_or(HEADER_SIZE);
        if self.zltail as usize != last {
            return Some(Err(bad(
                self.offset,
                format!(
                    "tail offset {} does not point at the last entry ({})",
                    self.zltail, last
                ),
            )));
        }
        if self.zllen != ZIPLIST_COUNT_UNKNOWN && u64::from(self.zllen) != self.count {
            return Some(Err(bad(
                self.offset,
                format!(
                    "header counts {} entries but {} were found",
                    self.zllen, self.count
                ),
            )));
        }
        if self.pos + 1 != self.blob.len() {
            return Some(Err(bad(
                self.offset,
                format!(
                    "{} bytes follow the end marker",
                    self.blob.len() - self.pos - 1
                ),
            )));
        }
        None
    }
}

impl<'a> Iterator for ZiplistEntries<'a> {
    type Item = Result<Item<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let first = match self.blob.get(start) {
            Some(&b) => b,
            None => return self.fail(start, "runs past the end of the blob".into()),
        };
        if first == ZIP_END {
            return self.finish();
        }
        // prevlen
        let (prevlen, mut p) = if first == ZIP_BIG_PREVLEN {
            match le_u32_at(self.blob, start + 1) {
                Some(v) => (v as usize, start + 5),
                None => return self.fail(start, "5-byte prevlen runs past the end".into()),
            }
        } else {
            (usize::from(first), start + 1)
        };
        if prevlen != self.prev_size {
            return self.fail(
                start,
                format!(
                    "prevlen {} but the previous entry is {} bytes",
                    prevlen, self.prev_size
                ),
            );
        }
        let enc = match self.blob.get(p) {
            Some(&b) => b,
            None => return self.fail(start, "encoding byte past the end".into()),
        };
        p += 1;
        let item = match enc >> 6 {
            0..=2 => {
                let len = match enc >> 6 {
                    0 => usize::from(enc & 0x3f),
                    1 => match self.blob.get(p) {
                        Some(&b1) => {
                            p += 1;
                            (usize::from(enc & 0x3f) << 8) | usize::from(b1)
                        }
                        None => return self.fail(start, "string length past the end".into()),
                    },
                    _ => match self.get(p, 4) {
                        Some(b) => {
                            p += 4;
                            b.try_into().map(u32::from_be_bytes).unwrap_or(0) as usize
                        }
                        None => return self.fail(start, "string length past the end".into()),
                    },
                };
                match self.get(p, len) {
                    Some(s) if p + len < self.blob.len() => {
                        p += len;
                        Item::Bytes(Cow::Borrowed(s))
                    }
                    _ => return self.fail(start, format!("{len}-byte string runs past the end")),
                }
            }
            _ => {
                let (size, v): (usize, i64) = match enc {
                    0xc0 => (2, 0),
                    0xd0 => (4, 0),
                    0xe0 => (8, 0),
                    0xf0 => (3, 0),
                    0xfe => (1, 0),
                    0xf1..=0xfd => (0, i64::from(enc & 0x0f) - 1),
                    _ => return self.fail(start, format!("invalid encoding byte 0x{enc:02x}")),
                };
                let data = match self.get(p, size) {
                    Some(d) if p + size < self.blob.len() => d,
                    _ => return self.fail(start, "integer runs past the end".into()),
                };
                p += size;
                let v = match (enc, data) {
                    (0xc0, &[a, b]) => i64::from(i16::from_le_bytes([a, b])),
                    (0xd0, &[a, b, c, d]) => i64::from(i32::from_le_bytes([a, b, c, d])),
                    (0xe0, &[a, b, c, d, e, f, g, h]) => {
                        i64::from_le_bytes([a, b, c, d, e, f, g, h])
                    }
                    // 24-bit: sign-extend by placing the bytes high and shifting down.
                    (0xf0, &[a, b, c]) => i64::from(i32::from_le_bytes([0, a, b, c]) >> 8),
                    (0xfe, &[a]) => i64::from(a as i8),
                    _ => v,
                };
                Item::Int(v)
            }
        };
        self.prev_size = p - start;
        self.prev_start = Some(start);
        self.pos = p;
        self.count += 1;
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a ziplist from raw entry payloads (encoding + data).
    pub(crate) fn build(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = HEADER_SIZE;
        for e in entries {
            tail = HEADER_SIZE + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xfe);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev = body.len() - start;
        }
        let total = HEADER_SIZE + body.len() + 1;
        let mut out = Vec::new();
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xff);
        out
    }

    fn items(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ziplist::parse(blob, 0)?
            .entries()
            .map(|r| r.map(|i| i.to_bytes().into_owned()))
            .collect()
    }

    #[test]
    fn all_encodings() {
        let big = vec![b'x'; 300];
        let mut e300 = vec![0x41, 0x2c];
        e300.extend_from_slice(&big);
        let blob = build(&[
            b"\x03abc",
            b"\xc0\x39\x30",
            b"\xd0\x00\x00\x00\x80",
            b"\xe0\xff\xff\xff\xff\xff\xff\xff\xff",
            b"\xf0\xff\xff\x7f",
            b"\xf0\x00\x00\x80",
            b"\xfe\x80",
            b"\xf1",
            b"\xfd",
            &e300,
            b"\x80\x00\x00\x00\x02hi",
        ]);
        let got = items(&blob).unwrap();
        let want: Vec<&[u8]> = vec![
            b"abc",
            b"12345",
            b"-2147483648",
            b"-1",
            b"8388607",
            b"-8388608",
            b"-128",
            b"0",
            b"12",
            &big,
            b"hi",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn lies_are_caught() {
        let good = build(&[b"\x01a", b"\x01b"]);
        // zlbytes lies
        let mut b = good.clone();
        b[0] += 1;
        assert!(items(&b).is_err());
        // zllen lies
        let mut b = good.clone();
        b[8] = 3;
        assert!(items(&b).is_err());
        // prevlen lies
        let mut b = good.clone();
        b[13] = 9;
        assert!(items(&b).is_err());
        // zltail lies
        let mut b = good.clone();
        b[4] = 10;
        assert!(items(&b).is_err());
        // string length runs into the end marker
        let mut b = good;
        b[14] = 0x05;
        assert!(items(&b).is_err());
        assert!(items(&[0xff]).is_err());
        // zllen 65535 means "count by walking"
        let mut b = build(&[b"\x01a"]);
        b[8] = 0xff;
        b[9] = 0xff;
        assert_eq!(items(&b).unwrap().len(), 1);
    }
}
