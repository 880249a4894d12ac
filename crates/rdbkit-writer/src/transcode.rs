//! Compact-to-compact conversion for targets that do not load a value's
//! compact type but load an older compact equivalent (format reference §6.2):
//!
//! | source | target loads | written as |
//! |---|---|---|
//! | 16 HASH_LISTPACK | 13 (RDB 4+) | 13 HASH_ZIPLIST |
//! | 17 ZSET_LISTPACK | 12 (RDB 2+) | 12 ZSET_ZIPLIST, when sorted by (score, member) |
//! | 20 SET_LISTPACK | 11 (RDB 2+) | 11 SET_INTSET, when every member is a canonical integer and there are at most 512 |
//! | 18 QUICKLIST_2 | 14 (RDB 7+) | 14 QUICKLIST, node for node, when no node is PLAIN |
//! | 18 / 14 quicklists | 10 (RDB 2-6) | 10 LIST_ZIPLIST, for at most 512 elements of at most 64 bytes |
//! | 10/12/13 ziplists of RDB 6+ | RDB 2-5 | the same type, with only the 16/32/64-bit integer forms |
//!
//! Anything that does not fit (the conditions above, a blob over 4 GiB, a
//! source that does not walk cleanly) falls back to the plain type, which the
//! caller writes through the decoder (and which reports a damaged source
//! exactly as before). The source blob is walked once; entries go straight
//! into a [`ZiplistEncoder`] whose buffer, like every other buffer here, is
//! reused from value to value. The new blob is LZF-compressed only when the
//! source blob was (and the conversion compresses at all).

use rdbkit_parser::format::*;
use rdbkit_parser::listpack::{Listpack, ListpackEntries};
use rdbkit_parser::ziplist::{Ziplist, ZiplistEntries};
use rdbkit_parser::{Item, RawValue, RdbType, RdbVersion};

use crate::intset::{SET_MAX_INTSET_ENTRIES, encode_intset};
use crate::length::encode_len;
use crate::rules::type_known;
use crate::string::write_blob_string;
use crate::ziplist::{IntForms, ZiplistEncoder};

/// Redis 2.6 - 3.0 defaults (`list-max-ziplist-entries 512`,
/// `list-max-ziplist-value 64`): a list written as one ziplist (type 10)
/// stays within what those servers would have built themselves.
const LIST_MAX_ZIPLIST_ENTRIES: u64 = 512;
const LIST_MAX_ZIPLIST_VALUE: usize = 64;

/// The compact type that a value of type `ty` stored by a `source` file is
/// transcoded to for `target` (see the module table), or `None` when there
/// is none and the plain type is written. Meant for values the target cannot
/// take as they are ([`crate::type_copyable`] is false).
pub fn compact_type(source: RdbVersion, ty: RdbType, target: RdbVersion) -> Option<RdbType> {
    ty.kind_in(source)?;
    let knows = |t: RdbType| type_known(target, t);
    let to = match ty {
        RDB_TYPE_HASH_LISTPACK => RDB_TYPE_HASH_ZIPLIST,
        RDB_TYPE_ZSET_LISTPACK => RDB_TYPE_ZSET_ZIPLIST,
        RDB_TYPE_SET_LISTPACK => RDB_TYPE_SET_INTSET,
        RDB_TYPE_LIST_QUICKLIST_2 if knows(RDB_TYPE_LIST_QUICKLIST) => RDB_TYPE_LIST_QUICKLIST,
        RDB_TYPE_LIST_QUICKLIST_2 | RDB_TYPE_LIST_QUICKLIST => RDB_TYPE_LIST_ZIPLIST,
        RDB_TYPE_LIST_ZIPLIST | RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_HASH_ZIPLIST => ty,
        _ => return None,
    };
    knows(to).then_some(to)
}

/// What [`Transcoder::run`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transcoded {
    /// The body of a value of this type is in [`Transcoder::body`].
    Written(RdbType),
    /// The source holds no elements (the key must not be written).
    Empty,
    /// The contents do not fit the compact type (or the source does not walk
    /// cleanly): write the plain type through the decoder.
    Fallback,
}

