//! A small JSON writer for the export formats. Byte strings become a JSON
//! string when they are valid UTF-8 and `{"base64": "..."}` otherwise, the
//! binary-safe convention of the fixture files.

use base64::Engine;

/// Whether any of the 8 bytes of `w` needs attention in a JSON string: a
/// control byte (< 0x20), `"`, `\\`, or a non-ASCII byte (>= 0x80, which the
/// UTF-8 check must see). SWAR: one test per 8 bytes on the common path.
#[inline(always)]
fn special8(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    // bytes < 0x20: (b - 0x20) borrows into the high bit when b < 0x20
    // (only for b < 0x80; the high-bit test below covers the rest).
    let ctrl = w.wrapping_sub(LO * 0x20) & !w & HI;
    let quote = has_zero(w ^ (LO * u64::from(b'"')));
    let bslash = has_zero(w ^ (LO * u64::from(b'\\')));
    (ctrl | quote | bslash | (w & HI)) != 0
}

/// Length of the leading run of `b` that is plain ASCII needing no escape.
#[inline]
fn plain_prefix(b: &[u8]) -> usize {
    let (words, _) = b.as_chunks::<8>();
    let mut n = 0;
    for w in words {
        if special8(u64::from_le_bytes(*w)) {
            break;
        }
        n += 8;
    }
    n + b[n..]
        .iter()
        .take_while(|&&c| (0x20..0x80).contains(&c) && c != b'"' && c != b'\\')
        .count()
}

/// Append `s` as a JSON string literal.
pub fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    escape_into(out, s.as_bytes());
    out.push(b'"');
}

/// Whether any of the 8 bytes of `w` must be escaped (control, `"`, `\\`).
#[inline(always)]
fn escape8(w: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let ctrl = w.wrapping_sub(LO * 0x20) & !w & HI;
    (ctrl | has_zero(w ^ (LO * u64::from(b'"'))) | has_zero(w ^ (LO * u64::from(b'\\')))) != 0
}

/// How each byte is written inside a JSON string: 0 as it is, `u` as
/// `\u00XX`, else `\` and that byte (`"`, `\`, `n`, `r`, `t`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append the escaped body of a JSON string (`bytes` is valid UTF-8): runs
/// that need nothing are copied whole, each byte that does is written from
/// a table (a value padded with NUL bytes, as `DEBUG POPULATE` makes, is
/// mostly `\u0000`s: this loop is the export's inner loop then).
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    // Plain runs are copied whole; a block of 8 bytes with something to
    // escape is written into a small buffer byte by byte from the table and
    // appended at once (one bounds check per block, not per byte).
    let mut start = 0;
    let (blocks, _) = bytes.as_chunks::<8>();
    for (k, block) in blocks.iter().enumerate() {
        if !escape8(u64::from_le_bytes(*block)) {
            continue;
        }
        let at = k * 8;
        out.extend_from_slice(&bytes[start..at]);
        let mut buf = [0u8; 48];
        let n = escape_block(block, &mut buf);
        out.extend_from_slice(&buf[..n]);
        start = at + 8;
    }
    let tail = blocks.len() * 8;
    out.extend_from_slice(&bytes[start..tail]);
    let mut buf = [0u8; 48];
    let n = escape_block(&bytes[tail..], &mut buf);
    out.extend_from_slice(&buf[..n]);
}

/// Escape up to 8 bytes into `buf` (6 bytes each at most); the length.
#[inline(always)]
fn escape_block(block: &[u8], buf: &mut [u8; 48]) -> usize {
    let mut n = 0;
    for &b in block.iter().take(8) {
        let e = ESCAPE[usize::from(b)];
        let Some(slot) = buf.get_mut(n..n + 6) else {
            break;
        };
        match e {
            0 => {
                slot[0] = b;
                n += 1;
            }
            b'u' => {
                slot.copy_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]);
                n += 6;
            }
            _ => {
                slot[0] = b'\\';
                slot[1] = e;
                n += 2;
            }
        }
    }
    n
}

/// Append a byte string: JSON string if UTF-8, else a base64 object.
pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Fast path: printable ASCII with nothing to escape is copied as is.
    let n = plain_prefix(b);
    if n == b.len() {
        out.reserve(b.len() + 2);
        out.push(b'"');
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    match std::str::from_utf8(&b[n..]) {
        Ok(_) => {
            out.push(b'"');
            out.extend_from_slice(&b[..n]);
            escape_into(out, &b[n..]);
            out.push(b'"');
        }
        Err(_) => base64(out, b),
    }
}

/// Append a collection element as a JSON string (integers as their decimal
/// text, without allocating).
pub fn item(out: &mut Vec<u8>, it: &rdbkit_parser::Item<'_>) {
    match it {
        rdbkit_parser::Item::Bytes(b) => bytes(out, b),
        rdbkit_parser::Item::Int(i) => {
            out.push(b'"');
            int(out, *i);
            out.push(b'"');
        }
    }
}

/// Append `{"base64": "..."}`.
pub fn base64(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b"{\"base64\":\"");
    // Encoded in place: no string per value.
    let at = out.len();
    let n = base64::encoded_len(b.len(), true).unwrap_or(0);
    out.resize(at + n, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(b, &mut out[at..])
        .unwrap_or(0);
    out.truncate(at + written);
    out.extend_from_slice(b"\"}");
}

