//! Errors of the writer ([`WriteError`]) and of conversions ([`ConvertError`]).

use std::borrow::Cow;
use std::io;

use rdbkit_parser::{RdbType, RdbVersion};

use crate::report::Report;

/// A `Result` whose error is [`WriteError`].
pub type Result<T, E = WriteError> = core::result::Result<T, E>;

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The underlying writer failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The value or record cannot be expressed in the target version (for
    /// example a length of 2^32 or more below RDB 8, a stream below RDB 9, a
    /// hash field TTL below RDB 12). Deciding what to do instead is the
    /// conversion's job ([`crate::convert()`]), not the writer's.
    #[error("{what} cannot be written in {target}")]
    NotRepresentable {
        /// What could not be written.
        what: Cow<'static, str>,
        /// The target version.
        target: RdbVersion,
    },
    /// The input breaks a rule of the format that the writer refuses to
    /// reproduce (a NaN score, an empty collection, an element count that does
    /// not match the elements given).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The structure.
        what: &'static str,
        /// The rule that was broken.
        reason: Cow<'static, str>,
    },
    /// Reading the source value being written failed.
    #[error("reading the source value failed: {0}")]
    Read(#[from] rdbkit_parser::Error),
    /// The version has no file form this crate writes (0, 16-79, 82+).
    #[error("cannot write RDB version {0}: supported targets are REDIS 1-15 and VALKEY 80-81")]
    UnsupportedVersion(u32),
    /// An earlier write failed part-way through a record, so the output is
    /// not a valid file any more; nothing more is written.
    #[error("an earlier write failed; the output is incomplete and no more records can be written")]
    Poisoned,
}

impl WriteError {
    pub(crate) fn not_representable(
        what: impl Into<Cow<'static, str>>,
        target: RdbVersion,
    ) -> WriteError {
        WriteError::NotRepresentable {
            what: what.into(),
            target,
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<Cow<'static, str>>) -> WriteError {
        WriteError::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The source file could not be read.
    #[error("reading the source failed: {0}")]
    Read(rdbkit_parser::Error),
    /// Writing the output failed.
    #[error("writing the output failed: {0}")]
    Write(WriteError),
    /// The conversion would lose data and the policy is
    /// [`LossPolicy::Error`](crate::LossPolicy::Error). The report lists every
    /// loss found (the whole input was examined).
    #[error("the conversion to {} would lose data: {}", .0.target, .0.loss_summary())]
    Lossy(Box<Report>),
    /// The target version is not one this crate writes.
    #[error("cannot convert to RDB version {0}: supported targets are REDIS 1-15 and VALKEY 80-81")]
    UnsupportedTarget(u32),
    /// A kind of record this crate has no conversion rule for.
    #[error("no conversion rule for the record at offset {offset}")]
    UnsupportedRecord {
        /// File offset of the record.
        offset: u64,
    },
    /// A value type this crate has no conversion rule for.
    #[error("no conversion of {ty} from {source_version} to {target}")]
    Unsupported {
        /// The value type.
        ty: RdbType,
        /// The source file's version.
        source_version: RdbVersion,
        /// The target version.
        target: RdbVersion,
    },
}

impl From<WriteError> for ConvertError {
    fn from(e: WriteError) -> Self {
        match e {
            // A read error surfacing while a value was being re-encoded is a
            // problem of the source, not of the output.
            WriteError::Read(e) => ConvertError::Read(e),
            e => ConvertError::Write(e),
        }
    }
}

impl From<rdbkit_parser::Error> for ConvertError {
    fn from(e: rdbkit_parser::Error) -> Self {
        ConvertError::Read(e)
    }
}
