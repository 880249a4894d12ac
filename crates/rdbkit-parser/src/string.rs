//! RDB strings: raw, integer-encoded or LZF-compressed (`rdbGenericLoadStringObject`).

use std::borrow::Cow;
use std::fmt;

use crate::error::{DisplayBytes, Error, ErrorKind, Result};
use crate::format::{RDB_ENC_INT8, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENC_LZF};
use crate::input::{Input, Length};
use crate::limits::Limits;
use crate::lzf;

/// An RDB string as stored, not yet decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RawString<'data> {
    /// Plain bytes.
    Raw(&'data [u8]),
    /// An integer stored in 1, 2 or 4 bytes; its value is the decimal text.
    Int(i64),
    /// LZF-compressed bytes.
    Lzf {
        /// The compressed bytes.
        compressed: &'data [u8],
        /// The declared decompressed length.
        len: u64,
        /// File offset of the compressed bytes (for error messages).
        offset: u64,
    },
}

impl fmt::Debug for RawString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawString::Raw(b) => write!(f, "Raw({})", DisplayBytes(b)),
            RawString::Int(i) => write!(f, "Int({i})"),
            RawString::Lzf {
                compressed, len, ..
            } => {
                write!(f, "Lzf({} -> {} bytes)", compressed.len(), len)
            }
        }
    }
}

impl<'data> RawString<'data> {
    /// The decoded bytes: borrowed for raw strings, allocated for integers
    /// (their decimal text) and LZF.
    #[inline]
    pub fn decode(&self, limits: &Limits) -> Result<Cow<'data, [u8]>> {
        match *self {
            RawString::Raw(b) => Ok(Cow::Borrowed(b)),
            _ => self.decode_owned(limits).map(Cow::Owned),
        }
    }

    /// The decoded bytes of an integer or LZF string.
    #[inline(never)]
    fn decode_owned(&self, limits: &Limits) -> Result<Vec<u8>> {
        if let RawString::Raw(b) = *self {
            return Ok(b.to_vec());
        }
        // The other forms are decoded into the buffer itself.
        let mut out = Vec::new();
        self.decode_into(limits, &mut out)?;
        Ok(out)
    }

    /// The decoded bytes, in `scratch` when they must be made (integers,
    /// LZF): a loop over many strings then allocates once. `scratch` is
    /// cleared first.
    #[inline]
    pub fn decode_into<'s>(&self, limits: &Limits, scratch: &'s mut Vec<u8>) -> Result<&'s [u8]>
    where
        'data: 's,
    {
        scratch.clear();
        match *self {
            RawString::Raw(b) => Ok(b),
            RawString::Int(i) => {
                use std::io::Write;
                // Writing to a Vec cannot fail.
                let _ = write!(scratch, "{i}");
                Ok(scratch)
            }
            RawString::Lzf {
                compressed,
                len,
                offset,
            } => {
                decompress(compressed, len, offset, limits, scratch)?;
                Ok(scratch)
            }
        }
    }

    /// Check the string as [`RawString::decode_into`] would, without
    /// making its bytes: only an LZF string can be unsound, and its stream
    /// is walked without copying ([`lzf::validate`]). The error is the one
    /// decoding gives.
    #[inline]
    pub fn check(&self, limits: &Limits) -> Result<()> {
        match *self {
            RawString::Raw(_) | RawString::Int(_) => Ok(()),
            RawString::Lzf {
                compressed,
                len,
                offset,
            } => lzf_checked(compressed, len, offset, limits, lzf::validate),
        }
    }

    /// The decoded length, without decoding.
    pub fn len(&self) -> u64 {
        match *self {
            RawString::Raw(b) => b.len() as u64,
            RawString::Int(i) => itoa_len(i),
            RawString::Lzf { len, .. } => len,
        }
    }

    /// Whether the decoded string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn itoa_len(i: i64) -> u64 {
    let mut n = if i < 0 { 2 } else { 1 };
    let mut v = i.unsigned_abs();
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

/// Decompress an LZF payload found at `offset`, appending to `out`, refusing
/// impossible or over-limit claims before allocating.
fn decompress(
    compressed: &[u8],
    len: u64,
    offset: u64,
    limits: &Limits,
    out: &mut Vec<u8>,
) -> Result<()> {
    lzf_checked(compressed, len, offset, limits, |c, n| {
        lzf::decompress_into(c, out, n)
    })
}

