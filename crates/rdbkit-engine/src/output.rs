//! Writing output files safely: a temp file beside the destination, flushed,
//! verified, fsynced, and only then renamed over the final name. An
//! input is never overwritten; `-` writes to stdout.
//!
//! Verification either re-reads the finished temp file (`Output::create`
//! and a `verify` function given to `commit`) or, with
//! [`Output::create_verified`], runs on a second thread *while* the file is
//! written: every 1 MiB block goes first to a full streaming verifier
//! (every value decoded, checksum checked) and from it to a third thread
//! that writes it to the file, so the check costs no extra pass over the
//! output. Memory stays bounded: at most 4 blocks of 1 MiB wait for the
//! verifier and 4 for the writing thread.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::ResultExt as _;
use crate::error::bail;

/// Where output goes.
#[derive(Debug)]
pub enum Output {
    /// A temp file that becomes `dest` on [`Output::commit`].
    File {
        /// Final path.
        dest: PathBuf,
        /// Temp path in the same directory (same filesystem: rename is atomic).
        tmp: PathBuf,
        /// The open temp file.
        file: Option<CountingWriter<TeeFile>>,
        /// The verifier reading along, for [`Output::create_verified`]; it
        /// also counts and hashes every byte it is sent.
        verifier: Option<JoinHandle<TeeResult>>,
        /// Set once the temp file has become `dest`.
        renamed: bool,
        /// Bytes to change once everything is written (see [`Output::patch`]).
        patches: Vec<(u64, Vec<u8>)>,
        /// Where the checksum trailer of a patched file is.
        trailer_at: Option<u64>,
        /// Compress the verified file with gzip before the rename.
        gzip: bool,
    },
    /// Standard output.
    Stdout(CountingWriter<StdoutSink>),
}

/// Standard output, as it is or through gzip.
#[derive(Debug)]
pub enum StdoutSink {
    /// The bytes as they are.
    Plain(io::Stdout),
    /// Compressed as they go.
    Gzip(Box<flate2::write::GzEncoder<io::Stdout>>),
}

impl Write for StdoutSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            StdoutSink::Plain(w) => w.write(buf),
            StdoutSink::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            StdoutSink::Plain(w) => w.flush(),
            StdoutSink::Gzip(w) => w.flush(),
        }
    }
}

