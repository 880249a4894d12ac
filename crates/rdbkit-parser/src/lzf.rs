//! LZF decompression, as Redis stores long strings (`lzf_d.c` semantics).
//!
//! The stream has no header and no end marker; the RDB string framing gives
//! the compressed and the decompressed lengths. Decoding is bounds-checked at
//! every step and must produce exactly the declared length (what Redis 6.2+
//! loaders require; older loaders accepted short output, which a writer must
//! therefore never rely on).

use core::fmt;

/// Why an LZF stream could not be decoded. Positions are input offsets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LzfError {
    /// The input ended in the middle of an item.
    InputTruncated {
        /// Input position of the incomplete item.
        at: usize,
    },
    /// A literal run or a back-reference would write past the declared length.
    OutputOverrun {
        /// Input position of the item.
        at: usize,
    },
    /// A back-reference points before the start of the output.
    BadBackReference {
        /// Input position of the item.
        at: usize,
        /// The distance it asked for.
        offset: usize,
    },
    /// The input ended before the declared output length was produced.
    LengthMismatch {
        /// Bytes produced.
        produced: usize,
        /// Bytes declared.
        expected: usize,
    },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LzfError::InputTruncated { at } => {
                write!(f, "compressed input ends inside the item at compressed byte {at}")
            }
            LzfError::OutputOverrun { at } => write!(
                f,
                "the item at compressed byte {at} writes past the declared length"
            ),
            LzfError::BadBackReference { at, offset } => write!(
                f,
                "the back-reference at compressed byte {at} reaches {offset} bytes back, before the start of the output"
            ),
            LzfError::LengthMismatch { produced, expected } => write!(
                f,
                "decoded to {produced} bytes, but the string header declares {expected}"
            ),
        }
    }
}

impl std::error::Error for LzfError {}

/// The most output `compressed_len` bytes of LZF can produce: a 3-byte
/// back-reference yields at most 264 bytes, so the ratio is at most 88.
/// Claims above this are impossible and can be refused before allocating.
pub fn max_decompressed_len(compressed_len: usize) -> usize {
    compressed_len.saturating_mul(88)
}

/// Decode `input` and append exactly `expected_len` bytes to `out`.
pub fn decompress_into(
    input: &[u8],
    out: &mut Vec<u8>,
    expected_len: usize,
) -> Result<(), LzfError> {
    let start = out.len();
    let end = start.saturating_add(expected_len);
    out.reserve_exact(expected_len);
    let mut ip = 0usize;
    while let Some(&c) = input.get(ip) {
        let at = ip;
        let ctrl = usize::from(c);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input
                .get(ip..ip + run)
                .ok_or(LzfError::InputTruncated { at })?;
            if out.len() + run > end {
                return Err(LzfError::OutputOverrun { at });
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::InputTruncated { at })?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip).ok_or(LzfError::InputTruncated { at })?);
            ip += 1;
            let offset = ((ctrl & 0x1f) << 8) + low + 1;
            let len = len + 2;
            let produced = out.len() - start;
            if offset > produced {
                return Err(LzfError::BadBackReference { at, offset });
            }
            if out.len() + len > end {
                return Err(LzfError::OutputOverrun { at });
            }
            let from = out.len() - offset;
            if offset >= len {
                out.extend_from_within(from..from + len);
            } else {
                // Overlapping copy: the source grows as we write (run-length style).
                for i in from..from + len {
                    let b = out.get(i).copied().unwrap_or(0);
                    out.push(b);
                }
            }
        }
    }
    if out.len() != end {
        return Err(LzfError::LengthMismatch {
            produced: out.len() - start,
            expected: expected_len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_overlapping_backref() {
        // "abc" literal, then copy 7 bytes from 3 back: "abcabcabca".
        let input = [2, b'a', b'b', b'c', (5 << 5), 2];
        let mut out = Vec::new();
        decompress_into(&input, &mut out, 10).unwrap();
        assert_eq!(out, b"abcabcabca");
    }

    #[test]
    fn errors() {
        let mut out = Vec::new();
        assert_eq!(
            decompress_into(&[5, b'a'], &mut out, 6),
            Err(LzfError::InputTruncated { at: 0 })
        );
        out.clear();
        assert!(matches!(
            decompress_into(&[0, b'a', 0x20, 5], &mut out, 4),
            Err(LzfError::BadBackReference { .. })
        ));
        out.clear();
        assert!(matches!(
            decompress_into(&[1, b'a', b'b'], &mut out, 1),
            Err(LzfError::OutputOverrun { .. })
        ));
        out.clear();
        assert!(matches!(
            decompress_into(&[0, b'a'], &mut out, 2),
            Err(LzfError::LengthMismatch { .. })
        ));
    }
}
