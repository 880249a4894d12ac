//! Helpers shared by the CLI tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

pub(crate) fn rdbkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdbkit"))
}

pub(crate) fn run(args: &[&str]) -> Output {
    rdbkit()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rdbkit")
}

pub(crate) fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = rdbkit()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rdbkit");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

pub(crate) fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// Every fixture directory name, sorted.
pub(crate) fn fixture_names() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            p.join("types.rdb")
                .exists()
                .then(|| p.file_name().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    v.sort();
    assert!(v.len() >= 12, "fixtures missing: {v:?}");
    v
}

pub(crate) fn fixture_rdb(name: &str) -> String {
    fixtures_dir()
        .join(name)
        .join("types.rdb")
        .to_string_lossy()
        .into_owned()
}

pub(crate) fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "rdbkit-test-{}-{}-{}",
        tag,
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    );
    h.finish()
}

/// Pipe `resp` into a real `redis-cli --pipe` (Debian's redis-tools 7.0.15,
/// installed by `scripts/install-servers.sh`) connected to `server`, and
/// return what it said.
pub(crate) fn redis_cli_pipe(server: &rdbkit_testkit::Server, resp: Vec<u8>) -> Output {
    use std::io::Write;
    let cli = rdbkit_testkit::servers_dir().join("redis-cli/redis-cli");
    if !cli.exists() {
        rdbkit_testkit::install_all().unwrap();
    }
    let mut child = Command::new(&cli)
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &server.port().to_string(),
            "--pipe",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Written from another thread: redis-cli replies while it reads.
    let writer = std::thread::spawn(move || stdin.write_all(&resp).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}
