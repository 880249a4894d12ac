//! A small JSON writer for the export formats. Byte strings become a JSON
//! string when they are valid UTF-8 and `{"base64": "..."}` otherwise, the
//! binary-safe convention of the fixture files.

use base64::Engine;

/// Append `s` as a JSON string literal.
pub(crate) fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => out.extend_from_slice(format!("\\u{:04x}", b).as_bytes()),
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Append a byte string: JSON string if UTF-8, else a base64 object.
pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    match std::str::from_utf8(b) {
        Ok(s) => str(out, s),
        Err(_) => base64(out, b),
    }
}

/// Append `{"base64": "..."}`.
pub(crate) fn base64(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(b"{\"base64\":\"");
    let mut buf = String::new();
    base64::engine::general_purpose::STANDARD.encode_string(b, &mut buf);
    out.extend_from_slice(buf.as_bytes());
    out.extend_from_slice(b"\"}");
}

/// Append a plain (ASCII) string that needs no escaping.
pub(crate) fn raw(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
}

/// Append an integer.
pub(crate) fn int(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

/// The shortest text that parses back to exactly `v`, in the style of
/// Python's `repr` (`1.5`, `-3.0`, `1e+300`, `inf`), as the fixture JSON uses.
pub(crate) fn score(v: f64) -> String {
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
        o.clear();
        bytes(&mut o, b"\xff\x00");
        assert_eq!(o, b"{\"base64\":\"/wA=\"}");
        assert_eq!(score(1e300), "1e+300");
        assert_eq!(score(-3.0), "-3.0");
        assert_eq!(score(0.1), "0.1");
        assert_eq!(score(f64::NEG_INFINITY), "-inf");
    }
}
