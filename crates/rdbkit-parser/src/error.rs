//! The parser's error type: where it went wrong, which key, and what was expected.

use core::fmt;
use std::borrow::Cow;

use crate::format::{RdbType, RdbVersion};

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T> = core::result::Result<T, Error>;

/// A parse error: the byte offset in the file, the key being read when known,
/// and the [`ErrorKind`].
///
/// Errors own their data (no borrow of the input), so they are `'static`,
/// `Send` and `Sync`. The struct is one pointer wide to keep `Result`s small on
/// the hot path.
pub struct Error(Box<Inner>);

struct Inner {
    offset: u64,
    key: Option<Box<[u8]>>,
    kind: ErrorKind,
}

impl Error {
    /// A new error at `offset` (bytes from the start of the file).
    pub fn new(offset: u64, kind: ErrorKind) -> Error {
        Error(Box::new(Inner {
            offset,
            key: None,
            kind,
        }))
    }

    /// The byte offset from the start of the file where the problem was found.
    pub fn offset(&self) -> u64 {
        self.0.offset
    }

    /// The key of the record being read, when the error happened inside a key record.
    pub fn key(&self) -> Option<&[u8]> {
        self.0.key.as_deref()
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// Whether the input ended before the structure did. A streaming reader uses
    /// this to decide to read more; for a complete file it means truncation.
    pub fn is_truncated(&self) -> bool {
        matches!(self.0.kind, ErrorKind::Truncated { .. })
    }

    /// Attach the key being read (keeps an existing one).
    pub fn with_key(mut self, key: &[u8]) -> Error {
        if self.0.key.is_none() {
            self.0.key = Some(key.into());
        }
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("offset", &self.0.offset)
            .field("key", &self.0.key.as_deref().map(String::from_utf8_lossy))
            .field("kind", &self.0.kind)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}", self.0.offset)?;
        if let Some(key) = &self.0.key {
            write!(f, " (key {})", DisplayBytes(key))?;
        }
        write!(f, ": {}", self.0.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
}

/// Bytes shown for humans: quoted, printable ASCII as is, the rest escaped,
/// long values cut after 64 bytes with their length shown (the alternate
/// form, `{:#}`, shows everything).
#[derive(Clone, Copy)]
pub struct DisplayBytes<'a>(pub &'a [u8]);

impl fmt::Display for DisplayBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 64;
        f.write_str("\"")?;
        let max = if f.alternate() { usize::MAX } else { MAX };
        for &b in self.0.iter().take(max) {
            match b {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                _ => write!(f, "\\x{:02x}", b)?,
            }
        }
        f.write_str("\"")?;
        if self.0.len() > max {
            write!(f, "... ({} bytes)", self.0.len())?;
        }
        Ok(())
    }
}

impl fmt::Debug for DisplayBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What went wrong. Every message says what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended inside a structure.
    #[error("unexpected end of input while reading {what}: {needed} more byte(s) needed")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many more bytes were needed at least.
        needed: u64,
    },
    /// The file does not start with `REDIS` or `VALKEY` and a version number.
    #[error(
        "not an RDB file: expected the magic \"REDIS\" + 4 digits or \"VALKEY\" + 3 digits, found {found}"
    )]
    BadMagic {
        /// The first bytes, escaped.
        found: String,
    },
    /// The header's version is one this crate does not read.
    #[error(
        "unsupported RDB version {version} with magic {magic} (this parser reads REDIS 1-15 and VALKEY 80-81)"
    )]
    UnsupportedVersion {
        /// The magic.
        magic: &'static str,
        /// The version number.
        version: u32,
    },
    /// A tag that is neither a known opcode nor a known value type.
    #[error(
        "unknown record tag {tag} (0x{tag:02x}) in a {version} file: expected an opcode or a value type"
    )]
    UnknownTag {
        /// The tag byte.
        tag: u8,
        /// The file's version.
        version: RdbVersion,
    },
    /// A known value type whose body cannot be read (undocumented layout or unframed module data).
    #[error("cannot read a value of type {ty}: {reason}")]
    UnsupportedType {
        /// The type id.
        ty: RdbType,
        /// Why.
        reason: &'static str,
    },
    /// A length-encoding byte that is not a valid form.
    #[error("invalid length encoding byte 0x{byte:02x}: expected a 6/14/32/64-bit length")]
    InvalidLength {
        /// The first byte of the length.
        byte: u8,
    },
    /// A string header with an unknown special encoding.
    #[error("invalid string encoding 0x{byte:02x}: expected a length, INT8/16/32 or LZF")]
    InvalidStringEncoding {
        /// The header byte.
        byte: u8,
    },
    /// An LZF stream that does not decode to its declared length.
    #[error("corrupt LZF data: {reason}")]
    Lzf {
        /// What was wrong.
        reason: String,
    },
    /// The stored CRC-64 does not match the one computed over the file.
    #[error(
        "checksum mismatch: the file stores 0x{stored:016x} but its contents hash to 0x{computed:016x}"
    )]
    ChecksumMismatch {
        /// The stored checksum.
        stored: u64,
        /// The checksum computed over the file.
        computed: u64,
    },
    /// A size or count above the configured [`Limits`](crate::Limits).
    #[error("{what} of {requested} exceeds the limit of {limit}")]
    LimitExceeded {
        /// What was claimed.
        what: &'static str,
        /// The claimed size.
        requested: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A structure that breaks a rule of the format.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// The structure (e.g. "ziplist", "stream consumer group").
        what: &'static str,
        /// The rule that was broken, with the values found.
        reason: Cow<'static, str>,
    },
}

impl ErrorKind {
    /// Shorthand for [`ErrorKind::Invalid`].
    pub(crate) fn invalid(what: &'static str, reason: impl Into<Cow<'static, str>>) -> ErrorKind {
        ErrorKind::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_offset_key_and_expectation() {
        let e = Error::new(
            42,
            ErrorKind::Truncated {
                what: "string",
                needed: 3,
            },
        )
        .with_key(b"user:\x001");
        assert_eq!(
            e.to_string(),
            "at byte offset 42 (key \"user:\\x001\"): unexpected end of input while reading string: 3 more byte(s) needed"
        );
        assert!(e.is_truncated());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }
}
