//! `export --format csv`: the memory report, one line per key with
//! redis-rdb-tools' columns (`rdb --command memory`):
//!
//! ```text
//! database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry
//! 0,hash,user:1,128,listpack,7,11,2100-01-01T00:00:00.002000
//! ```
//!
//! `size_in_bytes` is [`crate::memory`]'s estimate for the target server;
//! `encoding` is the one that server would choose on load (`OBJECT
//! ENCODING`), which may differ from the file's; `type` uses rdbtools' names
//! (`sortedset`); `expiry` is UTC in Python's `isoformat` (microseconds only
//! when not zero), empty without expiry. Keys are text that reads back to
//! exactly one key ([`csv_key_text`]): UTF-8 as is, and `\xHH` for a byte
//! of invalid UTF-8 or a control byte, `\\` for a backslash (rdbtools
//! writes control bytes and backslashes raw, so that `\xFF` there may be a
//! key's own text); quoted as RFC 4180 asks when they hold a comma or quote
//! (rdbtools does not quote).

use std::io::Write;

use rdbkit_parser::Record;

use crate::memory::{Alloc, Sizer};
use crate::select::Selector;
use crate::source::Visitor;
use crate::target::Target;

/// The header line.
pub const HEADER: &str =
    "database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n";

/// Append `b` as rdbtools' `utf8` escape does: valid UTF-8 as is, each byte
/// of an invalid sequence as the text `\xHH` (upper-case hex).
pub fn rdbtools_text(out: &mut String, mut b: &[u8]) {
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                return;
            }
            Err(e) => {
                let (good, rest) = b.split_at(e.valid_up_to());
                // Valid by construction.
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                for byte in &rest[..bad] {
                    out.push_str(&format!("\\x{byte:02X}"));
                }
                b = &rest[bad..];
            }
        }
    }
}

/// Append a key for the CSV report: [`rdbtools_text`] with every backslash
/// and control byte escaped too, so that each `\` starts an escape (`\\`
/// or `\xHH`) and the text reads back to one key.
///
/// ```
/// let mut s = String::new();
/// rdbkit_engine::export::csv::csv_key_text(&mut s, b"a\\xFF\x00\xff\xc3\xa9");
/// assert_eq!(s, r"a\\xFF\x00\xFFé");
/// ```
pub fn csv_key_text(out: &mut String, mut b: &[u8]) {
    loop {
        let (good, bad) = match std::str::from_utf8(b) {
            Ok(s) => (s, 0),
            Err(e) => (
                // Valid by construction.
                std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or_default(),
                e.error_len().unwrap_or(b.len() - e.valid_up_to()),
            ),
        };
        for c in good.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02X}", c as u8)),
                c => out.push(c),
            }
        }
        let rest = &b[good.len()..];
        for byte in &rest[..bad] {
            out.push_str(&format!("\\x{byte:02X}"));
        }
        if bad == 0 {
            return;
        }
        b = &rest[bad..];
    }
}

/// Python's `datetime.utcfromtimestamp(ms / 1000).isoformat()`.
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let micros = ms.rem_euclid(1000) * 1000;
    let days = secs.div_euclid(86400);
    let tod = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian): count
    // 400-year eras from 0000-03-01 so that leap days fall at era ends.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod % 3600 / 60,
        tod % 60
    );
    if micros != 0 {
        s.push_str(&format!(".{micros:06}"));
    }
    s
}

/// A Unix time in milliseconds as ISO 8601 in UTC for people:
/// `2026-12-02T07:41:00.250Z` (milliseconds only when not zero).
///
/// ```
/// assert_eq!(rdbkit_engine::export::csv::iso8601_ms(1_795_236_163_000), "2026-11-21T04:42:43Z");
/// assert_eq!(rdbkit_engine::export::csv::iso8601_ms(250), "1970-01-01T00:00:00.250Z");
/// ```
pub fn iso8601_ms(ms: i64) -> String {
    let whole = iso_utc(ms.div_euclid(1000) * 1000);
    match ms.rem_euclid(1000) {
        0 => format!("{whole}Z"),
        frac => format!("{whole}.{frac:03}Z"),
    }
}

/// Append a CSV field, quoted only when it must be.
fn field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The memory-report exporter.
#[derive(Debug)]
pub struct CsvExporter<'a, W: Write + ?Sized> {
    out: &'a mut W,
    sizer: Sizer,
    line: String,
}

impl<'a, W: Write + ?Sized> CsvExporter<'a, W> {
    /// A report for `target` (`None`: the file's own release line) and `alloc`.
    pub fn new(out: &'a mut W, sel: Selector, target: Option<Target>, alloc: Alloc) -> Self {
        CsvExporter {
            out,
            sizer: Sizer::new(sel, target, alloc),
            line: String::new(),
        }
    }
}

impl<W: Write + ?Sized> Visitor for CsvExporter<'_, W> {
    fn header(&mut self, version: rdbkit_parser::RdbVersion) -> crate::Result<()> {
        self.sizer.header(version);
        self.out.write_all(HEADER.as_bytes())?;
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        let Some((e, m)) = self.sizer.measure(rec)? else {
            return Ok(true);
        };
        let l = &mut self.line;
        l.clear();
        l.push_str(&e.db.to_string());
        l.push(',');
        l.push_str(m.type_name);
        l.push(',');
        let mut key = String::new();
        csv_key_text(&mut key, &e.key);
        field(l, &key);
        l.push_str(&format!(
            ",{},{},{},{},",
            m.bytes, m.encoding, m.elements, m.largest
        ));
        if let Some(t) = e.expire_ms {
            l.push_str(&iso_utc(t));
        }
        l.push('\n');
        self.out.write_all(l.as_bytes())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_like_python() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00");
        assert_eq!(iso_utc(4102444800002), "2100-01-01T00:00:00.002000");
        assert_eq!(iso_utc(1000000000002), "2001-09-09T01:46:40.002000");
        assert_eq!(iso_utc(253402300799999), "9999-12-31T23:59:59.999000");
        assert_eq!(iso_utc(951782400000), "2000-02-29T00:00:00");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59.999000");
    }

    #[test]
    fn keys_like_rdbtools() {
        let mut s = String::new();
        rdbtools_text(&mut s, b"key:bin:\x00\xff\xfe\xc3\xa9");
        assert_eq!(s, "key:bin:\u{0}\\xFF\\xFEé");
        let mut l = String::new();
        field(&mut l, "a,\"b\"");
        assert_eq!(l, "\"a,\"\"b\"\"\"");
    }
}
