//! Redis Cluster hash slots: CRC16 (XMODEM: polynomial 0x1021, init 0) of the
//! key's hash tag, modulo 16384, as the cluster specification defines.

/// Number of hash slots.
pub const SLOTS: u16 = 16384;

const fn table() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static TABLE: [u16; 256] = table();

/// CRC16/XMODEM.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ TABLE[usize::from((crc >> 8) as u8 ^ b)]
    })
}

/// The part of the key that is hashed: the content of the first `{...}` if
/// it is non-empty, else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

/// The cluster slot of `key`.
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) % SLOTS
}

/// Parse `A-B` or `A` into an inclusive slot range.
pub fn parse_range(s: &str) -> crate::Result<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a
        .trim()
        .parse()
        .map_err(|_| crate::Error::usage(format!("bad slot range {s:?}: expected A-B")))?;
    let b: u16 = b
        .trim()
        .parse()
        .map_err(|_| crate::Error::usage(format!("bad slot range {s:?}: expected A-B")))?;
    if a > b || b >= SLOTS {
        crate::error::bail!("bad slot range {s:?}: expected 0 <= A <= B <= 16383");
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vectors() {
        // The cluster specification's example: CRC16 of "123456789" is 0x31C3.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        // Empty tag: the whole key is hashed.
        assert_eq!(key_slot(b"foo{}{bar}"), crc16(b"foo{}{bar}") % SLOTS);
        // Only the first tag counts.
        assert_eq!(key_slot(b"foo{{bar}}zap"), crc16(b"{bar") % SLOTS);
        assert_eq!(key_slot(b"foo{bar}{zap}"), key_slot(b"bar"));
        assert_eq!(parse_range("0-5460").unwrap(), (0, 5460));
        assert!(parse_range("5-1").is_err() && parse_range("0-16384").is_err());
    }
}
