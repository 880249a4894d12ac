//! A minimal walk over value bodies that were stored in a file of RDB 8 or
//! newer, to find the 64-bit length form (`0x81`) that loaders below RDB 8
//! cannot read. Only the types that such loaders know are walked; anything
//! else (or anything malformed) counts as "has a 64-bit length", which makes
//! the caller re-encode instead of copying.

use rdbkit_parser::format::*;

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n)?;
        if end > self.data.len() {
            return None;
        }
        self.pos = end;
        Some(())
    }

    /// A length header: `Ok(value)` for a plain length, `Err(enc)` for the
    /// `11xxxxxx` string encodings. `None` on the 64-bit form or bad input.
    fn len(&mut self) -> Option<Result<u64, u8>> {
        let b = self.u8()?;
        match b >> 6 {
            0 => Some(Ok(u64::from(b & 0x3f))),
            1 => Some(Ok((u64::from(b & 0x3f) << 8) | u64::from(self.u8()?))),
            3 => Some(Err(b & 0x3f)),
            _ if b == RDB_64BITLEN => None,
            _ => {
                let mut v = 0u64;
                for _ in 0..4 {
                    v = (v << 8) | u64::from(self.u8()?);
                }
                Some(Ok(v))
            }
        }
    }

    fn plain_len(&mut self) -> Option<u64> {
        self.len()?.ok()
    }

    fn string(&mut self) -> Option<()> {
        match self.len()? {
            Ok(n) => self.skip(n),
            Err(0) => self.skip(1),
            Err(1) => self.skip(2),
            Err(2) => self.skip(4),
            Err(3) => {
                let clen = self.plain_len()?;
                self.plain_len()?;
                self.skip(clen)
            }
            Err(_) => None,
        }
    }
}

/// Whether a string (a whole encoded RDB string at the start of `data`) is
/// free of 64-bit lengths.
pub(crate) fn string_is_len32(data: &[u8]) -> bool {
    Cursor { data, pos: 0 }.string().is_some()
}

/// Whether `data` is exactly `n` strings, none with a 64-bit length.
pub(crate) fn strings_are_len32(data: &[u8], n: usize) -> bool {
    let mut c = Cursor { data, pos: 0 };
    (0..n).all(|_| c.string().is_some()) && c.pos == data.len()
}

/// Whether `data` is exactly `n` plain lengths, none in the 64-bit form.
pub(crate) fn lens_are_len32(data: &[u8], n: usize) -> bool {
    let mut c = Cursor { data, pos: 0 };
    (0..n).all(|_| c.plain_len().is_some()) && c.pos == data.len()
}

/// Whether the body of a value of type `ty` can be read by a loader that
/// knows only the 6/14/32-bit length forms.
pub(crate) fn body_is_len32(ty: RdbType, body: &[u8]) -> bool {
    let mut c = Cursor { data: body, pos: 0 };
    let ok = (|| -> Option<()> {
        match ty {
            RDB_TYPE_STRING
            | RDB_TYPE_HASH_ZIPMAP
            | RDB_TYPE_LIST_ZIPLIST
            | RDB_TYPE_SET_INTSET
            | RDB_TYPE_ZSET_ZIPLIST
            | RDB_TYPE_HASH_ZIPLIST => c.string()?,
            RDB_TYPE_LIST | RDB_TYPE_SET => {
                for _ in 0..c.plain_len()? {
                    c.string()?;
                }
            }
            RDB_TYPE_ZSET => {
                for _ in 0..c.plain_len()? {
                    c.string()?;
                    let l = c.u8()?;
                    if l < 253 {
                        c.skip(u64::from(l))?;
                    }
                }
            }
            RDB_TYPE_HASH => {
                for _ in 0..c.plain_len()? {
                    c.string()?;
                    c.string()?;
                }
            }
            RDB_TYPE_LIST_QUICKLIST => {
                for _ in 0..c.plain_len()? {
                    c.string()?;
                }
            }
            _ => return None,
        }
        (c.pos == body.len()).then_some(())
    })();
    ok.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_64_bit_form() {
        assert!(body_is_len32(RDB_TYPE_STRING, b"\x03abc"));
        assert!(body_is_len32(RDB_TYPE_STRING, b"\xc0\x05"));
        assert!(body_is_len32(RDB_TYPE_STRING, b"\x80\x00\x00\x00\x01z"));
        assert!(!body_is_len32(
            RDB_TYPE_STRING,
            b"\x81\x00\x00\x00\x00\x00\x00\x00\x01z"
        ));
        assert!(body_is_len32(RDB_TYPE_LIST, b"\x02\x01a\x01b"));
        assert!(!body_is_len32(
            RDB_TYPE_LIST,
            b"\x81\x00\x00\x00\x00\x00\x00\x00\x01\x01a"
        ));
        assert!(body_is_len32(RDB_TYPE_ZSET, b"\x01\x01a\x031.5"));
        assert!(body_is_len32(RDB_TYPE_ZSET, b"\x01\x01a\xfe"));
        assert!(body_is_len32(RDB_TYPE_HASH, b"\x01\x01a\x01b"));
        // Trailing bytes or truncation: not safe to copy.
        assert!(!body_is_len32(RDB_TYPE_HASH, b"\x01\x01a\x01bX"));
        assert!(!body_is_len32(RDB_TYPE_HASH, b"\x01\x01a"));
        // Types that no pre-8 loader knows are never "safe".
        assert!(!body_is_len32(RDB_TYPE_ZSET_2, b"\x00"));
        assert!(string_is_len32(b"\xc3\x02\x03ab"));
        assert!(strings_are_len32(b"\x01a\x02bc", 2));
        assert!(!strings_are_len32(b"\x01a\x81\0\0\0\0\0\0\0\x01b", 2));
        assert!(lens_are_len32(b"\x05\x80\0\0\x01\0", 2));
        assert!(!lens_are_len32(b"\x81\0\0\0\0\0\0\0\x05", 1));
    }
}
