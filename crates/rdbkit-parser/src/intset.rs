//! Intsets (`intset.c`): sorted arrays of 16/32/64-bit integers, the compact
//! form of all-integer sets.
//!
//! Layout: `u32 encoding` (2, 4 or 8 bytes per element), `u32 length`, then
//! the elements little endian, strictly ascending. Loaders since 6.2 reject a
//! size mismatch or an empty intset; ordering is checked here as Redis's deep
//! validation does, because an unsorted intset loads and then answers wrong.

use crate::error::{Error, ErrorKind, Result};

/// An intset blob whose header and size have been checked.
#[derive(Clone, Debug)]
pub struct Intset<'a> {
    width: usize,
    data: &'a [u8],
    offset: u64,
}

fn bad(offset: u64, reason: String) -> Error {
    Error::new(offset, ErrorKind::invalid("intset", reason))
}

impl<'a> Intset<'a> {
    /// Check `blob` (at file offset `offset`).
    pub fn parse(blob: &'a [u8], offset: u64) -> Result<Intset<'a>> {
        let field = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(blob.get(at..at + 4)?.try_into().ok()?))
        };
        let (enc, len) = match (field(0), field(4)) {
            (Some(e), Some(l)) => (e, l),
            _ => {
                return Err(bad(
                    offset,
                    format!("{} bytes is shorter than the 8-byte header", blob.len()),
                ));
            }
        };
        if !matches!(enc, 2 | 4 | 8) {
            return Err(bad(offset, format!("element width {enc} is not 2, 4 or 8")));
        }
        if len == 0 {
            return Err(bad(offset, "empty intset".into()));
        }
        let want = 8 + u64::from(len) * u64::from(enc);
        if want != blob.len() as u64 {
            return Err(bad(
                offset,
                format!(
                    "{len} elements of {enc} bytes need {want} bytes but the blob has {}",
                    blob.len()
                ),
            ));
        }
        Ok(Intset {
            width: enc as usize,
            data: blob.get(8..).unwrap_or_default(),
            offset,
        })
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len() / self.width
    }

    /// Whether the intset is empty (never true for a parsed one).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes per element: 2, 4 or 8.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The elements in order; an element not greater than the one before it
    /// is an error.
    pub fn entries(&self) -> IntsetEntries<'a> {
        IntsetEntries {
            chunks: self.data.chunks_exact(self.width),
            prev: None,
            offset: self.offset,
            index: 0,
        }
    }
}

/// Iterator over an intset's elements.
#[derive(Clone, Debug)]
pub struct IntsetEntries<'a> {
    chunks: std::slice::ChunksExact<'a, u8>,
    prev: Option<i64>,
    offset: u64,
    index: usize,
}

impl IntsetEntries<'_> {
    /// The next element when it is in order (the common case), without
    /// consuming anything otherwise: `None` means "take [`Iterator::next`]",
    /// which reports the end or the error.
    #[inline(always)]
    pub(crate) fn next_fast(&mut self) -> Option<i64> {
        let mut chunks = self.chunks.clone();
        let v = match *chunks.next()? {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => return None,
        };
        if self.prev.is_some_and(|p| v <= p) {
            return None;
        }
        self.chunks = chunks;
        self.prev = Some(v);
        self.index += 1;
        Some(v)
    }
}

impl Iterator for IntsetEntries<'_> {
    type Item = Result<i64>;

    fn next(&mut self) -> Option<Result<i64>> {
        let c = self.chunks.next()?;
        let v = match *c {
            [a, b] => i64::from(i16::from_le_bytes([a, b])),
            [a, b, c, d] => i64::from(i32::from_le_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => i64::from_le_bytes([a, b, c, d, e, f, g, h]),
            _ => 0,
        };
        if let Some(p) = self.prev
            && v <= p
        {
            self.chunks = [].chunks_exact(1);
            return Some(Err(bad(
                self.offset,
                format!(
                    "element {} ({v}) is not greater than the one before it ({p})",
                    self.index
                ),
            )));
        }
        self.prev = Some(v);
        self.index += 1;
        Some(Ok(v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_order() {
        let mut b = vec![2, 0, 0, 0, 3, 0, 0, 0];
        for v in [-5i16, 1, 300] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let s = Intset::parse(&b, 0).unwrap();
        assert_eq!(
            s.entries().collect::<Result<Vec<_>>>().unwrap(),
            vec![-5, 1, 300]
        );
        let mut unsorted = b.clone();
        unsorted.swap(8, 10);
        unsorted.swap(9, 11);
        assert!(
            Intset::parse(&unsorted, 0)
                .unwrap()
                .entries()
                .collect::<Result<Vec<_>>>()
                .is_err()
        );
        assert!(Intset::parse(&b[..13], 0).is_err());
        assert!(Intset::parse(&[2, 0, 0, 0, 0, 0, 0, 0], 0).is_err());
        assert!(Intset::parse(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3], 0).is_err());
    }
}
