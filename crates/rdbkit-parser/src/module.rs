//! Module data: MODULE_2 values, MODULE_AUX records and Redis 8.6 key
//! metadata, all framed as module-opcode items ended by `EOF` (0).
//!
//! The framing is what lets a reader without the module skip its data
//! (`rdbLoadCheckModuleValue`): each item is `LEN opcode` and a payload whose
//! size the opcode decides. The item bytes are kept raw and opaque.

use std::fmt;

use crate::error::{ErrorKind, Result};
use crate::format::*;
use crate::input::Input;
use crate::limits::Ctx;
use crate::string::RawString;

const MODULE_CHARSET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A module type id: a 9-character name (6 bits per character) and a 10-bit
/// encoding version.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModuleId(pub u64);

impl ModuleId {
    /// The 9-character module type name (e.g. `ReJSON-RL`, `MBbloom--`).
    pub fn name(&self) -> String {
        (0..9)
            .map(|i| {
                let shift = 10 + 6 * (8 - i);
                let idx = ((self.0 >> shift) & 63) as usize;
                MODULE_CHARSET.get(idx).copied().unwrap_or(b'?') as char
            })
            .collect()
    }

    /// The module's encoding version (0-1023).
    pub fn encver(&self) -> u16 {
        (self.0 & 1023) as u16
    }

    /// Build an id from a 9-character name and an encoding version; `None` if
    /// the name has another length or characters outside the module charset.
    pub fn from_name(name: &str, encver: u16) -> Option<ModuleId> {
        let b = name.as_bytes();
        if b.len() != 9 || encver > 1023 {
            return None;
        }
        let mut id = 0u64;
        for &c in b {
            let idx = MODULE_CHARSET.iter().position(|&x| x == c)? as u64;
            id = (id << 6) | idx;
        }
        Some(ModuleId((id << 10) | u64::from(encver)))
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (encver {})", self.name(), self.encver())
    }
}

impl fmt::Debug for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One module-opcode item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModuleItem<'data> {
    /// SINT.
    Sint(i64),
    /// UINT.
    Uint(u64),
    /// FLOAT.
    Float(f32),
    /// DOUBLE.
    Double(f64),
    /// STRING.
    String(RawString<'data>),
}

/// A module value (type 7), kept opaque.
#[derive(Clone, Copy, Debug)]
pub struct ModuleValue<'data> {
    /// The module type.
    pub id: ModuleId,
    items: &'data [u8],
    offset: u64,
    ctx: Ctx,
}

impl<'data> ModuleValue<'data> {
    /// The raw item bytes, including the final EOF item.
    pub fn raw_items(&self) -> &'data [u8] {
        self.items
    }

    /// The limits the value was read with (for decoding its strings).
    pub(crate) fn limits(&self) -> crate::Limits {
        self.ctx.limits
    }

    /// The items, decoded as far as the framing allows.
    pub fn items(&self) -> Result<Vec<ModuleItem<'data>>> {
        let mut input = Input::new(self.items, self.offset);
        let mut out = Vec::new();
        walk_items(&mut input, &self.ctx, |it| out.push(it))?;
        Ok(out)
    }
}

/// Walk items up to and including the EOF item.
fn walk_items<'data>(
    input: &mut Input<'data>,
    ctx: &Ctx,
    mut f: impl FnMut(ModuleItem<'data>),
) -> Result<u64> {
    let mut n = 0u64;
    loop {
        let at = input.pos();
        let op = input.len("module opcode")?;
        let item = match op {
            RDB_MODULE_OPCODE_EOF => return Ok(n),
            RDB_MODULE_OPCODE_SINT => ModuleItem::Sint(input.len("module SINT")? as i64),
            RDB_MODULE_OPCODE_UINT => ModuleItem::Uint(input.len("module UINT")?),
            RDB_MODULE_OPCODE_FLOAT => ModuleItem::Float(input.le_f32("module FLOAT")?),
            RDB_MODULE_OPCODE_DOUBLE => ModuleItem::Double(input.le_f64("module DOUBLE")?),
            RDB_MODULE_OPCODE_STRING => ModuleItem::String(input.string("module STRING")?),
            other => {
                return Err(input.err_at(
                    at,
                    ErrorKind::invalid(
                        "module data",
                        format!("item opcode {other}: expected 0 (EOF) to 5 (STRING)"),
                    ),
                ));
            }
        };
        f(item);
        n += 1;
        if n > ctx.limits.max_elements {
            return Err(input.err(ErrorKind::LimitExceeded {
                what: "module item count",
                requested: n,
                limit: ctx.limits.max_elements,
            }));
        }
    }
}

