//! The real loaders' own offline check: a server binary run under the name
//! `redis-check-rdb` / `valkey-check-rdb` (both projects pick the checker
//! from `argv[0]`), which loads every record as the server would, with the
//! deep payload validation of `sanitize-dump-payload yes`, without keeping
//! anything.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::ServerKind;

/// How long one check may take before it counts as a hang.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// What a loader's checker said about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoaderVerdict {
    /// The checker exited 0 (`\o/ RDB looks OK! \o/`).
    pub ok: bool,
    /// The byte offset of the first `--- RDB ERROR DETECTED ---` line's
    /// report, when it gave one.
    pub offset: Option<u64>,
    /// The checker's reason (its error line), or how it ended (a signal, a
    /// time-out) when it printed none.
    pub reason: String,
}

impl fmt::Display for LoaderVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ok {
            return f.write_str("loads");
        }
        match self.offset {
            Some(o) => write!(f, "refused at offset {o}: {}", self.reason),
            None => write!(f, "refused: {}", self.reason),
        }
    }
}

impl ServerKind {
    /// The checker's name for this server's project.
    pub fn checker_name(self) -> &'static str {
        if self.is_valkey() {
            "valkey-check-rdb"
        } else {
            "redis-check-rdb"
        }
    }

    /// The path of this server's checker: a symlink named
    /// [`checker_name`](Self::checker_name) beside the installed binary,
    /// made on first use.
    pub fn checker_path(self) -> Result<PathBuf, String> {
        let bin = self.ensure_installed()?;
        let link = bin.with_file_name(self.checker_name());
        if std::fs::symlink_metadata(&link).is_err() {
            // Relative, so that a moved servers directory keeps working.
            let target = bin.file_name().map(PathBuf::from).unwrap_or(bin.clone());
            match std::os::unix::fs::symlink(&target, &link) {
                Ok(()) => {}
                // Another test process made it first.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("cannot create {}: {e}", link.display())),
            }
        }
        Ok(link)
    }

    /// Run this server's checker on `rdb`.
    pub fn check_rdb(self, rdb: &Path) -> Result<LoaderVerdict, String> {
        let checker = self.checker_path()?;
        run_checker(&checker, rdb)
    }
}

fn run_checker(checker: &Path, rdb: &Path) -> Result<LoaderVerdict, String> {
    let mut child = Command::new(checker)
        .arg(rdb)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", checker.display()))?;
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut text);
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() > CHECK_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(format!("waiting for {}: {e}", checker.display())),
        }
    };
    let text = reader.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    Ok(match status {
        None => LoaderVerdict {
            ok: false,
            offset: None,
            reason: format!("no answer within {CHECK_TIMEOUT:?}"),
        },
        Some(s) if s.success() => LoaderVerdict {
            ok: true,
            offset: None,
            reason: String::new(),
        },
        Some(s) => {
            let (offset, reason) = error_line(&text);
            LoaderVerdict {
                ok: false,
                offset,
                reason: reason.unwrap_or_else(|| format!("{s}: {}", last_lines(&text, 3))),
            }
        }
    })
}

/// The line after `--- RDB ERROR DETECTED ---`: `[offset N] reason`.
fn error_line(text: &str) -> (Option<u64>, Option<String>) {
    let mut lines = text
        .lines()
        .skip_while(|l| !l.contains("RDB ERROR DETECTED"));
    let Some(line) = lines.nth(1) else {
        return (None, None);
    };
    let Some(rest) = line.strip_prefix("[offset ") else {
        return (None, Some(line.trim().to_owned()));
    };
    let (num, reason) = rest.split_once(']').unwrap_or((rest, ""));
    (num.trim().parse().ok(), Some(reason.trim().to_owned()))
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines() {
        let text = "[offset 0] Checking RDB file x\n--- RDB ERROR DETECTED ---\n\
                    [offset 9] Can't handle RDB format version 12\n[additional info] x\n";
        assert_eq!(
            error_line(text),
            (Some(9), Some("Can't handle RDB format version 12".into()))
        );
        assert_eq!(error_line("\\o/ RDB looks OK! \\o/"), (None, None));
    }
}
