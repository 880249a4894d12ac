//! Sorted sets: skiplists with text (type 3) or binary (5) scores, and
//! ziplists (12) or listpacks (17) of member/score pairs.

use crate::body::{Blob, Plain, read_item};
use crate::elements::{Elems, count_ok, try_for_each_ok};
use crate::error::{DisplayBytes, Error, ErrorKind, Result};
use crate::input::Input;
use crate::item::Item;
use crate::limits::Limits;

/// How the sorted set is stored.
#[derive(Clone, Debug)]
pub(crate) enum ZSetRepr<'data> {
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
        return Err(nan_score(offset));
    }
    Ok(v)
}

/// The error for a NaN score.
fn nan_score(offset: u64) -> Error {
    Error::new(
        offset,
        ErrorKind::invalid("zset score", "NaN is not a valid score"),
    )
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
                // Only NaN is refused: no need to convert the score.
                if let Item::Bytes(b) = &item
                    && crate::double::is_nan(b)
                {
                    return Err(nan_score(offset));
                }
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
fn read_string_double(input: &mut Input<'_>) -> Result<f64> {
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
    pub(crate) fn new(repr: ZSetRepr<'data>, limits: Limits, offset: u64) -> Self {
        ZSet {
            repr,
            limits,
            offset,
        }
    }

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
