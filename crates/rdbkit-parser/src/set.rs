//! Sets: hashtable sets (type 2), intsets (11) and listpacks (20).

use crate::body::{Blob, Plain};
use crate::elements::{Elements, Elems, count_ok};
use crate::error::Result;
use crate::intset::Intset;
use crate::limits::Limits;

/// How the set is stored.
#[derive(Clone, Debug)]
pub(crate) enum SetRepr<'data> {
    Hashtable(Plain<'data>),
    Intset(Blob<'data>),
    Listpack(Blob<'data>),
}

/// A set.
#[derive(Clone, Debug)]
pub struct Set<'data> {
    repr: SetRepr<'data>,
    limits: Limits,
}

impl<'data> Set<'data> {
    pub(crate) fn new(repr: SetRepr<'data>, limits: Limits) -> Self {
        Set { repr, limits }
    }

    /// The members in stored order.
    pub fn iter(&self) -> Result<Elements<'_>> {
        let inner = match &self.repr {
            SetRepr::Hashtable(p) => Elems::Strings {
                input: p.input,
                left: p.len,
            },
            SetRepr::Intset(b) => Elems::Intset(Intset::parse(&b.data, b.offset)?.entries()),
            SetRepr::Listpack(b) => Elems::listpack(b)?,
        };
        Ok(Elements::new(inner, self.limits))
    }

    /// The member count.
    pub fn len(&self) -> Result<u64> {
        match &self.repr {
            SetRepr::Hashtable(p) => Ok(p.len),
            SetRepr::Intset(b) => Ok(Intset::parse(&b.data, b.offset)?.len() as u64),
            SetRepr::Listpack(_) => count_ok(self.iter()?),
        }
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}
