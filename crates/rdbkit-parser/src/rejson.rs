//! RedisJSON's value encoding: the module type `ReJSON-RL`, as RedisJSON
//! 1.x (C) and 2.x (Rust) save it inside a MODULE_2 value.
//!
//! | encver | written by | items |
//! |---|---|---|
//! | 0 | RedisJSON 1.x | a node tree: `UINT type` then the node (below) |
//! | 2 | RedisJSON 2.0 | `STRING json`, `UINT n`, and when `n > 0` two more STRINGs (a RediSearch index hint, ignored by the loader) |
//! | 3 | RedisJSON 2.2+, Redis 8 | `STRING json` |
//!
//! An encver-0 node is `UINT type` with type 0x1 null, 0x2 string
//! (`STRING`), 0x4 number (`DOUBLE`), 0x8 integer (`SINT`), 0x10 boolean
//! (`STRING` starting with `1` for true), 0x20 object (`UINT count`, then
//! per member `UINT 0x80`, `STRING name`, node) or 0x40 array
//! (`UINT count`, nodes). No source documents an encver 1; it and any
//! later encver are left undecoded.
//!
//! Decoding never guesses: the text of encver 2 and 3 is checked to be one
//! JSON value (RFC 8259) before it is handed out, and an encver-0 tree must
//! be complete and well typed; anything else is [`Undecodable`] with the
//! reason, and callers keep the value opaque.

use std::borrow::Cow;
use std::fmt;

use crate::module::{ModuleItem, ModuleValue};
use crate::string::RawString;

/// RedisJSON's module type name.
pub const REJSON_TYPE_NAME: &str = "ReJSON-RL";

/// Nesting deeper than this is refused (RedisJSON itself limits paths to 128
/// levels; documents in the wild are far shallower).
pub const MAX_DEPTH: usize = 10_000;

/// The kind of a JSON document's root value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JsonRoot {
    /// `{...}`
    Object,
    /// `[...]`
    Array,
    /// A string.
    String,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
}

impl JsonRoot {
    /// The JSON name of the kind (`object`, `array`, ...), as `JSON.TYPE`
    /// says it (but `number` for both integers and doubles).
    pub fn as_str(&self) -> &'static str {
        match self {
            JsonRoot::Object => "object",
            JsonRoot::Array => "array",
            JsonRoot::String => "string",
            JsonRoot::Number => "number",
            JsonRoot::Boolean => "boolean",
            JsonRoot::Null => "null",
        }
    }
}

impl fmt::Display for JsonRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded RedisJSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonDocument<'data> {
    /// The document as JSON text (UTF-8): borrowed from the file when it is
    /// stored so (encver 2 and 3, uncompressed), else made.
    pub text: Cow<'data, [u8]>,
    /// The kind of the root value.
    pub root: JsonRoot,
}

/// Why a `ReJSON-RL` value was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Undecodable {
    /// The module encoding version of the value.
    pub encver: u16,
    /// What was found instead of what was expected.
    pub reason: String,
}

impl fmt::Display for Undecodable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{REJSON_TYPE_NAME} encver {}: {}",
            self.encver, self.reason
        )
    }
}

impl std::error::Error for Undecodable {}

impl<'data> ModuleValue<'data> {
    /// Whether this is a RedisJSON value (module type `ReJSON-RL`).
    pub fn is_json(&self) -> bool {
        self.id.name() == REJSON_TYPE_NAME
    }

    /// The JSON document of a RedisJSON value; `None` for other module
    /// types.
    ///
    /// ```
    /// use rdbkit_parser::{JsonRoot, ModuleId, RdbReader, RecordKind, Value};
    ///
    /// // Key "doc" holding `{"a":1}` as RedisJSON 2.2+ saves it (encver 3):
    /// // type 7, the key, the module id, a STRING item, the EOF item.
    /// let mut file = b"REDIS0009\xfe\x00\x07\x03doc\x81".to_vec();
    /// file.extend(ModuleId::from_name("ReJSON-RL", 3).unwrap().0.to_be_bytes());
    /// file.extend(b"\x05\x07{\"a\":1}\x00\xff\0\0\0\0\0\0\0\0");
    /// for record in RdbReader::new(&file)? {
    ///     if let RecordKind::Entry(e) = record?.kind {
    ///         let Value::Module(m) = e.value.decode()? else { unreachable!() };
    ///         let doc = m.json().expect("a ReJSON-RL value").expect("decodable");
    ///         assert_eq!((&doc.text[..], doc.root), (&br#"{"a":1}"#[..], JsonRoot::Object));
    ///     }
    /// }
    /// # Ok::<(), rdbkit_parser::Error>(())
    /// ```
    pub fn json(&self) -> Option<Result<JsonDocument<'data>, Undecodable>> {
        if !self.is_json() {
            return None;
        }
        Some(decode(self))
    }
}

