//! A bounds-checked cursor over the input with absolute file offsets.
//!
//! Every read checks what remains before touching the bytes, and a read past
//! the end is reported as [`ErrorKind::Truncated`] so that a streaming reader
//! can tell "read more" from "corrupt". nom's `complete` number parsers do the
//! byte-order work; nom itself never shows in the public API.

use nom::number::complete as num;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{RDB_32BITLEN, RDB_64BITLEN};

/// The result of reading a length field: a length, or the marker of a
/// special string encoding (`11xxxxxx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Length {
    Len(u64),
    Encoded(u8),
}

/// A cursor over `data`, which starts at file offset `base`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Input<'data> {
    data: &'data [u8],
    pos: usize,
    base: u64,
}

type NomResult<'a, T> = nom::IResult<&'a [u8], T, ()>;

impl<'data> Input<'data> {
    pub(crate) fn new(data: &'data [u8], base: u64) -> Self {
        Input { data, pos: 0, base }
    }

    /// Absolute file offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    pub(crate) fn rest(&self) -> &'data [u8] {
        self.data.get(self.pos..).unwrap_or_default()
    }

    /// The bytes from `start` (a position from [`Input::pos`]) to the cursor.
    pub(crate) fn since(&self, start: usize) -> &'data [u8] {
        self.data.get(start..self.pos).unwrap_or_default()
    }

    pub(crate) fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.offset(), kind)
    }

    pub(crate) fn err_at(&self, pos: usize, kind: ErrorKind) -> Error {
        Error::new(self.base + pos as u64, kind)
    }

    fn truncated(&self, what: &'static str, needed: u64) -> Error {
        self.err(ErrorKind::Truncated {
            what,
            needed: needed.max(1),
        })
    }

    /// Take `n` bytes.
    #[inline]
    pub(crate) fn take(&mut self, n: u64, what: &'static str) -> Result<&'data [u8]> {
        let rem = self.remaining();
        if n > rem as u64 {
            return Err(self.truncated(what, n - rem as u64));
        }
        let n = n as usize;
        match self.data.get(self.pos..self.pos + n) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.truncated(what, n as u64)),
        }
    }

    #[inline]
    fn number<T>(
        &mut self,
        what: &'static str,
        size: usize,
        parser: impl Fn(&'data [u8]) -> NomResult<'data, T>,
    ) -> Result<T> {
        match parser(self.rest()) {
            Ok((_, v)) => {
                self.pos += size;
                Ok(v)
            }
            Err(_) => Err(self.truncated(what, (size - self.remaining().min(size)) as u64)),
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated(what, 1)),
        }
    }

    pub(crate) fn le_u16(&mut self, what: &'static str) -> Result<u16> {
        self.number(what, 2, num::le_u16)
    }
    pub(crate) fn le_u32(&mut self, what: &'static str) -> Result<u32> {
        self.number(what, 4, num::le_u32)
    }
    pub(crate) fn le_i32(&mut self, what: &'static str) -> Result<i32> {
        self.number(what, 4, num::le_i32)
    }
    pub(crate) fn le_u64(&mut self, what: &'static str) -> Result<u64> {
        self.number(what, 8, num::le_u64)
    }
    pub(crate) fn le_i64(&mut self, what: &'static str) -> Result<i64> {
        self.number(what, 8, num::le_i64)
    }
    pub(crate) fn be_u32(&mut self, what: &'static str) -> Result<u32> {
        self.number(what, 4, num::be_u32)
    }
    pub(crate) fn be_u64(&mut self, what: &'static str) -> Result<u64> {
        self.number(what, 8, num::be_u64)
    }
    pub(crate) fn le_f64(&mut self, what: &'static str) -> Result<f64> {
        self.number(what, 8, num::le_f64)
    }
    pub(crate) fn le_f32(&mut self, what: &'static str) -> Result<f32> {
        self.number(what, 4, num::le_f32)
    }

    /// A raw string with a one- or two-byte length (under 16 KiB) at the
    /// cursor, taken if it is there whole; `None` leaves the cursor alone.
    #[inline]
    pub(crate) fn short_string(&mut self) -> Option<&'data [u8]> {
        let rest = self.data.get(self.pos..)?;
        let (hdr, n) = match *rest {
            [b0, ..] if b0 < 0x40 => (1, usize::from(b0)),
            [b0, b1, ..] if b0 < 0x80 => (2, (usize::from(b0 & 0x3f) << 8) | usize::from(b1)),
            _ => return None,
        };
        let s = rest.get(hdr..hdr + n)?;
        self.pos += hdr + n;
        Some(s)
    }

    /// A length field or a special-encoding marker (`rdbLoadLenByRef`).
    #[inline]
    pub(crate) fn length(&mut self, what: &'static str) -> Result<Length> {
        match *self.data.get(self.pos..).unwrap_or_default() {
            [b0, ..] if b0 < 0x40 => {
                self.pos += 1;
                Ok(Length::Len(u64::from(b0)))
            }
            [b0, b1, ..] if b0 < 0x80 => {
                self.pos += 2;
                Ok(Length::Len((u64::from(b0 & 0x3f) << 8) | u64::from(b1)))
            }
            _ => self.length_general(what),
        }
    }

    #[inline(never)]
    fn length_general(&mut self, what: &'static str) -> Result<Length> {
        let start = self.pos;
        let b0 = self.u8(what)?;
        Ok(match b0 >> 6 {
            0 => Length::Len(u64::from(b0 & 0x3f)),
            1 => {
                let b1 = self.u8(what)?;
                Length::Len((u64::from(b0 & 0x3f) << 8) | u64::from(b1))
            }
            2 => match b0 {
                RDB_32BITLEN => Length::Len(u64::from(self.be_u32(what)?)),
                RDB_64BITLEN => Length::Len(self.be_u64(what)?),
                // Redis <= 3.2 read any 10xxxxxx byte as the 32-bit form, but no
                // writer ever produced one and every loader since 4.0 rejects it.
                _ => return Err(self.err_at(start, ErrorKind::InvalidLength { byte: b0 })),
            },
            _ => Length::Encoded(b0 & 0x3f),
        })
    }

    /// A plain length. A special-encoding marker (`11xxxxxx`) is its low six
    /// bits here, as in every loader: `rdbLoadLen` called without an
    /// `isencoded` out-parameter (everywhere but string lengths) returns the
    /// 6-bit number and no error.
    #[inline]
    pub(crate) fn len(&mut self, what: &'static str) -> Result<u64> {
        match self.length(what)? {
            Length::Len(n) => Ok(n),
            Length::Encoded(n) => Ok(u64::from(n)),
        }
    }

    /// A count of items that each take at least `min_item_size` bytes: checked
    /// against what remains (as truncation, so a streaming reader can fetch
    /// more) and against `max`, before anything trusts it.
    pub(crate) fn count(
        &mut self,
        what: &'static str,
        min_item_size: u64,
        max: u64,
    ) -> Result<u64> {
        let start = self.pos;
        let n = self.len(what)?;
        if n > max {
            return Err(self.err_at(
                start,
                ErrorKind::LimitExceeded {
                    what,
                    requested: n,
                    limit: max,
                },
            ));
        }
        let need = n.saturating_mul(min_item_size);
        let rem = self.remaining() as u64;
        if need > rem {
            return Err(self.err_at(
                start,
                ErrorKind::Truncated {
                    what,
                    needed: need - rem,
                },
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        let cases: &[(&[u8], Length)] = &[
            (&[0x05], Length::Len(5)),
            (&[0x7f, 0xff], Length::Len(16383)),
            (&[0x40, 0x40], Length::Len(64)),
            (&[0x80, 0, 1, 0, 0], Length::Len(65536)),
            (&[0x81, 0, 0, 0, 1, 0, 0, 0, 0], Length::Len(1 << 32)),
            (&[0xc3], Length::Encoded(3)),
        ];
        for (bytes, want) in cases {
            let mut i = Input::new(bytes, 0);
            assert_eq!(i.length("t").unwrap(), *want, "{bytes:?}");
            assert!(i.is_empty());
        }
    }

    #[test]
    fn bad_and_short_lengths() {
        let mut i = Input::new(&[0x82, 0, 0, 0, 0], 10);
        let e = i.length("t").unwrap_err();
        assert_eq!(e.offset(), 10);
        assert!(matches!(e.kind(), ErrorKind::InvalidLength { byte: 0x82 }));
        let mut i = Input::new(&[0x80, 0, 0], 0);
        assert!(i.length("t").unwrap_err().is_truncated());
        // A string-encoding marker as a plain length: its six low bits.
        let mut i = Input::new(&[0xc0, 0xfe], 0);
        assert_eq!(i.len("t").unwrap(), 0);
        assert_eq!(i.len("t").unwrap(), 62);
    }

    #[test]
    fn huge_counts_fail_before_any_work() {
        // 2^60 elements claimed by a 9-byte length.
        let mut i = Input::new(&[0x81, 0x10, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3], 0);
        let e = i.count("list length", 1, u64::MAX).unwrap_err();
        assert!(e.is_truncated());
        let mut i = Input::new(&[0x81, 0x10, 0, 0, 0, 0, 0, 0, 0], 0);
        let e = i.count("list length", 1, 1 << 40).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }));
    }

    #[test]
    fn numbers() {
        let mut i = Input::new(&[1, 0, 0, 0, 0xff], 0);
        assert_eq!(i.le_u32("x").unwrap(), 1);
        assert!(i.le_u16("x").unwrap_err().is_truncated());
        assert_eq!(i.u8("x").unwrap(), 0xff);
    }
}