/// Buffers reused from value to value.
#[derive(Debug, Default)]
pub(crate) struct Transcoder {
    zl: ZiplistEncoder,
    /// The decompressed source blob.
    src: Vec<u8>,
    /// The body written: `body[start..]`.
    body: Vec<u8>,
    start: usize,
    /// Intset members, then the intset.
    ints: Vec<i64>,
    blob: Vec<u8>,
    /// The previous member of a sorted set (order check).
    prev_member: Vec<u8>,
}

/// An RDB string as stored in a value body.
enum Src<'a> {
    Raw(&'a [u8]),
    Lzf(&'a [u8], u64),
}

/// A cursor over a value body; `None` on anything unexpected.
struct Cur<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: u64) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn be(&mut self, n: u64) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |v, &b| (v << 8) | u64::from(b)),
        )
    }

    /// A plain length (not a string encoding).
    fn len(&mut self) -> Option<u64> {
        let b = self.byte()?;
        match b >> 6 {
            0 => Some(u64::from(b & 0x3f)),
            1 => Some((u64::from(b & 0x3f) << 8) | u64::from(self.byte()?)),
            _ if b == RDB_32BITLEN => self.be(4),
            _ if b == RDB_64BITLEN => self.be(8),
            _ => None,
        }
    }

    /// A raw or LZF string (an integer-encoded string is never a blob).
    fn string(&mut self) -> Option<Src<'a>> {
        let b = *self.data.get(self.pos)?;
        if b >> 6 == RDB_ENCVAL {
            if b & 0x3f != RDB_ENC_LZF {
                return None;
            }
            self.pos += 1;
            let clen = self.len()?;
            let len = self.len()?;
            return Some(Src::Lzf(self.take(clen)?, len));
        }
        let n = self.len()?;
        Some(Src::Raw(self.take(n)?))
    }

    fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }
}

/// The blob bytes (decompressed into `scratch` when needed) and whether they
/// were compressed.
fn load<'s>(src: Src<'s>, scratch: &'s mut Vec<u8>, max_len: u64) -> Option<(&'s [u8], bool)> {
    match src {
        Src::Raw(b) => Some((b, false)),
        Src::Lzf(c, len) => {
            if len == 0 || len > max_len {
                return None;
            }
            scratch.clear();
            rdbkit_parser::lzf::decompress_into(c, scratch, usize::try_from(len).ok()?).ok()?;
            Some((scratch.as_slice(), true))
        }
    }
}

/// The entries of a listpack or ziplist blob.
enum Items<'a> {
    Lp(ListpackEntries<'a>),
    Zl(ZiplistEntries<'a>),
}

impl<'a> Items<'a> {
    fn of(blob: &'a [u8], listpack: bool) -> Option<Items<'a>> {
        Some(if listpack {
            Items::Lp(Listpack::parse(blob, 0).ok()?.entries())
        } else {
            Items::Zl(Ziplist::parse(blob, 0).ok()?.entries())
        })
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = rdbkit_parser::Result<Item<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Items::Lp(l) => l.next(),
            Items::Zl(z) => z.next(),
        }
    }
}

/// The decimal text of `v` in `buf`.
fn int_text(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    use std::io::Write;
    let mut c = std::io::Cursor::new(buf.as_mut_slice());
    // 20 bytes hold every i64.
    let _ = write!(c, "{v}");
    let n = c.position() as usize;
    buf.get(..n).unwrap_or_default()
}

/// A score stored as a listpack/ziplist element, as Redis reads it
/// (`zzlGetScore`): integers convert, text goes through `strtod` (0 where
/// no number starts it). `None` for NaN.
fn score_of(item: &Item<'_>) -> Option<f64> {
    let v = match item {
        Item::Int(i) => *i as f64,
        Item::Bytes(b) => rdbkit_parser::double::strtod(b),
    };
    (!v.is_nan()).then_some(v)
}

/// What every step needs to know about the output.
#[derive(Clone, Copy)]
struct Out {
    forms: IntForms,
    target: RdbVersion,
    /// LZF-compress blobs whose source was compressed.
    compress: bool,
    /// The largest decompressed source blob accepted.
    max_len: u64,
}

/// Largest stored value transcoded (see [`Transcoder::run`]).
pub(crate) const TRANSCODE_MAX: usize = 32 << 20;

/// How the entries of one blob are checked while they are copied.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// List elements.
    Elements,
    /// Field/value pairs: an even count.
    Pairs,
    /// Member/score pairs sorted by (score, member), members distinct.
    SortedPairs,
}