fn decode<'data>(m: &ModuleValue<'data>) -> Result<JsonDocument<'data>, Undecodable> {
    let encver = m.id.encver();
    let fail = |reason: String| Undecodable { encver, reason };
    let items = m.items().map_err(|e| fail(format!("module items: {e}")))?;
    let limits = m.limits();
    let text_of = |s: &RawString<'data>| -> Result<Cow<'data, [u8]>, Undecodable> {
        s.decode(&limits)
            .map_err(|e| fail(format!("JSON text: {e}")))
    };
    match encver {
        3 | 2 => {
            let text = match items.first() {
                Some(ModuleItem::String(s)) => text_of(s)?,
                Some(other) => {
                    return Err(fail(format!(
                        "first item is {}, expected the JSON text (STRING)",
                        item_name(other)
                    )));
                }
                None => return Err(fail("no items, expected the JSON text (STRING)".into())),
            };
            let rest = items.get(1..).unwrap_or_default();
            let rest_ok = if encver == 3 {
                rest.is_empty()
            } else {
                // RedisJSON reads the two strings only after a non-zero
                // UINT, and the server then wants the EOF item.
                match rest {
                    [ModuleItem::Uint(0)] => true,
                    [
                        ModuleItem::Uint(n),
                        ModuleItem::String(_),
                        ModuleItem::String(_),
                    ] => *n > 0,
                    _ => false,
                }
            };
            if !rest_ok {
                let want = if encver == 3 {
                    "nothing after the JSON text"
                } else {
                    "UINT 0, or UINT n and two STRINGs, after the JSON text"
                };
                return Err(fail(format!(
                    "{} item(s) after the JSON text, expected {want}",
                    rest.len()
                )));
            }
            let root = validate(&text).map_err(fail)?;
            Ok(JsonDocument { text, root })
        }
        0 => {
            let mut out = Vec::new();
            let root = tree_to_text(&items, &limits, &mut out).map_err(fail)?;
            Ok(JsonDocument {
                text: Cow::Owned(out),
                root,
            })
        }
        other => Err(fail(format!(
            "no documented encoding for encver {other} (known: 0, 2, 3)"
        ))),
    }
}

