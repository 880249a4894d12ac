//! The element cursor shared by lists, sets and the pair-encoded sorted sets
//! and hashes: one walk over whichever encoding holds the elements.
//!
//! Quicklist nodes ([`ListNode`]) are defined here rather than with
//! [`List`](crate::List) because the cursor opens them one at a time as it
//! reaches them; the list view only hands it the node slice.
//!
//! The cursors borrow the decoded view (`'a`), not the input: a blob stored
//! LZF-compressed is owned by the view once decompressed, so its elements
//! cannot outlive it.

use std::borrow::Cow;
use std::fmt;

use crate::body::{Blob, read_item};
use crate::error::Result;
use crate::input::Input;
use crate::intset::IntsetEntries;
use crate::item::Item;
use crate::limits::Limits;
use crate::listpack::{Listpack, ListpackEntries};
use crate::string::RawString;
use crate::ziplist::{Ziplist, ZiplistEntries};
use crate::zipmap::ZipmapEntries;

/// The container of one quicklist node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeContainer {
    /// A ziplist (quicklist v1).
    Ziplist,
    /// A listpack (quicklist v2 PACKED).
    Listpack,
    /// A single raw element (quicklist v2 PLAIN).
    Plain,
}

/// One node of a quicklist.
#[derive(Clone, Debug)]
pub struct ListNode<'data> {
    container: NodeContainer,
    stored: Stored<'data>,
}

/// A node's bytes: decompressed when the list was decoded, or, past
/// [`EAGER_BYTES`] of decompressed nodes in one list, still compressed
/// (decompressed, and so checked, each time the node is read), so that a
/// list of gigabytes does not sit in memory decompressed: servers store
/// nearly every quicklist node LZF-compressed.
#[derive(Clone, Debug)]
enum Stored<'data> {
    Blob(Blob<'data>),
    Lzf {
        raw: RawString<'data>,
        offset: u64,
        limits: Limits,
    },
}

/// Decompressed node bytes one list keeps; the nodes after are read
/// compressed, one at a time.
pub(crate) const EAGER_BYTES: u64 = 16 << 20;

impl<'data> ListNode<'data> {
    pub(crate) fn new(container: NodeContainer, blob: Blob<'data>) -> Self {
        ListNode {
            container,
            stored: Stored::Blob(blob),
        }
    }

    /// A node kept LZF-compressed.
    pub(crate) fn compressed(
        container: NodeContainer,
        raw: RawString<'data>,
        offset: u64,
        limits: Limits,
    ) -> Self {
        ListNode {
            container,
            stored: Stored::Lzf {
                raw,
                offset,
                limits,
            },
        }
    }

    /// The node's container.
    pub fn container(&self) -> NodeContainer {
        self.container
    }

    /// The node's bytes, decompressed (borrowed unless the node is one of
    /// those a giant list keeps compressed).
    pub fn data(&self) -> Result<Cow<'_, [u8]>> {
        match &self.stored {
            Stored::Blob(b) => Ok(Cow::Borrowed(&b.data)),
            Stored::Lzf { raw, limits, .. } => {
                raw.decode(limits).map(|d| Cow::Owned(d.into_owned()))
            }
        }
    }

    fn elems(&self) -> Result<Node<'_>> {
        let (data, offset) = match &self.stored {
            Stored::Blob(b) => (&b.data, b.offset),
            Stored::Lzf {
                raw,
                offset,
                limits,
            } => return self.buffered(&raw.decode(limits)?, *offset),
        };
        Ok(match self.container {
            NodeContainer::Ziplist => Node::Ziplist(Ziplist::parse(data, offset)?.entries()),
            NodeContainer::Listpack => Node::Listpack(Listpack::parse(data, offset)?.entries()),
            NodeContainer::Plain => Node::Single(data),
        })
    }

    /// The elements of a node read from its compressed form, as owned
    /// items (the decompressed bytes are gone once they are copied out).
    fn buffered(&self, data: &[u8], offset: u64) -> Result<Node<'static>> {
        let mut items = Vec::new();
        match self.container {
            NodeContainer::Ziplist => {
                for it in Ziplist::parse(data, offset)?.entries() {
                    items.push(it?.into_owned());
                }
            }
            NodeContainer::Listpack => {
                for it in Listpack::parse(data, offset)?.entries() {
                    items.push(it?.into_owned());
                }
            }
            NodeContainer::Plain => items.push(Item::Bytes(Cow::Owned(data.to_vec()))),
        }
        Ok(Node::Buffered(items.into_iter()))
    }
}

