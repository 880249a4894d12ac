//! Values: the raw, undecoded form every key record carries, and the decoded
//! views over it.
//!
//! [`RawValue`] is the type id plus the exact body bytes; finding where a body
//! ends takes a cheap structural walk (no decompression, no allocation), which
//! the record reader does. [`RawValue::decode`] then builds a [`Value`]: a
//! borrowed view whose iterators walk the stored encoding in place. Only LZF
//! forces a copy (a compressed blob is decompressed once, when decoded).

use std::borrow::Cow;
use std::fmt;

use crate::error::{DisplayBytes, Error, ErrorKind, Result};
use crate::format::*;
use crate::input::Input;
use crate::intset::{Intset, IntsetEntries};
use crate::item::Item;
use crate::limits::Limits;
use crate::listpack::{Listpack, ListpackEntries};
use crate::module::{self, ModuleValue};
use crate::stream::{self, Stream};
use crate::string::RawString;
use crate::ziplist::{Ziplist, ZiplistEntries};
use crate::zipmap::{Zipmap, ZipmapEntries};

/// What the readers need to know besides the bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub(crate) version: RdbVersion,
    pub(crate) limits: Limits,
}

/// A value as stored: its type id and the exact bytes of its body.
#[derive(Clone, Copy)]
pub struct RawValue<'data> {
    ty: RdbType,
    body: &'data [u8],
    offset: u64,
    ctx: Ctx,
}

impl fmt::Debug for RawValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawValue")
            .field("ty", &self.ty)
            .field("offset", &self.offset)
            .field("len", &self.body.len())
            .finish()
    }
}

impl<'data> RawValue<'data> {
    pub(crate) fn new(ty: RdbType, body: &'data [u8], offset: u64, ctx: Ctx) -> Self {
        RawValue {
            ty,
            body,
            offset,
            ctx,
        }
    }

    /// The type id.
    pub fn ty(&self) -> RdbType {
        self.ty
    }

    /// The body bytes (everything after the key), exactly as in the file.
    pub fn body(&self) -> &'data [u8] {
        self.body
    }

    /// File offset of the first body byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The version of the file the value came from (it decides what some type
    /// ids and layouts mean).
    pub fn version(&self) -> RdbVersion {
        self.ctx.version
    }

    /// The limits the value is decoded under.
    pub fn limits(&self) -> &Limits {
        &self.ctx.limits
    }

    /// The logical type, or `None` for a type id unknown in this version.
    pub fn kind(&self) -> Option<ValueKind> {
        self.ty.kind_in(self.ctx.version)
    }

    /// The name of the on-disk encoding (the type id's name in this version).
    pub fn encoding_name(&self) -> &'static str {
        self.ty.name_in(self.ctx.version).unwrap_or("unknown")
    }

    fn input(&self) -> Input<'data> {
        Input::new(self.body, self.offset)
    }

    /// A string value's bytes, decoded into `scratch` when they must be
    /// made (integer-encoded or LZF-compressed strings), so that a loop over
    /// many values allocates once; `Ok(None)` when the value is not a
    /// string. The same checks as [`RawValue::decode`], without building a
    /// [`Value`].
    pub fn decode_string_into<'s>(&self, scratch: &'s mut Vec<u8>) -> Result<Option<&'s [u8]>>
    where
        'data: 's,
    {
        if self.ty.0 != 0 {
            return Ok(None);
        }
        let limits = self.ctx.limits;
        let raw = self.input().string("string value")?;
        raw.decode_into(&limits, scratch).map(Some)
    }

    /// For a string value: check it as [`RawValue::decode_string_into`]
    /// would, without making its bytes ([`RawString::check`]). `Ok(false)`
    /// for other types.
    pub fn check_string(&self) -> Result<bool> {
        if self.ty.0 != 0 {
            return Ok(false);
        }
        let limits = self.ctx.limits;
        self.input().string("string value")?.check(&limits)?;
        Ok(true)
    }

    /// Decode the value into a borrowed view. Collections are checked as far
    /// as their headers here; their elements are checked as they are iterated.
    pub fn decode(&self) -> Result<Value<'data>> {
        decode(self)
    }
}

