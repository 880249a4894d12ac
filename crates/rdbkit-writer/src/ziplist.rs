//! Ziplist encoder (format reference §4.2): the compact blob of hashes (13),
//! sorted sets (12) and lists (10) for Redis 2.4 - 6.2, and the node format of
//! quicklist v1 (14).
//!
//! Layout: `u32 LE zlbytes`, `u32 LE zltail`, `u16 LE zllen` (65535 when the
//! count does not fit), entries, `0xFF`. Each entry is `prevlen` (1 byte if
//! the previous entry is under 254 bytes, else `0xFE` + `u32 LE`), an encoding
//! and the data. A string that is the canonical decimal text of an `i64` (and
//! under 32 bytes, as Redis checks) is stored as an integer in the smallest
//! form: the 4-bit immediate for 0..=12, then 8, 16, 24, 32 or 64 bits. For
//! RDB ≤ 5 (Redis 2.4 loaders) only the 16/32/64-bit forms exist.
//!
//! The encoder appends into one buffer that is kept between uses, so a
//! conversion encodes every ziplist of a file without allocating per element
//! or (after warming up) per value.

use rdbkit_parser::{Item, RdbVersion, parse_canonical_i64};

/// Size of the ziplist header (`zlbytes`, `zltail`, `zllen`).
pub const ZIPLIST_HEADER_SIZE: usize = 10;
const ZIP_END: u8 = 0xff;
const ZIP_BIG_PREVLEN: u8 = 0xfe;
/// Redis only tries to store strings shorter than this as integers.
const ZIP_INT_MAX_STRLEN: usize = 32;

/// Which integer encodings the target's ziplist reader knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntForms {
    /// 4-bit immediate, 8, 16, 24, 32 and 64 bits (RDB 6+, Redis 2.6+).
    All,
    /// 16, 32 and 64 bits only (RDB 2-5, Redis 2.4).
    Legacy,
}

impl IntForms {
    /// The forms a loader of `target` reads.
    pub fn for_target(target: RdbVersion) -> IntForms {
        if target.redis_level() >= 6 {
            IntForms::All
        } else {
            IntForms::Legacy
        }
    }
}

/// The encoding bytes of an integer entry (without prevlen): at most 9.
fn int_encoding(v: i64, forms: IntForms, out: &mut [u8; 9]) -> usize {
    let b = v.to_le_bytes();
    if forms == IntForms::All {
        if (0..=12).contains(&v) {
            out[0] = 0xf1 + v as u8;
            return 1;
        }
        if let Ok(x) = i8::try_from(v) {
            out[0] = 0xfe;
            out[1] = x as u8;
            return 2;
        }
    }
    if i16::try_from(v).is_ok() {
        out[0] = 0xc0;
        out[1..3].copy_from_slice(&b[..2]);
        return 3;
    }
    if forms == IntForms::All && (-(1 << 23)..(1 << 23)).contains(&v) {
        out[0] = 0xf0;
        out[1..4].copy_from_slice(&b[..3]);
        return 4;
    }
    if i32::try_from(v).is_ok() {
        out[0] = 0xd0;
        out[1..5].copy_from_slice(&b[..4]);
        return 5;
    }
    out[0] = 0xe0;
    out[1..9].copy_from_slice(&b);
    9
}

/// The integer an item is stored as in a ziplist, if any: integers, and
/// canonical integer texts short enough for Redis's `zipTryEncoding`.
fn as_int(item: &Item<'_>) -> Option<i64> {
    match item {
        Item::Int(v) => Some(*v),
        Item::Bytes(s) if s.len() < ZIP_INT_MAX_STRLEN => parse_canonical_i64(s),
        Item::Bytes(_) => None,
    }
}