/// Where a walk over the elements stands, per encoding.
pub(crate) enum Elems<'a> {
    Strings {
        input: Input<'a>,
        left: u64,
    },
    Ziplist(ZiplistEntries<'a>),
    Listpack(ListpackEntries<'a>),
    Intset(IntsetEntries<'a>),
    Zipmap(ZipmapEntries<'a>),
    Nodes {
        nodes: std::slice::Iter<'a, ListNode<'a>>,
        cur: Node<'a>,
    },
    Done,
}

/// The elements of one quicklist node.
pub(crate) enum Node<'a> {
    Ziplist(ZiplistEntries<'a>),
    Listpack(ListpackEntries<'a>),
    /// A PLAIN node: one raw element.
    Single(&'a [u8]),
    /// A node read from its compressed form: its elements, copied out.
    Buffered(std::vec::IntoIter<Item<'static>>),
    /// Between nodes.
    None,
}

impl fmt::Debug for Elems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elems")
    }
}

impl<'a> Elems<'a> {
    pub(crate) fn ziplist(b: &'a Blob<'_>) -> Result<Elems<'a>> {
        Ok(Elems::Ziplist(Ziplist::parse(&b.data, b.offset)?.entries()))
    }
    pub(crate) fn listpack(b: &'a Blob<'_>) -> Result<Elems<'a>> {
        Ok(Elems::Listpack(
            Listpack::parse(&b.data, b.offset)?.entries(),
        ))
    }

    #[inline(always)]
    pub(crate) fn next_item(&mut self, limits: &Limits) -> Option<Result<Item<'a>>> {
        // Listpack elements (alone or in a quicklist node) are the bulk of a
        // modern file: their small forms are decoded inline, the rest out of
        // line.
        let fast = match self {
            Elems::Listpack(l) => l.next_fast(),
            Elems::Nodes {
                cur: Node::Listpack(l),
                ..
            } => l.next_fast(),
            _ => None,
        };
        match fast {
            Some(item) => Some(Ok(item)),
            None => self.next_item_slow(limits),
        }
    }

    /// Call `f` on every element in order (each checked as
    /// [`Elems::next_item`] checks it) until it returns false; `Ok(false)`
    /// when `f` stopped the walk. `f` is called from the fast and the slow
    /// branch separately, so that the fast branch's element never goes
    /// through memory (see `ListpackEntries::next_fast`).
    #[inline(always)]
    pub(crate) fn walk(
        &mut self,
        limits: &Limits,
        mut f: impl FnMut(Item<'a>) -> Result<bool>,
    ) -> Result<bool> {
        loop {
            let fast = match self {
                Elems::Listpack(l) => l.next_fast(),
                Elems::Nodes {
                    cur: Node::Listpack(l),
                    ..
                } => l.next_fast(),
                Elems::Intset(i) => i.next_fast().map(Item::Int),
                _ => None,
            };
            let go = match fast {
                Some(item) => f(item)?,
                None => match self.next_item_slow(limits) {
                    Some(Ok(item)) => f(item)?,
                    Some(Err(e)) => return Err(e),
                    None => return Ok(true),
                },
            };
            if !go {
                return Ok(false);
            }
        }
    }

    #[inline(never)]
    fn next_item_slow(&mut self, limits: &Limits) -> Option<Result<Item<'a>>> {
        let r = match self {
            Elems::Listpack(l) => l.next(),
            Elems::Strings { input, left } => {
                if *left == 0 {
                    None
                } else {
                    *left -= 1;
                    Some(read_item(input, limits))
                }
            }
            Elems::Ziplist(z) => z.next(),
            Elems::Intset(i) => i.next().map(|r| r.map(Item::Int)),
            Elems::Zipmap(z) => z.next(),
            Elems::Nodes { nodes, cur } => next_in_nodes(nodes, cur),
            Elems::Done => None,
        };
        match r {
            Some(Ok(item)) => Some(Ok(item)),
            other => {
                *self = Elems::Done;
                other
            }
        }
    }
}

/// The next element of a quicklist, opening nodes as they are reached.
fn next_in_nodes<'a>(
    nodes: &mut std::slice::Iter<'a, ListNode<'a>>,
    cur: &mut Node<'a>,
) -> Option<Result<Item<'a>>> {
    loop {
        let r = match cur {
            Node::Listpack(l) => l.next(),
            Node::Ziplist(z) => z.next(),
            Node::Single(b) => {
                let b = *b;
                *cur = Node::None;
                return Some(Ok(Item::Bytes(Cow::Borrowed(b))));
            }
            Node::Buffered(items) => items.next().map(Ok),
            Node::None => match nodes.next()?.elems() {
                Ok(n) => {
                    *cur = n;
                    continue;
                }
                Err(e) => return Some(Err(e)),
            },
        };
        match r {
            None => *cur = Node::None,
            some => return some,
        }
    }
}