/// A decoded value.
#[derive(Clone, Debug)]
pub enum Value<'data> {
    /// A string.
    String(Cow<'data, [u8]>),
    /// A list.
    List(List<'data>),
    /// A set.
    Set(Set<'data>),
    /// A sorted set.
    ZSet(ZSet<'data>),
    /// A hash, possibly with field TTLs.
    Hash(Hash<'data>),
    /// A stream.
    Stream(Box<Stream<'data>>),
    /// A module value, kept opaque.
    Module(ModuleValue<'data>),
}

impl Value<'_> {
    /// The logical type.
    pub fn kind(&self) -> ValueKind {
        match self {
            Value::String(_) => ValueKind::String,
            Value::List(_) => ValueKind::List,
            Value::Set(_) => ValueKind::Set,
            Value::ZSet(_) => ValueKind::ZSet,
            Value::Hash(_) => ValueKind::Hash,
            Value::Stream(_) => ValueKind::Stream,
            Value::Module(_) => ValueKind::Module,
        }
    }
}

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
    input: Input<'data>,
    len: u64,
}

// ---------------------------------------------------------------------------
// Element iteration shared by lists, sets and pair-encoded hashes/zsets

enum Elems<'a> {
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
enum Node<'a> {
    Ziplist(ZiplistEntries<'a>),
    Listpack(ListpackEntries<'a>),
    /// A PLAIN node: one raw element.
    Single(&'a [u8]),
    /// Between nodes.
    None,
}

impl fmt::Debug for Elems<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Elems")
    }
}

impl<'a> Elems<'a> {
    fn ziplist(b: &'a Blob<'_>) -> Result<Elems<'a>> {
        Ok(Elems::Ziplist(Ziplist::parse(&b.data, b.offset)?.entries()))
    }
    fn listpack(b: &'a Blob<'_>) -> Result<Elems<'a>> {
        Ok(Elems::Listpack(
            Listpack::parse(&b.data, b.offset)?.entries(),
        ))
    }

    #[inline(always)]
    fn next_item(&mut self, limits: &Limits) -> Option<Result<Item<'a>>> {
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
    fn walk(
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

/// The fallback of the `try_for_each_*` walks: the iterator's items, `f` on
/// each one's `member` until it returns false (`Ok(None)`), else the count.
fn try_for_each_ok<'a, T>(
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

/// Read one RDB string as an [`Item`] (integer encodings stay integers).
#[inline]
fn read_item<'a>(input: &mut Input<'a>, limits: &Limits) -> Result<Item<'a>> {
    Ok(match input.string("collection element")? {
        RawString::Int(i) => Item::Int(i),
        s => Item::Bytes(s.decode(limits)?),
    })
}

/// Iterator over the elements of a list or set, each checked as it is reached.
/// It stops after the first error.
#[derive(Debug)]
pub struct Elements<'a> {
    inner: Elems<'a>,
    limits: Limits,
}

impl<'a> Elements<'a> {
    /// Call `f` on every remaining element until it returns false, with the
    /// checks [`Iterator::next`] makes but faster (no element is returned
    /// through memory). `Ok(None)`: `f` stopped the walk; otherwise the
    /// number of elements.
    #[inline]
    pub fn try_for_each_checked(
        &mut self,
        mut f: impl FnMut(&Item<'a>) -> bool,
    ) -> Result<Option<u64>> {
        let mut n = 0u64;
        let done = self.inner.walk(&self.limits, |item| {
            n += 1;
            Ok(f(&item))
        })?;
        Ok(done.then_some(n))
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
fn count_ok<T>(it: impl Iterator<Item = Result<T>>) -> Result<u64> {
    let mut n = 0u64;
    for r in it {
        r?;
        n += 1;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// Lists

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
    blob: Blob<'data>,
}

impl<'data> ListNode<'data> {
    /// The node's container.
    pub fn container(&self) -> NodeContainer {
        self.container
    }

    /// The node's bytes (decompressed).
    pub fn data(&self) -> &[u8] {
        &self.blob.data
    }

    fn elems(&self) -> Result<Node<'_>> {
        let b = &self.blob;
        Ok(match self.container {
            NodeContainer::Ziplist => Node::Ziplist(Ziplist::parse(&b.data, b.offset)?.entries()),
            NodeContainer::Listpack => {
                Node::Listpack(Listpack::parse(&b.data, b.offset)?.entries())
            }
            NodeContainer::Plain => Node::Single(&b.data),
        })
    }
}

#[derive(Clone, Debug)]
enum ListRepr<'data> {
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
        Ok(Elements {
            inner,
            limits: self.limits,
        })
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
            _ => count_ok(self.iter()?),
        }
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

// ---------------------------------------------------------------------------
// Sets

#[derive(Clone, Debug)]
enum SetRepr<'data> {
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
        Ok(Elements {
            inner,
            limits: self.limits,
        })
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

// ---------------------------------------------------------------------------
// Sorted sets

#[derive(Clone, Debug)]
enum ZSetRepr<'data> {
    /// Type 3 (`binary == false`, scores as text) or 5 (binary doubles).
    Skiplist {
        plain: Plain<'data>,
        binary: bool,
    },
    Ziplist(Blob<'data>),
    Listpack(Blob<'data>),
}

/// A sorted set.
#[derive(Clone, Debug)]
pub struct ZSet<'data> {
    repr: ZSetRepr<'data>,
    limits: Limits,
    offset: u64,
}

/// Iterator over `(member, score)` pairs of a sorted set.
#[derive(Debug)]
pub struct ZSetEntries<'a> {
    inner: ZInner<'a>,
    limits: Limits,
    offset: u64,
}

#[derive(Debug)]
enum ZInner<'a> {
    Plain {
        input: Input<'a>,
        left: u64,
        binary: bool,
    },
    Pairs(Elems<'a>),
}

/// A score stored as a ziplist/listpack element, as the loaders read it
/// (`zzlStrtod`: any text is a number, 0 where none starts it). NaN is
/// refused: Redis 7.0+ refuse it in every other form, Valkey 9 in this one
/// too, and a NaN breaks the order of the set where it is loaded.
fn parse_score(item: &Item<'_>, offset: u64) -> Result<f64> {
    let v = match item {
        Item::Int(i) => *i as f64,
        Item::Bytes(b) => crate::double::strtod(b),
    };
    if v.is_nan() {
        return Err(Error::new(
            offset,
            ErrorKind::invalid("zset score", "NaN is not a valid score"),
        ));
    }
    Ok(v)
}

impl<'a> Iterator for ZSetEntries<'a> {
    type Item = Result<(Item<'a>, f64)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let r = match &mut self.inner {
            ZInner::Plain {
                input,
                left,
                binary,
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let binary = *binary;
                let limits = self.limits;
                (|| {
                    let member = read_item(input, &limits)?;
                    let at = input.offset();
                    let score = if binary {
                        input.le_f64("zset score")?
                    } else {
                        read_string_double(input)?
                    };
                    if score.is_nan() {
                        return Err(Error::new(
                            at,
                            ErrorKind::invalid("zset score", "NaN is not a valid score"),
                        ));
                    }
                    Ok((member, score))
                })()
            }
            ZInner::Pairs(e) => {
                let member = match e.next_item(&self.limits)? {
                    Ok(m) => m,
                    Err(err) => return Some(Err(err)),
                };
                match e.next_item(&self.limits) {
                    Some(Ok(s)) => parse_score(&s, self.offset).map(|score| (member, score)),
                    Some(Err(err)) => Err(err),
                    None => Err(no_score(self.offset)),
                }
            }
        };
        if r.is_err() {
            self.inner = ZInner::Pairs(Elems::Done);
        }
        Some(r)
    }
}

impl<'a> ZSetEntries<'a> {
    /// Call `f` on every remaining member until it returns false, with the
    /// checks [`Iterator::next`] makes (scores parsed, NaN refused) but
    /// faster for compact encodings. `Ok(None)`: `f` stopped the walk;
    /// otherwise the number of members.
    #[inline]
    pub fn try_for_each_member(
        &mut self,
        mut f: impl FnMut(&Item<'a>) -> bool,
    ) -> Result<Option<u64>> {
        let ZInner::Pairs(e) = &mut self.inner else {
            return try_for_each_ok(self, |(m, _)| m, f);
        };
        let offset = self.offset;
        let mut n = 0u64;
        let done = e.walk(&self.limits, |item| {
            n += 1;
            // Members at even positions, scores at odd ones.
            Ok(if n & 1 == 1 {
                f(&item)
            } else {
                parse_score(&item, offset)?;
                true
            })
        });
        let done = match done {
            Ok(d) => d,
            Err(err) => {
                self.inner = ZInner::Pairs(Elems::Done);
                return Err(err);
            }
        };
        if !done {
            return Ok(None);
        }
        if n & 1 == 1 {
            return Err(no_score(offset));
        }
        Ok(Some(n / 2))
    }
}

/// The error for a sorted set whose last member has no score.
fn no_score(offset: u64) -> Error {
    Error::new(
        offset,
        ErrorKind::invalid("zset", "odd number of elements: a member has no score"),
    )
}

/// A score in the text form of type 3: `u8 len` + text, or 253/254/255 for
/// NaN/+inf/-inf (`rdbLoadDoubleValue`).
pub(crate) fn read_string_double(input: &mut Input<'_>) -> Result<f64> {
    let at = input.offset();
    let len = input.u8("zset score length")?;
    match len {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        n => {
            let text = input.take(u64::from(n), "zset score")?;
            // The loaders read the text with sscanf("%lg"): a number at its
            // start is enough (and NaN is refused after it, as below).
            crate::double::scan_lg(text).ok_or_else(|| {
                Error::new(
                    at,
                    ErrorKind::invalid(
                        "zset score",
                        format!("{} does not start with a number", DisplayBytes(text)),
                    ),
                )
            })
        }
    }
}

impl<'data> ZSet<'data> {
    /// `(member, score)` pairs in stored order.
    pub fn iter(&self) -> Result<ZSetEntries<'_>> {
        let inner = match &self.repr {
            ZSetRepr::Skiplist { plain, binary } => ZInner::Plain {
                input: plain.input,
                left: plain.len,
                binary: *binary,
            },
            ZSetRepr::Ziplist(b) => ZInner::Pairs(Elems::ziplist(b)?),
            ZSetRepr::Listpack(b) => ZInner::Pairs(Elems::listpack(b)?),
        };
        Ok(ZSetEntries {
            inner,
            limits: self.limits,
            offset: self.offset,
        })
    }

    /// The member count.
    pub fn len(&self) -> Result<u64> {
        match &self.repr {
            ZSetRepr::Skiplist { plain, .. } => Ok(plain.len),
            _ => count_ok(self.iter()?),
        }
    }

    /// Whether the sorted set has no members.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

// ---------------------------------------------------------------------------
// Hashes

#[derive(Clone, Debug)]
enum HashRepr<'data> {
    Hashtable(Plain<'data>),
    Zipmap(Blob<'data>),
    Ziplist(Blob<'data>),
    Listpack(Blob<'data>),
    /// Types 23 and 25: listpack of (field, value, absolute expiry or 0).
    ListpackEx {
        blob: Blob<'data>,
    },
    /// Type 22 (Redis pre-GA, absolute TTLs) and 24 (relative to `min_expire`).
    Metadata {
        plain: Plain<'data>,
        min_expire: Option<i64>,
    },
    /// Valkey's type 22: (field, value, i64 ms or -1).
    Valkey(Plain<'data>),
}

/// A hash, possibly with per-field TTLs.
#[derive(Clone, Debug)]
pub struct Hash<'data> {
    repr: HashRepr<'data>,
    limits: Limits,
    min_expire: Option<i64>,
    offset: u64,
}

/// One field of a hash.
#[derive(Clone, Debug, PartialEq)]
pub struct HashField<'a> {
    /// The field name.
    pub field: Item<'a>,
    /// The value.
    pub value: Item<'a>,
    /// Absolute expiry in Unix ms, for hashes with field TTLs.
    pub expire_ms: Option<i64>,
}

/// Iterator over the fields of a hash.
#[derive(Debug)]
pub struct HashEntries<'a> {
    inner: HInner<'a>,
    limits: Limits,
    offset: u64,
}

#[derive(Debug)]
enum HInner<'a> {
    /// Field, value[, expiry] elements of a blob (`triplets` for types 23/25).
    Elems {
        elems: Elems<'a>,
        triplets: bool,
    },
    Metadata {
        input: Input<'a>,
        left: u64,
        min_expire: Option<i64>,
    },
    Valkey {
        input: Input<'a>,
        left: u64,
    },
    Done,
}

/// Largest field expiry Redis accepts (`EB_EXPIRE_TIME_MAX`, 2^48 - 1 ms).
pub const HASH_FIELD_EXPIRE_MAX: i64 = (1 << 48) - 1;

impl<'a> HashEntries<'a> {
    // Always inlined, like the element iterators below it: see
    // `ListpackEntries::next_fast`.
    #[inline(always)]
    fn next_field(&mut self) -> Option<Result<HashField<'a>>> {
        // The common case: field/value pairs without TTLs.
        if let HInner::Elems {
            elems,
            triplets: false,
        } = &mut self.inner
        {
            let field = match elems.next_item(&self.limits)? {
                Ok(f) => f,
                Err(err) => return Some(Err(err)),
            };
            return Some(match elems.next_item(&self.limits) {
                Some(Ok(value)) => Ok(HashField {
                    field,
                    value,
                    expire_ms: None,
                }),
                Some(Err(err)) => Err(err),
                None => Err(no_value(self.offset)),
            });
        }
        self.next_field_general()
    }

    #[inline(never)]
    fn next_field_general(&mut self) -> Option<Result<HashField<'a>>> {
        let limits = self.limits;
        match &mut self.inner {
            HInner::Elems { elems: e, triplets } => {
                let triplets = *triplets;
                let field = match e.next_item(&limits)? {
                    Ok(f) => f,
                    Err(err) => return Some(Err(err)),
                };
                let value = match e.next_item(&limits) {
                    Some(Ok(v)) => v,
                    Some(Err(err)) => return Some(Err(err)),
                    None => return Some(Err(no_value(self.offset))),
                };
                let mut expire_ms = None;
                if triplets {
                    match e.next_item(&limits) {
                        Some(Ok(Item::Int(t))) if (0..=HASH_FIELD_EXPIRE_MAX).contains(&t) => {
                            expire_ms = (t != 0).then_some(t)
                        }
                        Some(Ok(other)) => {
                            return Some(Err(Error::new(
                                self.offset,
                                ErrorKind::invalid(
                                    "hash field TTL",
                                    format!("{other:?} is not an expiry time in [0, 2^48-1]"),
                                ),
                            )));
                        }
                        Some(Err(err)) => return Some(Err(err)),
                        None => {
                            return Some(Err(Error::new(
                                self.offset,
                                ErrorKind::invalid("hash", "a field/value pair has no TTL element"),
                            )));
                        }
                    }
                }
                Some(Ok(HashField {
                    field,
                    value,
                    expire_ms,
                }))
            }
            HInner::Metadata {
                input,
                left,
                min_expire,
            } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let min_expire = *min_expire;
                Some((|| {
                    let at = input.offset();
                    let ttl = input.len("hash field TTL")?;
                    let field = read_item(input, &limits)?;
                    let value = read_item(input, &limits)?;
                    let expire_ms = match (ttl, min_expire) {
                        (0, _) => None,
                        // Type 22 (pre-GA) stores absolute times.
                        (t, None) => Some(t),
                        // Type 24 stores `expire - min_expire + 1` so that 0 can mean "none".
                        (t, Some(min)) => (min as u64).checked_add(t - 1),
                    };
                    let expire_ms = match expire_ms {
                        None => None,
                        Some(t) if t <= HASH_FIELD_EXPIRE_MAX as u64 => Some(t as i64),
                        Some(t) => {
                            return Err(Error::new(
                                at,
                                ErrorKind::invalid(
                                    "hash field TTL",
                                    format!("{t} exceeds 2^48-1 ms"),
                                ),
                            ));
                        }
                    };
                    Ok(HashField {
                        field,
                        value,
                        expire_ms,
                    })
                })())
            }
            HInner::Valkey { input, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                Some((|| {
                    let field = read_item(input, &limits)?;
                    let value = read_item(input, &limits)?;
                    let at = input.offset();
                    let t = input.le_i64("hash field expiry")?;
                    // Valkey's loader refuses anything below EXPIRY_NONE
                    // (-1); 0 and times in the past are valid (expired).
                    if t < -1 {
                        return Err(Error::new(
                            at,
                            ErrorKind::invalid(
                                "hash field expiry",
                                format!("{t} is neither a time nor -1 (no expiry)"),
                            ),
                        ));
                    }
                    Ok(HashField {
                        field,
                        value,
                        expire_ms: (t >= 0).then_some(t),
                    })
                })())
            }
            HInner::Done => None,
        }
    }
}

