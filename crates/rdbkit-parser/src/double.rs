//! Doubles stored as text, read exactly as the loaders read them.
//!
//! A type-3 sorted set (RDB < 8) stores each score as a length byte and the
//! number's text; `rdbLoadDoubleValue` ends the text at its length (or its
//! first NUL byte) and reads it with `sscanf(buf, "%lg", &score)`, accepting
//! the file whenever that converts something. So the text need not be a
//! number: leading white space is skipped, whatever follows the longest
//! number at the start is ignored, and `inf`, `infinity`, `nan` (with or
//! without a parenthesised tail) and hexadecimal floats are numbers.
//! [`scan_lg`] gives glibc's answer, tested against glibc itself.
//!
//! A listpack or ziplist sorted set stores each score as an element; the
//! loaders never check it while loading and read it later with
//! `zzlStrtod`: at most 127 bytes through `strtod`, which gives 0 where no
//! number starts the text. [`strtod`] gives that value.

/// What `sscanf(text, "%lg", &v)` stores in `v` with glibc (C locale), or
/// `None` where it converts nothing (an empty or blank text, no digits).
///
/// ```
/// use rdbkit_parser::double::scan_lg;
///
/// assert_eq!(scan_lg(b" -431429,605"), Some(-431429.0));
/// assert_eq!(scan_lg(b"0x1p3"), Some(8.0));
/// assert_eq!(scan_lg(b"Infinity"), Some(f64::INFINITY));
/// assert_eq!(scan_lg(b"infinit"), None);
/// assert_eq!(scan_lg(b""), None);
/// ```
pub fn scan_lg(text: &[u8]) -> Option<f64> {
    if let Some(v) = whole_decimal(text) {
        return Some(v);
    }
    let text = match text.iter().position(|&b| b == 0) {
        Some(n) => text.get(..n).unwrap_or_default(),
        None => text,
    };
    let s = skip_blanks(text);
    if s.is_empty() {
        return None;
    }
    let (neg, s) = sign(s);
    let sign = |v: f64| if neg { -v } else { v };
    if starts_with_ci(s, b"inf") {
        // glibc has read "inf" and sees more letters: they must spell out
        // "infinity", or nothing is converted.
        let rest = s.get(3..).unwrap_or_default();
        if matches!(rest.first(), Some(b'i' | b'I')) && !starts_with_ci(rest, b"inity") {
            return None;
        }
        return Some(sign(f64::INFINITY));
    }
    if starts_with_ci(s, b"nan") {
        return Some(sign(f64::NAN));
    }
    if let [b'0', b'x' | b'X', rest @ ..] = s {
        return hex(rest).map(sign);
    }
    decimal(s).map(sign)
}

/// What `zzlStrtod` makes of a score element's text: glibc's `strtod` of
/// its first 127 bytes, 0 where no number starts it.
///
/// ```
/// use rdbkit_parser::double::strtod;
///
/// assert_eq!(strtod(b"1.5x"), 1.5);
/// assert_eq!(strtod(b"abc"), 0.0);
/// assert_eq!(strtod(b"infinit"), f64::INFINITY);
/// ```
pub fn strtod(text: &[u8]) -> f64 {
    let text = text.get(..127).unwrap_or(text);
    if let Some(v) = whole_decimal(text) {
        return v;
    }
    if let Some(v) = scan_lg(text) {
        return v;
    }
    // Where sscanf converts nothing, strtod still takes the longest number
    // at the start: "inf" of "infinit", "0" of "0x".
    let (neg, s) = sign(skip_blanks(text));
    let v = if starts_with_ci(s, b"inf") {
        f64::INFINITY
    } else {
        0.0
    };
    if neg { -v } else { v }
}

