//! Caps on what untrusted lengths and counts may make the parser do, and the
//! context that carries them to every reader of a value body.

use crate::format::RdbVersion;

/// Caps on sizes and counts claimed by the input.
///
/// A length in an RDB file can claim up to 2^64 - 1. The parser never
/// preallocates from a claimed count; these limits additionally bound what it
/// will decompress or walk before giving up with
/// [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest decompressed size of one LZF string, in bytes. Default 2 GiB:
    /// Redis caps a string at `proto-max-bulk-len` (512 MB by default) and a
    /// compact blob at 1 GiB.
    pub max_string_len: u64,
    /// Largest element count of one collection, stream or module value.
    /// Default 2^40.
    pub max_elements: u64,
    /// Largest single record a streaming reader will buffer, in bytes.
    /// Default 64 GiB.
    pub max_record_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_string_len: 2 << 30,
            max_elements: 1 << 40,
            max_record_len: 64 << 30,
        }
    }
}

impl Limits {
    /// Small limits, for fuzzing and hostile-input tests.
    pub fn small() -> Self {
        Limits {
            max_string_len: 1 << 20,
            max_elements: 1 << 16,
            max_record_len: 16 << 20,
        }
    }
}

/// What the readers need to know besides the bytes. It lives here, not
/// with the values, so that the stream and module readers (which the value
/// decoder calls) do not import from the module that imports them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub(crate) version: RdbVersion,
    pub(crate) limits: Limits,
}