impl<'a> HashEntries<'a> {
    /// Call `f` on every remaining field name until it returns false, with
    /// the checks [`Iterator::next`] makes (values and TTLs read and checked)
    /// but faster for the common encodings. `Ok(None)`: `f` stopped the
    /// walk; otherwise the number of fields.
    #[inline]
    pub fn try_for_each_field(
        &mut self,
        mut f: impl FnMut(&Item<'a>) -> bool,
    ) -> Result<Option<u64>> {
        let HInner::Elems {
            elems,
            triplets: false,
        } = &mut self.inner
        else {
            return try_for_each_ok(self, |field| &field.field, f);
        };
        let mut n = 0u64;
        let done = elems.walk(&self.limits, |item| {
            n += 1;
            // Fields at even positions; values need no check beyond decoding.
            Ok(n & 1 == 0 || f(&item))
        });
        let done = match done {
            Ok(d) => d,
            Err(err) => {
                self.inner = HInner::Done;
                return Err(err);
            }
        };
        if !done {
            return Ok(None);
        }
        if n & 1 == 1 {
            return Err(no_value(self.offset));
        }
        Ok(Some(n / 2))
    }
}

/// The error for a hash whose last field has no value.
fn no_value(offset: u64) -> Error {
    Error::new(
        offset,
        ErrorKind::invalid("hash", "odd number of elements: a field has no value"),
    )
}

impl<'a> Iterator for HashEntries<'a> {
    type Item = Result<HashField<'a>>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.next_field();
        if matches!(r, Some(Err(_))) {
            self.inner = HInner::Done;
        }
        r
    }
}