/// Whether [`strtod`] of `text` is NaN, without converting it: only a text
/// whose number (after C's blanks and a sign) starts with `nan`, in any case,
/// is one — every other text gives a number, an infinity or 0. A walk that
/// only has to refuse NaN scores (verify) saves the conversion of every
/// score.
///
/// ```
/// use rdbkit_parser::double::{is_nan, strtod};
///
/// for t in ["nan", " -NaN(1)", "nanx", "1.5", "inf", "", "n"] {
///     assert_eq!(is_nan(t.as_bytes()), strtod(t.as_bytes()).is_nan(), "{t}");
/// }
/// ```
pub fn is_nan(text: &[u8]) -> bool {
    starts_with_ci(sign(skip_blanks(text)).1, b"nan")
}

/// The common case, as fast as the standard parser: a text that is all one
/// number in the grammar Rust and C share (digits, point, exponent, `inf`,
/// `infinity`, `nan`), whose value both round the same way.
fn whole_decimal(text: &[u8]) -> Option<f64> {
    std::str::from_utf8(text).ok()?.parse::<f64>().ok()
}

/// `s` after the white space C's `isspace` skips.
fn skip_blanks(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

/// An optional sign: whether it is `-`, and what follows it.
fn sign(s: &[u8]) -> (bool, &[u8]) {
    match s.first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    }
}

fn starts_with_ci(s: &[u8], word: &[u8]) -> bool {
    s.get(..word.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(word))
}

/// The number of leading bytes of `s` that satisfy `f`.
fn run(s: &[u8], f: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&b| !f(b)).unwrap_or(s.len())
}

/// An exponent `e`/`p` [sign] digits at the start of `s`: its value
/// (saturated) and length, or `(0, 0)` when the digits are missing (then
/// the letter is not part of the number).
fn exponent(s: &[u8], letter: u8) -> (i64, usize) {
    if !s.first().is_some_and(|b| b.eq_ignore_ascii_case(&letter)) {
        return (0, 0);
    }
    let after = s.get(1..).unwrap_or_default();
    let (neg, digits) = sign(after);
    let at = 1 + after.len() - digits.len();
    let n = run(digits, |b| b.is_ascii_digit());
    if n == 0 {
        return (0, 0);
    }
    let mut v: i64 = 0;
    for &d in digits.get(..n).unwrap_or_default() {
        v = (v * 10 + i64::from(d - b'0')).min(1 << 40);
    }
    (if neg { -v } else { v }, at + n)
}

/// Decimal digits with an optional point and exponent, at least one digit.
fn decimal(s: &[u8]) -> Option<f64> {
    let int = run(s, |b| b.is_ascii_digit());
    let mut len = int;
    let mut frac = 0;
    if s.get(len) == Some(&b'.') {
        frac = run(s.get(len + 1..).unwrap_or_default(), |b| b.is_ascii_digit());
        len += 1 + frac;
    }
    if int + frac == 0 {
        return None;
    }
    let (_, elen) = exponent(s.get(len..).unwrap_or_default(), b'e');
    let text = std::str::from_utf8(s.get(..len + elen)?).ok()?;
    // Rust's parser rounds correctly, as glibc's does; it takes "5." and
    // ".5" too, and saturates to infinity and to zero as strtod does.
    text.parse::<f64>().ok()
}

/// A hexadecimal float after its `0x`.
fn hex(s: &[u8]) -> Option<f64> {
    let mut mant: u64 = 0;
    let mut exp2: i64 = 0;
    let mut sticky = false;
    let mut digits = 0;
    let mut i = 0;
    let mut point = false;
    while let Some(&b) = s.get(i) {
        if b == b'.' && !point {
            point = true;
            i += 1;
            continue;
        }
        let Some(d) = char::from(b).to_digit(16) else {
            break;
        };
        digits += 1;
        if mant >> 60 == 0 {
            mant = (mant << 4) | u64::from(d);
            if point {
                exp2 -= 4;
            }
        } else {
            // Digits past what 64 bits hold only round.
            sticky |= d != 0;
            if !point {
                exp2 += 4;
            }
        }
        i += 1;
    }
    if digits == 0 {
        // glibc takes "0x." as 0, but not "0x", "0xp1" or "0x.p1".
        let after = s.get(i).copied();
        return (point && !matches!(after, Some(b'p' | b'P'))).then_some(0.0);
    }
    let (e, _) = exponent(s.get(i..).unwrap_or_default(), b'p');
    Some(compose(mant, sticky, exp2.saturating_add(e)))
}