/// [`Elements::try_for_each_checked`] over quicklist nodes: each node's
/// elements in place, those of a node kept compressed from one scratch
/// buffer.
fn walk_nodes<'a>(
    nodes: std::slice::Iter<'a, ListNode<'a>>,
    f: &mut impl FnMut(&Item<'_>) -> bool,
) -> Result<Option<u64>> {
    let mut n = 0u64;
    let mut scratch = Vec::new();
    for node in nodes {
        let (data, offset): (&[u8], u64) = match &node.stored {
            Stored::Blob(b) => (&b.data, b.offset),
            Stored::Lzf {
                raw,
                offset,
                limits,
            } => (raw.decode_into(limits, &mut scratch)?, *offset),
        };
        match node.container {
            NodeContainer::Plain => {
                n += 1;
                if !f(&Item::Bytes(Cow::Borrowed(data))) {
                    return Ok(None);
                }
            }
            NodeContainer::Ziplist => {
                for it in Ziplist::parse(data, offset)?.entries() {
                    n += 1;
                    if !f(&it?) {
                        return Ok(None);
                    }
                }
            }
            NodeContainer::Listpack => {
                let mut e = Listpack::parse(data, offset)?.entries();
                loop {
                    let it = match e.next_fast() {
                        Some(it) => it,
                        None => match e.next() {
                            Some(r) => r?,
                            None => break,
                        },
                    };
                    n += 1;
                    if !f(&it) {
                        return Ok(None);
                    }
                }
            }
        }
    }
    Ok(Some(n))
}

/// Iterator over the elements of a list or set, each checked as it is reached.
/// It stops after the first error.
#[derive(Debug)]
pub struct Elements<'a> {
    inner: Elems<'a>,
    limits: Limits,
}

impl<'a> Elements<'a> {
    pub(crate) fn new(inner: Elems<'a>, limits: Limits) -> Self {
        Elements { inner, limits }
    }

    /// Call `f` on every remaining element until it returns false, with the
    /// checks [`Iterator::next`] makes but faster (no element is returned
    /// through memory). `Ok(None)`: `f` stopped the walk; otherwise the
    /// number of elements.
    ///
    /// The elements of a quicklist node kept compressed are handed to `f`
    /// from one scratch buffer (hence `f` takes elements of any lifetime),
    /// not copied out one by one as the iterator must.
    #[inline]
    pub fn try_for_each_checked(
        &mut self,
        mut f: impl FnMut(&Item<'_>) -> bool,
    ) -> Result<Option<u64>> {
        if let Elems::Nodes {
            nodes,
            cur: Node::None,
        } = &mut self.inner
        {
            let nodes = std::mem::replace(nodes, [].iter());
            self.inner = Elems::Done;
            return walk_nodes(nodes, &mut f);
        }
        let mut n = 0u64;
        let done = self.inner.walk(&self.limits, |item| {
            n += 1;
            Ok(f(&item))
        })?;
        Ok(done.then_some(n))
    }

    /// [`Elements::try_for_each_checked`] for an `f` that can fail: the
    /// walk stops at `f`'s first error and returns it; otherwise the number
    /// of elements.
    pub fn for_each_checked<E: From<crate::Error>>(
        &mut self,
        mut f: impl FnMut(&Item<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut failed = None;
        let n = self.try_for_each_checked(|item| match f(item) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        })?;
        match (failed, n) {
            (Some(e), _) => Err(e),
            (None, n) => Ok(n.unwrap_or(0)),
        }
    }
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Item<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_item(&self.limits)
    }
}

/// Count the items of a checked iterator, failing on the first error.
pub(crate) fn count_ok<T>(it: impl Iterator<Item = Result<T>>) -> Result<u64> {
    let mut n = 0u64;
    for r in it {
        r?;
        n += 1;
    }
    Ok(n)
}

/// The fallback of the `try_for_each_*` walks: the iterator's items, `f` on
/// each one's `member` until it returns false (`Ok(None)`), else the count.
pub(crate) fn try_for_each_ok<'a, T>(
    it: impl Iterator<Item = Result<T>>,
    member: impl Fn(&T) -> &Item<'a>,
    mut f: impl FnMut(&Item<'a>) -> bool,
) -> Result<Option<u64>> {
    let mut n = 0u64;
    for r in it {
        if !f(member(&r?)) {
            return Ok(None);
        }
        n += 1;
    }
    Ok(Some(n))
}
