//! Zipmaps (`zipmap.c`): the compact hash blob written only by Redis 2.4.
//!
//! Layout: `u8 zmlen` (pair count if < 254), then pairs of
//! `len field`, `len value`, `u8 free`, value bytes, `free` padding bytes,
//! and a final `0xFF`. A length is one byte below 254, else `0xFE` + `u32 LE`.
//!
//! The walk follows `zipmapValidateIntegrity`, which every loader since 6.2
//! runs on every zipmap (deep), to the letter:
//! - the pairs end at the first `0xFF` where a field length would be; the
//!   blob's last byte must be `0xFF`, and whatever lies between the two is
//!   never read;
//! - a length byte of 254 or 255 in a value's place is a 5-byte length;
//! - a zipmap without pairs is refused (not skipped as an empty key);
//! - `zmlen` must equal the pair count unless it is 254 ("unknown"), so 255
//!   is valid only for exactly 255 pairs.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::item::Item;

fn bad(offset: u64, reason: String) -> Error {
    Error::new(offset, ErrorKind::invalid("zipmap", reason))
}

/// A zipmap blob.
#[derive(Clone, Debug)]
pub struct Zipmap<'a> {
    blob: &'a [u8],
    offset: u64,
}

impl<'a> Zipmap<'a> {
    /// Check the header of `blob` (at file offset `offset`).
    pub fn parse(blob: &'a [u8], offset: u64) -> Result<Zipmap<'a>> {
        if blob.len() < 2 {
            return Err(bad(offset, format!("{} bytes is too short", blob.len())));
        }
        if blob.last() != Some(&0xff) {
            return Err(bad(offset, "missing the 0xFF end marker".into()));
        }
        Ok(Zipmap { blob, offset })
    }

    /// The pair count from the header, if below 254.
    pub fn len_hint(&self) -> Option<u64> {
        self.blob
            .first()
            .filter(|&&n| n < 254)
            .map(|&n| u64::from(n))
    }

    /// Field, value, field, value, ... in order.
    pub fn entries(&self) -> ZipmapEntries<'a> {
        ZipmapEntries {
            blob: self.blob,
            pos: 1,
            field_next: true,
            pairs: 0,
            offset: self.offset,
            done: false,
        }
    }
}

/// Iterator over a zipmap's fields and values, alternating.
#[derive(Clone, Debug)]
pub struct ZipmapEntries<'a> {
    blob: &'a [u8],
    pos: usize,
    field_next: bool,
    pairs: u64,
    offset: u64,
    done: bool,
}

impl<'a> ZipmapEntries<'a> {
    fn fail(&mut self, reason: String) -> Option<Result<Item<'a>>> {
        self.done = true;
        Some(Err(bad(
            self.offset,
            format!("at blob byte {}: {reason}", self.pos),
        )))
    }

    /// A length, whose bytes must leave at least one byte of the blob after
    /// them (`OUT_OF_RANGE(p+s)` in `zipmapValidateIntegrity`).
    fn read_len(&mut self) -> Option<usize> {
        let b = *self.blob.get(self.pos)?;
        let (len, size) = if b < 254 {
            (usize::from(b), 1)
        } else {
            let v = self.blob.get(self.pos + 1..self.pos + 5)?;
            (u32::from_le_bytes(v.try_into().ok()?) as usize, 5)
        };
        if self.pos + size >= self.blob.len() {
            return None;
        }
        self.pos += size;
        Some(len)
    }
}

impl<'a> Iterator for ZipmapEntries<'a> {
    type Item = Result<Item<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.field_next && self.blob.get(self.pos) == Some(&0xff) {
            self.done = true;
            let zmlen = self.blob.first().copied().unwrap_or(0);
            if self.pairs == 0 {
                return Some(Err(bad(self.offset, "no pairs".into())));
            }
            if zmlen != 254 && u64::from(zmlen) != self.pairs {
                return Some(Err(bad(
                    self.offset,
                    format!("header counts {zmlen} pairs but {} were found", self.pairs),
                )));
            }
            return None;
        }
        let len = match self.read_len() {
            Some(l) => l,
            None => return self.fail("bad or truncated length".into()),
        };
        let mut free = 0usize;
        if !self.field_next {
            match self.blob.get(self.pos) {
                Some(&f) => {
                    free = usize::from(f);
                    self.pos += 1;
                }
                None => return self.fail("missing free byte".into()),
            }
        }
        let end = self.pos.saturating_add(len);
        let data = match self.blob.get(self.pos..end) {
            Some(d) if end.saturating_add(free) < self.blob.len() => d,
            _ => return self.fail(format!("{len}-byte entry runs past the end")),
        };
        self.pos = end + free;
        if !self.field_next {
            self.pairs += 1;
        }
        self.field_next = !self.field_next;
        Some(Ok(Item::Bytes(Cow::Borrowed(data))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk() {
        // {"a": "bc", "d": ""} with one byte of padding after "bc"
        let blob = [2, 1, b'a', 2, 1, b'b', b'c', 0, 1, b'd', 0, 0, 0xff];
        let z = Zipmap::parse(&blob, 0).unwrap();
        let items: Vec<Vec<u8>> = z
            .entries()
            .map(|r| r.unwrap().to_bytes().into_owned())
            .collect();
        assert_eq!(
            items,
            vec![b"a".to_vec(), b"bc".to_vec(), b"d".to_vec(), b"".to_vec()]
        );
        let mut lie = blob;
        lie[0] = 3;
        assert!(
            Zipmap::parse(&lie, 0)
                .unwrap()
                .entries()
                .any(|r| r.is_err())
        );
    }

    fn verdict(blob: &[u8]) -> Result<usize> {
        let z = Zipmap::parse(blob, 0)?;
        let mut n = 0;
        for r in z.entries() {
            r?;
            n += 1;
        }
        Ok(n)
    }

    /// `zipmapValidateIntegrity`'s rules, each of which the loaders apply.
    #[test]
    fn loader_rules() {
        // A count byte of 255 is not "unknown": Redis refuses it unless
        // there are exactly 255 pairs ("Zipmap integrity check failed").
        let mut blob = vec![255, 1, b'a', 1, 0, b'b', 0xff];
        assert!(verdict(&blob).is_err());
        blob[0] = 254;
        assert_eq!(verdict(&blob).unwrap(), 2);
        blob[0] = 1;
        assert_eq!(verdict(&blob).unwrap(), 2);
        let mut big = vec![255];
        for i in 0..255u8 {
            big.extend_from_slice(&[1, i, 0, 0]);
        }
        big.push(0xff);
        assert_eq!(verdict(&big).unwrap(), 510);
        // No pairs: refused, not an empty key.
        assert!(verdict(&[0, 0xff]).is_err());
        assert!(verdict(&[254, 0xff]).is_err());
        // Bytes between the first end marker and the last byte are never
        // read by the loader.
        assert_eq!(
            verdict(&[1, 1, b'a', 1, 0, b'b', 0xff, 7, 7, 0xff]).unwrap(),
            2
        );
        // A value length byte of 255 is a 5-byte length, as 254 is.
        assert_eq!(
            verdict(&[1, 1, b'a', 255, 1, 0, 0, 0, 0, b'b', 0xff]).unwrap(),
            2
        );
        // Free bytes must stay inside the blob, before its last byte.
        assert!(verdict(&[1, 1, b'a', 1, 1, b'b', 0xff]).is_err());
    }
}
