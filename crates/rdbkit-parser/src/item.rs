//! One element of a collection, as it is stored.

use std::borrow::Cow;
use std::fmt;

use crate::error::DisplayBytes;

/// One element of a collection: bytes, or an integer that compact encodings
/// (ziplist, listpack, intset, RDB integer strings) store in binary. Its
/// logical value is always a byte string: an integer stands for its decimal
/// text. Equality compares logical values.
#[derive(Clone)]
pub enum Item<'a> {
    /// Bytes, borrowed from the input unless decompression forced a copy.
    Bytes(Cow<'a, [u8]>),
    /// An integer element; its logical value is its decimal text.
    Int(i64),
}

impl<'a> Item<'a> {
    /// The logical bytes (the decimal text for integers).
    pub fn to_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Item::Bytes(b) => Cow::Borrowed(b.as_ref()),
            Item::Int(i) => Cow::Owned(i.to_string().into_bytes()),
        }
    }

    /// Append the logical bytes to `out` (no allocation for integers beyond `out`).
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            Item::Bytes(b) => out.extend_from_slice(b),
            Item::Int(i) => {
                use std::io::Write;
                let _ = write!(out, "{i}");
            }
        }
    }

    /// The logical value as an integer, when it is one (an integer element, or
    /// bytes that are the canonical decimal text of an `i64`).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Item::Int(i) => Some(*i),
            Item::Bytes(b) => parse_canonical_i64(b),
        }
    }

    /// The logical length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Item::Bytes(b) => b.len(),
            Item::Int(i) => {
                let mut n = usize::from(*i < 0) + 1;
                let mut v = i.unsigned_abs();
                while v >= 10 {
                    v /= 10;
                    n += 1;
                }
                n
            }
        }
    }

    /// Whether the logical value is the empty string.
    pub fn is_empty(&self) -> bool {
        matches!(self, Item::Bytes(b) if b.is_empty())
    }

    /// A copy that owns its bytes.
    pub fn into_owned(self) -> Item<'static> {
        match self {
            Item::Bytes(b) => Item::Bytes(Cow::Owned(b.into_owned())),
            Item::Int(i) => Item::Int(i),
        }
    }
}

/// Parse `b` as an `i64` only if it is the canonical decimal text Redis would
/// produce for that number (no sign `+`, no leading zeros, no `-0`): only such
/// text may be stored in an integer form without changing the data.
pub fn parse_canonical_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    match digits {
        [] => return None,
        [b'0'] if !neg => return Some(0),
        [b'0', ..] => return None,
        _ => {}
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        let digit = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(digit)?
        } else {
            v.checked_add(digit)?
        };
    }
    Some(v)
}

impl PartialEq for Item<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Item::Int(a), Item::Int(b)) => a == b,
            _ => self.to_bytes() == other.to_bytes(),
        }
    }
}

impl Eq for Item<'_> {}

impl fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Bytes(b) => write!(f, "{}", DisplayBytes(b)),
            Item::Int(i) => write!(f, "{i}"),
        }
    }
}

impl<'a> From<&'a [u8]> for Item<'a> {
    fn from(b: &'a [u8]) -> Self {
        Item::Bytes(Cow::Borrowed(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-12"), Some(-12));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b"-0"[..],
            b"007",
            b"+1",
            b"",
            b"-",
            b"1a",
            b"9223372036854775808",
            b" 1",
        ] {
            assert_eq!(
                parse_canonical_i64(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn logical_equality_and_len() {
        assert_eq!(Item::Int(12), Item::from(&b"12"[..]));
        assert_ne!(Item::Int(12), Item::from(&b"012"[..]));
        assert_eq!(Item::Int(-120).len(), 4);
        assert_eq!(Item::Int(i64::MIN).len(), 20);
    }
}
