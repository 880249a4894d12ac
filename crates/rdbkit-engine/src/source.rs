//! Opening inputs: a file is memory-mapped; `-` reads stdin as a stream with
//! memory bounded by the largest record. Both feed the same [`Visitor`].

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::ResultExt as _;
use rdbkit_parser::mmap::Mmap;
use rdbkit_parser::{RdbReader, RdbVersion, ReaderOptions, Record, StreamingReader};

/// How far the cursor moves between two releases of the pages behind it.
pub const RELEASE_EVERY: usize = 16 << 20;
/// How far behind the cursor the released range ends.
const RELEASE_LAG: usize = 1 << 20;

/// Receives the records of a file in order.
pub trait Visitor {
    /// Called once with the file's version, before any record.
    fn header(&mut self, _version: RdbVersion) -> crate::Result<()> {
        Ok(())
    }
    /// Called for each record; return `Ok(false)` to stop early.
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool>;
}

/// Whether walks may show a progress line (on stderr, only when it is a terminal).
static PROGRESS: AtomicBool = AtomicBool::new(true);

/// Turn the progress line off (`--quiet`).
pub fn set_quiet(quiet: bool) {
    PROGRESS.store(!quiet, Ordering::Relaxed);
}

/// A progress line on stderr: bytes, keys, rate, ETA.
struct Progress {
    on: bool,
    total: Option<u64>,
    start: Instant,
    last: Instant,
    records: u64,
    keys: u64,
    shown: bool,
}

impl Progress {
    fn new(total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            on: PROGRESS.load(Ordering::Relaxed) && io::stderr().is_terminal(),
            total,
            start: now,
            last: now,
            records: 0,
            keys: 0,
            shown: false,
        }
    }

    // The test stays in the walk's loop; the rest is out of line (a call
    // per record was 1.4 % of a verify with the line off).
    #[inline(always)]
    fn tick(&mut self, rec: &Record<'_>) {
        if self.on {
            self.count(rec);
        }
    }

    #[cold]
    #[inline(never)]
    fn count(&mut self, rec: &Record<'_>) {
        self.records += 1;
        self.keys += u64::from(matches!(rec.kind, rdbkit_parser::RecordKind::Entry(_)));
        // Look at the clock only every 4096 records.
        if !self.records.is_multiple_of(4096) || self.last.elapsed().as_millis() < 250 {
            return;
        }
        self.last = Instant::now();
        let done = rec.offset + rec.raw.len() as u64;
        draw(&line(done, self.total, Some(self.keys), self.start));
        self.shown = true;
    }

    fn done(&self) {
        if self.shown {
            draw("\r\x1b[2K");
        }
    }
}

/// The progress line after `done` bytes (of `total`, if known; with a key
/// count, if kept) of a walk begun at `start`.
fn line(done: u64, total: Option<u64>, keys: Option<u64>, start: Instant) -> String {
    let secs = start.elapsed().as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let mb = |b: f64| b / 1e6;
    let mut line = format!("\r[rdbkit] {:.1}", mb(done as f64));
    let total = total.filter(|&t| t > 0);
    match total {
        Some(t) => {
            line += &format!(
                "/{:.1} MB ({:.0}%)",
                mb(t as f64),
                100.0 * done as f64 / t as f64
            )
        }
        None => line += " MB",
    }
    if let Some(k) = keys {
        line += &format!(", {k} keys");
    }
    line += &format!(", {:.0} MB/s", mb(rate));
    if let Some(t) = total {
        let eta = (t.saturating_sub(done)) as f64 / rate.max(1.0);
        line += &format!(", ETA {eta:.0}s");
    }
    line + "  "
}

fn draw(text: &str) {
    let _ = io::stderr().write_all(text.as_bytes());
}

/// A progress line (bytes, rate, ETA) for a walk whose bytes are done by
/// several threads at once; each adds what it did now and then.
#[derive(Debug)]
pub struct SharedProgress {
    on: bool,
    total: u64,
    start: Instant,
    done: std::sync::atomic::AtomicU64,
    shown: AtomicBool,
    line: std::sync::Mutex<Instant>,
}

impl SharedProgress {
    /// A progress line for `total` bytes (drawn only on a terminal).
    pub fn new(total: u64) -> SharedProgress {
        let now = Instant::now();
        SharedProgress {
            on: PROGRESS.load(Ordering::Relaxed) && io::stderr().is_terminal(),
            total,
            start: now,
            done: 0.into(),
            shown: AtomicBool::new(false),
            line: std::sync::Mutex::new(now),
        }
    }

    /// `bytes` more were walked.
    pub fn add(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if !self.on {
            return;
        }
        // Whichever thread finds the line free and due draws it.
        let Ok(mut last) = self.line.try_lock() else {
            return;
        };
        if last.elapsed().as_millis() < 250 {
            return;
        }
        *last = Instant::now();
        draw(&line(done, Some(self.total), None, self.start));
        self.shown.store(true, Ordering::Relaxed);
    }

