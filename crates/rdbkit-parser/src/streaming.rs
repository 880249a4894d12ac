//! Reading from a byte stream (stdin, a pipe from `zcat`) with memory bounded
//! by the largest record, not by the file.
//!
//! The same record parser runs over a buffer; when a record does not fit
//! ([`ErrorKind::Truncated`]), the buffer grows and the parse is retried, and
//! bytes of records already returned are dropped.

use std::io::{self, Read};

use crate::error::{Error, ErrorKind, Result};
use crate::format::{RDB_OPCODE_EOF, RdbVersion};
use crate::record::{CRC_BATCH, HEADER_LEN, ReadState, ReaderOptions, Record, parse_header};

const CHUNK: usize = 256 << 10;

/// A reader of records from any [`Read`].
///
/// Unlike [`RdbReader`](crate::RdbReader), each record borrows the reader's
/// buffer, so it must be dropped before the next call ("lending" iteration).
///
/// ```
/// use rdbkit_parser::{StreamingReader, RecordKind};
///
/// let file: &[u8] = b"REDIS0009\xfe\x00\x00\x01a\x01b\xff\xdb\x66\x2f\xb4\x0f\x16\x46\xe3";
/// let mut reader = StreamingReader::new(file)?;
/// let mut keys = 0;
/// while let Some(record) = reader.next_record()? {
///     if let RecordKind::Entry(_) = record.kind {
///         keys += 1;
///     }
/// }
/// assert_eq!(keys, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct StreamingReader<R> {
    src: R,
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    start: usize,
    /// `state.crc` covers the file up to `buf[crc_pos]`: the consumed bytes
    /// are hashed in batches (before they are dropped, and before EOF),
    /// not record by record (short updates cost several times more a byte).
    crc_pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    version: RdbVersion,
    state: ReadState,
    max_record: u64,
    failed: bool,
}

fn io_err(offset: u64, e: io::Error) -> Error {
    Error::new(
        offset,
        ErrorKind::invalid("input", format!("read error: {e}")),
    )
}

impl<R: Read> StreamingReader<R> {
    /// A reader with default options; reads and checks the header.
    pub fn new(src: R) -> Result<Self> {
        Self::with_options(src, ReaderOptions::default())
    }

    /// A reader with the given options; reads and checks the header.
    pub fn with_options(mut src: R, options: ReaderOptions) -> Result<Self> {
        let mut head = Vec::with_capacity(HEADER_LEN);
        (&mut src)
            .take(HEADER_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| io_err(0, e))?;
        let version = parse_header(&head)?;
        let state = ReadState::new(&head, version, &options);
        Ok(StreamingReader {
            src,
            buf: Vec::new(),
            start: 0,
            crc_pos: 0,
            base: HEADER_LEN as u64,
            eof: false,
            version,
            state,
            max_record: options.limits.max_record_len,
            failed: false,
        })
    }

    /// The file's version.
    pub fn version(&self) -> RdbVersion {
        self.version
    }

    /// File offset of the next record.
    pub fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    /// Read at least `want` more bytes unless the source ends.
    fn fill(&mut self, want: usize) -> Result<()> {
        // Drop what was consumed (hashed first) before growing.
        if self.start > 0 {
            self.catch_up_crc();
            self.buf.drain(..self.start);
            self.base += self.start as u64;
            self.start = 0;
            self.crc_pos = 0;
        }
        let old = self.buf.len();
        let target = old.saturating_add(want.max(CHUNK));
        self.buf.resize(target, 0);
        let mut filled = old;
        while filled < target {
            match self
                .src
                .read(self.buf.get_mut(filled..).unwrap_or_default())
            {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(io_err(self.base + filled as u64, e));
                }
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }

    /// Hash the consumed bytes not hashed yet.
    fn catch_up_crc(&mut self) {
        if let Some(c) = &mut self.state.crc {
            c.update(self.buf.get(self.crc_pos..self.start).unwrap_or_default());
        }
        self.crc_pos = self.start;
    }

    /// Before parsing at `start`: hash a batch when one is due, and always
    /// before the EOF record, which checks the trailer against the checksum
    /// so far.
    fn before_parse(&mut self) {
        if self.start - self.crc_pos >= CRC_BATCH
            || self.buf.get(self.start) == Some(&RDB_OPCODE_EOF.0)
        {
            self.catch_up_crc();
        }
    }

    /// After a parse failed with `e`: read more and return `Ok` when
    /// the record may fit now; otherwise the final error (the reader is then
    /// done). Grows by the size already buffered (doubling), whatever the
    /// error says is missing: a claimed size is not trusted until the bytes
    /// exist, and growing by less re-parsed a large record from its start
    /// after every 256 KiB refill (quadratic in the record size).
    fn refill_after(&mut self, e: Error) -> Result<()> {
        if !e.is_truncated() || self.eof {
            self.failed = true;
            return Err(e);
        }
        let pending = (self.buf.len() - self.start) as u64;
        if pending > self.max_record {
            self.failed = true;
            return Err(Error::new(
                self.offset(),
                ErrorKind::LimitExceeded {
                    what: "record size",
                    requested: pending,
                    limit: self.max_record,
                },
            ));
        }
        let grow = usize::try_from(pending).unwrap_or(usize::MAX).max(CHUNK);
        self.fill(grow).inspect_err(|_| self.failed = true)
    }

    /// Parse the next record and hand it to `f`; `Ok(None)` after EOF.
    ///
    /// The same records as [`StreamingReader::next_record`], but each is
    /// parsed once: `next_record` must parse a record twice (once to find out
    /// whether the buffer holds all of it, once more to return a borrow of
    /// it), which costs a second structural walk of the whole input.
    pub fn next_record_with<T>(&mut self, f: impl FnOnce(&Record<'_>) -> T) -> Result<Option<T>> {
        if self.state.done || self.failed {
            return Ok(None);
        }
        loop {
            self.before_parse();
            match self.state.parse(&self.buf, self.start, self.base) {
                Ok(p) => {
                    // The EOF record hashed its own opcode while checking
                    // the trailer; other records are hashed in batches.
                    self.state.apply_no_crc(&p);
                    self.start = p.end;
                    return Ok(Some(f(&p.record)));
                }
                Err(e) => self.refill_after(e)?,
            }
        }
    }

    /// The next record, `Ok(None)` after EOF. After an error there are no more.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        if self.state.done || self.failed {
            return Ok(None);
        }
        // Find how much buffer the next record needs; the record itself is
        // parsed again below because a borrow cannot outlive a refill.
        loop {
            self.before_parse();
            match self.state.parse(&self.buf, self.start, self.base) {
                Ok(_) => break,
                Err(e) => self.refill_after(e)?,
            }
        }
        let p = self.state.parse(&self.buf, self.start, self.base)?;
        self.state.apply_no_crc(&p);
        self.start = p.end;
        Ok(Some(p.record))
    }
}