/// `lzf` (a decode or a check) run on an LZF string after its declared
/// length is checked against the limits and what the stream can hold.
fn lzf_checked(
    compressed: &[u8],
    len: u64,
    offset: u64,
    limits: &Limits,
    lzf: impl FnOnce(&[u8], usize) -> std::result::Result<(), lzf::LzfError>,
) -> Result<()> {
    if len > limits.max_string_len {
        return Err(Error::new(
            offset,
            ErrorKind::LimitExceeded {
                what: "LZF decompressed length",
                requested: len,
                limit: limits.max_string_len,
            },
        ));
    }
    if len > lzf::max_decompressed_len(compressed.len()) as u64 || len == 0 {
        return Err(Error::new(
            offset,
            ErrorKind::Lzf {
                reason: format!(
                    "{} compressed bytes cannot decode to the declared {} bytes",
                    compressed.len(),
                    len
                ),
            },
        ));
    }
    lzf(compressed, len as usize).map_err(|e| {
        Error::new(
            offset,
            ErrorKind::Lzf {
                reason: e.to_string(),
            },
        )
    })
}

impl<'data> Input<'data> {
    /// Read an RDB string without decoding it.
    #[inline]
    pub(crate) fn string(&mut self, what: &'static str) -> Result<RawString<'data>> {
        // The common case: a raw string shorter than 64 bytes, whole.
        if let Some(s) = self.short_string() {
            return Ok(RawString::Raw(s));
        }
        self.string_general(what)
    }

    /// Every string form, and every error.
    #[inline(never)]
    fn string_general(&mut self, what: &'static str) -> Result<RawString<'data>> {
        let start = self.pos();
        match self.length(what)? {
            Length::Len(n) => Ok(RawString::Raw(self.take(n, what)?)),
            Length::Encoded(RDB_ENC_INT8) => Ok(RawString::Int(i64::from(self.u8(what)? as i8))),
            Length::Encoded(RDB_ENC_INT16) => {
                Ok(RawString::Int(i64::from(self.le_u16(what)? as i16)))
            }
            Length::Encoded(RDB_ENC_INT32) => Ok(RawString::Int(i64::from(self.le_i32(what)?))),
            Length::Encoded(RDB_ENC_LZF) => {
                let clen = self.len(what)?;
                let len = self.len(what)?;
                let offset = self.offset();
                let compressed = self.take(clen, what)?;
                Ok(RawString::Lzf {
                    compressed,
                    len,
                    offset,
                })
            }
            Length::Encoded(e) => {
                Err(self.err_at(start, ErrorKind::InvalidStringEncoding { byte: 0xc0 | e }))
            }
        }
    }

    /// Read and decode an RDB string.
    #[inline]
    pub(crate) fn string_bytes(
        &mut self,
        what: &'static str,
        limits: &Limits,
    ) -> Result<Cow<'data, [u8]>> {
        self.string(what)?.decode(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoded both ways (allocating, and into a dirty scratch buffer),
    /// which must agree.
    fn read(bytes: &[u8]) -> Result<Vec<u8>> {
        let mut i = Input::new(bytes, 0);
        let s = i.string("t")?;
        let owned = s.decode(&Limits::default()).map(Cow::into_owned);
        let mut scratch = b"left over".to_vec();
        let into = s
            .decode_into(&Limits::default(), &mut scratch)
            .map(<[u8]>::to_vec);
        assert_eq!(format!("{owned:?}"), format!("{into:?}"), "{bytes:?}");
        owned
    }

    #[test]
    fn encodings() {
        assert_eq!(read(&[3, b'a', b'b', b'c']).unwrap(), b"abc");
        assert_eq!(read(&[0xc0, 0xfb]).unwrap(), b"-5");
        assert_eq!(read(&[0xc1, 0x39, 0x30]).unwrap(), b"12345");
        assert_eq!(
            read(&[0xc2, 0xff, 0xff, 0xff, 0x7f]).unwrap(),
            b"2147483647"
        );
        assert_eq!(
            read(&[0xc3, 5, 6, 1, b'a', b'b', 0x40, 1]).unwrap(),
            b"ababab"
        );
        assert!(matches!(
            read(&[0xc4]).unwrap_err().kind(),
            ErrorKind::InvalidStringEncoding { byte: 0xc4 }
        ));
        assert_eq!(RawString::Int(-120).len(), 4);
        assert_eq!(RawString::Int(0).len(), 1);
    }

    #[test]
    fn lzf_claiming_4gib_fails_fast() {
        // clen = 3, len = 4 GiB
        let bytes = [0xc3, 3, 0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0, b'a', 0];
        let e = read(&bytes).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::LimitExceeded { .. }), "{e}");
        let limits = Limits {
            max_string_len: u64::MAX,
            ..Limits::default()
        };
        let mut i = Input::new(&bytes, 0);
        let e = i.string("t").unwrap().decode(&limits).unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Lzf { .. }), "{e}");
    }
}
