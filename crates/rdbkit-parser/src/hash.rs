//! Hashes: hashtables (type 4), zipmaps (9), ziplists (13) and listpacks
//! (16) of field/value pairs, and the encodings with per-field TTLs: Redis's
//! listpacks of triplets (23, 25) and hashtables with TTLs (22, 24), and
//! Valkey's own type 22.

use crate::body::{Blob, Plain, read_item};
use crate::elements::{Elems, count_ok, try_for_each_ok};
use crate::error::{Error, ErrorKind, Result};
use crate::input::Input;
use crate::item::Item;
use crate::limits::Limits;
use crate::zipmap::Zipmap;

/// How the hash is stored.
#[derive(Clone, Debug)]
pub(crate) enum HashRepr<'data> {
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
    // Always inlined, like the element cursor's `next_item`: see
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
    pub(crate) fn new(
        repr: HashRepr<'data>,
        limits: Limits,
        min_expire: Option<i64>,
        offset: u64,
    ) -> Self {
        Hash {
            repr,
            limits,
            min_expire,
            offset,
        }
    }

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
