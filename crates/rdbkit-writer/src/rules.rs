//! What each target's loader knows, and what may therefore be copied byte
//! for byte: the type ids and opcodes a version accepts, and whether a value
//! or a whole record of a source file loads unchanged in a target file.
//!
//! The writer (to refuse a byte-for-byte copy or key metadata the target
//! cannot load), the transcoder (to pick an older compact type the target
//! knows) and the converter all ask these questions. They are kept apart
//! from the converter, which itself uses the writer and the transcoder, so
//! that no module depends on one that depends on it. The converter
//! re-exports them (`rdbkit_writer::convert::type_known`).

use rdbkit_parser::format::*;
use rdbkit_parser::{Entry, Record, RecordKind};

use crate::scan;

/// The lowest opcode ([`RDB_OPCODE_UPDATE`], 242): every smaller tag is a
/// value type that starts a key record.
const MIN_OPCODE: u8 = RDB_OPCODE_UPDATE.0;

/// Whether a loader of `target` accepts the value type id `ty` (in the
/// target's own namespace: 22 is Redis's pre-GA TTL hash in `REDIS` files
/// and Valkey's HASH_2 in `VALKEY` files).
pub fn type_known(target: RdbVersion, ty: RdbType) -> bool {
    if target.is_valkey() {
        // Valkey 9: what RDB 11 knows, plus its own HASH_2.
        return matches!(
            ty,
            RDB_TYPE_STRING
                | RDB_TYPE_LIST
                | RDB_TYPE_SET
                | RDB_TYPE_ZSET
                | RDB_TYPE_HASH
                | RDB_TYPE_ZSET_2
                | RDB_TYPE_MODULE_2
                | RDB_TYPE_HASH_ZIPMAP
                | RDB_TYPE_LIST_ZIPLIST
                | RDB_TYPE_SET_INTSET
                | RDB_TYPE_ZSET_ZIPLIST
                | RDB_TYPE_HASH_ZIPLIST
                | RDB_TYPE_LIST_QUICKLIST
                | RDB_TYPE_STREAM_LISTPACKS
                | RDB_TYPE_HASH_LISTPACK
                | RDB_TYPE_ZSET_LISTPACK
                | RDB_TYPE_LIST_QUICKLIST_2
                | RDB_TYPE_STREAM_LISTPACKS_2
                | RDB_TYPE_SET_LISTPACK
                | RDB_TYPE_STREAM_LISTPACKS_3
                | RDB_TYPE_VALKEY_HASH_2
        );
    }
    let v = target.0;
    match ty {
        RDB_TYPE_STRING | RDB_TYPE_LIST | RDB_TYPE_SET | RDB_TYPE_ZSET | RDB_TYPE_HASH => true,
        RDB_TYPE_ZSET_2 | RDB_TYPE_MODULE_2 => v >= 8,
        // 4.0 release-candidate module values: read by 4.0-7.0 only.
        RDB_TYPE_MODULE_PRE_GA => (8..=10).contains(&v),
        RDB_TYPE_HASH_ZIPMAP
        | RDB_TYPE_LIST_ZIPLIST
        | RDB_TYPE_SET_INTSET
        | RDB_TYPE_ZSET_ZIPLIST => v >= 2,
        RDB_TYPE_HASH_ZIPLIST => v >= 4,
        RDB_TYPE_LIST_QUICKLIST => v >= 7,
        RDB_TYPE_STREAM_LISTPACKS => v >= 9,
        RDB_TYPE_HASH_LISTPACK
        | RDB_TYPE_ZSET_LISTPACK
        | RDB_TYPE_LIST_QUICKLIST_2
        | RDB_TYPE_STREAM_LISTPACKS_2 => v >= 10,
        RDB_TYPE_SET_LISTPACK | RDB_TYPE_STREAM_LISTPACKS_3 => v >= 11,
        RDB_TYPE_HASH_METADATA_PRE_GA
        | RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
        | RDB_TYPE_HASH_METADATA
        | RDB_TYPE_HASH_LISTPACK_EX => v >= 12,
        RDB_TYPE_STREAM_LISTPACKS_4 => v >= 13,
        RDB_TYPE_STREAM_LISTPACKS_5 | RDB_TYPE_ARRAY => v >= 14,
        _ => false,
    }
}

