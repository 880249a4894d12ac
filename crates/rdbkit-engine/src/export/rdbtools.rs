//! `export --format rdbtools-json`: the output of redis-rdb-tools'
//! `rdb --command json` (its `JSONCallback`), for scripts built on it.
//!
//! The shape: a JSON array with one object per `SELECTDB` in the file, each
//! mapping key → value in file order:
//!
//! | value | JSON |
//! |---|---|
//! | string | `"text"` |
//! | list, set | `["a", "b"]` (stored order) |
//! | hash | `{"field": "value"}` |
//! | sorted set | `{"member": "score"}`, the score as text: Python's `str(float)` (`"1.5"`, `"inf"`), or the integer when a ziplist stored it as one |
//! | stream, module | `{}` |
//!
//! Byte strings go through rdbtools' `utf8` escape: valid UTF-8 as is, each
//! byte of an invalid sequence as the text `\xHH`; then `json.dumps` with
//! `ensure_ascii`: `\uXXXX` for everything outside printable ASCII. Expiries
//! and database numbers are not in the output (as in rdbtools).

use std::io::Write;

use rdbkit_parser::format::{RDB_TYPE_ZSET, RDB_TYPE_ZSET_ZIPLIST};
use rdbkit_parser::{Item, RdbType, Record, RecordKind, Value};

use crate::export::csv::rdbtools_text;
use crate::select::Selector;
use crate::source::Visitor;

/// Append `s` as Python's `json.dumps(s)` (ensure_ascii) writes it.
fn py_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(c as u8),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push(b'"');
}

/// A byte string the way rdbtools encodes keys and values.
fn bytes(out: &mut Vec<u8>, scratch: &mut String, b: &[u8]) {
    scratch.clear();
    rdbtools_text(scratch, b);
    py_json_str(out, scratch);
}

fn item(out: &mut Vec<u8>, scratch: &mut String, it: &Item<'_>) {
    bytes(out, scratch, &it.to_bytes());
}

