//! CRC-64 as Redis computes it ("Jones": reflected polynomial
//! 0x95ac9329ac4bc9b5, initial value 0, no final xor).

// Every table index is a byte (masked to 0..=255) into a 256-entry table, or
// a constant below 8: indexing cannot panic here.
#![allow(clippy::indexing_slicing)]

const POLY: u64 = 0x95ac_9329_ac4b_c9b5;

const fn make_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut s = 1;
    while s < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        s += 1;
    }
    t
}

static TABLES: [[u64; 256]; 8] = make_tables();

/// A running CRC-64; feed it bytes in any chunking.
#[derive(Clone, Copy, Debug, Default)]
pub struct Crc64 {
    crc: u64,
}

impl Crc64 {
    /// A fresh checksum (value 0).
    pub fn new() -> Crc64 {
        Crc64 { crc: 0 }
    }

    /// Hash more bytes.
    pub fn update(&mut self, data: &[u8]) {
        let t = &TABLES;
        let mut crc = self.crc;
        let mut chunks = data.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            let v = crc ^ u64::from_le_bytes(w);
            crc = t[7][(v & 0xff) as usize]
                ^ t[6][((v >> 8) & 0xff) as usize]
                ^ t[5][((v >> 16) & 0xff) as usize]
                ^ t[4][((v >> 24) & 0xff) as usize]
                ^ t[3][((v >> 32) & 0xff) as usize]
                ^ t[2][((v >> 40) & 0xff) as usize]
                ^ t[1][((v >> 48) & 0xff) as usize]
                ^ t[0][(v >> 56) as usize];
        }
        for &b in chunks.remainder() {
            crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.crc = crc;
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.crc
    }
}

/// The CRC-64 of `data` in one call.
pub fn crc64(data: &[u8]) -> u64 {
    let mut c = Crc64::new();
    c.update(data);
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(crc64(b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        assert_eq!(crc64(b""), 0);
        assert_eq!(TABLES[0][1], 0x7ad8_70c8_3035_8979);
        assert_eq!(
            crc64(b"REDIS0009\xff").to_le_bytes(),
            [0x9a, 0xac, 0x7a, 0xbc, 0xfb, 0x0f, 0xad, 0x74]
        );
    }
}