impl<'data> Hash<'data> {
    /// The fields in stored order.
    pub fn iter(&self) -> Result<HashEntries<'_>> {
        let inner = match &self.repr {
            HashRepr::Hashtable(p) => HInner::Elems {
                elems: Elems::Strings {
                    input: p.input,
                    left: p.len.saturating_mul(2),
                },
                triplets: false,
            },
            HashRepr::Zipmap(b) => HInner::Elems {
                elems: Elems::Zipmap(Zipmap::parse(&b.data, b.offset)?.entries()),
                triplets: false,
            },
            HashRepr::Ziplist(b) => HInner::Elems {
                elems: Elems::ziplist(b)?,
                triplets: false,
            },
            HashRepr::Listpack(b) => HInner::Elems {
                elems: Elems::listpack(b)?,
                triplets: false,
            },
            HashRepr::ListpackEx { blob } => HInner::Elems {
                elems: Elems::listpack(blob)?,
                triplets: true,
            },
            HashRepr::Metadata { plain, min_expire } => HInner::Metadata {
                input: plain.input,
                left: plain.len,
                min_expire: *min_expire,
            },
            HashRepr::Valkey(p) => HInner::Valkey {
                input: p.input,
                left: p.len,
            },
        };
        Ok(HashEntries {
            inner,
            limits: self.limits,
            offset: self.offset,
        })
    }

    /// Whether the encoding carries field TTLs (types 22-25, Valkey 22).
    pub fn has_field_ttls(&self) -> bool {
        matches!(
            self.repr,
            HashRepr::ListpackEx { .. } | HashRepr::Metadata { .. } | HashRepr::Valkey(_)
        )
    }

    /// The stored minimum field expiry (types 24 and 25), if any.
    pub fn min_expire(&self) -> Option<i64> {
        self.min_expire
    }

    /// The field count.
    pub fn len(&self) -> Result<u64> {
        match &self.repr {
            HashRepr::Hashtable(p) | HashRepr::Metadata { plain: p, .. } | HashRepr::Valkey(p) => {
                Ok(p.len)
            }
            _ => count_ok(self.iter()?),
        }
    }

    /// Whether the hash has no fields.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