/// Python's `repr(float)`: the shortest round-trip digits, in positional
/// notation when the decimal exponent is in [-4, 16), else scientific with a
/// signed two-digit-or-more exponent; integral values keep a `.0`.
pub fn py_float(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits as d.ddddde±x.
    let sci = format!("{:e}", v.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let s = if exp < 0 {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        } else if exp + 1 >= n {
            format!("{digits}{}.0", "0".repeat((exp + 1 - n) as usize))
        } else {
            let (a, b) = digits.split_at((exp + 1) as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { "-" } else { "+" };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// C's `printf("%.17g", v)` for a finite `v`.
fn c_g17(v: f64) -> String {
    let sci = format!("{:.16e}", v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..17).contains(&exp) {
        strip(&format!("{:.*}", (16 - exp) as usize, v))
    } else {
        let es = if exp < 0 { '-' } else { '+' };
        format!("{}e{es}{:02}", strip(mant), exp.abs())
    }
}

/// The score text rdbtools prints, which depends on how the file stored it:
/// - type 3 (RDB <= 7 skiplists) keeps scores as text, and rdbtools prints
///   that text: Redis wrote integral values below 2^52 as integers, others
///   with `%.17g`;
/// - type 12 (ziplist) stores `d2string`'s text, which the ziplist encodes
///   as an integer when it is one (integral values below 1e17, except -0),
///   and rdbtools prints the integer;
/// - otherwise a binary double, printed as Python's `str(float)`.
fn score_text(v: f64, ty: RdbType) -> String {
    let integral = v.fract() == 0.0 && !(v == 0.0 && v.is_sign_negative());
    match ty {
        RDB_TYPE_ZSET if v.is_finite() => {
            if integral && v.abs() < 4503599627370496.0 {
                format!("{}", v as i64)
            } else {
                c_g17(v)
            }
        }
        RDB_TYPE_ZSET_ZIPLIST if integral && v.abs() < 1e17 => format!("{}", v as i64),
        _ => py_float(v),
    }
}

/// The rdbtools-json exporter.
#[derive(Debug)]
pub struct RdbtoolsExporter<'a, W: Write + ?Sized> {
    out: &'a mut W,
    sel: Selector,
    buf: Vec<u8>,
    scratch: String,
    /// An object for the current database is open.
    in_db: bool,
    first_key: bool,
}

impl<'a, W: Write + ?Sized> RdbtoolsExporter<'a, W> {
    /// A new exporter; call [`Self::finish`] after the walk.
    pub fn new(out: &'a mut W, sel: Selector) -> Self {
        RdbtoolsExporter {
            out,
            sel,
            buf: Vec::new(),
            scratch: String::new(),
            in_db: false,
            first_key: true,
        }
    }

    fn start_db(&mut self) {
        // `start_database`: `},` between databases, `{` to open.
        if self.in_db {
            self.buf.extend_from_slice(b"},");
        }
        self.buf.push(b'{');
        self.in_db = true;
        self.first_key = true;
    }

    /// Close the array (`end_rdb`).
    pub fn finish(&mut self) -> crate::Result<()> {
        if self.in_db {
            self.out.write_all(b"}")?;
        }
        self.out.write_all(b"]")?;
        Ok(())
    }

    fn entry(&mut self, e: &rdbkit_parser::Entry<'_>) -> crate::Result<()> {
        if !self.in_db {
            // A key before any SELECTDB (hand-made files) is in db 0.
            self.start_db();
        }
        let (b, sc) = (&mut self.buf, &mut self.scratch);
        if !self.first_key {
            b.push(b',');
        }
        self.first_key = false;
        b.extend_from_slice(b"\r\n");
        bytes(b, sc, &e.key);
        b.push(b':');
        match e.value.decode()? {
            Value::String(s) => bytes(b, sc, &s),
            Value::List(l) => {
                b.push(b'[');
                for (i, it) in l.iter()?.enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    item(b, sc, &it?);
                }
                b.push(b']');
            }
            Value::Set(s) => {
                b.push(b'[');
                for (i, it) in s.iter()?.enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    item(b, sc, &it?);
                }
                b.push(b']');
            }
            Value::Hash(h) => {
                b.push(b'{');
                for (i, r) in h.iter()?.enumerate() {
                    let f = r?;
                    if i > 0 {
                        b.push(b',');
                    }
                    item(b, sc, &f.field);
                    b.push(b':');
                    item(b, sc, &f.value);
                }
                b.push(b'}');
            }
            Value::ZSet(z) => {
                let ty = e.value.ty();
                b.push(b'{');
                for (i, r) in z.iter()?.enumerate() {
                    let (m, score) = r?;
                    if i > 0 {
                        b.push(b',');
                    }
                    item(b, sc, &m);
                    b.push(b':');
                    py_json_str(b, &score_text(score, ty));
                }
                b.push(b'}');
            }
            Value::Stream(_) | Value::Module(_) => b.extend_from_slice(b"{}"),
        }
        Ok(())
    }
}

impl<W: Write + ?Sized> Visitor for RdbtoolsExporter<'_, W> {
    fn header(&mut self, _version: rdbkit_parser::RdbVersion) -> crate::Result<()> {
        self.out.write_all(b"[")?;
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        self.buf.clear();
        match &rec.kind {
            RecordKind::SelectDb { .. } => self.start_db(),
            RecordKind::Entry(e) if self.sel.matches(e, rec.raw.len() as u64) => {
                self.entry(e).map_err(|err| {
                    err.context(format!("key {}", rdbkit_parser::DisplayBytes(&e.key)))
                })?;
            }
            _ => {}
        }
        self.out.write_all(&self.buf)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::format::RDB_TYPE_ZSET_2;

    #[test]
    fn floats_like_python() {
        let cases = [
            (1.5, "1.5"),
            (3.0, "3.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789.125, "123456789.125"),
            (1e300, "1e+300"),
            (-2.5e-10, "-2.5e-10"),
            (f64::INFINITY, "inf"),
            (0.1, "0.1"),
        ];
        for (v, s) in cases {
            assert_eq!(py_float(v), s, "{v}");
        }
        assert_eq!(score_text(5.0, RDB_TYPE_ZSET_ZIPLIST), "5");
        assert_eq!(score_text(5.0, RDB_TYPE_ZSET_2), "5.0");
        assert_eq!(score_text(1.0, RDB_TYPE_ZSET), "1");
        assert_eq!(
            score_text(922_062.948_923_917_2, RDB_TYPE_ZSET),
            "922062.94892391725"
        );
        assert_eq!(score_text(1e300, RDB_TYPE_ZSET), "1.0000000000000001e+300");
        assert_eq!(score_text(0.5, RDB_TYPE_ZSET), "0.5");
    }

    #[test]
    fn strings_like_json_dumps() {
        let mut o = Vec::new();
        let mut sc = String::new();
        bytes(
            &mut o,
            &mut sc,
            b"a\"\\\n\x01\x7f\xc3\xa9\xff\xf0\x9f\x98\x80",
        );
        assert_eq!(
            String::from_utf8(o).unwrap(),
            r#""a\"\\\n\u0001\u007f\u00e9\\xFF\ud83d\ude00""#
        );
    }
}
