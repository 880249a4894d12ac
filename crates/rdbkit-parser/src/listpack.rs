//! Listpacks (`listpack.c`): the compact blob of Redis 7+ hashes, sets and
//! zsets, quicklist v2 nodes and stream nodes.
//!
//! Layout: `u32 total_bytes`, `u16 num_elements`, elements, `0xFF`. Each element
//! is its encoding and data followed by a "backlen" that lets it be walked
//! backwards. The walk applies the checks of `lpValidateIntegrity` with deep
//! validation: every element inside the blob, each backlen of the width Redis
//! would give it (the thresholds are off by one: 127 / 16382 / ...) and
//! decoding, as the loader decodes it, to the element's size, and the count
//! matching the header unless that says 65535.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::item::Item;

const LP_HEADER_SIZE: usize = 6;
const LP_EOF: u8 = 0xff;
/// `num_elements` value meaning "too many to count in 16 bits".
pub const LISTPACK_COUNT_UNKNOWN: u16 = u16::MAX;

/// A listpack blob whose header has been checked.
#[derive(Clone, Debug)]
pub struct Listpack<'a> {
    blob: &'a [u8],
    count: u16,
    offset: u64,
}

fn bad(offset: u64, reason: String) -> Error {
    Error::new(offset, ErrorKind::invalid("listpack", reason))
}

/// The number of bytes Redis uses to store a backlen of `l` (`lpEncodeBacklen`).
pub fn backlen_size(l: u64) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// Encode a backlen exactly as Redis does: the byte next to the element holds
/// the most significant 7-bit group; every later byte has bit 7 set.
pub fn encode_backlen(l: u64, out: &mut [u8; 5]) -> usize {
    let n = backlen_size(l);
    for (i, slot) in out.iter_mut().take(n).enumerate() {
        let shift = 7 * (n - 1 - i);
        let group = ((l >> shift) & 127) as u8;
        *slot = if i == 0 { group } else { group | 128 };
    }
    n
}

/// A backlen read as `lpDecodeBacklen` does: from the byte at `last`
/// backwards, seven bits a byte while bit 7 is set, at most five bytes.
fn decode_backlen(blob: &[u8], last: usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..5 {
        let b = *blob.get(last.checked_sub(i)?)?;
        v |= u64::from(b & 127) << (7 * i);
        if b & 128 == 0 {
            return Some(v);
        }
    }
    None
}

impl<'a> Listpack<'a> {
    /// Check the header of `blob`, which starts at file offset `offset`.
    pub fn parse(blob: &'a [u8], offset: u64) -> Result<Listpack<'a>> {
        if blob.len() < LP_HEADER_SIZE + 1 {
            return Err(bad(
                offset,
                format!("{} bytes is shorter than the 7-byte minimum", blob.len()),
            ));
        }
        let total = blob
            .get(0..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .unwrap_or(0);
        if total as usize != blob.len() {
            return Err(bad(
                offset,
                format!(
                    "header says {} bytes but the blob has {}",
                    total,
                    blob.len()
                ),
            ));
        }
        let count = u16::from_le_bytes([
            blob.get(4).copied().unwrap_or(0),
            blob.get(5).copied().unwrap_or(0),
        ]);
        if blob.last() != Some(&LP_EOF) {
            return Err(bad(offset, "missing the 0xFF end marker".into()));
        }
        Ok(Listpack {
            blob,
            count,
            offset,
        })
    }

    /// The element count from the header, if it is not "count by walking".
    pub fn len_hint(&self) -> Option<u64> {
        (self.count != LISTPACK_COUNT_UNKNOWN).then_some(u64::from(self.count))
    }

    /// The raw blob.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.blob
    }

    /// The elements, without checking the header's count against them: a
    /// stream node's listpack is checked by `streamValidateListpackIntegrity`,
    /// which walks the entries by their own counts and never reads the
    /// header's (Valkey 9 excepted).
    ///
    /// ```
    /// use rdbkit_parser::listpack::Listpack;
    ///
    /// // Two one-byte integers, 1 and 2, but a header that claims 3.
    /// let blob = [11, 0, 0, 0, 3, 0, 1, 1, 2, 1, 0xff];
    /// let lp = Listpack::parse(&blob, 0)?;
    /// assert!(lp.entries().any(|e| e.is_err()));
    /// assert_eq!(lp.entries_uncounted().filter(|e| e.is_ok()).count(), 2);
    /// # Ok::<(), rdbkit_parser::Error>(())
    /// ```
    pub fn entries_uncounted(&self) -> ListpackEntries<'a> {
        ListpackEntries {
            count: LISTPACK_COUNT_UNKNOWN,
            ..self.entries()
        }
    }