/// The bytes of the entry [`ZiplistEncoder`] writes for `item` after an
/// entry of `prev` bytes (what a server's ziplist holds for it).
///
/// ```
/// use rdbkit_parser::Item;
/// use rdbkit_writer::ziplist::{IntForms, entry_len};
///
/// assert_eq!(entry_len(&Item::Int(5), 0, IntForms::All), 2);
/// assert_eq!(entry_len(&Item::Bytes(b"abc"[..].into()), 300, IntForms::All), 5 + 4);
/// ```
pub fn entry_len(item: &Item<'_>, prev: usize, forms: IntForms) -> usize {
    let prevlen = if prev < usize::from(ZIP_BIG_PREVLEN) {
        1
    } else {
        5
    };
    let body = match as_int(item) {
        Some(v) => int_encoding(v, forms, &mut [0; 9]),
        None => {
            let l = item.len();
            let header = match l {
                0..0x40 => 1,
                0x40..0x4000 => 2,
                _ => 5,
            };
            header + l
        }
    };
    prevlen + body
}

/// The finished ziplist would exceed the 32-bit `zlbytes` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZiplistTooLarge;

impl std::fmt::Display for ZiplistTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a ziplist cannot exceed 2^32 - 1 bytes")
    }
}

impl std::error::Error for ZiplistTooLarge {}

/// Builds one ziplist at a time in a reused buffer.
///
/// ```
/// use rdbkit_writer::ziplist::{IntForms, ZiplistEncoder};
///
/// let mut z = ZiplistEncoder::new(IntForms::All);
/// z.push_bytes(b"a");
/// z.push_bytes(b"7"); // a canonical integer: stored as the immediate 7
/// assert_eq!(
///     z.finish().unwrap(),
///     b"\x10\x00\x00\x00\x0d\x00\x00\x00\x02\x00\x00\x01a\x03\xf8\xff"
/// );
/// ```
#[derive(Clone, Debug)]
pub struct ZiplistEncoder {
    buf: Vec<u8>,
    count: u64,
    prev_size: usize,
    tail: usize,
    forms: IntForms,
    too_large: bool,
    finished: bool,
}

impl Default for ZiplistEncoder {
    fn default() -> Self {
        ZiplistEncoder::new(IntForms::All)
    }
}

impl ZiplistEncoder {
    /// An empty ziplist using `forms` for integers.
    pub fn new(forms: IntForms) -> Self {
        let mut z = ZiplistEncoder {
            buf: Vec::new(),
            count: 0,
            prev_size: 0,
            tail: ZIPLIST_HEADER_SIZE,
            forms,
            too_large: false,
            finished: false,
        };
        z.clear(forms);
        z
    }

