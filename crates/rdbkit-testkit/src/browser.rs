//! Headless Chromium (Debian's `chromium` package, installed by
//! `scripts/install-browser.sh`) for the tests of the HTML report: load a
//! page, let its script run, and take the DOM it left, what it wrote to
//! the console, or a screenshot.
//!
//! Chromium logs every console message (errors, warnings, blocked loads,
//! Content-Security-Policy violations) on stderr with `--enable-logging=stderr`
//! as a `...:CONSOLE:<line>] "message", source: ...` line; [`Page::console`]
//! holds those lines, which is how a test sees the console without the
//! DevTools protocol.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one browser run may take.
pub const BROWSER_TIMEOUT: Duration = Duration::from_secs(120);

/// A Chromium binary.
#[derive(Debug, Clone)]
pub struct Browser {
    path: PathBuf,
}

/// What a page left after its scripts ran.
#[derive(Debug, Clone)]
pub struct Page {
    /// The serialized DOM (`--dump-dom`), empty for a screenshot.
    pub dom: String,
    /// The console messages, one line each.
    pub console: Vec<String>,
}

/// The `file://` URL of an absolute path (bytes outside the unreserved set
/// percent-encoded).
pub fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

impl Browser {
    /// `$RDBKIT_CHROMIUM`, else `chromium` or `chromium-browser` on `PATH`.
    pub fn find() -> Option<Browser> {
        if let Some(p) = std::env::var_os("RDBKIT_CHROMIUM").filter(|p| !p.is_empty()) {
            return Some(Browser { path: p.into() });
        }
        let path = std::env::var_os("PATH")?;
        for dir in std::env::split_paths(&path) {
            for name in ["chromium", "chromium-browser"] {
                let p = dir.join(name);
                if p.is_file() {
                    return Some(Browser { path: p });
                }
            }
        }
        None
    }

    /// The browser for test `test`. When there is none: under CI
    /// (`CI=true`) this **panics**, so that the browser tests cannot pass
    /// by not running; elsewhere it says so loudly on stderr and returns
    /// `None` (the test then returns early).
    pub fn for_tests(test: &str) -> Option<Browser> {
        if let Some(b) = Browser::find() {
            return Some(b);
        }
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        let msg = format!(
            "{test}: Chromium not found (install it with scripts/install-browser.sh, or set RDBKIT_CHROMIUM)"
        );
        if ci {
            panic!("{msg}; CI=true, so this test fails instead of skipping");
        }
        // Straight to the stream: the test harness captures eprintln!.
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!!\n!!! SKIPPED {msg}\n!!!!!!!!!!\n"
        );
        None
    }

    /// Load `url` in a window of `width` × `height`, run its scripts and
    /// return the DOM they left.
    pub fn dump_dom(&self, url: &str, width: u32, height: u32) -> Result<Page, String> {
        let size = format!("--window-size={width},{height}");
        let (dom, console) = self.run(&[&size, "--dump-dom", url])?;
        Ok(Page { dom, console })
    }

    /// Load `url` in a window of `width` × `height` and save a PNG of it to
    /// `png`; `dark`: with the system's dark mode on (`prefers-color-scheme:
    /// dark`).
    pub fn screenshot(
        &self,
        url: &str,
        width: u32,
        height: u32,
        dark: bool,
        png: &Path,
    ) -> Result<Page, String> {
        let shot = format!("--screenshot={}", png.display());
        let size = format!("--window-size={width},{height}");
        let mut args = vec![shot.as_str(), size.as_str(), "--hide-scrollbars"];
        if dark {
            args.push("--force-dark-mode");
        }
        args.push(url);
        let (_, console) = self.run(&args)?;
        if !png.exists() {
            return Err(format!("no screenshot written to {}", png.display()));
        }
        Ok(Page {
            dom: String::new(),
            console,
        })
    }

    fn run(&self, args: &[&str]) -> Result<(String, Vec<String>), String> {
        // A profile of its own: runs in parallel must not share one.
        let profile = std::env::temp_dir().join(format!(
            "rdbkit-chromium-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&profile);
        let mut child = Command::new(&self.path)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.path.display()))?;
        let drain = |r: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut v = Vec::new();
                if let Some(mut r) = r {
                    let _ = r.read_to_end(&mut v);
                }
                v
            })
        };
        let out = drain(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let err = drain(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break s;
            }
            if start.elapsed() > BROWSER_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_dir_all(&profile);
                return Err(format!("chromium took over {BROWSER_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = String::from_utf8_lossy(&out.join().unwrap_or_default()).into_owned();
        let err = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
        let _ = std::fs::remove_dir_all(&profile);
        if !status.success() {
            return Err(format!("chromium exited with {status}:\n{err}"));
        }
        let console = err
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_string)
            .collect();
        Ok((out, console))
    }
}
