//! Lists: linked lists (type 1), one ziplist (10) and quicklists of
//! ziplist (14) or listpack and plain (18) nodes.

use crate::body::{Blob, Plain};
use crate::elements::{Elements, Elems, ListNode, Node, count_ok};
use crate::error::Result;
use crate::limits::Limits;

/// How the list is stored.
#[derive(Clone, Debug)]
pub(crate) enum ListRepr<'data> {
    Linked(Plain<'data>),
    Ziplist(Blob<'data>),
    Quicklist(Vec<ListNode<'data>>),
}

/// A list.
#[derive(Clone, Debug)]
pub struct List<'data> {
    repr: ListRepr<'data>,
    limits: Limits,
}

impl<'data> List<'data> {
    pub(crate) fn new(repr: ListRepr<'data>, limits: Limits) -> Self {
        List { repr, limits }
    }

    /// The elements in order.
    pub fn iter(&self) -> Result<Elements<'_>> {
        let inner = match &self.repr {
            ListRepr::Linked(p) => Elems::Strings {
                input: p.input,
                left: p.len,
            },
            ListRepr::Ziplist(b) => Elems::ziplist(b)?,
            ListRepr::Quicklist(nodes) => Elems::Nodes {
                nodes: nodes.iter(),
                cur: Node::None,
            },
        };
        Ok(Elements::new(inner, self.limits))
    }

    /// The quicklist nodes, for quicklist-encoded lists.
    pub fn nodes(&self) -> Option<&[ListNode<'data>]> {
        match &self.repr {
            ListRepr::Quicklist(n) => Some(n),
            _ => None,
        }
    }

    /// The element count (walks compact encodings).
    pub fn len(&self) -> Result<u64> {
        match &self.repr {
            ListRepr::Linked(p) => Ok(p.len),
            // The checked walk: no element of a node kept compressed is
            // copied out just to be counted.
            ListRepr::Quicklist(_) => Ok(self.iter()?.try_for_each_checked(|_| true)?.unwrap_or(0)),
            ListRepr::Ziplist(_) => count_ok(self.iter()?),
        }
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}