    /// Clear the line, if one was drawn.
    pub fn done(&self) {
        if self.shown.load(Ordering::Relaxed) {
            draw("\r\x1b[2K");
        }
    }
}

/// How a walk ended.
#[derive(Debug)]
pub struct WalkEnd {
    /// Total bytes of the input that were consumed.
    pub bytes: u64,
    /// Bytes after the checksum (file inputs only).
    pub trailing: Option<u64>,
}

/// Receives the records of a memory-mapped file with the map's lifetime, so
/// that they can outlive the call (be batched and handed to other threads).
pub trait MapVisitor<'d> {
    /// Called once with the file's version, before any record.
    fn header(&mut self, _version: RdbVersion) -> crate::Result<()> {
        Ok(())
    }
    /// Called for each record; return `Ok(false)` to stop early.
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool>;
    /// The lowest file offset still in use by records handed out earlier:
    /// the walk releases no page at or after it.
    fn in_use_from(&self) -> u64 {
        u64::MAX
    }
}

/// A [`Visitor`] seen as a [`MapVisitor`].
struct ByRef<'v>(&'v mut dyn Visitor);

impl<'d> MapVisitor<'d> for ByRef<'_> {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        self.0.header(version)
    }
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool> {
        self.0.record(&rec)
    }
}

/// How an input's bytes are stored, told by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// A snapshot as it is (or not a snapshot: the parser says so).
    Plain,
    /// gzip (`.rdb.gz`, as Azure Managed Redis exports and Redis Cloud
    /// imports): read through a streaming decompressor.
    Gzip,
}

/// The compressed formats rdbkit does not read, by magic: name and how to
/// unpack.
const OTHER_PACKINGS: &[(&[u8], &str, &str)] = &[
    (b"\x28\xb5\x2f\xfd", "zstd", "zstd -d FILE"),
    (b"\xfd7zXZ\x00", "xz", "xz -d FILE"),
    (b"BZh", "bzip2", "bzip2 -d FILE"),
    (b"PK\x03\x04", "zip", "unzip FILE"),
    (b"\x04\x22\x4d\x18", "lz4", "lz4 -d FILE"),
];

/// The packing of an input that starts with `head` (its first bytes, up to
/// 6); another compressed format is an error that names it.
pub fn packing(head: &[u8], name: &str) -> crate::Result<Packing> {
    if head.starts_with(b"\x1f\x8b") {
        return Ok(Packing::Gzip);
    }
    for (magic, format, how) in OTHER_PACKINGS {
        if head.starts_with(magic) {
            crate::error::bail!(
                "{name} is {format}-compressed, not a snapshot: decompress it first ({})",
                how.replace("FILE", name)
            );
        }
    }
    Ok(Packing::Plain)
}

/// The packing of the file at `path` (`-`: stdin is looked at when walked).
pub fn file_packing(path: &str) -> crate::Result<Packing> {
    if path == "-" {
        return Ok(Packing::Plain);
    }
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        crate::error::bail!("cannot open {path}: it is a directory, not a snapshot file");
    }
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut head = [0u8; 6];
    let mut n = 0;
    while n < head.len() {
        match io::Read::read(&mut f, &mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(crate::Error::from(e).context(format!("cannot read {path}"))),
        }
    }
    packing(&head[..n], path)
}

/// The memory map of `path` when it can be walked in place (a plain file),
/// told by one look at its first bytes; `None` for stdin and gzip, which
/// are streamed.
pub fn open_plain(path: &str) -> crate::Result<Option<Mmap>> {
    if path == "-" || file_packing(path)? == Packing::Gzip {
        return Ok(None);
    }
    map(path).map(Some)
}

/// Map a file whose packing was looked at.
fn map(path: &str) -> crate::Result<Mmap> {
    rdbkit_parser::mmap::open_mmap(path).with_context(|| format!("cannot open {path}"))
}

/// Walk `path` (`-` = stdin). A plain file is memory-mapped; stdin and gzip
/// inputs (files or stdin, told by their magic) are streamed, memory bounded
/// by the largest record; offsets in errors are then those of the
/// uncompressed snapshot. Parse errors come back as
/// [`Error::Damaged`](crate::Error::Damaged) so that callers can tell a
/// damaged file from an I/O problem.
pub fn walk(path: &str, options: ReaderOptions, v: &mut dyn Visitor) -> crate::Result<WalkEnd> {
    if path == "-" {
        let mut stdin = io::BufReader::with_capacity(1 << 20, io::stdin().lock());
        let head = io::BufRead::fill_buf(&mut stdin).context("cannot read stdin")?;
        return match packing(head, "stdin")? {
            Packing::Gzip => walk_reader(flate2::bufread::MultiGzDecoder::new(stdin), options, v),
            Packing::Plain => walk_reader(stdin, options, v),
        };
    }
    if let Some(map) = open_plain(path)? {
        return walk_map(&map, options, &mut ByRef(v));
    }
    // Not mapped: a gzip file, streamed.
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let gz = flate2::bufread::MultiGzDecoder::new(io::BufReader::with_capacity(1 << 20, f));
    walk_reader(gz, options, v).map_err(|e| match e {
        // A damaged gzip stream is a damaged input too.
        crate::Error::Io(io)
            if matches!(
                io.kind(),
                io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ) =>
        {
            crate::Error::Io(io).context(format!("{path}: the gzip stream is damaged"))
        }
        e => e,
    })
}