fn item_name(item: &ModuleItem<'_>) -> &'static str {
    match item {
        ModuleItem::Sint(_) => "SINT",
        ModuleItem::Uint(_) => "UINT",
        ModuleItem::Float(_) => "FLOAT",
        ModuleItem::Double(_) => "DOUBLE",
        ModuleItem::String(_) => "STRING",
    }
}

const NODE_NULL: u64 = 0x1;
const NODE_STRING: u64 = 0x2;
const NODE_NUMBER: u64 = 0x4;
const NODE_INTEGER: u64 = 0x8;
const NODE_BOOLEAN: u64 = 0x10;
const NODE_DICT: u64 = 0x20;
const NODE_ARRAY: u64 = 0x40;
const NODE_KEYVAL: u64 = 0x80;

/// Writes the encver-0 tree as JSON text, with an explicit stack (a hostile
/// file may nest deeply).
fn tree_to_text(
    items: &[ModuleItem<'_>],
    limits: &crate::Limits,
    out: &mut Vec<u8>,
) -> Result<JsonRoot, String> {
    // Open containers: (is_object, members still to write, members written).
    let mut stack: Vec<(bool, u64, u64)> = Vec::new();
    let mut it = items.iter().enumerate();
    let mut next = |what: &str| {
        it.next()
            .ok_or_else(|| format!("the items end where {what} was expected"))
    };
    let mut root = None;
    loop {
        // Close finished containers, and open the next member's slot.
        while let Some(top) = stack.last_mut() {
            if top.1 > 0 {
                break;
            }
            out.push(if top.0 { b'}' } else { b']' });
            stack.pop();
        }
        if let Some(top) = stack.last_mut() {
            top.1 -= 1;
            if top.2 > 0 {
                out.push(b',');
            }
            top.2 += 1;
            if top.0 {
                match next("an object member (UINT 0x80)")? {
                    (_, ModuleItem::Uint(NODE_KEYVAL)) => {}
                    (i, other) => {
                        return Err(format!(
                            "item {i}: {} where an object member (UINT 0x80) was expected",
                            describe(other)
                        ));
                    }
                }
                match next("a member name (STRING)")? {
                    (_, ModuleItem::String(s)) => {
                        let name = s.decode(limits).map_err(|e| format!("member name: {e}"))?;
                        escape_str(&name, out)?;
                        out.push(b':');
                    }
                    (i, other) => {
                        return Err(format!(
                            "item {i}: {} where a member name (STRING) was expected",
                            describe(other)
                        ));
                    }
                }
            }
        } else if root.is_some() {
            break;
        }
        let (i, node) = next("a node type (UINT)")?;
        let ModuleItem::Uint(ty) = *node else {
            return Err(format!(
                "item {i}: {} where a node type (UINT) was expected",
                describe(node)
            ));
        };
        let kind = match ty {
            NODE_NULL => {
                out.extend_from_slice(b"null");
                JsonRoot::Null
            }
            NODE_STRING | NODE_BOOLEAN => {
                let (j, v) = next("a string (STRING)")?;
                let ModuleItem::String(s) = v else {
                    return Err(format!(
                        "item {j}: {} where a string (STRING) was expected",
                        describe(v)
                    ));
                };
                let bytes = s.decode(limits).map_err(|e| format!("string: {e}"))?;
                if ty == NODE_STRING {
                    escape_str(&bytes, out)?;
                    JsonRoot::String
                } else {
                    // RedisJSON 1.x tests only the first byte.
                    let t = bytes.first() == Some(&b'1');
                    out.extend_from_slice(if t { b"true" } else { b"false" });
                    JsonRoot::Boolean
                }
            }
            NODE_INTEGER => {
                let (j, v) = next("an integer (SINT)")?;
                let ModuleItem::Sint(n) = v else {
                    return Err(format!(
                        "item {j}: {} where an integer (SINT) was expected",
                        describe(v)
                    ));
                };
                out.extend_from_slice(n.to_string().as_bytes());
                JsonRoot::Number
            }
            NODE_NUMBER => {
                let (j, v) = next("a number (DOUBLE)")?;
                let ModuleItem::Double(d) = v else {
                    return Err(format!(
                        "item {j}: {} where a number (DOUBLE) was expected",
                        describe(v)
                    ));
                };
                if !d.is_finite() {
                    return Err(format!("item {j}: the number {d} has no JSON form"));
                }
                // Debug gives the shortest text that reads back as the same
                // double, with an exponent for very large and small ones.
                out.extend_from_slice(format!("{d:?}").as_bytes());
                JsonRoot::Number
            }
            NODE_DICT | NODE_ARRAY => {
                let (j, v) = next("a member count (UINT)")?;
                let ModuleItem::Uint(n) = *v else {
                    return Err(format!(
                        "item {j}: {} where a member count (UINT) was expected",
                        describe(v)
                    ));
                };
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nesting deeper than {MAX_DEPTH} levels"));
                }
                let object = ty == NODE_DICT;
                out.push(if object { b'{' } else { b'[' });
                stack.push((object, n, 0));
                if object {
                    JsonRoot::Object
                } else {
                    JsonRoot::Array
                }
            }
            other => {
                return Err(format!(
                    "item {i}: node type {other:#x}, expected 0x1, 0x2, 0x4, 0x8, 0x10, 0x20 or 0x40"
                ));
            }
        };
        root.get_or_insert(kind);
    }
    if let Some((i, extra)) = it.next() {
        return Err(format!(
            "item {i}: {} after the end of the document",
            describe(extra)
        ));
    }
    root.ok_or_else(|| "no document".to_string())
}

fn describe(item: &ModuleItem<'_>) -> String {
    match item {
        ModuleItem::Sint(n) => format!("SINT {n}"),
        ModuleItem::Uint(n) => format!("UINT {n:#x}"),
        ModuleItem::Float(f) => format!("FLOAT {f}"),
        ModuleItem::Double(d) => format!("DOUBLE {d}"),
        ModuleItem::String(s) => format!("a {}-byte STRING", s.len()),
    }
}

/// Writes `s` as a JSON string; it must be UTF-8 (a JSON document holds
/// text only).
fn escape_str(s: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let text = std::str::from_utf8(s)
        .map_err(|e| format!("a string is not UTF-8 (byte {})", e.valid_up_to()))?;
    out.push(b'"');
    for c in text.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
    Ok(())
}

/// Checks that `text` is exactly one JSON value (RFC 8259, blanks around it
/// allowed) and says which kind its root is; the error names the byte.
pub fn validate(text: &[u8]) -> Result<JsonRoot, String> {
    let mut v = Validator { s: text, i: 0 };
    v.blank();
    let root = v.value()?;
    v.blank();
    if v.i != text.len() {
        return Err(format!(
            "JSON text: byte {}: {} after the document",
            v.i,
            v.what()
        ));
    }
    Ok(root)
}

struct Validator<'a> {
    s: &'a [u8],
    i: usize,
}