    /// The elements, in order; the iterator stops after the first error.
    pub fn entries(&self) -> ListpackEntries<'a> {
        ListpackEntries {
            blob: self.blob,
            pos: LP_HEADER_SIZE,
            seen: 0,
            count: self.count,
            offset: self.offset,
            done: false,
        }
    }
}

/// Iterator over a listpack's elements.
#[derive(Clone, Debug)]
pub struct ListpackEntries<'a> {
    blob: &'a [u8],
    pos: usize,
    seen: u64,
    count: u16,
    offset: u64,
    done: bool,
}

impl<'a> ListpackEntries<'a> {
    fn fail(&mut self, at: usize, reason: String) -> Option<Result<Item<'a>>> {
        self.done = true;
        Some(Err(bad(
            self.offset,
            format!("element at blob byte {at}: {reason}"),
        )))
    }

    fn get(&self, at: usize, n: usize) -> Option<&'a [u8]> {
        self.blob.get(at..at.checked_add(n)?)
    }

    /// Whether the walk reached the end marker cleanly.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

impl<'a> Iterator for ListpackEntries<'a> {
    type Item = Result<Item<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(item) = self.next_fast() {
            return Some(Ok(item));
        }
        if self.done {
            return None;
        }
        self.next_general()
    }
}

impl<'a> ListpackEntries<'a> {
    /// The common small elements (7-bit integers, strings under 64 bytes,
    /// 13-bit integers) with the same checks as the general walk: the element
    /// and its one-byte backlen inside the blob, before the end marker, and
    /// the backlen equal to the element's size. `None` means "take the general
    /// walk", not the end. Always inlined so that the element reaches the
    /// caller in registers: returned through memory, the wider
    /// `Option<Result<Item>>` was written in pieces and read back whole, a
    /// store-forwarding stall that cost more than the decoding.
    #[inline(always)]
    pub(crate) fn next_fast(&mut self) -> Option<Item<'a>> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let rest = self.blob.get(start..).unwrap_or_default();
        if let [b0, rest @ ..] = rest {
            let b0 = *b0;
            if b0 & 0x80 == 0 {
                if let [1, _, ..] = rest {
                    self.pos = start + 2;
                    self.seen += 1;
                    return Some(Item::Int(i64::from(b0)));
                }
            } else if b0 & 0xc0 == 0x80 {
                let len = usize::from(b0 & 0x3f);
                if let (Some(body), Some(&back), true) =
                    (rest.get(..len), rest.get(len), rest.len() > len + 1)
                    && usize::from(back) == len + 1
                {
                    self.pos = start + len + 2;
                    self.seen += 1;
                    return Some(Item::Bytes(Cow::Borrowed(body)));
                }
            } else if b0 & 0xe0 == 0xc0
                && let [b1, 2, _, ..] = *rest
            {
                let v = (i64::from(b0 & 0x1f) << 8) | i64::from(b1);
                self.pos = start + 3;
                self.seen += 1;
                // 13-bit two's complement.
                return Some(Item::Int(if v >= 1 << 12 { v - (1 << 13) } else { v }));
            }
        }
        None
    }
}

