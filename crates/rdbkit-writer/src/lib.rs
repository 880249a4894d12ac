//! Writer for Redis and Valkey RDB snapshot files (`dump.rdb`), and the
//! rules that convert a snapshot for an older (or newer, or the other
//! vendor's) server.
//!
//! * [`RdbWriter`] writes a file for one target [`RdbVersion`](rdbkit_parser::RdbVersion): the header,
//!   records (AUX fields, databases, function libraries, module AUX data,
//!   keys with their expiry and eviction hints), then EOF and the CRC-64 in
//!   [`RdbWriter::finish`]. Values are written in the plain types every
//!   loader rebuilds its compact encodings from; records the target loads as
//!   they are can be copied byte for byte.
//! * [`convert()`] rewrites a whole file for a target following the rules of
//!   [`type_rule`] and the [`convert` module's table](mod@convert): copy what
//!   the target loads (most records, without decoding), re-encode what it
//!   cannot load (compact values in the older compact form the target
//!   knows, see [`transcode`]; otherwise the plain types), and apply an
//!   explicit policy where information would be
//!   lost. Every loss is reported ([`Report`]); with the default
//!   [`LossPolicy::Error`] a lossy conversion fails instead. [`plan`] is the
//!   same as a dry run.
//! * [`target_from_name`] maps `redis-6.2`, `valkey-8.1`, `azure-premium`
//!   and friends to the RDB version their loader accepts.
//!
//! The crate reads its input with [`rdbkit_parser`] and shares its
//! vocabulary ([`RdbVersion`](rdbkit_parser::RdbVersion), [`Value`](rdbkit_parser::Value), format
//! codes). It has no `unsafe` code and does not panic on any input.
//!
//! ```
//! use rdbkit_parser::{RdbReader, RdbVersion};
//! use rdbkit_writer::{convert, target_from_name, ConvertOptions, EntryMeta, LossPolicy, RdbWriter};
//!
//! // A Redis 7.4 file (RDB 12) with a string and a hash whose field has a TTL.
//! let mut w = RdbWriter::new(Vec::new(), RdbVersion(12))?;
//! w.write_select_db(0)?;
//! w.write_string(b"greeting", &EntryMeta::default(), b"hello")?;
//! w.write_hash_with_ttls(b"session", &EntryMeta::default(), [
//!     (&b"user"[..], &b"42"[..], None),
//!     (b"token", b"abc", Some(4_102_444_800_000)),
//! ])?;
//! let source = w.finish()?;
//!
//! // For Redis 6.2 (RDB 9) the field TTL cannot be kept: by default the
//! // conversion refuses ...
//! let target = target_from_name("redis-6.2").unwrap();
//! let mut options = ConvertOptions::new(target);
//! assert!(convert(&mut RdbReader::new(&source)?, Vec::new(), &options).is_err());
//!
//! // ... and with `--on-loss warn` it strips the TTL and says so.
//! options.on_loss = LossPolicy::Warn;
//! let (out, report) = convert(&mut RdbReader::new(&source)?, Vec::new(), &options)?;
//! assert!(out.starts_with(b"REDIS0009"));
//! assert_eq!(report.losses.len(), 1);
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

pub mod convert;
mod crc;
mod error;
pub mod hash;
pub mod intset;
pub mod length;
mod report;
mod rules;
mod scan;
pub mod stream;
pub mod string;
mod target;
#[cfg(test)]
mod test_util;
pub mod transcode;
pub mod value;
mod writer;
pub mod ziplist;

pub use convert::{
    ConvertOptions, Converter, FieldTtlPolicy, LossPolicy, ModulePolicy, TypeRule, convert,
    convert_filtered, plan, record_copyable, type_copyable, type_known, type_rule, value_copyable,
};
pub use crc::Crc64Writer;
pub use error::{ConvertError, Result, WriteError};
pub use report::{Loss, LossKind, Note, NoteKind, Report, Stats, count};
pub use target::{
    MODULE_TYPES, Module, Release, TARGETS, TargetSpec, lookup_target, target_from_name,
    unknown_target_message,
};
pub use writer::{EntryMeta, RdbWriter, WriterOptions, is_supported_target};