fn module_id(input: &mut Input<'_>) -> Result<ModuleId> {
    Ok(ModuleId(input.len("module id")?))
}

pub(crate) fn skip_module_value(input: &mut Input<'_>, ctx: &Ctx) -> Result<()> {
    module_id(input)?;
    walk_items(input, ctx, |_| {})?;
    Ok(())
}

pub(crate) fn read_module_value<'data>(
    input: &mut Input<'data>,
    ctx: &Ctx,
) -> Result<ModuleValue<'data>> {
    let id = module_id(input)?;
    let start = input.pos();
    let offset = input.offset();
    walk_items(input, ctx, |_| {})?;
    Ok(ModuleValue {
        id,
        items: input.since(start),
        offset,
        ctx: *ctx,
    })
}

/// A MODULE_AUX record's contents.
#[derive(Clone, Copy, Debug)]
pub struct ModuleAux<'data> {
    /// The module type.
    pub id: ModuleId,
    /// 1 = written before the keyspace, 2 = after.
    pub when: u64,
    /// The raw item bytes, including the final EOF item.
    pub items: &'data [u8],
}

pub(crate) fn read_module_aux<'data>(
    input: &mut Input<'data>,
    ctx: &Ctx,
) -> Result<ModuleAux<'data>> {
    let id = module_id(input)?;
    let at = input.pos();
    let when_op = input.len("module aux when opcode")?;
    if when_op != RDB_MODULE_OPCODE_UINT {
        return Err(input.err_at(
            at,
            ErrorKind::invalid(
                "module aux",
                format!("when opcode {when_op}, expected 2 (UINT)"),
            ),
        ));
    }
    let when = input.len("module aux when")?;
    let start = input.pos();
    walk_items(input, ctx, |_| {})?;
    Ok(ModuleAux {
        id,
        when,
        items: input.since(start),
    })
}

/// Redis 8.6 key metadata (opcode 243 in `REDIS` files), kept opaque.
#[derive(Clone, Copy, Debug)]
pub struct KeyMeta<'data> {
    /// Number of metadata classes.
    pub classes: u64,
    /// The raw bytes after the opcode.
    pub raw: &'data [u8],
}

pub(crate) fn read_key_meta<'data>(input: &mut Input<'data>, ctx: &Ctx) -> Result<KeyMeta<'data>> {
    let start = input.pos();
    let at = input.pos();
    let classes = input.len("key metadata class count")?;
    if !(1..=7).contains(&classes) {
        return Err(input.err_at(
            at,
            ErrorKind::invalid(
                "key metadata",
                format!("{classes} classes, expected 1 to 7"),
            ),
        ));
    }
    for _ in 0..classes {
        input.le_u32("key metadata class spec")?;
        walk_items(input, ctx, |_| {})?;
    }
    Ok(KeyMeta {
        classes,
        raw: input.since(start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ids_round_trip() {
        for name in ["ReJSON-RL", "MBbloom--", "TSDB-TYPE", "MBbloomCF"] {
            let id = ModuleId::from_name(name, 3).unwrap();
            assert_eq!(id.name(), name);
            assert_eq!(id.encver(), 3);
        }
        assert!(ModuleId::from_name("short", 0).is_none());
    }
}