/// A writer that counts the bytes written through it.
#[derive(Debug)]
pub struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::canonicalize(a), fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Check, before any work, that a file can be created at `path` (`-` is
/// stdout): not a directory, in a folder that exists. The message names the
/// path as given, not a temp file.
pub fn check_destination(path: &Path) -> crate::Result<()> {
    if path.as_os_str() == "-" {
        return Ok(());
    }
    let shown = path.display();
    if path.is_dir() {
        crate::error::bail!("cannot write {shown}: it is a directory (give a file name)");
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => crate::error::bail!("cannot write {shown}: {} is not a directory", dir.display()),
        Err(e) => Err(crate::Error::from(e).context(format!(
            "cannot write {shown}: its folder {} is not there",
            dir.display()
        ))),
    }
}

impl Output {
    /// Like [`Output::create`], with the written bytes verified on a second
    /// thread as they are written; `commit` fails if that verification does.
    pub fn create_verified(path: &str, inputs: &[&str]) -> crate::Result<Output> {
        let mut out = Output::create(path, inputs)?;
        if let Output::File {
            file: Some(f),
            verifier,
            ..
        } = &mut out
        {
            let (tx, rx) = sync_channel::<Vec<u8>>(TEE_DEPTH);
            f.inner.tee = Some(tx);
            // A third thread writes the blocks the verifier is done with:
            // the kernel's copy into the page cache (7 % of a filter, and
            // several times that on a VM whose fresh pages fault to the
            // host) then runs beside both the conversion and the check,
            // and the scheduler balances the three over the cores.
            let file = f.inner.file.try_clone()?;
            let (wtx, wrx) = sync_channel::<Vec<u8>>(WRITE_DEPTH);
            let spare = Arc::clone(&f.inner.spare);
            let writer = std::thread::Builder::new()
                .name("write-output".into())
                .spawn(move || {
                    let mut sink = FileSink {
                        file,
                        written: 0,
                        flushed: 0,
                    };
                    // On a failed write the thread ends: the verifier's next
                    // hand-over fails, and it stops.
                    for mut block in wrx {
                        sink.write(&block)?;
                        block.clear();
                        if let Ok(mut s) = spare.lock() {
                            s.push(block);
                        }
                    }
                    Ok(())
                })?;
            *verifier = Some(
                std::thread::Builder::new()
                    .name("verify-output".into())
                    .spawn(move || {
                        let mut r = ChunkReader {
                            rx,
                            cur: Vec::new(),
                            pos: 0,
                            len: 0,
                            crc: rdbkit_parser::crc64::Crc64::new(),
                            writer: Some(wtx),
                        };
                        let verdict = crate::verify::verify_stream(&mut r, TEE_MAX_RECORD);
                        // Bytes after the trailer (padding), or after a
                        // record too big to hold, are part of the file too.
                        // After a problem (or a failed write) the thread
                        // stops, and the thread producing the output writes the
                        // rest itself (see `TeeFile::flush_block`).
                        if verdict.is_ok() {
                            while r.next_block() {}
                        }
                        r.hand_over();
                        drop(r.writer.take());
                        let written = writer.join().unwrap_or_else(|_| {
                            Err(io::Error::other("the writing thread panicked"))
                        });
                        let teed = verdict.map(|v| Teed {
                            len: r.len,
                            crc: r.crc.finish(),
                            deferred: v == crate::verify::StreamVerdict::Deferred,
                        });
                        (written, teed)
                    })?,
            );
        }
        Ok(out)
    }

    /// Prepare output to `path` (`-` = stdout), refusing to write over any of `inputs`.
    pub fn create(path: &str, inputs: &[&str]) -> crate::Result<Output> {
        if path == "-" {
            return Ok(Output::Stdout(CountingWriter {
                inner: StdoutSink::Plain(io::stdout()),
                count: 0,
            }));
        }
        let dest = PathBuf::from(path);
        check_destination(&dest)?;
        for input in inputs.iter().filter(|i| **i != "-") {
            if same_file(Path::new(input), &dest) {
                bail!("refusing to write the output over the input {input}");
            }
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = dest
            .file_name()
            .ok_or_else(|| crate::Error::usage(format!("output path {path} has no file name")))?
            .to_string_lossy()
            .into_owned();
        let tmp = dir.join(format!(".{name}.rdbkit-{}.tmp", std::process::id()));
        // Readable too: patching reads the bytes it replaces.
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(Output::File {
            dest,
            tmp,
            file: Some(CountingWriter {
                inner: TeeFile {
                    file,
                    buf: Vec::with_capacity(BLOCK),
                    tee: None,
                    spare: Arc::default(),
                    written: 0,
                    flushed: 0,
                },
                count: 0,
            }),
            verifier: None,
            renamed: false,
            patches: Vec::new(),
            trailer_at: None,
            gzip: false,
        })
    }

    /// Write the output gzip-compressed (before anything is written). A
    /// file is verified as it is today, uncompressed, then compressed into a
    /// second temp file that is read back and matched against it before
    /// the rename; stdout is compressed as it goes. Patching
    /// ([`Output::patch`]) still works: it applies to the uncompressed
    /// file.
    pub fn gzip(&mut self) {
        match self {
            Output::File { gzip, .. } => *gzip = true,
            Output::Stdout(s) => {
                if let StdoutSink::Plain(_) = s.inner {
                    s.inner = StdoutSink::Gzip(Box::new(flate2::write::GzEncoder::new(
                        io::stdout(),
                        flate2::Compression::default(),
                    )));
                }
            }
        }
    }

    /// Whether [`Output::patch`] can be used: a file verified while written.
    pub fn can_patch(&self) -> bool {
        matches!(self, Output::File { file: Some(f), .. } if f.inner.tee.is_some())
    }

    /// Replace the bytes at `at` with `bytes` once everything is written
    /// (sizing hints counted during the write), and then rewrite the RDB
    /// checksum trailer at `trailer_at` to cover them. What the verifier
    /// checked while the file was written is the file as sent; the re-read
    /// before the rename matches the file on disk against that, with the
    /// patched bytes swapped back, and computes the new trailer from the
    /// bytes as patched.
    pub fn patch(&mut self, at: u64, bytes: Vec<u8>, trailer_at: u64) {
        if let Output::File {
            patches,
            trailer_at: t,
            ..
        } = self
        {
            patches.push((at, bytes));
            *t = Some(trailer_at);
        }
    }

    /// The writer to send the data to.
    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File { file: Some(f), .. } => f,
            // `commit` consumes the output, so the file is always open here.
            Output::File { file: None, .. } => unreachable!("output used after commit"),
            Output::Stdout(s) => s,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        match self {
            Output::File { file, .. } => file.as_ref().map_or(0, |f| f.count),
            Output::Stdout(s) => s.count,
        }
    }

    /// Finish: pad with zero bytes to a multiple of `pad` (loaders stop at the
    /// checksum), flush, apply the patches, run `verify` on the complete temp
    /// file (or check it against what the verifier saw), fsync, then rename
    /// it to the destination; `before_rename` runs just before the rename
    /// (a report written beside it: if that fails, nothing is renamed). On
    /// any error the temp file is removed and the destination is untouched.
    pub fn commit(
        self,
        pad: Option<u64>,
        verify: impl FnOnce(&Path) -> crate::Result<()>,
        before_rename: impl FnOnce() -> crate::Result<()>,
    ) -> crate::Result<()> {
        let checked = self.into_checked(pad, verify)?;
        before_rename()?;
        checked.rename()
    }

    /// [`Output::commit`] up to the rename: padded, flushed, verified and
    /// fsynced. Several outputs (a split) are all checked before any of
    /// them is renamed.
    pub fn into_checked(
        mut self,
        pad: Option<u64>,
        verify: impl FnOnce(&Path) -> crate::Result<()>,
    ) -> crate::Result<Checked> {
        if let Some(p) = pad.filter(|&p| p > 1) {
            let n = self.written();
            let extra = (p - n % p) % p;
            io::copy(&mut io::Read::take(io::repeat(0), extra), self.writer())?;
        }
        match &mut self {
            Output::Stdout(s) => {
                s.flush()?;
                if let StdoutSink::Gzip(gz) = &mut s.inner {
                    gz.try_finish()?;
                }
            }
            Output::File {
                tmp,
                file,
                verifier,
                patches,
                trailer_at,
                gzip,
                ..
            } => {
                let w = file
                    .take()
                    .ok_or_else(|| crate::Error::Internal("output already closed".into()))?;
                let f = w
                    .inner
                    .finish()
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                // Once the verifier thread is done (it waits for the
                // writing thread), every block is in the file, and the
                // patches can go over them.
                let teed =
                    match verifier.take() {
                        Some(v) => {
                            let (written, verdict) = v.join().map_err(|_| {
                                crate::Error::Internal("the verifier thread panicked".into())
                            })?;
                            written.with_context(|| format!("cannot write {}", tmp.display()))?;
                            Some(verdict.context(
                                "the written file failed verification; nothing was renamed",
                            )?)
                        }
                        None => None,
                    };
                // The bytes as sent, kept for the re-read's comparison.
                let mut edits = Vec::new();
                for (at, new) in patches.drain(..) {
                    let mut old = vec![0; new.len()];
                    read_at(&f, &mut old, at)?;
                    write_at(&f, &new, at)?;
                    edits.push((at, old, new));
                }
                if let Ok(hook) = std::env::var("RDBKIT_TEST_CORRUPT_TEMP") {
                    corrupt_for_test(tmp, &hook)?;
                }
                if let Some(teed) = teed {
                    // The bytes were verified as they were written; re-reading
                    // the file and matching their CRC-64 proves the disk holds
                    // exactly those bytes (at 3+ GB/s, no second decode).
                    let trailer = reread_matches(tmp, teed.len, teed.crc, &edits, *trailer_at)
                        .context("the written file failed verification; nothing was renamed")?;
                    if let (Some(at), Some(crc)) = (*trailer_at, trailer) {
                        write_at(&f, &crc.to_le_bytes(), at)?;
                        let mut back = [0u8; 8];
                        read_at(&f, &mut back, at)?;
                        if back != crc.to_le_bytes() {
                            bail!(
                                "the written file failed verification; nothing was renamed: {} re-read from disk: checksum trailer at offset {at} differs",
                                tmp.display()
                            );
                        }
                    }
                    if teed.deferred {
                        crate::verify::verify_path(tmp)
                            .context("the written file failed verification; nothing was renamed")?;
                    }
                } else {
                    // Patches are only taken by outputs verified while written.
                    if !edits.is_empty() {
                        bail!("internal error: a patched output without its verifier");
                    }
                    verify(tmp)
                        .context("the written file failed verification; nothing was renamed")?;
                }
                // Durable before the rename makes it the destination.
                f.sync_all()
                    .with_context(|| format!("cannot sync {}", tmp.display()))?;
                drop(f);
                if *gzip {
                    let packed = PathBuf::from(format!("{}.gz", tmp.display()));
                    let result = gzip_verified(tmp, &packed);
                    if result.is_err() {
                        let _ = fs::remove_file(&packed);
                    }
                    result
                        .context("the compressed file failed verification; nothing was renamed")?;
                    let _ = fs::remove_file(&*tmp);
                    *tmp = packed;
                }
            }
        }
        Ok(Checked(self))
    }
}

/// An output written, verified and synced, not yet under its final name.
/// Dropped without [`Checked::rename`], it leaves nothing behind.
#[derive(Debug)]
pub struct Checked(Output);

impl Checked {
    /// Rename the temp file to the destination (stdout: nothing to do).
    pub fn rename(mut self) -> crate::Result<()> {
        if let Output::File {
            dest, tmp, renamed, ..
        } = &mut self.0
        {
            fs::rename(&*tmp, &*dest).with_context(|| {
                format!("cannot rename {} to {}", tmp.display(), dest.display())
            })?;
            *renamed = true;
            // Make the rename itself durable.
            if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
                && let Ok(d) = File::open(dir)
            {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

/// Compress the verified file `plain` into `packed` with gzip, read
/// `packed` back through a decompressor and match its length and CRC-64
/// against `plain`'s, then fsync it.
fn gzip_verified(plain: &Path, packed: &Path) -> crate::Result<()> {
    struct Hashing<R> {
        inner: R,
        crc: rdbkit_parser::crc64::Crc64,
        len: u64,
    }
    impl<R: io::Read> io::Read for Hashing<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.crc.update(&buf[..n]);
            self.len += n as u64;
            Ok(n)
        }
    }
    let open = |p: &Path| File::open(p).with_context(|| format!("cannot read {}", p.display()));
    let mut src = Hashing {
        inner: io::BufReader::with_capacity(BLOCK, open(plain)?),
        crc: rdbkit_parser::crc64::Crc64::new(),
        len: 0,
    };
    let out = File::options()
        .write(true)
        .create_new(true)
        .open(packed)
        .with_context(|| format!("cannot create {}", packed.display()))?;
    let mut gz = flate2::write::GzEncoder::new(
        io::BufWriter::with_capacity(BLOCK, out),
        flate2::Compression::default(),
    );
    io::copy(&mut src, &mut gz).with_context(|| format!("cannot write {}", packed.display()))?;
    let out = gz
        .finish()
        .and_then(|w| w.into_inner().map_err(io::IntoInnerError::into_error))
        .with_context(|| format!("cannot write {}", packed.display()))?;
    out.sync_all()
        .with_context(|| format!("cannot sync {}", packed.display()))?;
    let mut back = Hashing {
        inner: flate2::read::MultiGzDecoder::new(io::BufReader::with_capacity(
            BLOCK,
            open(packed)?,
        )),
        crc: rdbkit_parser::crc64::Crc64::new(),
        len: 0,
    };
    io::copy(&mut back, &mut io::sink())
        .with_context(|| format!("cannot read back {}", packed.display()))?;
    if (back.len, back.crc.finish()) != (src.len, src.crc.finish()) {
        bail!(
            "{} decompresses to {} bytes that differ from the {} bytes verified",
            packed.display(),
            back.len,
            src.len
        );
    }
    Ok(())
}

/// Size of the blocks written to the temp file (and handed to the verifier).
const BLOCK: usize = 1 << 20;
/// The largest record the verifier reading along holds in memory; a file
/// with a bigger one (a multi-gigabyte list) is verified from disk once
/// written, through a memory map, instead.
const TEE_MAX_RECORD: u64 = 16 << 20;

/// What the verifier reading along saw: every byte sent to the file (count
/// and CRC-64), and whether it left the checking to a re-read.
#[derive(Debug)]
pub struct Teed {
    len: u64,
    crc: u64,
    deferred: bool,
}

/// What the verifier thread ends with: whether the writing thread's writes
/// to the file succeeded, and the verification's verdict.
type TeeResult = (io::Result<()>, crate::Result<Teed>);
/// Blocks that may wait for the verifier before the writer blocks.
const TEE_DEPTH: usize = 4;
/// Blocks checked by the verifier that may wait for the writing thread.
const WRITE_DEPTH: usize = 4;

/// The temp file's writer: a 1 MiB buffer whose full blocks go to the file,
/// or, when verifying while writing, to the verifier thread (which passes
/// them on to the writing thread).
#[derive(Debug)]
pub struct TeeFile {
    file: File,
    buf: Vec<u8>,
    tee: Option<SyncSender<Vec<u8>>>,
    /// Blocks the verifier is done with, to be filled again: fresh memory
    /// costs a page fault a page, which adds up over gigabytes.
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Bytes handed to the file so far.
    written: u64,
    /// Bytes whose writeback has been started.
    flushed: u64,
}

/// The writing thread's side of the file: it writes the blocks it is sent.
#[derive(Debug)]
struct FileSink {
    file: File,
    written: u64,
    flushed: u64,
}

impl FileSink {
    fn write(&mut self, block: &[u8]) -> io::Result<()> {
        self.file.write_all(block)?;
        self.written += block.len() as u64;
        writeback_due(&self.file, &mut self.flushed, self.written);
        Ok(())
    }
}

/// Start the disk write of every [`WRITEBACK_EVERY`] bytes as soon as they
/// are written, so that the fsync before the rename finds little left to do:
/// it took 150-180 ms after a 0.5 GB filter (15 % of the run) when the
/// whole file was still dirty.
const WRITEBACK_EVERY: u64 = 16 << 20;

/// Ask the kernel to start writing `len` bytes at `at` to disk, without
/// waiting for them (`sync_file_range(SYNC_FILE_RANGE_WRITE)`); the fsync at
/// commit still makes the file durable. Best effort: an error here changes
/// nothing but speed.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn start_writeback(f: &File, at: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(at), Ok(len)) = (libc::off64_t::try_from(at), libc::off64_t::try_from(len)) else {
        return;
    };
    // SAFETY: the call reads only its integer arguments; the descriptor is
    // open for the life of `f`.
    unsafe {
        libc::sync_file_range(f.as_raw_fd(), at, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

/// After a write that brought the file to `written` bytes: start the disk
/// write of what came since `flushed`, once that is [`WRITEBACK_EVERY`].
fn writeback_due(f: &File, flushed: &mut u64, written: u64) {
    if written - *flushed >= WRITEBACK_EVERY {
        start_writeback(f, *flushed, written - *flushed);
        *flushed = written;
    }
}

impl TeeFile {
    fn flush_block(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.written += self.buf.len() as u64;
        if let Some(tx) = &self.tee {
            // The verifier thread checks it and passes it on to be written.
            let next = self
                .spare
                .lock()
                .ok()
                .and_then(|mut s| s.pop())
                .unwrap_or_else(|| Vec::with_capacity(BLOCK));
            let block = std::mem::replace(&mut self.buf, next);
            // The verifier thread stopped (a problem, a failed write): the
            // file will not be renamed, but the writer still writes the
            // rest, so that a full disk stops the run now.
            if let Err(std::sync::mpsc::SendError(block)) = tx.send(block) {
                self.tee = None;
                self.file.write_all(&block)?;
            }
        } else {
            self.file.write_all(&self.buf)?;
            writeback_due(&self.file, &mut self.flushed, self.written);
            self.buf.clear();
        }
        Ok(())
    }

    /// Write out what is buffered, end the verifier's stream, return the file.
    fn finish(mut self) -> io::Result<File> {
        self.flush_block()?;
        self.tee = None;
        Ok(self.file)
    }
}

impl Write for TeeFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.flush_block()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        // Blocks are flushed when full or at `finish`: flushing a partial
        // block here would only make more, smaller writes.
        Ok(())
    }
}

/// The verifier's side of the tee: the blocks, in order, as a `Read`; each
/// block it is done with goes on to the writing thread.
struct ChunkReader {
    rx: Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    /// Bytes received, and their CRC-64 (every byte that went to the file:
    /// the file re-read from disk before the rename must match them).
    len: u64,
    crc: rdbkit_parser::crc64::Crc64,
    /// The writing thread's queue; `None` once it has stopped (a failed
    /// write) or been closed.
    writer: Option<SyncSender<Vec<u8>>>,
}

impl ChunkReader {
    /// Send the current block to the writing thread.
    fn hand_over(&mut self) {
        let done = std::mem::take(&mut self.cur);
        self.pos = 0;
        if done.is_empty() {
            return;
        }
        if let Some(w) = &self.writer
            && w.send(done).is_err()
        {
            self.writer = None;
        }
    }

    /// Take the next block; `false` once the writer has finished, or the
    /// writing thread has stopped.
    fn next_block(&mut self) -> bool {
        self.hand_over();
        if self.writer.is_none() {
            return false;
        }
        match self.rx.recv() {
            Ok(block) => {
                self.len += block.len() as u64;
                self.crc.update(&block);
                self.cur = block;
                true
            }
            Err(_) => false, // the writer finished (or gave up)
        }
    }
}

impl io::Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            if !self.next_block() {
                return Ok(0);
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Re-read `path` from disk: it must be `len` bytes hashing to `crc` once
/// the `edits` made after the verification, `(offset, bytes sent, bytes now)`,
/// are swapped back. With `trailer_at`, also returns the CRC-64 of the file
/// as it now is up to there: the value of its checksum trailer.
fn reread_matches(
    path: &Path,
    len: u64,
    crc: u64,
    edits: &[(u64, Vec<u8>, Vec<u8>)],
    trailer_at: Option<u64>,
) -> crate::Result<Option<u64>> {
    let mut f = File::open(path)?;
    let mut sent = rdbkit_parser::crc64::Crc64::new();
    let mut now = rdbkit_parser::crc64::Crc64::new();
    let mut buf = vec![0u8; BLOCK];
    let mut n = 0u64;
    loop {
        let k = io::Read::read(&mut f, &mut buf)?;
        if k == 0 {
            break;
        }
        let block = &mut buf[..k];
        if let Some(t) = trailer_at {
            let upto = usize::try_from(t.saturating_sub(n)).map_or(k, |u| u.min(k));
            now.update(&block[..upto]);
        }
        // The patched bytes must read back as written; then the bytes as
        // sent are swapped back in for the comparison.
        for (at, old, new) in edits {
            let (start, end) = (*at, *at + old.len() as u64);
            if end > n && start < n + k as u64 {
                let from = start.max(n);
                let to = end.min(n + k as u64);
                let (i, j) = ((from - start) as usize, (to - start) as usize);
                let here = &mut block[(from - n) as usize..(to - n) as usize];
                if here != &new[i..j] {
                    bail!(
                        "{} re-read from disk: patched bytes at offset {from} differ",
                        path.display()
                    );
                }
                here.copy_from_slice(&old[i..j]);
            }
        }
        sent.update(block);
        n += k as u64;
    }
    if n != len || sent.finish() != crc {
        bail!(
            "{} re-read from disk does not match what was written ({n} bytes, CRC-64 {:016x}; expected {len} bytes, {crc:016x})",
            path.display(),
            sent.finish()
        );
    }
    Ok(trailer_at.map(|_| now.finish()))
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, at)
}

#[cfg(unix)]
fn write_at(f: &File, buf: &[u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, buf, at)
}

#[cfg(not(unix))]
fn read_at(mut f: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(buf)
}

#[cfg(not(unix))]
fn write_at(mut f: &File, buf: &[u8], at: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(at))?;
    f.write_all(buf)
}

/// Test hook (`RDBKIT_TEST_CORRUPT_TEMP=<offset>`): flip a byte of the temp
/// file between writing and verification, to prove the check runs.
fn corrupt_for_test(tmp: &Path, hook: &str) -> crate::Result<()> {
    let mut data = fs::read(tmp)?;
    if data.is_empty() {
        return Ok(());
    }
    let at = hook.parse::<usize>().unwrap_or(data.len() / 2) % data.len();
    data[at] ^= 0xff;
    fs::write(tmp, data)?;
    Ok(())
}

impl Drop for Output {
    fn drop(&mut self) {
        // An output that was not committed leaves nothing behind.
        if let Output::File {
            tmp, file, renamed, ..
        } = self
        {
            drop(file.take());
            if !*renamed {
                let _ = fs::remove_file(&*tmp);
            }
        }
    }
}
