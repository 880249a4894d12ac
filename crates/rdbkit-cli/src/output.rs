//! Writing output files safely: a temp file beside the destination, flushed
//! and fsynced, re-read and verified, and only then renamed over the final
//! name. An input is never overwritten; `-` writes to stdout.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Where output goes.
#[derive(Debug)]
pub(crate) enum Output {
    /// A temp file that becomes `dest` on [`Output::commit`].
    File {
        /// Final path.
        dest: PathBuf,
        /// Temp path in the same directory (same filesystem: rename is atomic).
        tmp: PathBuf,
        /// The open temp file.
        file: Option<CountingWriter<BufWriter<File>>>,
        /// Set once the temp file has become `dest`.
        renamed: bool,
    },
    /// Standard output.
    Stdout(CountingWriter<io::Stdout>),
}

/// A writer that counts the bytes written through it.
#[derive(Debug)]
pub(crate) struct CountingWriter<W> {
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

impl Output {
    /// Prepare output to `path` (`-` = stdout), refusing to write over any of `inputs`.
    pub(crate) fn create(path: &str, inputs: &[&str]) -> anyhow::Result<Output> {
        if path == "-" {
            return Ok(Output::Stdout(CountingWriter {
                inner: io::stdout(),
                count: 0,
            }));
        }
        let dest = PathBuf::from(path);
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
            .ok_or_else(|| anyhow::anyhow!("output path {path} has no file name"))?
            .to_string_lossy()
            .into_owned();
        let tmp = dir.join(format!(".{name}.rdbkit-{}.tmp", std::process::id()));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(Output::File {
            dest,
            tmp,
            file: Some(CountingWriter {
                inner: BufWriter::with_capacity(1 << 20, file),
                count: 0,
            }),
            renamed: false,
        })
    }

    /// The writer to send the data to.
    pub(crate) fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::File { file: Some(f), .. } => f,
            // `commit` consumes the output, so the file is always open here.
            Output::File { file: None, .. } => unreachable!("output used after commit"),
            Output::Stdout(s) => s,
        }
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        match self {
            Output::File { file, .. } => file.as_ref().map_or(0, |f| f.count),
            Output::Stdout(s) => s.count,
        }
    }

    /// Finish: pad with zero bytes to a multiple of `pad` (loaders stop at the
    /// checksum), flush, fsync, run `verify` on the complete temp file, then
    /// rename it to the destination. On any error the temp file is removed
    /// and the destination is untouched.
    pub(crate) fn commit(
        mut self,
        pad: Option<u64>,
        verify: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if let Some(p) = pad.filter(|&p| p > 1) {
            let n = self.written();
            let extra = (p - n % p) % p;
            io::copy(&mut io::Read::take(io::repeat(0), extra), self.writer())?;
        }
        match &mut self {
            Output::Stdout(s) => {
                s.flush()?;
                Ok(())
            }
            Output::File {
                dest,
                tmp,
                file,
                renamed,
            } => {
                let mut w = file
                    .take()
                    .ok_or_else(|| anyhow::anyhow!("output already closed"))?;
                w.flush()
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                let f = w
                    .inner
                    .into_inner()
                    .map_err(|e| e.into_error())
                    .with_context(|| format!("cannot write {}", tmp.display()))?;
                f.sync_all()
                    .with_context(|| format!("cannot sync {}", tmp.display()))?;
                drop(f);
                if let Ok(hook) = std::env::var("RDBKIT_TEST_CORRUPT_TEMP") {
                    corrupt_for_test(tmp, &hook)?;
                }
                verify(tmp).context("the written file failed verification; nothing was renamed")?;
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
                Ok(())
            }
        }
    }
}

/// Test hook (`RDBKIT_TEST_CORRUPT_TEMP=<offset>`): flip a byte of the temp
/// file between writing and verification, to prove the check runs.
fn corrupt_for_test(tmp: &Path, hook: &str) -> anyhow::Result<()> {
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