impl Validator<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn what(&self) -> String {
        match self.peek() {
            None => "the end of the text".into(),
            Some(b) if b.is_ascii_graphic() => format!("{:?}", b as char),
            Some(b) => format!("byte 0x{b:02x}"),
        }
    }

    fn fail<T>(&self, expected: &str) -> Result<T, String> {
        Err(format!(
            "JSON text: byte {}: {} where {expected} was expected",
            self.i,
            self.what()
        ))
    }

    fn blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail(&format!("`{}`", String::from_utf8_lossy(word)))
        }
    }

    /// One value; containers with an explicit stack of open brackets.
    fn value(&mut self) -> Result<JsonRoot, String> {
        let mut open: Vec<u8> = Vec::new();
        let mut root = None;
        loop {
            // At the start of a value.
            self.blank();
            let kind = match self.peek() {
                Some(c @ (b'{' | b'[')) => {
                    self.i += 1;
                    if open.len() >= MAX_DEPTH {
                        return Err(format!("JSON text: nesting deeper than {MAX_DEPTH} levels"));
                    }
                    open.push(c);
                    root.get_or_insert(if c == b'{' {
                        JsonRoot::Object
                    } else {
                        JsonRoot::Array
                    });
                    self.blank();
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                        open.pop();
                    } else {
                        if c == b'{' {
                            self.member_name()?;
                        }
                        continue;
                    }
                    None
                }
                Some(b'"') => {
                    self.string()?;
                    Some(JsonRoot::String)
                }
                Some(b't') => {
                    self.literal(b"true")?;
                    Some(JsonRoot::Boolean)
                }
                Some(b'f') => {
                    self.literal(b"false")?;
                    Some(JsonRoot::Boolean)
                }
                Some(b'n') => {
                    self.literal(b"null")?;
                    Some(JsonRoot::Null)
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                    Some(JsonRoot::Number)
                }
                _ => return self.fail("a JSON value"),
            };
            if let Some(k) = kind {
                root.get_or_insert(k);
            }
            // After a value: close containers or go on to the next member.
            loop {
                let Some(&c) = open.last() else {
                    return root.map_or_else(|| self.fail("a JSON value"), Ok);
                };
                self.blank();
                let close = if c == b'{' { b'}' } else { b']' };
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if c == b'{' {
                            self.blank();
                            self.member_name()?;
                        }
                        break;
                    }
                    Some(x) if x == close => {
                        self.i += 1;
                        open.pop();
                    }
                    _ => {
                        return self.fail(if c == b'{' {
                            "`,` or `}`"
                        } else {
                            "`,` or `]`"
                        });
                    }
                }
            }
        }
    }

    fn member_name(&mut self) -> Result<(), String> {
        if self.peek() != Some(b'"') {
            return self.fail("a member name");
        }
        self.string()?;
        self.blank();
        if self.peek() != Some(b':') {
            return self.fail("`:`");
        }
        self.i += 1;
        Ok(())
    }

    fn string(&mut self) -> Result<(), String> {
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek() {
                None => return self.fail("the closing `\"`"),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
                                    return self.fail("a hex digit");
                                }
                                self.i += 1;
                            }
                        }
                        _ => return self.fail("an escape (one of \"\\/bfnrtu)"),
                    }
                }
                Some(b) if b < 0x20 => return self.fail("a character (controls must be escaped)"),
                Some(_) => self.i += 1,
            }
        }
        if let Err(e) = std::str::from_utf8(self.s.get(start..self.i).unwrap_or_default()) {
            self.i = start + e.valid_up_to();
            return self.fail("UTF-8 text");
        }
        self.i += 1;
        Ok(())
    }

    fn number(&mut self) -> Result<(), String> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.fail("a digit"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("a digit after `.`");
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return self.fail("a digit in the exponent");
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validator_takes_json_and_names_the_byte_otherwise() {
        for (t, root) in [
            (
                &br#"{"a":[1,2.5e-3,-0,true,false,null,"x\u00e9\n"],"b":{}}"#[..],
                JsonRoot::Object,
            ),
            (b" [ ] ", JsonRoot::Array),
            (b"\"s\"", JsonRoot::String),
            (b"9007199254740993", JsonRoot::Number),
            (b"null", JsonRoot::Null),
            ("\"\u{1F600}\"".as_bytes(), JsonRoot::String),
            (b"[[[]],{\"k\":[{}]}]", JsonRoot::Array),
        ] {
            assert_eq!(validate(t), Ok(root), "{}", String::from_utf8_lossy(t));
        }
        for (t, at) in [
            (&b""[..], 0),
            (b"{", 1),
            (b"{\"a\"}", 4),
            (b"[1,]", 3),
            (b"01", 1),
            (b"1.", 2),
            (b"\"a\x01\"", 2),
            (b"\"\xff\"", 1),
            (b"tru", 0),
            (b"{} x", 3),
            (b"[1 2]", 3),
            (b"{\"a\":1,}", 7),
            (b"\"\\x\"", 2),
        ] {
            let e = validate(t).unwrap_err();
            assert!(
                e.starts_with(&format!("JSON text: byte {at}:")),
                "{}: {e}",
                String::from_utf8_lossy(t)
            );
        }
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(validate(deep.as_bytes()).unwrap_err().contains("nesting"));
    }

    fn s(b: &[u8]) -> ModuleItem<'_> {
        ModuleItem::String(RawString::Raw(b))
    }

    #[test]
    fn encver_0_trees_become_json_text() {
        let items = [
            ModuleItem::Uint(NODE_DICT),
            ModuleItem::Uint(3),
            ModuleItem::Uint(NODE_KEYVAL),
            s(b"a\"b"),
            ModuleItem::Uint(NODE_ARRAY),
            ModuleItem::Uint(4),
            ModuleItem::Uint(NODE_INTEGER),
            ModuleItem::Sint(-7),
            ModuleItem::Uint(NODE_NUMBER),
            ModuleItem::Double(1e300),
            ModuleItem::Uint(NODE_BOOLEAN),
            s(b"1"),
            ModuleItem::Uint(NODE_NULL),
            ModuleItem::Uint(NODE_KEYVAL),
            s(b"e"),
            ModuleItem::Uint(NODE_DICT),
            ModuleItem::Uint(0),
            ModuleItem::Uint(NODE_KEYVAL),
            s(b"s"),
            ModuleItem::Uint(NODE_STRING),
            s("t\u{e9}\n\u{1}".as_bytes()),
        ];
        let mut out = Vec::new();
        let root = tree_to_text(&items, &crate::Limits::default(), &mut out).unwrap();
        assert_eq!(root, JsonRoot::Object);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"a\\\"b\":[-7,1e300,true,null],\"e\":{},\"s\":\"t\u{e9}\\n\\u0001\"}"
        );
        assert_eq!(validate(text.as_bytes()), Ok(JsonRoot::Object));

        let mut out = Vec::new();
        let scalar = [ModuleItem::Uint(NODE_NUMBER), ModuleItem::Double(0.5)];
        assert_eq!(
            tree_to_text(&scalar, &crate::Limits::default(), &mut out),
            Ok(JsonRoot::Number)
        );
        assert_eq!(out, b"0.5");
    }

    #[test]
    fn broken_encver_0_trees_are_refused_with_the_item() {
        let l = crate::Limits::default();
        let cases: [(&[ModuleItem<'_>], &str); 6] = [
            (
                &[
                    ModuleItem::Uint(NODE_ARRAY),
                    ModuleItem::Uint(2),
                    ModuleItem::Uint(NODE_NULL),
                ],
                "the items end",
            ),
            (&[ModuleItem::Uint(0x3)], "node type 0x3"),
            (
                &[ModuleItem::Uint(NODE_NULL), ModuleItem::Uint(NODE_NULL)],
                "after the end",
            ),
            (
                &[ModuleItem::Uint(NODE_DICT), ModuleItem::Uint(1), s(b"k")],
                "object member",
            ),
            (
                &[ModuleItem::Uint(NODE_NUMBER), ModuleItem::Double(f64::NAN)],
                "no JSON form",
            ),
            (&[ModuleItem::Uint(NODE_STRING), s(b"\xff")], "not UTF-8"),
        ];
        for (items, want) in cases {
            let e = tree_to_text(items, &l, &mut Vec::new()).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        assert!(tree_to_text(&[], &l, &mut Vec::new()).is_err());
    }
}