/// Append a plain (ASCII) string that needs no escaping.
pub fn raw(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Integer types [`int`] takes.
pub trait IntLike: Copy {
    /// The value, widened.
    fn wide(self) -> i128;
}

macro_rules! int_like {
    ($($t:ty),*) => {$(
        impl IntLike for $t {
            #[inline]
            fn wide(self) -> i128 {
                self as i128
            }
        }
    )*};
}
int_like!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl<T: IntLike> IntLike for &T {
    #[inline]
    fn wide(self) -> i128 {
        (*self).wide()
    }
}

/// Decimal text of `v` in `buf`, without formatting machinery or allocation
/// (this runs per element, in the exporters and the key hasher).
pub fn itoa(v: i128, buf: &mut [u8; 40]) -> &[u8] {
    let mut at = buf.len();
    let mut n = v.unsigned_abs();
    // 128-bit division is a library call: do the 64-bit part natively (every
    // value but the rare sum or product beyond 2^64 fits).
    while n > u128::from(u64::MAX) {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let mut n = n as u64;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// Append an integer.
pub fn int(out: &mut Vec<u8>, v: impl IntLike) {
    out.extend_from_slice(itoa(v.wide(), &mut [0u8; 40]));
}

/// The shortest text that parses back to exactly `v`, in the style of
/// Python's `repr` (`1.5`, `-3.0`, `1e+300`, `inf`), as the fixture JSON uses.
/// A score as a JSON string (the text of [`score`]), without allocating
/// for whole numbers, the common case.
pub fn score_str(out: &mut Vec<u8>, v: f64) {
    // Below 1e15 a whole number prints as its digits and ".0" (Rust switches
    // to an exponent at 1e16); -0.0 keeps its sign through the slow path.
    if v.fract() == 0.0 && v.abs() < 1e15 && !(v == 0.0 && v.is_sign_negative()) {
        let mut buf = [0u8; 40];
        out.push(b'"');
        out.extend_from_slice(itoa(v as i128, &mut buf));
        out.extend_from_slice(b".0\"");
    } else {
        str(out, &score(v));
    }
}

/// A score as JSON text: a number, or `"inf"`/`"-inf"`/`"nan"` as strings.
pub fn score(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let s = format!("{v:?}");
    // Rust writes `1e300`; Python writes `1e+300`.
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_bytes() {
        let mut o = Vec::new();
        str(&mut o, "a\"b\\\n\u{1}é");
        assert_eq!(o, "\"a\\\"b\\\\\\n\\u0001é\"".as_bytes());
        // Every byte below 0x20, and the rest of ASCII, against serde_json's
        // reading of the text.
        let all: String = (0u8..0x80).map(char::from).collect();
        o.clear();
        str(&mut o, &all);
        let back: String = serde_json_lite_unescape(&o);
        assert_eq!(back, all);
        o.clear();
        bytes(&mut o, b"\xff\x00");
        assert_eq!(o, b"{\"base64\":\"/wA=\"}");
        assert_eq!(score(1e300), "1e+300");
        for v in [
            0.0,
            -0.0,
            3.0,
            -3.0,
            1.5,
            1e14,
            -1e14 + 1.0,
            999_999_999_999_999.0,
            1e15,
            1e16,
            1e300,
            -2.5e-7,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let mut o = Vec::new();
            score_str(&mut o, v);
            let mut want = Vec::new();
            str(&mut want, &score(v));
            assert_eq!(o, want, "{v}");
        }
        assert_eq!(score(-3.0), "-3.0");
        assert_eq!(score(0.1), "0.1");
        assert_eq!(score(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn fast_paths_agree_with_the_plain_escaper() {
        // Every single byte, at every position of a 20-byte string.
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut v = b"abcdefghijklmnopqrst".to_vec();
                v[at] = b;
                let mut fast = Vec::new();
                bytes(&mut fast, &v);
                let mut slow = Vec::new();
                match std::str::from_utf8(&v) {
                    Ok(s) => str(&mut slow, s),
                    Err(_) => base64(&mut slow, &v),
                }
                assert_eq!(fast, slow, "byte {b:#x} at {at}");
            }
        }
        let mut o = Vec::new();
        bytes(
            &mut o,
            "héllo \"wörld\" ünïcode over eight bytes".as_bytes(),
        );
        assert_eq!(
            o,
            "\"héllo \\\"wörld\\\" ünïcode over eight bytes\"".as_bytes()
        );
        for v in [0i64, 7, -7, 1234567890, i64::MIN, i64::MAX] {
            let mut o = Vec::new();
            int(&mut o, v);
            assert_eq!(o, v.to_string().as_bytes());
        }
        let mut o = Vec::new();
        int(&mut o, u64::MAX);
        assert_eq!(o, u64::MAX.to_string().as_bytes());
    }

    /// The string a JSON string literal (as `str` writes them) stands for.
    fn serde_json_lite_unescape(lit: &[u8]) -> String {
        let s = std::str::from_utf8(&lit[1..lit.len() - 1]).unwrap();
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.next().unwrap() {
                'u' => {
                    let hex: String = it.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
                }
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                c => out.push(c),
            }
        }
        out
    }
}
