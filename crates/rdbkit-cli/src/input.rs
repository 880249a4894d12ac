//! Opening inputs: a file is memory-mapped; `-` reads stdin as a stream with
//! memory bounded by the largest record. Both feed the same [`Visitor`].

use std::io;

use anyhow::Context;
use rdbkit_parser::{RdbReader, RdbVersion, ReaderOptions, Record, StreamingReader};

/// How far the cursor moves between two releases of the pages behind it.
const RELEASE_EVERY: usize = 16 << 20;
/// How far behind the cursor the released range ends.
const RELEASE_LAG: usize = 1 << 20;

/// Receives the records of a file in order.
pub(crate) trait Visitor {
    /// Called once with the file's version, before any record.
    fn header(&mut self, _version: RdbVersion) -> anyhow::Result<()> {
        Ok(())
    }
    /// Called for each record; return `Ok(false)` to stop early.
    fn record(&mut self, rec: &Record<'_>) -> anyhow::Result<bool>;
}

/// How a walk ended.
#[derive(Debug)]
pub(crate) struct WalkEnd {
    /// Total bytes of the input that were consumed.
    pub(crate) bytes: u64,
    /// Bytes after the checksum (file inputs only).
    pub(crate) trailing: Option<u64>,
}

/// Walk `path` (`-` = stdin). Parse errors come back as
/// `rdbkit_parser::Error` inside the `anyhow::Error` so that callers can tell
/// a damaged file from an I/O problem.
pub(crate) fn walk(
    path: &str,
    options: ReaderOptions,
    v: &mut dyn Visitor,
) -> anyhow::Result<WalkEnd> {
    if path == "-" {
        let stdin = io::stdin();
        return walk_reader(stdin.lock(), options, v);
    }
    let map =
        rdbkit_parser::mmap::open_mmap(path).with_context(|| format!("cannot open {path}"))?;
    let mut r = RdbReader::with_options(&map, options)?;
    v.header(r.version())?;
    // Pages behind the cursor are given back every RELEASE_EVERY bytes, so the
    // RSS of a walk stays flat whatever the file size.
    let mut released = 0usize;
    while let Some(rec) = r.next_record()? {
        if !v.record(&rec)? {
            break;
        }
        // Stay RELEASE_LAG behind the cursor: the reader still hashes the
        // last bytes it passed (its checksum runs in batches), and a page
        // touched again after its release would stay mapped for good.
        let at = (r.offset() as usize).saturating_sub(RELEASE_LAG);
        if at.saturating_sub(released) >= RELEASE_EVERY {
            released = rdbkit_parser::mmap::release_behind(&map, released, at);
        }
    }
    Ok(WalkEnd {
        bytes: r.offset(),
        trailing: r.trailing().map(|t| t.len() as u64),
    })
}

/// Walk a stream (memory bounded by the largest record).
pub(crate) fn walk_reader(
    src: impl io::Read,
    options: ReaderOptions,
    v: &mut dyn Visitor,
) -> anyhow::Result<WalkEnd> {
    let mut r = StreamingReader::with_options(src, options)?;
    v.header(r.version())?;
    while let Some(more) = r.next_record_with(|rec| v.record(rec))? {
        if !more? {
            break;
        }
    }
    Ok(WalkEnd {
        bytes: r.offset(),
        trailing: None,
    })
}