    /// Start a new, empty ziplist (the buffer's capacity is kept).
    pub fn clear(&mut self, forms: IntForms) {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; ZIPLIST_HEADER_SIZE]);
        self.count = 0;
        self.prev_size = 0;
        self.tail = ZIPLIST_HEADER_SIZE;
        self.forms = forms;
        self.too_large = false;
        self.finished = false;
    }

    /// Entries pushed so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no entry was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size in bytes of the finished ziplist with the entries so far.
    pub fn byte_len(&self) -> usize {
        self.buf.len() + usize::from(!self.finished)
    }

    fn begin(&mut self) -> usize {
        debug_assert!(!self.finished, "push after finish without clear");
        let start = self.buf.len();
        if self.prev_size < usize::from(ZIP_BIG_PREVLEN) {
            self.buf.push(self.prev_size as u8);
        } else {
            // An entry this large already made the ziplist too large unless
            // it fits 32 bits.
            let p = u32::try_from(self.prev_size).unwrap_or(u32::MAX);
            self.buf.push(ZIP_BIG_PREVLEN);
            self.buf.extend_from_slice(&p.to_le_bytes());
        }
        start
    }

    fn end(&mut self, start: usize) {
        self.tail = start;
        self.prev_size = self.buf.len() - start;
        self.count += 1;
    }

    /// Append an integer entry in the smallest form the target reads.
    pub fn push_int(&mut self, v: i64) {
        let start = self.begin();
        let mut enc = [0u8; 9];
        let n = int_encoding(v, self.forms, &mut enc);
        self.buf.extend_from_slice(enc.get(..n).unwrap_or_default());
        self.end(start);
    }

    /// Append a string entry; a canonical integer text becomes an integer
    /// entry (as Redis's `zipTryEncoding` does).
    pub fn push_bytes(&mut self, s: &[u8]) {
        if let Some(v) = as_int(&Item::Bytes(s.into())) {
            return self.push_int(v);
        }
        let Ok(len) = u32::try_from(s.len()) else {
            self.too_large = true;
            return;
        };
        let start = self.begin();
        if len < 1 << 6 {
            self.buf.push(len as u8);
        } else if len < 1 << 14 {
            self.buf
                .extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
        } else {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&len.to_be_bytes());
        }
        self.buf.extend_from_slice(s);
        self.end(start);
    }

    /// Append an element as decoded by the parser.
    pub fn push_item(&mut self, item: &Item<'_>) {
        match item {
            Item::Int(v) => self.push_int(*v),
            Item::Bytes(b) => self.push_bytes(b),
        }
    }

    /// Write the header and the end marker and return the ziplist. Call
    /// [`ZiplistEncoder::clear`] before building the next one.
    pub fn finish(&mut self) -> Result<&[u8], ZiplistTooLarge> {
        if !self.finished {
            self.buf.push(ZIP_END);
            self.finished = true;
        }
        if self.too_large {
            return Err(ZiplistTooLarge);
        }
        let total = u32::try_from(self.buf.len()).map_err(|_| ZiplistTooLarge)?;
        let tail = u32::try_from(self.tail).map_err(|_| ZiplistTooLarge)?;
        let zllen = u16::try_from(self.count).unwrap_or(u16::MAX);
        let mut header = [0u8; ZIPLIST_HEADER_SIZE];
        header[..4].copy_from_slice(&total.to_le_bytes());
        header[4..8].copy_from_slice(&tail.to_le_bytes());
        header[8..].copy_from_slice(&zllen.to_le_bytes());
        if let Some(h) = self.buf.get_mut(..ZIPLIST_HEADER_SIZE) {
            h.copy_from_slice(&header);
        }
        Ok(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::ziplist::Ziplist;

    fn decode(blob: &[u8]) -> Vec<Vec<u8>> {
        Ziplist::parse(blob, 0)
            .unwrap()
            .entries()
            .map(|r| r.unwrap().to_bytes().into_owned())
            .collect()
    }

    fn encode(items: &[Vec<u8>], forms: IntForms) -> Vec<u8> {
        let mut z = ZiplistEncoder::new(forms);
        for i in items {
            z.push_bytes(i);
        }
        z.finish().unwrap().to_vec()
    }

    #[test]
    fn entry_len_is_what_the_encoder_writes() {
        let mut items: Vec<Item<'static>> = Vec::new();
        for v in [
            0i64,
            12,
            13,
            -1,
            127,
            128,
            -129,
            32767,
            32768,
            1 << 23,
            -(1 << 23) - 1,
            1 << 31,
            i64::MIN,
            i64::MAX,
        ] {
            items.push(Item::Int(v));
            items.push(Item::Bytes(v.to_string().into_bytes().into()));
        }
        for l in [0usize, 1, 63, 64, 16383, 16384, 70000] {
            items.push(Item::Bytes(vec![b'x'; l].into()));
        }
        items.push(Item::Bytes(b"007".to_vec().into()));
        items.push(Item::Bytes(
            b"123456789012345678901234567890123".to_vec().into(),
        ));
        for forms in [IntForms::All, IntForms::Legacy] {
            let mut z = ZiplistEncoder::new(forms);
            let mut prev = 0;
            for it in &items {
                let before = z.byte_len();
                z.push_item(it);
                let len = z.byte_len() - before;
                assert_eq!(
                    entry_len(it, prev, forms),
                    len,
                    "{it:?} after {prev} ({forms:?})"
                );
                prev = len;
            }
        }
    }

    /// The encoding byte of the only entry of a one-entry ziplist.
    fn first_encoding(blob: &[u8]) -> u8 {
        assert_eq!(blob[10], 0, "prevlen of the first entry");
        blob[11]
    }

    #[test]
    fn known_layout_by_hand() {
        // Entries "ab", 12, -1, 300, 70000 (format reference §4.2):
        //   header: zlbytes 29, zltail 23, zllen 5
        //   00 02 'a' 'b'        prevlen 0, 6-bit string of 2
        //   04 fd                prevlen 4, immediate 12 (0xf1 + 12)
        //   02 fe ff             prevlen 2, int8 -1
        //   03 c0 2c 01          prevlen 3, int16 300
        //   04 f0 70 11 01       prevlen 4, int24 70000
        //   ff
        let mut z = ZiplistEncoder::new(IntForms::All);
        z.push_bytes(b"ab");
        z.push_int(12);
        z.push_bytes(b"-1");
        z.push_int(300);
        z.push_bytes(b"70000");
        let got = z.finish().unwrap().to_vec();
        let want: Vec<u8> = [
            &[29, 0, 0, 0, 23, 0, 0, 0, 5, 0][..],
            &[0x00, 0x02, b'a', b'b'],
            &[0x04, 0xfd],
            &[0x02, 0xfe, 0xff],
            &[0x03, 0xc0, 0x2c, 0x01],
            &[0x04, 0xf0, 0x70, 0x11, 0x01],
            &[0xff],
        ]
        .concat();
        assert_eq!(got, want);
        assert_eq!(decode(&got), [&b"ab"[..], b"12", b"-1", b"300", b"70000"]);
        // Empty: 11 bytes, tail at the header's end.
        let mut z = ZiplistEncoder::new(IntForms::All);
        assert_eq!(z.finish().unwrap(), [11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xff]);
    }

    #[test]
    fn integer_width_boundaries() {
        let cases: &[(i64, u8)] = &[
            (0, 0xf1),
            (12, 0xfd),
            (13, 0xfe),
            (-1, 0xfe),
            (127, 0xfe),
            (-128, 0xfe),
            (128, 0xc0),
            (-129, 0xc0),
            (32767, 0xc0),
            (-32768, 0xc0),
            (32768, 0xf0),
            (-32769, 0xf0),
            (8_388_607, 0xf0),
            (-8_388_608, 0xf0),
            (8_388_608, 0xd0),
            (-8_388_609, 0xd0),
            (i64::from(i32::MAX), 0xd0),
            (i64::from(i32::MIN), 0xd0),
            (i64::from(i32::MAX) + 1, 0xe0),
            (i64::from(i32::MIN) - 1, 0xe0),
            (i64::MAX, 0xe0),
            (i64::MIN, 0xe0),
        ];
        for &(v, enc) in cases {
            let text = v.to_string().into_bytes();
            let blob = encode(std::slice::from_ref(&text), IntForms::All);
            assert_eq!(first_encoding(&blob), enc, "{v}");
            assert_eq!(decode(&blob), vec![text.clone()], "{v}");
            // Through push_int too.
            let mut z = ZiplistEncoder::new(IntForms::All);
            z.push_int(v);
            assert_eq!(z.finish().unwrap(), &blob[..]);
            // Legacy: only 16/32/64 bits.
            let legacy = encode(std::slice::from_ref(&text), IntForms::Legacy);
            let want = if i16::try_from(v).is_ok() {
                0xc0
            } else if i32::try_from(v).is_ok() {
                0xd0
            } else {
                0xe0
            };
            assert_eq!(first_encoding(&legacy), want, "legacy {v}");
            assert_eq!(decode(&legacy), vec![text], "legacy {v}");
        }
        // Not canonical, or not an i64: strings.
        for s in [
            &b"007"[..],
            b"-0",
            b"+1",
            b" 1",
            b"1 ",
            b"",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"1.0",
        ] {
            let blob = encode(&[s.to_vec()], IntForms::All);
            assert_eq!(first_encoding(&blob), s.len() as u8, "{s:?}");
            assert_eq!(decode(&blob), vec![s.to_vec()]);
        }
    }

    #[test]
    fn string_length_boundaries() {
        for (len, enc_len) in [
            (0usize, 1usize),
            (1, 1),
            (63, 1),
            (64, 2),
            (16383, 2),
            (16384, 5),
            (70000, 5),
        ] {
            let s = vec![b'x'; len];
            let blob = encode(std::slice::from_ref(&s), IntForms::All);
            assert_eq!(blob.len(), 10 + 1 + enc_len + len + 1, "{len}");
            match enc_len {
                1 => assert_eq!(blob[11], len as u8),
                2 => assert_eq!(blob[11..13], [0x40 | (len >> 8) as u8, len as u8]),
                _ => {
                    assert_eq!(blob[11], 0x80);
                    assert_eq!(blob[12..16], (len as u32).to_be_bytes());
                }
            }
            assert_eq!(decode(&blob), vec![s]);
        }
    }

    #[test]
    fn prevlen_boundary_and_tail() {
        // Entry sizes around 254: a string of n bytes with a 1-byte prevlen
        // and a 2-byte header (n >= 64) is n + 3 bytes.
        for n in [249usize, 250, 251, 252, 253, 300] {
            let big = vec![b'y'; n];
            let items = vec![big.clone(), b"z".to_vec(), big.clone(), b"5".to_vec()];
            let blob = encode(&items, IntForms::All);
            assert_eq!(decode(&blob), items, "{n}");
            let first_size = n + 3;
            let second = 10 + first_size;
            if first_size < 254 {
                assert_eq!(blob[second], first_size as u8, "{n}");
            } else {
                assert_eq!(blob[second], 0xfe, "{n}");
                assert_eq!(
                    blob[second + 1..second + 5],
                    (first_size as u32).to_le_bytes()
                );
            }
            // zltail points at the last entry ("5": prevlen of the big entry before it).
            let tail = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
            assert_eq!(blob[blob.len() - 2], 0xf6, "{n}");
            assert!(tail < blob.len() - 1);
        }
        // The exact boundary: previous entry of 253 bytes (1-byte prevlen)
        // and of 254 bytes (5-byte prevlen).
        for size in [253usize, 254] {
            let s = vec![b'q'; size - 3];
            let blob = encode(&[s, b"a".to_vec()], IntForms::All);
            let at = 10 + size;
            if size == 253 {
                assert_eq!(blob[at], 253);
            } else {
                assert_eq!(blob[at..at + 5], [0xfe, 254, 0, 0, 0]);
            }
            assert_eq!(decode(&blob).len(), 2);
        }
    }

    #[test]
    fn many_entries_and_reuse() {
        let mut z = ZiplistEncoder::new(IntForms::All);
        let mut want = Vec::new();
        for i in 0..70_000i64 {
            let v = if i % 3 == 0 {
                format!("m{i}").into_bytes()
            } else {
                (i * 7919 - 100_000).to_string().into_bytes()
            };
            z.push_bytes(&v);
            want.push(v);
        }
        let blob = z.finish().unwrap().to_vec();
        assert_eq!(blob[8..10], [0xff, 0xff], "zllen saturates");
        assert_eq!(decode(&blob), want);
        z.clear(IntForms::All);
        assert!(z.is_empty());
        z.push_bytes(b"x");
        assert_eq!(decode(z.finish().unwrap()), [b"x".to_vec()]);
        // Exactly 65534 entries still count in the header.
        let mut z = ZiplistEncoder::new(IntForms::All);
        for _ in 0..65_534 {
            z.push_int(1);
        }
        assert_eq!(z.finish().unwrap()[8..10], 65_534u16.to_le_bytes());
    }
}
