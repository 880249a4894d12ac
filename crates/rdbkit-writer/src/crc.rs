//! [`Crc64Writer`]: a `Write` adapter that hashes every byte passed through.

use std::io::{self, Write};

use rdbkit_parser::crc64::Crc64;

/// A writer that computes Redis's CRC-64 over every byte it forwards.
///
/// Small writes are gathered in a buffer of 64 KiB and hashed and
/// forwarded together: hashing a record of a few dozen bytes at a time costs
/// several times more per byte than hashing 64 KiB at once, and a file of
/// small keys is millions of such writes. Call [`Write::flush`] (or
/// [`Crc64Writer::into_inner`]) to push the rest through.
///
/// ```
/// use std::io::Write;
/// use rdbkit_writer::Crc64Writer;
///
/// let mut w = Crc64Writer::new(Vec::new());
/// w.write_all(b"123456789")?;
/// assert_eq!(w.crc(), 0xe9c6_d914_c4b8_d9ca);
/// assert_eq!(w.bytes_written(), 9);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Crc64Writer<W> {
    inner: W,
    /// Checksum of the bytes already forwarded.
    crc: Crc64,
    /// Bytes accepted but not forwarded yet.
    buf: Vec<u8>,
    written: u64,
}

/// Bytes a [`Crc64Writer`] gathers before hashing and forwarding them.
pub(crate) const BUFFER: usize = 64 << 10;

impl<W: Write> Crc64Writer<W> {
    /// Wrap `inner`; the checksum starts at 0.
    pub fn new(inner: W) -> Self {
        Crc64Writer {
            inner,
            crc: Crc64::new(),
            buf: Vec::new(),
            written: 0,
        }
    }

    /// The checksum of every byte written so far (forwarded or not).
    pub fn crc(&self) -> u64 {
        let mut c = self.crc;
        c.update(&self.buf);
        c.finish()
    }

    /// The number of bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The inner writer (which has not seen the bytes still buffered).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably. Bytes written through it directly are not
    /// hashed, and come before the bytes still buffered.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Forward what is buffered and return the inner writer (not flushed).
    pub fn into_inner(mut self) -> io::Result<W> {
        self.forward()?;
        Ok(self.inner)
    }

    /// Hash and forward the buffered bytes.
    fn forward(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.crc.update(&self.buf);
            let r = self.inner.write_all(&self.buf);
            self.buf.clear();
            r?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Crc64Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.buf.len() + buf.len() > BUFFER {
            self.forward()?;
        }
        if buf.len() >= BUFFER {
            // Big writes go straight through; only what the inner writer
            // took is hashed, so a short write cannot desynchronise the
            // checksum from the output.
            let n = self.inner.write(buf)?;
            let done = buf.get(..n).unwrap_or(buf);
            self.crc.update(done);
            self.written += done.len() as u64;
            return Ok(n);
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(BUFFER);
        }
        self.buf.extend_from_slice(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.forward()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts at most 3 bytes per call.
    struct Short(Vec<u8>);
    impl Write for Short {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(3);
            self.0.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn short_writes_hash_only_what_was_taken() {
        let mut w = Crc64Writer::new(Short(Vec::new()));
        w.write_all(b"123456789").unwrap();
        assert_eq!(w.crc(), rdbkit_parser::crc64::crc64(b"123456789"));
        assert_eq!(w.bytes_written(), 9);
        w.flush().unwrap();
        assert_eq!(w.get_ref().0, b"123456789");
        // A big write goes straight to the short writer, in pieces.
        let big: Vec<u8> = (0..3 * BUFFER).map(|i| (i % 251) as u8).collect();
        w.write_all(&big).unwrap();
        let all = [&b"123456789"[..], &big].concat();
        assert_eq!(w.crc(), rdbkit_parser::crc64::crc64(&all));
        assert_eq!(w.into_inner().unwrap().0, all);
    }

    #[test]
    fn small_writes_are_gathered_in_order() {
        let mut w = Crc64Writer::new(Vec::new());
        let mut all = Vec::new();
        for i in 0..50_000u32 {
            let piece = i.to_le_bytes();
            let piece = &piece[..(i % 5) as usize];
            w.write_all(piece).unwrap();
            all.extend_from_slice(piece);
            if i % 9_999 == 0 {
                // A big write in between keeps its place.
                let big = vec![i as u8; BUFFER + 3];
                w.write_all(&big).unwrap();
                all.extend_from_slice(&big);
            }
        }
        assert_eq!(w.bytes_written(), all.len() as u64);
        assert_eq!(w.crc(), rdbkit_parser::crc64::crc64(&all));
        assert_eq!(w.into_inner().unwrap(), all);
    }
}