/// `mant * 2^exp2` rounded to nearest, ties to even, with `sticky` standing
/// for nonzero bits below `mant`.
fn compose(mant: u64, sticky: bool, exp2: i64) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    let lz = mant.leading_zeros();
    let m = mant << lz;
    // The value is m * 2^(e - 63), m's top bit set: 1.xxx * 2^e.
    let e = exp2 - i64::from(lz) + 63;
    if e > 1023 {
        return f64::INFINITY;
    }
    // Bits of m that fit: 53 for a normal number, fewer below 2^-1022.
    let keep = if e >= -1022 { 53 } else { e + 1075 };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly half (ties to 0).
        let above_half = keep == 0 && (m > 1 << 63 || sticky);
        return if above_half { f64::from_bits(1) } else { 0.0 };
    }
    let shift = (64 - keep) as u32;
    let mut q = m >> shift;
    let rem = m & ((1u64 << shift) - 1);
    let half = 1u64 << (shift - 1);
    if rem > half || (rem == half && (sticky || q & 1 == 1)) {
        q += 1;
    }
    if e >= -1022 {
        let mut e = e;
        if q == 1 << 53 {
            q >>= 1;
            e += 1;
            if e > 1023 {
                return f64::INFINITY;
            }
        }
        f64::from_bits((((e + 1023) as u64) << 52) | (q & ((1 << 52) - 1)))
    } else {
        // A subnormal: its bits are q (2^52 is the smallest normal).
        f64::from_bits(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc 2.36's `sscanf("%lg")` on each text: converted value, or None
    /// (printed by a C program with `%.17g`).
    #[test]
    fn like_glibc() {
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"1.5", Some(1.5)),
            (b"  1.5", Some(1.5)),
            (b"\t\n1", Some(1.0)),
            (b"\x0b\x0c\r2", Some(2.0)),
            (b"1.5abc", Some(1.5)),
            (b"inf", Some(f64::INFINITY)),
            (b"-inf", Some(f64::NEG_INFINITY)),
            (b"Infinity", Some(f64::INFINITY)),
            (b"inFINity", Some(f64::INFINITY)),
            (b"infinityx", Some(f64::INFINITY)),
            (b"infx", Some(f64::INFINITY)),
            (b"infinit", None),
            (b"infi", None),
            (b"in", None),
            (b"i", None),
            (b"0x1p3", Some(8.0)),
            (b"0x1.8p1", Some(3.0)),
            (b"0X1P-2", Some(0.25)),
            (b"0x.8", Some(0.5)),
            (b"0x1p", Some(1.0)),
            (b"0x1p+", Some(1.0)),
            (b"0x1p-", Some(1.0)),
            (b"0x1.", Some(1.0)),
            (b"0x.", Some(0.0)),
            (b"0x", None),
            (b"0xg", None),
            (b"0xp1", None),
            (b"0x.p1", None),
            (b"-0x", None),
            (b"-0x1", Some(-1.0)),
            (b"0x1g", Some(1.0)),
            (b"0x10000000000000001p0", Some(1.8446744073709552e19)),
            (b"0x1.00000000000008p0", Some(1.0)),
            (b"0x1.00000000000008000001p0", Some(1.0000000000000002)),
            (b"0x0.0000000000001p-1022", Some(5e-324)),
            (b"0x1.fffffffffffffp1023", Some(1.7976931348623157e308)),
            (b"0x1.fffffffffffff8p1023", Some(f64::INFINITY)),
            (b"0x0.00000000000008p-1022", Some(0.0)),
            (b"0x0.000000000000080000001p-1022", Some(5e-324)),
            (b"0x0.00000000000018p-1022", Some(1e-323)),
            (b"0x1p-1075", Some(0.0)),
            (b"0x1p-1074", Some(5e-324)),
            (b"1e400", Some(f64::INFINITY)),
            (b"-1e400", Some(f64::NEG_INFINITY)),
            (b"1e-400", Some(0.0)),
            (b"1e", Some(1.0)),
            (b"1e+", Some(1.0)),
            (b"1e-", Some(1.0)),
            (b"1e+-5", Some(1.0)),
            (b"1.5e", Some(1.5)),
            (b"1e+5x", Some(100000.0)),
            (b"1E5", Some(100000.0)),
            (b"+3", Some(3.0)),
            (b"-", None),
            (b"+", None),
            (b".", None),
            (b".e3", None),
            (b".5", Some(0.5)),
            (b"5.", Some(5.0)),
            (b"1.e3", Some(1000.0)),
            (b"0.", Some(0.0)),
            (b"0e", Some(0.0)),
            (b"-.5e2", Some(-50.0)),
            (b"", None),
            (b"  ", None),
            (b"abc", None),
            (b"e5", None),
            (b"1,5", Some(1.0)),
            (b"1 2", Some(1.0)),
            (b"1_0", Some(1.0)),
            (b"00012", Some(12.0)),
            (b"   -inf", Some(f64::NEG_INFINITY)),
            (b"+-1", None),
            (b"--1", None),
            (b"- 1", None),
            (b"\xa01", None),
            (b"1.7976931348623157e308", Some(1.7976931348623157e308)),
            (b"1.7976931348623159e308", Some(f64::INFINITY)),
            (b"4.9e-324", Some(5e-324)),
            (b"2.4e-324", Some(0.0)),
            (b"2.5e-324", Some(5e-324)),
            (b"1e5000000000000000", Some(f64::INFINITY)),
            (
                b"123456789012345678901234567890",
                Some(1.2345678901234568e29),
            ),
            (b"0.1", Some(0.1)),
            (b"1\x005", Some(1.0)),
            (b"\x001", None),
            (b"866592.4417\x15466616", Some(866592.4417)),
            (b"682=55.50346754584", Some(682.0)),
        ];
        for (text, want) in cases {
            let got = scan_lg(text);
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "{:?}: {got:?}, glibc {want:?}",
                String::from_utf8_lossy(text)
            );
        }
        for nan in [
            &b"nan"[..],
            b"NaN",
            b"nan(123)",
            b"nanx",
            b"-nan",
            b"+nan",
            b"nan(",
            b"nan()",
        ] {
            assert!(scan_lg(nan).is_some_and(f64::is_nan), "{nan:?}");
        }
        assert_eq!(scan_lg(b"-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
    }

    /// glibc's `strtod` where it differs from `sscanf`, and the 127-byte cut.
    #[test]
    fn strtod_like_glibc() {
        assert_eq!(strtod(b"infinit"), f64::INFINITY);
        assert_eq!(strtod(b"-infi"), f64::NEG_INFINITY);
        assert_eq!(strtod(b"0x"), 0.0);
        assert_eq!(strtod(b"0xg"), 0.0);
        assert_eq!(strtod(b"abc"), 0.0);
        assert_eq!(strtod(b""), 0.0);
        assert_eq!(strtod(b"1.5x"), 1.5);
        // 127 ones and a zero: the zero is past the cut.
        let mut long = vec![b'1'; 127];
        long.push(b'0');
        let ones: f64 = String::from_utf8(vec![b'1'; 127]).unwrap().parse().unwrap();
        assert_eq!(strtod(&long), ones);
    }

    /// `is_nan` agrees with `strtod` on texts built from the pieces a score
    /// text can hold, in every order up to four pieces.
    #[test]
    fn is_nan_agrees_with_strtod() {
        let pieces: [&[u8]; 14] = [
            b"", b" ", b"\t", b"-", b"+", b"nan", b"NaN", b"inf", b"1", b".5", b"e9", b"x", b"(",
            b"0x",
        ];
        let mut n = 0;
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    for d in pieces {
                        let t = [a, b, c, d].concat();
                        assert_eq!(
                            is_nan(&t),
                            strtod(&t).is_nan(),
                            "{:?}",
                            String::from_utf8_lossy(&t)
                        );
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, 14 * 14 * 14 * 14);
    }
}