// ---------------------------------------------------------------------------
// Structural walk and decoding

fn unsupported(input: &Input<'_>, ty: RdbType, reason: &'static str) -> Error {
    input.err(ErrorKind::UnsupportedType { ty, reason })
}

/// Walk over a value body without decoding it, leaving `input` after it.
pub(crate) fn skip_value(input: &mut Input<'_>, ty: RdbType, ctx: &Ctx) -> Result<()> {
    let max = ctx.limits.max_elements;
    let valkey = ctx.version.is_valkey();
    match ty.0 {
        0 | 9..=13 | 16 | 17 | 20 => {
            input.string("value")?;
        }
        1 | 2 => {
            let n = input.count("collection length", 1, max)?;
            for _ in 0..n {
                input.string("collection element")?;
            }
        }
        3 => {
            let n = input.count("zset length", 2, max)?;
            for _ in 0..n {
                input.string("zset member")?;
                let l = input.u8("zset score length")?;
                if l < 253 {
                    input.take(u64::from(l), "zset score")?;
                }
            }
        }
        4 => {
            let n = input.count("hash length", 2, max)?;
            for _ in 0..n {
                input.string("hash field")?;
                input.string("hash value")?;
            }
        }
        5 => {
            let n = input.count("zset length", 9, max)?;
            for _ in 0..n {
                input.string("zset member")?;
                input.take(8, "zset score")?;
            }
        }
        6 => {
            return Err(unsupported(
                input,
                ty,
                "4.0 pre-release module values have no framing and cannot be skipped",
            ));
        }
        7 => {
            module::skip_module_value(input, ctx)?;
        }
        14 => {
            let n = input.count("quicklist node count", 1, max)?;
            for _ in 0..n {
                input.string("quicklist node")?;
            }
        }
        18 => {
            let n = input.count("quicklist node count", 2, max)?;
            for _ in 0..n {
                input.len("quicklist node container")?;
                input.string("quicklist node")?;
            }
        }
        15 | 19 | 21 => {
            stream::read_stream(input, ty, ctx, false)?;
        }
        26 | 27 if !valkey => {
            stream::read_stream(input, ty, ctx, false)?;
        }
        22 if valkey => {
            let n = input.count("hash length", 10, max)?;
            for _ in 0..n {
                input.string("hash field")?;
                input.string("hash value")?;
                input.take(8, "hash field expiry")?;
            }
        }
        22 | 24 if !valkey => {
            if ty.0 == 24 {
                input.take(8, "hash minimum expiry")?;
            }
            let n = input.count("hash length", 3, max)?;
            for _ in 0..n {
                input.len("hash field TTL")?;
                input.string("hash field")?;
                input.string("hash value")?;
            }
        }
        23 if !valkey => {
            input.string("hash listpack")?;
        }
        25 if !valkey => {
            input.take(8, "hash minimum expiry")?;
            input.string("hash listpack")?;
        }
        28 if !valkey => {
            return Err(unsupported(
                input,
                ty,
                "the layout of the Redis 8.8 array type is not documented",
            ));
        }
        tag => {
            return Err(input.err(ErrorKind::UnknownTag {
                tag,
                version: ctx.version,
            }));
        }
    }
    Ok(())
}