/// Whether a loader of `target` accepts the opcode `op` (243 means KEY_META
/// in `REDIS` files and SLOT_IMPORT in `VALKEY` files; either counts).
pub fn opcode_known(target: RdbVersion, op: Opcode) -> bool {
    let valkey = target.is_valkey();
    let v = target.redis_level();
    match op {
        RDB_OPCODE_EOF | RDB_OPCODE_SELECTDB | RDB_OPCODE_EXPIRETIME => true,
        RDB_OPCODE_EXPIRETIME_MS => v >= 3,
        RDB_OPCODE_AUX | RDB_OPCODE_RESIZEDB => v >= 7,
        RDB_OPCODE_MODULE_AUX | RDB_OPCODE_FREQ | RDB_OPCODE_IDLE => v >= 9,
        // Written by 7.0 release candidates, read by 7.0.x, refused by 7.2+.
        RDB_OPCODE_FUNCTION_PRE_GA => !valkey && v == 10,
        RDB_OPCODE_FUNCTION2 => v >= 10,
        RDB_OPCODE_SLOT_INFO => !valkey && v >= 12,
        // The same byte: SLOT_IMPORT in every Valkey 9 file, KEY_META from
        // Redis RDB 13.
        RDB_OPCODE_SLOT_IMPORT if valkey => true,
        RDB_OPCODE_KEY_META => v >= 13,
        RDB_OPCODE_UPDATE => valkey && target.0 >= 81,
        _ => false,
    }
}

/// Whether the target has Redis's KEY_META prefix (Redis RDB 13+).
pub fn key_meta_known(target: RdbVersion) -> bool {
    !target.is_valkey() && target.0 >= 13
}

/// Whether a value of type `ty` stored by a `source` file may be copied
/// unchanged into a `target` file, judging by the type alone (see
/// [`value_copyable`] for the 64-bit length check).
pub fn type_copyable(source: RdbVersion, ty: RdbType, target: RdbVersion) -> bool {
    if !type_known(target, ty) || ty.kind_in(source).is_none() {
        return false;
    }
    match ty {
        // The colliding ids (22-28) mean the same only within one namespace
        // (22 is also RDB_TYPE_VALKEY_HASH_2).
        RDB_TYPE_HASH_METADATA_PRE_GA
        | RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
        | RDB_TYPE_HASH_METADATA
        | RDB_TYPE_HASH_LISTPACK_EX
        | RDB_TYPE_STREAM_LISTPACKS_4
        | RDB_TYPE_STREAM_LISTPACKS_5
        | RDB_TYPE_ARRAY
            if source.is_valkey() != target.is_valkey() =>
        {
            false
        }
        // Redis 7.4 release-candidate TTL hashes: rewritten as 24 (lossless).
        RDB_TYPE_HASH_METADATA_PRE_GA | RDB_TYPE_HASH_LISTPACK_EX_PRE_GA if !target.is_valkey() => {
            false
        }
        // Ziplists of RDB 6+ may hold 24-bit / 8-bit / immediate integers
        // that 2.4 loaders (RDB <= 5) cannot read.
        RDB_TYPE_LIST_ZIPLIST | RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_HASH_ZIPLIST => {
            !(target.0 <= 5 && source.redis_level() >= 6)
        }
        _ => true,
    }
}

/// Whether a value (type and body bytes as stored by `source`) may be
/// copied unchanged into a `target` file: [`type_copyable`], and below RDB 8
/// no 64-bit length inside.
pub fn value_copyable(source: RdbVersion, ty: RdbType, body: &[u8], target: RdbVersion) -> bool {
    type_copyable(source, ty, target)
        && (!needs_len_scan(source, target) || scan::body_is_len32(ty, body))
}

fn needs_len_scan(source: RdbVersion, target: RdbVersion) -> bool {
    target.redis_level() < 8 && source.redis_level() >= 8
}

/// Where the key string of an entry record sits in its raw bytes, and
/// whether its prefixes are all loadable by `target`.
fn entry_prefixes_ok(e: &Entry<'_>, raw: &[u8], target: RdbVersion) -> Option<(usize, usize)> {
    let level = target.redis_level();
    let mut pos = 0usize;
    loop {
        let tag = *raw.get(pos)?;
        pos += 1;
        match Opcode(tag) {
            RDB_OPCODE_EXPIRETIME_MS if level >= 3 => pos += 8,
            RDB_OPCODE_EXPIRETIME => pos += 4,
            RDB_OPCODE_IDLE if level >= 9 => {
                let b = *raw.get(pos)?;
                pos += match b >> 6 {
                    0 => 1,
                    1 => 2,
                    _ if b == RDB_32BITLEN => 5,
                    _ if b == RDB_64BITLEN && level >= 8 => 9,
                    _ => return None,
                };
            }
            RDB_OPCODE_FREQ if level >= 9 => pos += 1,
            RDB_OPCODE_KEY_META if key_meta_known(target) => pos += e.key_meta?.raw.len(),
            _ if tag < MIN_OPCODE => break,
            _ => return None,
        }
    }
    let key_end = raw.len().checked_sub(e.value.body().len())?;
    (pos <= key_end).then_some((pos, key_end))
}

