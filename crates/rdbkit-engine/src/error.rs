//! The engine's error type: a damaged input (with its offset and key), a
//! refused conversion (with its report), a duplicate key, an I/O failure
//! (with the path), or an option value that cannot be used.
//!
//! Callers decide what a failure means by its variant, never by its text:
//! the CLI's exit codes come from [`Error::damage`] and
//! [`Error::lossy_report`].

use std::io;

use rdbkit_writer::{ConvertError, Report, WriteError};

/// A `Result` whose error is the engine's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is damaged or not a snapshot: the parser's error, with the
    /// byte offset, the key when known and what was expected.
    #[error(transparent)]
    Damaged(#[from] rdbkit_parser::Error),
    /// The conversion failed or was refused ([`ConvertError::Lossy`] carries
    /// the report of every loss).
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// Writing a record failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Two kept keys of one database have the same name: every server
    /// refuses such a file.
    #[error(
        "duplicate key {} in db {db} (input {}, offset {offset}): every server refuses a file with duplicate keys; choose --on-duplicate keep-first or keep-last",
        alt_bytes(.key),
        .input + 1
    )]
    DuplicateKey {
        /// The database (after mapping).
        db: u64,
        /// The key.
        key: Vec<u8>,
        /// The input it came from (0-based).
        input: usize,
        /// The record's offset in that input.
        offset: u64,
    },
    /// The output is for a cluster, which keeps only database 0, and would
    /// have keys in these other databases (database, keys).
    #[error(
        "a cluster keeps only database 0, and the output would have keys in {}: keep db 0 only with --db 0, move every key into db 0 with --flatten-db, or map each with --map-db FROM=0; nothing was written",
        db_list(.dbs)
    )]
    Cluster {
        /// The other databases and their key counts.
        dbs: Vec<(u64, u64)>,
    },
    /// The output would hold module data (values or AUX records) of
    /// modules the target does not have, so the target would refuse it.
    #[error(
        "the target has no module for this data in the output: {}; {}; nothing was written",
        .types.join(", "),
        crate::preflight::MODULE_CHOICES
    )]
    MissingModules {
        /// The module types, with their modules (`ReJSON-RL (RedisJSON)`).
        types: Vec<String>,
    },
    /// An I/O failure (of a pipe, or of a file named by a [`Error::Context`]
    /// around it).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// An option or argument that cannot be used as given.
    #[error("{0}")]
    Usage(String),
    /// A written output failed its verification; it was not renamed.
    #[error("the written file failed verification; nothing was renamed: {0}")]
    Rejected(Box<Error>),
    /// A failure with what was being done when it happened (a path, a
    /// step). The text is `context: cause`.
    #[error("{context}: {cause}")]
    Context {
        /// What was being done.
        context: String,
        /// What went wrong.
        cause: Box<Error>,
    },
    /// A state the engine's own logic should never reach.
    #[error("internal error: {0}")]
    Internal(String),
}

/// `db 1 (5 keys), db 15 (3 keys)`.
pub(crate) fn db_list(dbs: &[(u64, u64)]) -> String {
    dbs.iter()
        .map(|(db, n)| format!("db {db} ({n} {})", if *n == 1 { "key" } else { "keys" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A key as messages show it: the alternate (`{:#}`) form of
/// [`DisplayBytes`](rdbkit_parser::DisplayBytes).
fn alt_bytes(key: &[u8]) -> String {
    format!("{:#}", rdbkit_parser::DisplayBytes(key))
}

impl Error {
    /// A [`Error::Usage`] with this text.
    pub fn usage(text: impl Into<String>) -> Error {
        Error::Usage(text.into())
    }

    /// This error, with what was being done when it happened.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            cause: Box::new(self),
        }
    }

    /// The innermost error, past any [`Error::Context`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { cause, .. } => cause.root(),
            e => e,
        }
    }

    /// The parser's error when the input itself is damaged (not when the
    /// output is, or an I/O call failed): what `rdbkit verify` calls
    /// "DAMAGED".
    pub fn damage(&self) -> Option<&rdbkit_parser::Error> {
        match self.root() {
            Error::Damaged(e) | Error::Convert(ConvertError::Read(e)) => Some(e),
            _ => None,
        }
    }

    /// The report of a conversion refused because it would lose data.
    pub fn lossy_report(&self) -> Option<&Report> {
        match self.root() {
            Error::Convert(ConvertError::Lossy(r)) => Some(r),
            _ => None,
        }
    }

    /// Whether the failure is a closed pipe on the output.
    pub fn is_broken_pipe(&self) -> bool {
        let io = match self.root() {
            Error::Io(e)
            | Error::Write(WriteError::Io(e))
            | Error::Convert(ConvertError::Write(WriteError::Io(e))) => e,
            Error::Rejected(e) => return e.is_broken_pipe(),
            _ => return false,
        };
        io.kind() == io::ErrorKind::BrokenPipe
    }
}

/// `.context(..)` for results whose error converts into [`Error`].
pub trait ResultExt<T> {
    /// The error, with what was being done.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// [`ResultExt::context`] with the text made only on failure.
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for core::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

/// Return a [`Error::Usage`] made by `format!`.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::Error::Usage(format!($($t)*)))
    };
}
pub(crate) use bail;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_found_through_contexts() {
        let damaged = rdbkit_parser::parse_header(b"REDIX0011").unwrap_err();
        let e = Error::from(damaged).context("cannot read a.rdb");
        assert!(e.damage().is_some());
        assert!(
            e.to_string()
                .starts_with("cannot read a.rdb: at byte offset 0")
        );
        let pipe = Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(pipe.is_broken_pipe() && pipe.damage().is_none());
        assert!(Error::usage("x").lossy_report().is_none());
    }
}
