//! A zero-copy parser for Redis and Valkey RDB snapshot files (`dump.rdb`),
//! every version from RDB 1 to Redis's RDB 15 and Valkey's `VALKEY080`.
//!
//! [`RdbReader`] walks a file held in memory (a slice or a memory map, see
//! [`mmap::open_mmap`]) and yields [`Record`]s one at a time, each with its
//! byte offset and exact raw bytes. Key records carry a [`RawValue`]: the type
//! id and body bytes, found by a cheap structural walk. [`RawValue::decode`]
//! turns it into a [`Value`] whose iterators read ziplists, listpacks,
//! intsets, zipmaps and quicklists in place. [`StreamingReader`] reads the same
//! records from any `std::io::Read` (stdin, a pipe) with memory bounded by the
//! largest record.
//!
//! The parser never panics on any input (a rule its fuzz targets and tests
//! enforce), checks every claimed length against what remains and against
//! [`Limits`] before using it, and reports errors with the byte offset, the
//! key when known, and what was expected.
//!
//! ```
//! use rdbkit_parser::{RdbReader, RecordKind, Value};
//!
//! let file = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3";
//! for record in RdbReader::new(file)? {
//!     if let RecordKind::Entry(e) = record?.kind {
//!         if let Value::String(s) = e.value.decode()? {
//!             println!("db {} {:?} = {:?}", e.db, e.key, s);
//!         }
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

mod body;
pub mod crc64;
pub mod double;
mod elements;
mod error;
pub mod format;
mod hash;
mod input;
pub mod intset;
mod item;
mod limits;
mod list;
pub mod listpack;
pub mod lzf;
#[cfg(feature = "mmap")]
pub mod mmap;
pub mod module;
mod record;
pub mod rejson;
mod set;
pub mod stream;
mod streaming;
mod string;
mod value;
pub mod ziplist;
pub mod zipmap;
mod zset;

pub use elements::{Elements, ListNode, NodeContainer};
pub use error::{DisplayBytes, Error, ErrorKind, Result};
pub use format::{RdbType, RdbVersion, ValueKind};
pub use hash::{HASH_FIELD_EXPIRE_MAX, Hash, HashEntries, HashField};
pub use item::{Item, parse_canonical_i64};
pub use limits::Limits;
pub use list::List;
pub use module::{KeyMeta, ModuleAux, ModuleId, ModuleItem, ModuleValue};
pub use record::{
    Checksum, Entry, Function, HEADER_LEN, RdbReader, ReaderOptions, Record, RecordKind,
    parse_header,
};
pub use rejson::{JsonDocument, JsonRoot, REJSON_TYPE_NAME, Undecodable};
pub use set::Set;
pub use stream::{
    Consumer, ConsumerGroup, PendingEntry, Stream, StreamEntry, StreamId, StreamIdmp, StreamNode,
};
pub use streaming::StreamingReader;
pub use string::RawString;
pub use value::{RawValue, Value};
pub use zset::{ZSet, ZSetEntries};
