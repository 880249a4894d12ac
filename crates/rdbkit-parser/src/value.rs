//! Values: the raw, undecoded form every key record carries, the decoded
//! [`Value`] over it, and the structural walk and decoding that connect them.
//!
//! [`RawValue`] is the type id plus the exact body bytes; finding where a body
//! ends takes a cheap structural walk (no decompression, no allocation), which
//! the record reader does. [`RawValue::decode`] then builds a [`Value`]: a
//! borrowed view whose iterators walk the stored encoding in place (the views
//! are in `list`, `set`, `zset`, `hash` and `stream`). Only LZF forces a copy
//! (a compressed blob is decompressed once, when decoded).

use std::borrow::Cow;
use std::fmt;

use crate::body::{Blob, Plain};
use crate::elements::{EAGER_BYTES, ListNode, NodeContainer};
use crate::error::{Error, ErrorKind, Result};
use crate::format::*;
use crate::hash::{Hash, HashRepr};
use crate::input::Input;
use crate::limits::{Ctx, Limits};
use crate::list::{List, ListRepr};
use crate::module::{self, ModuleValue};
use crate::set::{Set, SetRepr};
use crate::stream::{self, Stream};
use crate::string::RawString;
use crate::zset::{ZSet, ZSetRepr};

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
        if self.ty != RDB_TYPE_STRING {
            return Ok(None);
        }
        let limits = self.ctx.limits;
        let raw = self.input().string("string value")?;
        raw.decode_into(&limits, scratch).map(Some)
    }

    /// For a string value: check it as [`RawValue::decode_string_into`]
    /// would, without making its bytes
    /// ([`RawString::check`](crate::RawString::check)). `Ok(false)` for other
    /// types.
    pub fn check_string(&self) -> Result<bool> {
        if self.ty != RDB_TYPE_STRING {
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

// ---------------------------------------------------------------------------
// Structural walk and decoding

fn unsupported(input: &Input<'_>, ty: RdbType, reason: &'static str) -> Error {
    input.err(ErrorKind::UnsupportedType { ty, reason })
}

/// Walk over a value body without decoding it, leaving `input` after it.
pub(crate) fn skip_value(input: &mut Input<'_>, ty: RdbType, ctx: &Ctx) -> Result<()> {
    let max = ctx.limits.max_elements;
    let valkey = ctx.version.is_valkey();
    match ty {
        RDB_TYPE_STRING
        | RDB_TYPE_HASH_ZIPMAP
        | RDB_TYPE_LIST_ZIPLIST
        | RDB_TYPE_SET_INTSET
        | RDB_TYPE_ZSET_ZIPLIST
        | RDB_TYPE_HASH_ZIPLIST
        | RDB_TYPE_HASH_LISTPACK
        | RDB_TYPE_ZSET_LISTPACK
        | RDB_TYPE_SET_LISTPACK => {
            input.string("value")?;
        }
        RDB_TYPE_LIST | RDB_TYPE_SET => {
            let n = input.count("collection length", 1, max)?;
            for _ in 0..n {
                input.string("collection element")?;
            }
        }
        RDB_TYPE_ZSET => {
            let n = input.count("zset length", 2, max)?;
            for _ in 0..n {
                input.string("zset member")?;
                let l = input.u8("zset score length")?;
                if l < 253 {
                    input.take(u64::from(l), "zset score")?;
                }
            }
        }
        RDB_TYPE_HASH => {
            let n = input.count("hash length", 2, max)?;
            for _ in 0..n {
                input.string("hash field")?;
                input.string("hash value")?;
            }
        }
        RDB_TYPE_ZSET_2 => {
            let n = input.count("zset length", 9, max)?;
            for _ in 0..n {
                input.string("zset member")?;
                input.take(8, "zset score")?;
            }
        }
        RDB_TYPE_MODULE_PRE_GA => {
            return Err(unsupported(
                input,
                ty,
                "4.0 pre-release module values have no framing and cannot be skipped",
            ));
        }
        RDB_TYPE_MODULE_2 => {
            module::skip_module_value(input, ctx)?;
        }
        RDB_TYPE_LIST_QUICKLIST => {
            let n = input.count("quicklist node count", 1, max)?;
            for _ in 0..n {
                input.string("quicklist node")?;
            }
        }
        RDB_TYPE_LIST_QUICKLIST_2 => {
            let n = input.count("quicklist node count", 2, max)?;
            for _ in 0..n {
                input.len("quicklist node container")?;
                input.string("quicklist node")?;
            }
        }
        RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 | RDB_TYPE_STREAM_LISTPACKS_3 => {
            stream::read_stream(input, ty, ctx, false)?;
        }
        RDB_TYPE_STREAM_LISTPACKS_4 | RDB_TYPE_STREAM_LISTPACKS_5 if !valkey => {
            stream::read_stream(input, ty, ctx, false)?;
        }
        RDB_TYPE_VALKEY_HASH_2 if valkey => {
            let n = input.count("hash length", 10, max)?;
            for _ in 0..n {
                input.string("hash field")?;
                input.string("hash value")?;
                input.take(8, "hash field expiry")?;
            }
        }
        RDB_TYPE_HASH_METADATA_PRE_GA | RDB_TYPE_HASH_METADATA if !valkey => {
            if ty == RDB_TYPE_HASH_METADATA {
                input.take(8, "hash minimum expiry")?;
            }
            let n = input.count("hash length", 3, max)?;
            for _ in 0..n {
                input.len("hash field TTL")?;
                input.string("hash field")?;
                input.string("hash value")?;
            }
        }
        RDB_TYPE_HASH_LISTPACK_EX_PRE_GA if !valkey => {
            input.string("hash listpack")?;
        }
        RDB_TYPE_HASH_LISTPACK_EX if !valkey => {
            input.take(8, "hash minimum expiry")?;
            input.string("hash listpack")?;
        }
        RDB_TYPE_ARRAY if !valkey => {
            return Err(unsupported(
                input,
                ty,
                "the layout of the Redis 8.8 array type is not documented",
            ));
        }
        _ => {
            return Err(input.err(ErrorKind::UnknownTag {
                tag: ty.0,
                version: ctx.version,
            }));
        }
    }
    Ok(())
}

fn decode<'data>(raw: &RawValue<'data>) -> Result<Value<'data>> {
    let ctx = raw.ctx;
    let limits = ctx.limits;
    let mut input = raw.input();
    let i = &mut input;
    let valkey = ctx.version.is_valkey();
    let blob = |i: &mut Input<'data>, what| Blob::read(i, what, &limits);
    let plain = |i: &mut Input<'data>, what, min| Plain::read(i, what, min, &limits);
    let list = |repr| Value::List(List::new(repr, limits));
    let set = |repr| Value::Set(Set::new(repr, limits));
    let offset = raw.offset;
    let zset = |repr| Value::ZSet(ZSet::new(repr, limits, offset));
    let hash = |repr, min_expire| Value::Hash(Hash::new(repr, limits, min_expire, offset));
    Ok(match raw.ty {
        RDB_TYPE_STRING => Value::String(i.string("string value")?.decode(&limits)?),
        RDB_TYPE_LIST => list(ListRepr::Linked(plain(i, "list length", 1)?)),
        RDB_TYPE_SET => set(SetRepr::Hashtable(plain(i, "set length", 1)?)),
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => zset(ZSetRepr::Skiplist {
            plain: plain(i, "zset length", 2)?,
            binary: raw.ty == RDB_TYPE_ZSET_2,
        }),
        RDB_TYPE_HASH => hash(HashRepr::Hashtable(plain(i, "hash length", 2)?), None),
        RDB_TYPE_MODULE_2 => Value::Module(module::read_module_value(i, &ctx)?),
        RDB_TYPE_HASH_ZIPMAP => hash(HashRepr::Zipmap(blob(i, "zipmap")?), None),
        RDB_TYPE_LIST_ZIPLIST => list(ListRepr::Ziplist(blob(i, "ziplist")?)),
        RDB_TYPE_SET_INTSET => set(SetRepr::Intset(blob(i, "intset")?)),
        RDB_TYPE_ZSET_ZIPLIST => zset(ZSetRepr::Ziplist(blob(i, "ziplist")?)),
        RDB_TYPE_HASH_ZIPLIST => hash(HashRepr::Ziplist(blob(i, "ziplist")?), None),
        RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => {
            let n = i.count("quicklist node count", 1, limits.max_elements)?;
            let mut nodes = Vec::with_capacity((n as usize).min(1024));
            let mut eager = 0u64;
            for _ in 0..n {
                let container = if raw.ty == RDB_TYPE_LIST_QUICKLIST {
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
                let offset = i.offset();
                let raw = i.string("quicklist node")?;
                if raw.is_empty() && container == NodeContainer::Plain {
                    return Err(Error::new(
                        offset,
                        ErrorKind::invalid("quicklist node", "empty plain node"),
                    ));
                }
                // Only LZF nodes cost memory once decoded (the others are
                // borrowed from the input).
                let lzf = matches!(raw, RawString::Lzf { .. });
                if lzf {
                    eager += raw.len();
                }
                if lzf && eager > EAGER_BYTES {
                    // Checked when it is read (decompressing it is the check).
                    nodes.push(ListNode::compressed(container, raw, offset, limits));
                } else {
                    let data = raw.decode(&limits)?;
                    nodes.push(ListNode::new(container, Blob { data, offset }));
                }
            }
            list(ListRepr::Quicklist(nodes))
        }
        RDB_TYPE_HASH_LISTPACK => hash(HashRepr::Listpack(blob(i, "listpack")?), None),
        RDB_TYPE_ZSET_LISTPACK => zset(ZSetRepr::Listpack(blob(i, "listpack")?)),
        RDB_TYPE_SET_LISTPACK => set(SetRepr::Listpack(blob(i, "listpack")?)),
        RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 | RDB_TYPE_STREAM_LISTPACKS_3 => {
            Value::Stream(Box::new(stream::read_stream(i, raw.ty, &ctx, true)?))
        }
        RDB_TYPE_STREAM_LISTPACKS_4 | RDB_TYPE_STREAM_LISTPACKS_5 if !valkey => {
            Value::Stream(Box::new(stream::read_stream(i, raw.ty, &ctx, true)?))
        }
        RDB_TYPE_VALKEY_HASH_2 if valkey => {
            hash(HashRepr::Valkey(plain(i, "hash length", 10)?), None)
        }
        RDB_TYPE_HASH_METADATA_PRE_GA => hash(
            HashRepr::Metadata {
                plain: plain(i, "hash length", 3)?,
                min_expire: None,
            },
            None,
        ),
        RDB_TYPE_HASH_LISTPACK_EX_PRE_GA if !valkey => hash(
            HashRepr::ListpackEx {
                blob: blob(i, "listpack")?,
            },
            None,
        ),
        RDB_TYPE_HASH_METADATA if !valkey => {
            let min = i.le_i64("hash minimum expiry")?;
            hash(
                HashRepr::Metadata {
                    plain: plain(i, "hash length", 3)?,
                    min_expire: Some(min),
                },
                Some(min),
            )
        }
        RDB_TYPE_HASH_LISTPACK_EX if !valkey => {
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