impl Transcoder {
    /// The body written by the last successful [`Transcoder::run`].
    pub(crate) fn body(&self) -> &[u8] {
        self.body.get(self.start..).unwrap_or_default()
    }

    /// Transcode the value `raw` (of a type for which [`compact_type`] gave
    /// `to`) for `target`.
    pub(crate) fn run(
        &mut self,
        raw: &RawValue<'_>,
        to: RdbType,
        target: RdbVersion,
        compress: bool,
    ) -> Transcoded {
        self.body.clear();
        self.start = 0;
        // The new body is built in memory before it is written: a huge
        // value (a multi-gigabyte list) goes the plain way instead, which
        // writes element by element and holds none of it.
        if raw.body().len() > TRANSCODE_MAX {
            return Transcoded::Fallback;
        }
        let o = Out {
            forms: IntForms::for_target(target),
            target,
            compress,
            max_len: raw.limits().max_string_len,
        };
        let mut cur = Cur {
            data: raw.body(),
            pos: 0,
        };
        let from = raw.ty();
        let r = match (from, to) {
            (RDB_TYPE_LIST_QUICKLIST_2, RDB_TYPE_LIST_QUICKLIST) => self.quicklist(&mut cur, o),
            (RDB_TYPE_LIST_QUICKLIST_2 | RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_ZIPLIST) => {
                self.one_list_ziplist(&mut cur, from == RDB_TYPE_LIST_QUICKLIST_2, o)
            }
            (RDB_TYPE_SET_LISTPACK, RDB_TYPE_SET_INTSET) => self.intset(&mut cur, o),
            (
                RDB_TYPE_HASH_LISTPACK
                | RDB_TYPE_ZSET_LISTPACK
                | RDB_TYPE_LIST_ZIPLIST
                | RDB_TYPE_ZSET_ZIPLIST
                | RDB_TYPE_HASH_ZIPLIST,
                _,
            ) => {
                let shape = match to {
                    RDB_TYPE_HASH_ZIPLIST => Shape::Pairs,
                    RDB_TYPE_ZSET_ZIPLIST => Shape::SortedPairs,
                    _ => Shape::Elements,
                };
                let listpack = matches!(from, RDB_TYPE_HASH_LISTPACK | RDB_TYPE_ZSET_LISTPACK);
                self.one_blob(&mut cur, listpack, shape, to, o)
            }
            _ => None,
        };
        match r {
            Some(t) if cur.at_end() => t,
            _ => Transcoded::Fallback,
        }
    }

    /// A value whose body is one listpack or ziplist blob, as one ziplist.
    fn one_blob(
        &mut self,
        cur: &mut Cur<'_>,
        listpack: bool,
        shape: Shape,
        to: RdbType,
        o: Out,
    ) -> Option<Transcoded> {
        let (blob, was_lzf) = load(cur.string()?, &mut self.src, o.max_len)?;
        self.zl.clear(o.forms);
        let mut items = Items::of(blob, listpack)?;
        match shape {
            Shape::Elements => {
                for it in items {
                    self.zl.push_item(&it.ok()?);
                }
            }
            Shape::Pairs => {
                while let Some(f) = items.next() {
                    let v = items.next()?.ok()?;
                    self.zl.push_item(&f.ok()?);
                    self.zl.push_item(&v);
                }
            }
            Shape::SortedPairs => {
                let mut prev_score: Option<f64> = None;
                let mut buf = [0u8; 20];
                while let Some(m) = items.next() {
                    let m = m.ok()?;
                    let s = items.next()?.ok()?;
                    let score = score_of(&s)?;
                    let member: &[u8] = match &m {
                        Item::Int(i) => int_text(*i, &mut buf),
                        Item::Bytes(b) => b,
                    };
                    if let Some(p) = prev_score {
                        let ordered = p < score || (p == score && *self.prev_member < *member);
                        if !ordered {
                            return None;
                        }
                    }
                    prev_score = Some(score);
                    self.prev_member.clear();
                    self.prev_member.extend_from_slice(member);
                    self.zl.push_item(&m);
                    self.zl.push_item(&s);
                }
            }
        }
        if self.zl.is_empty() {
            return Some(Transcoded::Empty);
        }
        self.write_ziplist(was_lzf, o)?;
        Some(Transcoded::Written(to))
    }