impl<'a> ListpackEntries<'a> {
    /// Every element form, the end marker and every error.
    #[inline(never)]
    fn next_general(&mut self) -> Option<Result<Item<'a>>> {
        let start = self.pos;
        let b0 = match self.blob.get(start) {
            Some(&b) => b,
            None => return self.fail(start, "runs past the end of the blob".into()),
        };
        if b0 == LP_EOF {
            self.done = true;
            if self.count != LISTPACK_COUNT_UNKNOWN && u64::from(self.count) != self.seen {
                return Some(Err(bad(
                    self.offset,
                    format!(
                        "header counts {} elements but {} were found",
                        self.count, self.seen
                    ),
                )));
            }
            if start + 1 != self.blob.len() {
                return Some(Err(bad(
                    self.offset,
                    format!(
                        "{} bytes follow the end marker",
                        self.blob.len() - start - 1
                    ),
                )));
            }
            return None;
        }
        // (header bytes, data bytes, decoded item)
        let (hdr, len): (usize, usize) = if b0 & 0x80 == 0 {
            (1, 0)
        } else if b0 & 0xc0 == 0x80 {
            (1, usize::from(b0 & 0x3f))
        } else if b0 & 0xe0 == 0xc0 {
            (2, 0)
        } else if b0 & 0xf0 == 0xe0 {
            match self.blob.get(start + 1) {
                Some(&b1) => (2, (usize::from(b0 & 0x0f) << 8) | usize::from(b1)),
                None => return self.fail(start, "string length past the end".into()),
            }
        } else {
            match b0 {
                0xf0 => match self.get(start + 1, 4) {
                    Some(b) => (
                        5,
                        b.try_into().map(u32::from_le_bytes).unwrap_or(0) as usize,
                    ),
                    None => return self.fail(start, "string length past the end".into()),
                },
                0xf1 => (1, 2),
                0xf2 => (1, 3),
                0xf3 => (1, 4),
                0xf4 => (1, 8),
                _ => return self.fail(start, format!("invalid encoding byte 0x{b0:02x}")),
            }
        };
        let body = match self.get(start, hdr).and(self.get(start + hdr, len)) {
            Some(b) => b,
            None => return self.fail(start, format!("{len}-byte payload runs past the end")),
        };
        let item = if b0 & 0x80 == 0 {
            Item::Int(i64::from(b0 & 0x7f))
        } else if b0 & 0xc0 == 0x80 || b0 & 0xf0 == 0xe0 || b0 == 0xf0 {
            Item::Bytes(Cow::Borrowed(body))
        } else if b0 & 0xe0 == 0xc0 {
            let b1 = self.blob.get(start + 1).copied().unwrap_or(0);
            let v = (i64::from(b0 & 0x1f) << 8) | i64::from(b1);
            // 13-bit two's complement.
            Item::Int(if v >= 1 << 12 { v - (1 << 13) } else { v })
        } else {
            Item::Int(match *body {
                [a, b] => i64::from(i16::from_le_bytes([a, b])),
                [a, b, c] => i64::from(i32::from_le_bytes([0, a, b, c]) >> 8),
                [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
                [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
                _ => 0,
            })
        };
        let entry_len = hdr + len;
        let back_at = start + entry_len;
        // The loader moves past the backlen by its canonical width and then
        // decodes the bytes it skipped from their last one backwards
        // (`lpDecodeBacklen`), which may read into the element itself: only
        // the decoded value must be the element's size, not the bytes.
        let n = backlen_size(entry_len as u64);
        match self.blob.get(back_at + n - 1) {
            Some(&b) if n == 1 && usize::from(b) == entry_len => {}
            Some(_) if decode_backlen(self.blob, back_at + n - 1) == Some(entry_len as u64) => {}
            Some(_) => {
                return self.fail(
                    start,
                    format!("backlen does not encode the element size {entry_len}"),
                );
            }
            None => return self.fail(start, "backlen runs past the end".into()),
        }
        if back_at + n >= self.blob.len() {
            return self.fail(start, "element overlaps the end marker".into());
        }
        self.pos = back_at + n;
        self.seen += 1;
        Some(Ok(item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn build(elements: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in elements {
            body.extend_from_slice(e);
            let mut b = [0u8; 5];
            let n = encode_backlen(e.len() as u64, &mut b);
            body.extend_from_slice(&b[..n]);
        }
        let total = LP_HEADER_SIZE + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(elements.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xff);
        out
    }

    fn items(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
        Listpack::parse(blob, 0)?
            .entries()
            .map(|r| r.map(|i| i.to_bytes().into_owned()))
            .collect()
    }

    #[test]
    fn encodings() {
        let s4000 = vec![b'y'; 4000];
        let mut e4000 = vec![0xe0 | (4000 >> 8) as u8, (4000 & 0xff) as u8];
        e4000.extend_from_slice(&s4000);
        let s5000 = vec![b'z'; 5000];
        let mut e5000 = vec![0xf0];
        e5000.extend_from_slice(&5000u32.to_le_bytes());
        e5000.extend_from_slice(&s5000);
        let blob = build(&[
            b"\x05",
            b"\x83abc",
            b"\xdf\xff",
            b"\xc0\x80",
            &e4000,
            &e5000,
            b"\xf1\x00\x80",
            b"\xf2\xff\xff\x7f",
            b"\xf3\xff\xff\xff\xff",
            b"\xf4\x00\x00\x00\x00\x00\x00\x00\x80",
        ]);
        let got = items(&blob).unwrap();
        let want: Vec<&[u8]> = vec![
            b"5",
            b"abc",
            b"-1",
            b"128",
            &s4000,
            &s5000,
            b"-32768",
            b"8388607",
            b"-1",
            b"-9223372036854775808",
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn backlen_boundaries() {
        let mut b = [0u8; 5];
        assert_eq!(encode_backlen(127, &mut b), 1);
        assert_eq!(encode_backlen(128, &mut b), 2);
        assert_eq!(b[..2], [1, 128]);
        assert_eq!(encode_backlen(16382, &mut b), 2);
        assert_eq!(encode_backlen(16383, &mut b), 3);
    }

    #[test]
    fn lies_are_caught() {
        let good = build(&[b"\x81a", b"\x81b"]);
        assert_eq!(items(&good).unwrap().len(), 2);
        let mut b = good.clone();
        b[4] = 3;
        assert!(items(&b).is_err());
        let mut b = good.clone();
        b[8] = 9; // backlen
        assert!(items(&b).is_err());
        let mut b = good.clone();
        b[6] = 0xf5; // invalid encoding
        assert!(items(&b).is_err());
        let mut b = good;
        b[6] = 0x85; // string runs past the end
        assert!(items(&b).is_err());
    }

    /// The loader decodes a backlen from its last byte backwards: a high
    /// bit set there reads on into the element, and the file still loads
    /// when the value comes out right (Redis 8.2 loads such a file; the
    /// loader differential test found it).
    #[test]
    fn backlens_decode_as_the_loader_decodes_them() {
        // "a" then "b": the first backlen 0x02 becomes 0x82, which reads on
        // into 'a' (0x61): 2 | (0x61 << 7), not 2: refused.
        let good = build(&[b"\x81a", b"\x81b"]);
        let mut b = good.clone();
        b[8] |= 0x80;
        assert!(items(&b).is_err());
        // An element whose last data byte is 0: "a\0" has size 3; a backlen
        // of 0x83 reads 3 | (0 << 7) = 3: accepted, as Redis does.
        let good = build(&[b"\x82a\x00", b"\x81b"]);
        assert_eq!(items(&good).unwrap().len(), 2);
        let mut b = good.clone();
        b[9] |= 0x80;
        assert_eq!(items(&b).unwrap().len(), 2);
        assert_eq!(decode_backlen(&[0, 0x83], 1), Some(3));
        assert_eq!(decode_backlen(&[1, 0x80], 1), Some(128));
        assert_eq!(decode_backlen(&[0x80, 0x80], 1), None);
    }
}
