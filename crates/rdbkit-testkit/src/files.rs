//! Generated RDB files for tests that need many keys (batching, parallel
//! walks), as opposed to the real-server fixtures.

/// An RDB 9 file of `n` small plain-encoded (type 4) hashes, key `k<i>` =
/// `{"a": "1", "b": "<i>"}`, in database 0, with the record bytes `bad` (if any) placed before
/// key `bad_at`, and a switch to database 5 before key `db5_at` (if any).
/// The checksum is right for whatever the file holds.
pub fn hash_keys_file(n: u32, bad_at: u32, bad: Option<&[u8]>, db5_at: Option<u32>) -> Vec<u8> {
    let mut f = b"REDIS0009\xfe\x00".to_vec();
    for i in 0..n {
        if Some(i) == db5_at {
            f.extend_from_slice(b"\xfe\x05");
        }
        if i == bad_at
            && let Some(b) = bad
        {
            f.extend_from_slice(b);
        }
        let key = format!("k{i}");
        let v = i.to_string();
        f.extend_from_slice(&[0x04, key.len() as u8]);
        f.extend_from_slice(key.as_bytes());
        f.extend_from_slice(b"\x02\x01a\x011\x01b");
        f.push(v.len() as u8);
        f.extend_from_slice(v.as_bytes());
    }
    f.push(0xff);
    let crc = rdbkit_parser::crc64::crc64(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}