    /// Finish the ziplist built so far and append it to the body as a blob
    /// string (LZF-compressed when the source blob was and the options allow).
    fn write_ziplist(&mut self, was_lzf: bool, o: Out) -> Option<()> {
        let zl = self.zl.finish().ok()?;
        write_blob_string(&mut self.body, zl, was_lzf && o.compress, o.target).ok()
    }

    /// A quicklist v2 as a quicklist v1: each packed node's listpack becomes
    /// a ziplist node; a PLAIN node makes the whole list fall back.
    fn quicklist(&mut self, cur: &mut Cur<'_>, o: Out) -> Option<Transcoded> {
        const ROOM: usize = 9;
        let n = cur.len()?;
        self.body.resize(ROOM, 0);
        let mut written = 0u64;
        for _ in 0..n {
            if cur.len()? != QUICKLIST_NODE_CONTAINER_PACKED {
                return None;
            }
            let (blob, was_lzf) = load(cur.string()?, &mut self.src, o.max_len)?;
            self.zl.clear(o.forms);
            for it in Items::of(blob, true)? {
                self.zl.push_item(&it.ok()?);
            }
            if self.zl.is_empty() {
                // Loaders skip empty nodes; so does the output.
                continue;
            }
            self.write_ziplist(was_lzf, o)?;
            written += 1;
        }
        if written == 0 {
            return Some(Transcoded::Empty);
        }
        let mut len = [0u8; 9];
        let used = encode_len(written, o.target, &mut len).ok()?;
        self.start = ROOM - used;
        self.body
            .get_mut(self.start..ROOM)?
            .copy_from_slice(len.get(..used)?);
        Some(Transcoded::Written(RDB_TYPE_LIST_QUICKLIST))
    }

    /// A quicklist (v1 or v2) as a single ziplist (type 10, RDB < 7), if it
    /// is small enough for what Redis 2.6 - 3.0 would keep as a ziplist.
    fn one_list_ziplist(&mut self, cur: &mut Cur<'_>, v2: bool, o: Out) -> Option<Transcoded> {
        let n = cur.len()?;
        self.zl.clear(o.forms);
        let mut any_lzf = false;
        for _ in 0..n {
            let container = if v2 {
                cur.len()?
            } else {
                QUICKLIST_NODE_CONTAINER_PACKED
            };
            let (blob, was_lzf) = load(cur.string()?, &mut self.src, o.max_len)?;
            any_lzf |= was_lzf;
            let push = |zl: &mut ZiplistEncoder, it: &Item<'_>| -> Option<()> {
                if it.len() > LIST_MAX_ZIPLIST_VALUE || zl.len() >= LIST_MAX_ZIPLIST_ENTRIES {
                    return None;
                }
                zl.push_item(it);
                Some(())
            };
            match container {
                QUICKLIST_NODE_CONTAINER_PACKED => {
                    for it in Items::of(blob, v2)? {
                        push(&mut self.zl, &it.ok()?)?;
                    }
                }
                QUICKLIST_NODE_CONTAINER_PLAIN if !blob.is_empty() => {
                    push(&mut self.zl, &Item::from(blob))?;
                }
                _ => return None,
            }
        }
        if self.zl.is_empty() {
            return Some(Transcoded::Empty);
        }
        self.write_ziplist(any_lzf, o)?;
        Some(Transcoded::Written(RDB_TYPE_LIST_ZIPLIST))
    }

    /// A set listpack as an intset, when every member is a canonical integer
    /// and there are at most [`SET_MAX_INTSET_ENTRIES`].
    fn intset(&mut self, cur: &mut Cur<'_>, o: Out) -> Option<Transcoded> {
        let (blob, was_lzf) = load(cur.string()?, &mut self.src, o.max_len)?;
        self.ints.clear();
        for it in Items::of(blob, true)? {
            if self.ints.len() >= SET_MAX_INTSET_ENTRIES {
                return None;
            }
            self.ints.push(it.ok()?.as_i64()?);
        }
        if self.ints.is_empty() {
            return Some(Transcoded::Empty);
        }
        self.blob.clear();
        encode_intset(&mut self.ints, &mut self.blob).ok()?;
        write_blob_string(&mut self.body, &self.blob, was_lzf && o.compress, o.target).ok()?;
        Some(Transcoded::Written(RDB_TYPE_SET_INTSET))
    }
}
