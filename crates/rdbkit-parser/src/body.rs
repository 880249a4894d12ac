//! How a decoded collection holds its body until it is iterated: one string
//! blob (ziplist, listpack, intset, zipmap) or a run of plain RDB strings.
//!
//! Both are kept undecoded so that decoding a value costs a header check;
//! the elements are read, and checked, only when someone walks them.

use std::borrow::Cow;
use std::fmt;

use crate::error::Result;
use crate::input::Input;
use crate::item::Item;
use crate::limits::Limits;
use crate::string::RawString;

/// A blob-encoded body (ziplist, listpack, intset, zipmap): the bytes,
/// decompressed if they were stored LZF-compressed.
#[derive(Clone)]
pub(crate) struct Blob<'data> {
    pub(crate) data: Cow<'data, [u8]>,
    pub(crate) offset: u64,
}

impl fmt::Debug for Blob<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Blob({} bytes at {})", self.data.len(), self.offset)
    }
}

impl<'data> Blob<'data> {
    pub(crate) fn read(
        input: &mut Input<'data>,
        what: &'static str,
        limits: &Limits,
    ) -> Result<Self> {
        let offset = input.offset();
        let data = input.string(what)?.decode(limits)?;
        Ok(Blob { data, offset })
    }
}

/// A plain sequence of RDB strings (linked lists, hashtable sets and hashes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plain<'data> {
    /// The input at the first element.
    pub(crate) input: Input<'data>,
    /// The stored element (or pair) count, checked against the input and
    /// the limits.
    pub(crate) len: u64,
}

impl<'data> Plain<'data> {
    /// Read the count that starts a plain body; `min` is the fewest bytes
    /// one element takes, so that a count the input cannot hold fails here.
    pub(crate) fn read(
        input: &mut Input<'data>,
        what: &'static str,
        min: u64,
        limits: &Limits,
    ) -> Result<Self> {
        let len = input.count(what, min, limits.max_elements)?;
        Ok(Plain { input: *input, len })
    }
}

/// Read one RDB string as an [`Item`] (integer encodings stay integers).
#[inline]
pub(crate) fn read_item<'data>(input: &mut Input<'data>, limits: &Limits) -> Result<Item<'data>> {
    Ok(match input.string("collection element")? {
        RawString::Int(i) => Item::Int(i),
        s => Item::Bytes(s.decode(limits)?),
    })
}
