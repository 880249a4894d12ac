//! A small PNG decoder (8-bit grey, RGB, grey+alpha and RGBA, not
//! interlaced: what a browser's screenshot is), with its own inflate, so
//! that a test can look at a screenshot's pixels without a dependency.
//!
//! ```
//! // A 1x1 RGB image, its pixel (255, 0, 0), as zlib writes it.
//! let png = rdbkit_testkit::png::encode_rgb(1, 1, &[255, 0, 0]);
//! let img = rdbkit_testkit::png::decode(&png).unwrap();
//! assert_eq!((img.width, img.height, img.pixel(0, 0)), (1, 1, [255, 0, 0, 255]));
//! ```

use std::collections::HashMap;

/// A decoded image.
#[derive(Debug, Clone)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Channels per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
    pub channels: usize,
    /// The pixels, row by row, `channels` bytes each.
    pub data: Vec<u8>,
}

impl Image {
    /// The pixel at (`x`, `y`) as RGBA.
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 4] {
        let i = (y * self.width + x) * self.channels;
        let p = &self.data[i..i + self.channels];
        match self.channels {
            1 => [p[0], p[0], p[0], 255],
            2 => [p[0], p[0], p[0], p[1]],
            3 => [p[0], p[1], p[2], 255],
            _ => [p[0], p[1], p[2], p[3]],
        }
    }

    /// How many pixels have each colour, most frequent first.
    pub fn colours(&self) -> Vec<([u8; 4], usize)> {
        let mut n: HashMap<[u8; 4], usize> = HashMap::new();
        for y in 0..self.height {
            for x in 0..self.width {
                *n.entry(self.pixel(x, y)).or_default() += 1;
            }
        }
        let mut v: Vec<_> = n.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Decode a PNG file.
pub fn decode(png: &[u8]) -> Result<Image, String> {
    let body = png
        .strip_prefix(b"\x89PNG\r\n\x1a\n")
        .ok_or("not a PNG file")?;
    let mut at = 0;
    let mut header = None;
    let mut idat = Vec::new();
    while at + 12 <= body.len() {
        let len = u32::from_be_bytes(body[at..at + 4].try_into().unwrap_or_default()) as usize;
        let kind = &body[at + 4..at + 8];
        let data = body
            .get(at + 8..at + 8 + len)
            .ok_or("a chunk runs past the end")?;
        match kind {
            b"IHDR" => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let h = header.ok_or("no IHDR chunk")?;
    if h.len() < 13 {
        return Err("short IHDR".into());
    }
    let width = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
    let height = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let (depth, colour, interlace) = (h[8], h[9], h[12]);
    let channels = match colour {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return Err(format!("colour type {colour} not supported")),
    };
    if depth != 8 || interlace != 0 {
        return Err(format!(
            "bit depth {depth} / interlace {interlace} not supported"
        ));
    }
    // zlib: a 2-byte header, the deflate stream, an Adler-32 not checked.
    let raw = inflate(idat.get(2..).ok_or("empty image data")?)?;
    let stride = width * channels;
    if raw.len() < height * (stride + 1) {
        return Err("image data too short".into());
    }
    let mut data = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                data[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 { data[(y - 1) * stride + x] } else { 0 };
            let c = if x >= channels && y > 0 {
                data[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                f => return Err(format!("filter {f}")),
            };
            data[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    Ok(Image {
        width,
        height,
        channels,
        data,
    })
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Bits of a deflate stream, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    bit: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, String> {
        let byte = *self.data.get(self.at).ok_or("deflate stream cut short")?;
        let v = u32::from(byte >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.at += 1;
        }
        Ok(v)
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and the
/// symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Huffman {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for i in 1..16 {
            offsets[i] = offsets[i - 1] + counts[i - 1];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = s as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Huffman { counts, symbols }
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        // Codes are read MSB first, one bit at a time (RFC 1951 3.2.2).
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - count < first {
                return self
                    .symbols
                    .get((index + code - first) as usize)
                    .copied()
                    .ok_or_else(|| "bad Huffman code".to_string());
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        Err("bad Huffman code".into())
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// Inflate a raw deflate stream (RFC 1951).
pub fn inflate(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut bits = Bits {
        data,
        at: 0,
        bit: 0,
    };
    let mut out = Vec::new();
    loop {
        let last = bits.bit()?;
        match bits.bits(2)? {
            0 => {
                if bits.bit != 0 {
                    bits.bit = 0;
                    bits.at += 1;
                }
                let head = data
                    .get(bits.at..bits.at + 4)
                    .ok_or("stored block cut short")?;
                let len = usize::from(u16::from_le_bytes([head[0], head[1]]));
                let block = data
                    .get(bits.at + 4..bits.at + 4 + len)
                    .ok_or("stored block cut short")?;
                out.extend_from_slice(block);
                bits.at += 4 + len;
            }
            1 => {
                let mut lengths = [0u8; 288];
                lengths[..144].fill(8);
                lengths[144..256].fill(9);
                lengths[256..280].fill(7);
                lengths[280..].fill(8);
                let lit = Huffman::new(&lengths);
                let dist = Huffman::new(&[5u8; 30]);
                codes(&mut bits, &lit, &dist, &mut out)?;
            }
            2 => {
                let hlit = bits.bits(5)? as usize + 257;
                let hdist = bits.bits(5)? as usize + 1;
                let hclen = bits.bits(4)? as usize + 4;
                const ORDER: [usize; 19] = [
                    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
                ];
                let mut cl = [0u8; 19];
                for &i in ORDER.iter().take(hclen) {
                    cl[i] = bits.bits(3)? as u8;
                }
                let clh = Huffman::new(&cl);
                let mut lengths = Vec::with_capacity(hlit + hdist);
                while lengths.len() < hlit + hdist {
                    match clh.decode(&mut bits)? {
                        s @ 0..=15 => lengths.push(s as u8),
                        16 => {
                            let prev = *lengths.last().ok_or("repeat with nothing before")?;
                            for _ in 0..3 + bits.bits(2)? {
                                lengths.push(prev);
                            }
                        }
                        17 => lengths.extend(std::iter::repeat_n(0, 3 + bits.bits(3)? as usize)),
                        _ => lengths.extend(std::iter::repeat_n(0, 11 + bits.bits(7)? as usize)),
                    }
                }
                let lit = Huffman::new(&lengths[..hlit]);
                let dist = Huffman::new(&lengths[hlit..hlit + hdist]);
                codes(&mut bits, &lit, &dist, &mut out)?;
            }
            _ => return Err("reserved block type".into()),
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

fn codes(
    bits: &mut Bits<'_>,
    lit: &Huffman,
    dist: &Huffman,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    loop {
        let s = lit.decode(bits)?;
        match s {
            0..=255 => out.push(s as u8),
            256 => return Ok(()),
            _ => {
                let i = usize::from(s - 257);
                let len = usize::from(*LEN_BASE.get(i).ok_or("bad length code")?)
                    + bits.bits(u32::from(LEN_EXTRA[i]))? as usize;
                let d = usize::from(dist.decode(bits)?);
                let back = usize::from(*DIST_BASE.get(d).ok_or("bad distance code")?)
                    + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
                let from = out
                    .len()
                    .checked_sub(back)
                    .ok_or("distance before the start")?;
                for k in 0..len {
                    out.push(out[from + k]);
                }
            }
        }
    }
}

/// A PNG of RGB pixels in stored (uncompressed) deflate blocks: for tests
/// of [`decode`].
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    for row in rgb.chunks(width as usize * 3) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        z.extend_from_slice(&(b.len() as u16).to_le_bytes());
        z.extend_from_slice(&(!(b.len() as u16)).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend_from_slice(&[0; 4]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        png.extend_from_slice(&(data.len() as u32).to_be_bytes());
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        // The CRC is not checked by `decode`.
        png.extend_from_slice(&[0; 4]);
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_dynamic_blocks() {
        // Python's zlib.compress(b"hello hello hello hello")[2:-4]: a
        // fixed-Huffman block with a back reference.
        let fixed = [0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x27, 0x01];
        assert_eq!(inflate(&fixed).unwrap(), b"hello hello hello hello");
        // 100 random letters, mostly "a": a dynamic-Huffman block.
        let dynamic = [
            0x2d, 0x8a, 0xc1, 0x11, 0xc0, 0x30, 0x0c, 0xc2, 0x66, 0x45, 0xb0, 0xff, 0x0c, 0x05,
            0xa7, 0x7e, 0x60, 0x4e, 0x48, 0xd8, 0x56, 0xaf, 0x81, 0xae, 0x65, 0xb5, 0x90, 0xbd,
            0x66, 0x06, 0xd9, 0x1f, 0x79, 0x16, 0xfa, 0xf5, 0x8e, 0x0e, 0xd9, 0xc2, 0xf1, 0x00,
            0x35, 0x9d, 0x53, 0x22, 0xa3, 0x0f,
        ];
        assert_eq!(
            inflate(&dynamic).unwrap(),
            b"abcccaaaacaabacaaaadcaabccabaabcabadaaaabbadabaababacaabaaabacaadaacdbdbaabbcaabadbbbdabcdbaaabdacba"
        );
        assert!(inflate(&dynamic[..20]).is_err());
    }

    #[test]
    fn stored_blocks_and_filters() {
        let rgb: Vec<u8> = (0..=255u8).cycle().take(16 * 16 * 3).collect();
        let img = decode(&encode_rgb(16, 16, &rgb)).unwrap();
        assert_eq!(img.pixel(1, 0), [3, 4, 5, 255]);
        assert_eq!(img.colours().len(), 256);
        assert!(decode(b"GIF89a").is_err());
    }
}
