//! Codes of the RDB format: the equivalent of Redis's `rdb.h`.
//!
//! Type ids and opcodes are open newtypes rather than enums: a byte this crate
//! does not know is data to report (with its offset), not an unrepresentable
//! value. The constant names are the server's own (`RDB_TYPE_*`, `RDB_OPCODE_*`).

use core::fmt;

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident($inner:ty) {
            $( $(#[$cmeta:meta])* $konst:ident = $val:expr => $text:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $inner);

        $( $(#[$cmeta])* pub const $konst: $name = $name($val); )*

        impl $name {
            /// The server's name for this code, or `None` for a code this crate
            /// does not know.
            pub fn static_string(&self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some($text), )*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.static_string() {
                    Some(s) => write!(f, "{} ({})", s, self.0),
                    None => write!(f, "unknown {} {}", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }
    };
}

open_enum! {
    /// A value-type id: the tag byte that starts a key record.
    ///
    /// Ids 22 and 23 mean different things in `REDIS` and `VALKEY` files; see
    /// [`RdbType::name_in`].
    RdbType(u8) {
        /// A string (raw, integer or LZF encoded).
        RDB_TYPE_STRING = 0 => "string",
        /// A linked list: `LEN n`, n strings. Written by Redis <= 3.0.
        RDB_TYPE_LIST = 1 => "list",
        /// A hashtable set: `LEN n`, n strings.
        RDB_TYPE_SET = 2 => "set",
        /// A sorted set with scores as decimal text. Written by Redis <= 3.2.
        RDB_TYPE_ZSET = 3 => "zset",
        /// A hashtable hash: `LEN n`, n field/value pairs.
        RDB_TYPE_HASH = 4 => "hash",
        /// A sorted set with binary double scores (RDB 8+).
        RDB_TYPE_ZSET_2 = 5 => "zset-v2",
        /// A module value in the 4.0 release-candidate form (no framing).
        RDB_TYPE_MODULE_PRE_GA = 6 => "module-pre-release",
        /// A module value with opcode framing (RDB 8+).
        RDB_TYPE_MODULE_2 = 7 => "module-value",
        /// A hash as a zipmap blob (Redis 2.4).
        RDB_TYPE_HASH_ZIPMAP = 9 => "hash-zipmap",
        /// A list as one ziplist blob (Redis 2.4 - 3.0).
        RDB_TYPE_LIST_ZIPLIST = 10 => "list-ziplist",
        /// A set of integers as an intset blob.
        RDB_TYPE_SET_INTSET = 11 => "set-intset",
        /// A sorted set as a ziplist of member/score pairs.
        RDB_TYPE_ZSET_ZIPLIST = 12 => "zset-ziplist",
        /// A hash as a ziplist of field/value pairs.
        RDB_TYPE_HASH_ZIPLIST = 13 => "hash-ziplist",
        /// A list as a quicklist of ziplist nodes (RDB 7 - 9).
        RDB_TYPE_LIST_QUICKLIST = 14 => "quicklist",
        /// A stream, layout v1 (RDB 9).
        RDB_TYPE_STREAM_LISTPACKS = 15 => "stream",
        /// A hash as a listpack of field/value pairs (RDB 10+).
        RDB_TYPE_HASH_LISTPACK = 16 => "hash-listpack",
        /// A sorted set as a listpack of member/score pairs (RDB 10+).
        RDB_TYPE_ZSET_LISTPACK = 17 => "zset-listpack",
        /// A list as a quicklist of listpack or plain nodes (RDB 10+).
        RDB_TYPE_LIST_QUICKLIST_2 = 18 => "quicklist-v2",
        /// A stream, layout v2 (RDB 10).
        RDB_TYPE_STREAM_LISTPACKS_2 = 19 => "stream-v2",
        /// A set as a listpack of members (RDB 11+).
        RDB_TYPE_SET_LISTPACK = 20 => "set-listpack",
        /// A stream, layout v3 (RDB 11+).
        RDB_TYPE_STREAM_LISTPACKS_3 = 21 => "stream-v3",
        /// Redis 7.4 release candidates: hashtable hash with absolute field TTLs.
        /// In `VALKEY` files the same byte is [`RDB_TYPE_VALKEY_HASH_2`].
        RDB_TYPE_HASH_METADATA_PRE_GA = 22 => "hash-hashtable-md-pre-release",
        /// Redis 7.4 release candidates: listpack hash of field/value/TTL triplets.
        RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23 => "hash-listpack-md-pre-release",
        /// Redis 7.4+: hashtable hash with relative field TTLs.
        RDB_TYPE_HASH_METADATA = 24 => "hash-hashtable-md",
        /// Redis 7.4+: listpack hash of field/value/TTL triplets.
        RDB_TYPE_HASH_LISTPACK_EX = 25 => "hash-listpack-md",
        /// Redis 8.6+ (RDB 13): stream v3 plus the IDMP block.
        RDB_TYPE_STREAM_LISTPACKS_4 = 26 => "stream-v4",
        /// Redis 8.8 (RDB 14): stream v4 plus per-group NACK zones.
        RDB_TYPE_STREAM_LISTPACKS_5 = 27 => "stream-v5",
        /// Redis 8.8 (RDB 14): the array type, whose layout is not documented.
        RDB_TYPE_ARRAY = 28 => "array",
    }
}

/// Valkey 9 (`VALKEY` magic): hash with per-field absolute expiry. Same byte as
/// [`RDB_TYPE_HASH_METADATA_PRE_GA`] in `REDIS` files.
pub const RDB_TYPE_VALKEY_HASH_2: RdbType = RdbType(22);

impl RdbType {
    /// The type's name in a file of the given version (ids 22 and 23 depend on
    /// the magic).
    pub fn name_in(&self, version: RdbVersion) -> Option<&'static str> {
        if version.is_valkey() {
            match *self {
                RDB_TYPE_VALKEY_HASH_2 => return Some("hash-2"),
                RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
                | RDB_TYPE_HASH_METADATA
                | RDB_TYPE_HASH_LISTPACK_EX
                | RDB_TYPE_STREAM_LISTPACKS_4
                | RDB_TYPE_STREAM_LISTPACKS_5
                | RDB_TYPE_ARRAY => return None,
                _ => {}
            }
        }
        self.static_string()
    }

    /// The logical data type this id stores, in a file of the given version.
    pub fn kind_in(&self, version: RdbVersion) -> Option<ValueKind> {
        let valkey = version.is_valkey();
        Some(match *self {
            RDB_TYPE_STRING => ValueKind::String,
            RDB_TYPE_LIST
            | RDB_TYPE_LIST_ZIPLIST
            | RDB_TYPE_LIST_QUICKLIST
            | RDB_TYPE_LIST_QUICKLIST_2 => ValueKind::List,
            RDB_TYPE_SET | RDB_TYPE_SET_INTSET | RDB_TYPE_SET_LISTPACK => ValueKind::Set,
            RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 | RDB_TYPE_ZSET_ZIPLIST | RDB_TYPE_ZSET_LISTPACK => {
                ValueKind::ZSet
            }
            // 22 is a hash in both namespaces (Valkey's RDB_TYPE_VALKEY_HASH_2).
            RDB_TYPE_HASH
            | RDB_TYPE_HASH_ZIPMAP
            | RDB_TYPE_HASH_ZIPLIST
            | RDB_TYPE_HASH_LISTPACK
            | RDB_TYPE_HASH_METADATA_PRE_GA => ValueKind::Hash,
            RDB_TYPE_HASH_LISTPACK_EX_PRE_GA
            | RDB_TYPE_HASH_METADATA
            | RDB_TYPE_HASH_LISTPACK_EX
                if !valkey =>
            {
                ValueKind::Hash
            }
            RDB_TYPE_STREAM_LISTPACKS
            | RDB_TYPE_STREAM_LISTPACKS_2
            | RDB_TYPE_STREAM_LISTPACKS_3 => ValueKind::Stream,
            RDB_TYPE_STREAM_LISTPACKS_4 | RDB_TYPE_STREAM_LISTPACKS_5 if !valkey => {
                ValueKind::Stream
            }
            RDB_TYPE_MODULE_PRE_GA | RDB_TYPE_MODULE_2 => ValueKind::Module,
            _ => return None,
        })
    }
}

/// The logical data types a key can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// A string.
    String,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    ZSet,
    /// A hash (with or without field TTLs).
    Hash,
    /// A stream.
    Stream,
    /// A module value.
    Module,
}

impl ValueKind {
    /// The name Redis's `TYPE` command uses (`module` for module values).
    pub fn as_str(&self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::List => "list",
            ValueKind::Set => "set",
            ValueKind::ZSet => "zset",
            ValueKind::Hash => "hash",
            ValueKind::Stream => "stream",
            ValueKind::Module => "module",
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

open_enum! {
    /// An opcode: a tag byte >= 242 that is not a key record.
    Opcode(u8) {
        /// End of data; the CRC-64 follows in RDB 5+.
        RDB_OPCODE_EOF = 255 => "EOF",
        /// Switch database.
        RDB_OPCODE_SELECTDB = 254 => "SELECTDB",
        /// Expire time of the next key in seconds (i32).
        RDB_OPCODE_EXPIRETIME = 253 => "EXPIRETIME",
        /// Expire time of the next key in milliseconds (i64).
        RDB_OPCODE_EXPIRETIME_MS = 252 => "EXPIRETIME_MS",
        /// Database sizing hint.
        RDB_OPCODE_RESIZEDB = 251 => "RESIZEDB",
        /// Auxiliary metadata field.
        RDB_OPCODE_AUX = 250 => "AUX",
        /// LFU counter of the next key.
        RDB_OPCODE_FREQ = 249 => "FREQ",
        /// LRU idle seconds of the next key.
        RDB_OPCODE_IDLE = 248 => "IDLE",
        /// Module auxiliary data.
        RDB_OPCODE_MODULE_AUX = 247 => "MODULE_AUX",
        /// Function library, 7.0 release-candidate form.
        RDB_OPCODE_FUNCTION_PRE_GA = 246 => "FUNCTION_PRE_GA",
        /// Function library source.
        RDB_OPCODE_FUNCTION2 = 245 => "FUNCTION2",
        /// Cluster slot sizing hint (Redis 7.4+).
        RDB_OPCODE_SLOT_INFO = 244 => "SLOT_INFO",
        /// Redis 8.6+: key metadata before a key. In `VALKEY` files the same byte
        /// is [`RDB_OPCODE_SLOT_IMPORT`].
        RDB_OPCODE_KEY_META = 243 => "KEY_META",
        /// Valkey unstable: inline replication command.
        RDB_OPCODE_UPDATE = 242 => "UPDATE",
    }
}

/// Valkey 9 (`VALKEY` magic): slots being imported. Same byte as
/// [`RDB_OPCODE_KEY_META`] in `REDIS` files.
pub const RDB_OPCODE_SLOT_IMPORT: Opcode = Opcode(243);

/// Length encoding: the top two bits `00` mean a 6-bit length.
pub const RDB_6BITLEN: u8 = 0;
/// Length encoding: `01`, a 14-bit length.
pub const RDB_14BITLEN: u8 = 1;
/// Length encoding: the whole byte `0x80`, a 32-bit big-endian length.
pub const RDB_32BITLEN: u8 = 0x80;
/// Length encoding: the whole byte `0x81`, a 64-bit big-endian length (RDB 8+).
pub const RDB_64BITLEN: u8 = 0x81;
/// Length encoding: `11`, a special string encoding follows in the low 6 bits.
pub const RDB_ENCVAL: u8 = 3;
/// Special string encoding: 8-bit signed integer.
pub const RDB_ENC_INT8: u8 = 0;
/// Special string encoding: 16-bit signed integer (LE).
pub const RDB_ENC_INT16: u8 = 1;
/// Special string encoding: 32-bit signed integer (LE).
pub const RDB_ENC_INT32: u8 = 2;
/// Special string encoding: LZF-compressed string.
pub const RDB_ENC_LZF: u8 = 3;

/// Module opcode framing: end of a module value or aux block.
pub const RDB_MODULE_OPCODE_EOF: u64 = 0;
/// Module opcode framing: signed integer (a `LEN` holding the two's complement).
pub const RDB_MODULE_OPCODE_SINT: u64 = 1;
/// Module opcode framing: unsigned integer (a `LEN`).
pub const RDB_MODULE_OPCODE_UINT: u64 = 2;
/// Module opcode framing: binary32 float.
pub const RDB_MODULE_OPCODE_FLOAT: u64 = 3;
/// Module opcode framing: binary64 double.
pub const RDB_MODULE_OPCODE_DOUBLE: u64 = 4;
/// Module opcode framing: an RDB string.
pub const RDB_MODULE_OPCODE_STRING: u64 = 5;

/// Quicklist v2 node container: one raw element.
pub const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
/// Quicklist v2 node container: a listpack.
pub const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// The newest Redis RDB version this crate reads.
pub const RDB_VERSION_MAX_REDIS: u32 = 15;
/// The first version number of Valkey's own (`VALKEY` magic) numbering.
pub const RDB_VERSION_MIN_VALKEY: u32 = 80;
/// The newest Valkey RDB version this crate reads.
pub const RDB_VERSION_MAX_VALKEY: u32 = 81;

/// An RDB format version as written in the file header.
///
/// Versions 1-79 use the `REDIS` magic (`REDIS0011`), 80 and above Valkey's
/// `VALKEY` magic (`VALKEY080`), exactly as Valkey's `rdbUseValkeyMagic` decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RdbVersion(pub u32);

impl RdbVersion {
    /// The version number.
    pub fn number(&self) -> u32 {
        self.0
    }

    /// Whether files of this version carry the `VALKEY` magic and Valkey's
    /// meaning of the colliding tags (22, 243).
    pub fn is_valkey(&self) -> bool {
        self.0 >= RDB_VERSION_MIN_VALKEY
    }

    /// The magic that starts a file of this version.
    pub fn magic(&self) -> &'static str {
        if self.is_valkey() { "VALKEY" } else { "REDIS" }
    }

    /// The 9-byte header of a file of this version, or `None` for a version
    /// that has no header form (0, or 1000 and above).
    pub fn header(&self) -> Option<[u8; 9]> {
        let mut h = [0u8; 9];
        let text = if self.is_valkey() {
            if self.0 > 999 {
                return None;
            }
            format!("VALKEY{:03}", self.0)
        } else {
            if self.0 == 0 {
                return None;
            }
            format!("REDIS{:04}", self.0)
        };
        h.copy_from_slice(text.as_bytes());
        Some(h)
    }

    /// Whether the file ends with a CRC-64 after the EOF opcode (RDB 5+).
    pub fn has_checksum(&self) -> bool {
        self.0 >= 5
    }

    /// The equivalent Redis RDB version for feature checks: Valkey's 80 and 81
    /// can hold everything RDB 11 can (plus Valkey-only constructs).
    pub fn redis_level(&self) -> u32 {
        if self.is_valkey() { 11 } else { self.0 }
    }
}

impl fmt::Display for RdbVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.header() {
            Some(h) => f.write_str(&String::from_utf8_lossy(&h)),
            None => write!(f, "RDB version {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(RDB_TYPE_ZSET_2.static_string(), Some("zset-v2"));
        assert_eq!(RdbType(8).static_string(), None);
        assert_eq!(RdbType(99).to_string(), "unknown RdbType 99");
        assert_eq!(RDB_OPCODE_AUX.to_string(), "AUX (250)");
        assert_eq!(RdbType(22).name_in(RdbVersion(80)), Some("hash-2"));
        assert_eq!(
            RdbType(22).name_in(RdbVersion(12)),
            Some("hash-hashtable-md-pre-release")
        );
    }

    #[test]
    fn headers() {
        assert_eq!(&RdbVersion(9).header().unwrap(), b"REDIS0009");
        assert_eq!(&RdbVersion(80).header().unwrap(), b"VALKEY080");
        assert!(RdbVersion(0).header().is_none());
        assert!(RdbVersion(5).has_checksum() && !RdbVersion(4).has_checksum());
    }

    #[test]
    fn kinds() {
        assert_eq!(RdbType(23).kind_in(RdbVersion(80)), None);
        assert_eq!(RdbType(23).kind_in(RdbVersion(12)), Some(ValueKind::Hash));
        assert_eq!(RdbType(26).kind_in(RdbVersion(80)), None);
        assert_eq!(RdbType(8).kind_in(RdbVersion(9)), None);
    }
}
