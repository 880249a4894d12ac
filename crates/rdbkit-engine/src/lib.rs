//! What `rdbkit` does, as a library: every capability of the command line
//! over the [parser](rdbkit_parser) and the [writer](rdbkit_writer).
//!
//! | capability | module |
//! |---|---|
//! | the loader-rule value check | [`check`] |
//! | verify a file, a slice or a stream as the loaders do | [`verify`] |
//! | walk a file (memory-mapped) or a stream with one visitor | [`source`] |
//! | key selection, database maps | [`select`] |
//! | rewrite: select, map, de-duplicate, convert, into a verified output | [`rewrite`] |
//! | the dry run of a conversion (`verify --target`) | [`preflight`] |
//! | the safe output: temp file, verification while writing, fsync, rename | [`output`] |
//! | export as JSON lines, JSON, RESP, CSV, redis-rdb-tools JSON | [`export`] |
//! | where the memory goes: model, biggest keys, prefixes, TTLs | [`analyze`] |
//! | what a file holds (version, aux, keys per db, types) | [`info`] |
//! | logical digests and the difference of two files | [`diff`] |
//! | what a server release can do (commands, encodings) | [`target`] |
//!
//! Errors are one [`Error`] enum: a damaged input carries the parser's
//! error (byte offset, key, what was expected), a refused conversion its
//! report.
//!
//! ```
//! use rdbkit_engine::verify::verify_slice;
//!
//! // One string key "k" = "v" in an RDB 9 file (checksum 0: not computed).
//! let file = b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00";
//! let verdict = verify_slice(file)?;
//! assert!(verdict.is_sound());
//! assert_eq!((verdict.records, verdict.keys), (3, 1));
//! # Ok::<(), rdbkit_engine::Error>(())
//! ```

pub mod analyze;
pub mod check;
pub mod diff;
mod error;
pub mod export;
pub mod info;
pub mod json;
mod keyhash;
mod keylog;
pub mod memory;
pub mod output;
mod parallel;
pub mod preflight;
pub mod rewrite;
mod segments;
pub mod select;
pub mod slot;
pub mod source;
pub mod target;
pub mod verify;

pub use error::{Error, Result, ResultExt};

/// The README's examples (its "Library" section), run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
