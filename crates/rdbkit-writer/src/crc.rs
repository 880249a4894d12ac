//! [`Crc64Writer`]: a `Write` adapter that hashes every byte passed through.

use std::io::{self, Write};

use rdbkit_parser::crc64::Crc64;

/// A writer that computes Redis's CRC-64 over every byte it forwards.
///
/// Only bytes the inner writer accepted are hashed, so a short write cannot
/// desynchronise the checksum from the output.
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
    crc: Crc64,
    written: u64,
}

impl<W: Write> Crc64Writer<W> {
    /// Wrap `inner`; the checksum starts at 0.
    pub fn new(inner: W) -> Self {
        Crc64Writer {
            inner,
            crc: Crc64::new(),
            written: 0,
        }
    }

    /// The checksum of every byte written so far.
    pub fn crc(&self) -> u64 {
        self.crc.finish()
    }

    /// The number of bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably. Bytes written through it directly are not
    /// hashed.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer (nothing is flushed).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for Crc64Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let done = buf.get(..n).unwrap_or(buf);
        self.crc.update(done);
        self.written += done.len() as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
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
        assert_eq!(w.get_ref().0, b"123456789");
        assert_eq!(w.bytes_written(), 9);
    }
}