/// Whether a whole record of a `source` file may be copied byte for byte
/// into a `target` file.
pub fn record_copyable(record: &Record<'_>, source: RdbVersion, target: RdbVersion) -> bool {
    let level = target.redis_level();
    let scan = needs_len_scan(source, target);
    let after_tag = record.raw.get(1..).unwrap_or_default();
    match &record.kind {
        RecordKind::Aux { .. } => level >= 7 && (!scan || scan::strings_are_len32(after_tag, 2)),
        RecordKind::SelectDb { .. } => !scan || scan::lens_are_len32(after_tag, 1),
        RecordKind::ResizeDb { .. } => level >= 7 && (!scan || scan::lens_are_len32(after_tag, 2)),
        RecordKind::SlotInfo { .. } => !target.is_valkey() && level >= 12,
        RecordKind::ModuleAux(_) => level >= 9,
        RecordKind::Function(f) => !f.pre_ga && level >= 10,
        RecordKind::SlotImport { .. } => target.is_valkey() && source.is_valkey(),
        RecordKind::Entry(e) => {
            let Some((key_start, key_end)) = entry_prefixes_ok(e, record.raw, target) else {
                return false;
            };
            if scan {
                let key = record.raw.get(key_start..key_end).unwrap_or_default();
                if !scan::string_is_len32(key) {
                    return false;
                }
            }
            value_copyable(source, e.value.ty(), e.value.body(), target)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_table_matches_the_reference() {
        let v = RdbVersion;
        assert!(type_known(v(1), RDB_TYPE_HASH) && !type_known(v(1), RDB_TYPE_SET_INTSET));
        assert!(!type_known(v(7), RDB_TYPE_ZSET_2) && type_known(v(8), RDB_TYPE_ZSET_2));
        assert!(
            !type_known(v(3), RDB_TYPE_HASH_ZIPLIST) && type_known(v(4), RDB_TYPE_HASH_ZIPLIST)
        );
        assert!(
            !type_known(v(6), RDB_TYPE_LIST_QUICKLIST) && type_known(v(7), RDB_TYPE_LIST_QUICKLIST)
        );
        assert!(
            !type_known(v(8), RDB_TYPE_STREAM_LISTPACKS)
                && type_known(v(9), RDB_TYPE_STREAM_LISTPACKS)
        );
        assert!(
            !type_known(v(9), RDB_TYPE_HASH_LISTPACK)
                && type_known(v(10), RDB_TYPE_STREAM_LISTPACKS_2)
        );
        assert!(
            !type_known(v(10), RDB_TYPE_SET_LISTPACK)
                && type_known(v(11), RDB_TYPE_STREAM_LISTPACKS_3)
        );
        assert!(
            !type_known(v(11), RDB_TYPE_HASH_METADATA)
                && type_known(v(12), RDB_TYPE_HASH_LISTPACK_EX)
        );
        assert!(
            !type_known(v(12), RDB_TYPE_STREAM_LISTPACKS_4)
                && type_known(v(13), RDB_TYPE_STREAM_LISTPACKS_4)
        );
        assert!(
            type_known(v(80), RDB_TYPE_VALKEY_HASH_2) && type_known(v(80), RDB_TYPE_SET_LISTPACK)
        );
        assert!(
            !type_known(v(80), RDB_TYPE_HASH_METADATA)
                && !type_known(v(80), RDB_TYPE_STREAM_LISTPACKS_4)
        );
    }

    #[test]
    fn opcode_table_matches_the_reference() {
        let v = RdbVersion;
        assert!(
            !opcode_known(v(2), RDB_OPCODE_EXPIRETIME_MS)
                && opcode_known(v(3), RDB_OPCODE_EXPIRETIME_MS)
        );
        assert!(!opcode_known(v(6), RDB_OPCODE_AUX) && opcode_known(v(7), RDB_OPCODE_RESIZEDB));
        assert!(!opcode_known(v(8), RDB_OPCODE_IDLE) && opcode_known(v(9), RDB_OPCODE_MODULE_AUX));
        assert!(
            !opcode_known(v(9), RDB_OPCODE_FUNCTION2) && opcode_known(v(10), RDB_OPCODE_FUNCTION2)
        );
        assert!(
            opcode_known(v(10), RDB_OPCODE_FUNCTION_PRE_GA)
                && !opcode_known(v(11), RDB_OPCODE_FUNCTION_PRE_GA)
        );
        assert!(
            !opcode_known(v(11), RDB_OPCODE_SLOT_INFO) && opcode_known(v(12), RDB_OPCODE_SLOT_INFO)
        );
        assert!(
            !opcode_known(v(80), RDB_OPCODE_SLOT_INFO)
                && opcode_known(v(80), RDB_OPCODE_SLOT_IMPORT)
        );
        assert!(!key_meta_known(v(12)) && key_meta_known(v(13)) && !key_meta_known(v(80)));
    }
}