fn plain<'data>(
    input: &mut Input<'data>,
    what: &'static str,
    min: u64,
    limits: &Limits,
) -> Result<Plain<'data>> {
    let len = input.count(what, min, limits.max_elements)?;
    Ok(Plain { input: *input, len })
}

fn decode<'data>(raw: &RawValue<'data>) -> Result<Value<'data>> {
    let ctx = raw.ctx;
    let limits = ctx.limits;
    let mut input = raw.input();
    let i = &mut input;
    let valkey = ctx.version.is_valkey();
    let blob = |i: &mut Input<'data>, what| Blob::read(i, what, &limits);
    let list = |repr| Value::List(List { repr, limits });
    let set = |repr| Value::Set(Set { repr, limits });
    let offset = raw.offset;
    let zset = |repr| {
        Value::ZSet(ZSet {
            repr,
            limits,
            offset,
        })
    };
    let hash = |repr, min_expire| {
        Value::Hash(Hash {
            repr,
            limits,
            min_expire,
            offset,
        })
    };
    Ok(match raw.ty.0 {
        0 => Value::String(i.string("string value")?.decode(&limits)?),
        1 => list(ListRepr::Linked(plain(i, "list length", 1, &limits)?)),
        2 => set(SetRepr::Hashtable(plain(i, "set length", 1, &limits)?)),
        3 | 5 => zset(ZSetRepr::Skiplist {
            plain: plain(i, "zset length", 2, &limits)?,
            binary: raw.ty.0 == 5,
        }),
        4 => hash(
            HashRepr::Hashtable(plain(i, "hash length", 2, &limits)?),
            None,
        ),
        7 => Value::Module(module::read_module_value(i, &ctx)?),
        9 => hash(HashRepr::Zipmap(blob(i, "zipmap")?), None),
        10 => list(ListRepr::Ziplist(blob(i, "ziplist")?)),
        11 => set(SetRepr::Intset(blob(i, "intset")?)),
        12 => zset(ZSetRepr::Ziplist(blob(i, "ziplist")?)),
        13 => hash(HashRepr::Ziplist(blob(i, "ziplist")?), None),
        14 | 18 => {
            let n = i.count("quicklist node count", 1, limits.max_elements)?;
            let mut nodes = Vec::with_capacity((n as usize).min(1024));
            for _ in 0..n {
                let container = if raw.ty.0 == 14 {
                    NodeContainer::Ziplist
                } else {
                    let at = i.pos();
                    match i.len("quicklist node container")? {
                        QUICKLIST_NODE_CONTAINER_PACKED => NodeContainer::Listpack,
                        QUICKLIST_NODE_CONTAINER_PLAIN => NodeContainer::Plain,
                        c => {
                            return Err(i.err_at(
                                at,
                                ErrorKind::invalid(
                                    "quicklist node",
                                    format!("container {c} is neither 1 (plain) nor 2 (packed)"),
                                ),
                            ));
                        }
                    }
                };
                let b = blob(i, "quicklist node")?;
                if b.data.is_empty() && container == NodeContainer::Plain {
                    return Err(Error::new(
                        b.offset,
                        ErrorKind::invalid("quicklist node", "empty plain node"),
                    ));
                }
                nodes.push(ListNode { container, blob: b });
            }
            list(ListRepr::Quicklist(nodes))
        }
        16 => hash(HashRepr::Listpack(blob(i, "listpack")?), None),
        17 => zset(ZSetRepr::Listpack(blob(i, "listpack")?)),
        20 => set(SetRepr::Listpack(blob(i, "listpack")?)),
        15 | 19 | 21 => Value::Stream(Box::new(stream::read_stream(i, raw.ty, &ctx, true)?)),
        26 | 27 if !valkey => Value::Stream(Box::new(stream::read_stream(i, raw.ty, &ctx, true)?)),
        22 if valkey => hash(
            HashRepr::Valkey(plain(i, "hash length", 10, &limits)?),
            None,
        ),
        22 => hash(
            HashRepr::Metadata {
                plain: plain(i, "hash length", 3, &limits)?,
                min_expire: None,
            },
            None,
        ),
        23 if !valkey => hash(
            HashRepr::ListpackEx {
                blob: blob(i, "listpack")?,
            },
            None,
        ),
        24 if !valkey => {
            let min = i.le_i64("hash minimum expiry")?;
            hash(
                HashRepr::Metadata {
                    plain: plain(i, "hash length", 3, &limits)?,
                    min_expire: Some(min),
                },
                Some(min),
            )
        }
        25 if !valkey => {
            let min = i.le_i64("hash minimum expiry")?;
            hash(
                HashRepr::ListpackEx {
                    blob: blob(i, "listpack")?,
                },
                Some(min),
            )
        }
        _ => {
            // Same errors as the structural walk (unknown or unskippable types).
            skip_value(i, raw.ty, &ctx)?;
            return Err(unsupported(i, raw.ty, "no decoder for this type"));
        }
    })
}