/// The version in the header of `path` (`-`: `None`, stdin can be read only
/// once), read through gzip when it is gzip.
pub fn header_version(path: &str) -> crate::Result<Option<RdbVersion>> {
    if path == "-" {
        return Ok(None);
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut head = [0u8; rdbkit_parser::HEADER_LEN];
    let read: crate::Result<()> = match file_packing(path)? {
        Packing::Gzip => io::Read::read_exact(&mut flate2::read::MultiGzDecoder::new(f), &mut head)
            .map_err(Into::into),
        Packing::Plain => io::Read::read_exact(&mut { f }, &mut head).map_err(Into::into),
    };
    read.with_context(|| format!("cannot read {path}"))?;
    Ok(Some(rdbkit_parser::parse_header(&head)?))
}

/// Memory-map a file input.
pub fn open(path: &str) -> crate::Result<Mmap> {
    // (file_packing also says so of a directory, which mapping would call
    // "No such device".)
    if file_packing(path)? == Packing::Gzip {
        crate::error::bail!("{path} is gzip-compressed: it is read as a stream, not mapped");
    }
    map(path)
}

/// Walk a memory-mapped file.
pub fn walk_map<'d>(
    map: &'d Mmap,
    options: ReaderOptions,
    // Generic, not `dyn`: the visitor's `record` is then inlined into the
    // loop and reads the record where the reader built it (a 184-byte copy
    // per record otherwise, 6 % of a parallel verify).
    v: &mut impl MapVisitor<'d>,
) -> crate::Result<WalkEnd> {
    let mut r = RdbReader::with_options(map, options)?;
    v.header(r.version())?;
    let mut p = Progress::new(Some(map.len() as u64));
    let result = (|| {
        // Pages behind the cursor are given back every RELEASE_EVERY bytes, so
        // the RSS of a walk stays flat whatever the file size.
        let mut released = 0usize;
        while let Some(more) = r.next_record_with(|rec| {
            p.tick(&rec);
            v.record(rec)
        })? {
            if !more? {
                break;
            }
            // Stay RELEASE_LAG behind the cursor (the reader's batched
            // checksum reads the last bytes again, and a page touched again
            // after its release would stay mapped for good), and behind
            // whatever the visitor still reads.
            let at = (r.offset() as usize)
                .saturating_sub(RELEASE_LAG)
                .min(usize::try_from(v.in_use_from()).unwrap_or(usize::MAX));
            if at.saturating_sub(released) >= RELEASE_EVERY {
                released = rdbkit_parser::mmap::release_behind(map, released, at);
            }
        }
        Ok::<(), crate::Error>(())
    })();
    p.done();
    result?;
    Ok(WalkEnd {
        bytes: r.offset(),
        trailing: r.trailing().map(|t| t.len() as u64),
    })
}

/// Walk a stream (memory bounded by the largest record).
pub fn walk_reader(
    src: impl io::Read,
    options: ReaderOptions,
    v: &mut dyn Visitor,
) -> crate::Result<WalkEnd> {
    let mut r = StreamingReader::with_options(src, options)?;
    v.header(r.version())?;
    let mut p = Progress::new(None);
    let result = (|| {
        // One parse per record (the lending `next_record` parses twice).
        while let Some(more) = r.next_record_with(|rec| {
            p.tick(rec);
            v.record(rec)
        })? {
            if !more? {
                break;
            }
        }
        Ok::<(), crate::Error>(())
    })();
    p.done();
    result?;
    Ok(WalkEnd {
        bytes: r.offset(),
        trailing: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines() {
        let start = Instant::now() - std::time::Duration::from_secs(2);
        let with_total = line(50_000_000, Some(200_000_000), Some(7), start);
        assert!(
            with_total.starts_with("\r[rdbkit] 50.0/200.0 MB (25%), 7 keys, ")
                && with_total.contains(" MB/s, ETA ")
                && with_total.ends_with("s  "),
            "{with_total:?}"
        );
        let stream = line(50_000_000, None, Some(7), start);
        assert!(
            stream.starts_with("\r[rdbkit] 50.0 MB, 7 keys, ") && stream.ends_with(" MB/s  "),
            "{stream:?}"
        );
        let shared = line(50_000_000, Some(200_000_000), None, start);
        assert!(
            shared.starts_with("\r[rdbkit] 50.0/200.0 MB (25%), ") && !shared.contains("keys"),
            "{shared:?}"
        );
    }
}
