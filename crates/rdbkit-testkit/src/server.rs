//! Real Redis / Valkey servers for tests: which ones exist, where their
//! binaries live, installing them, and running one on 127.0.0.1.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::resp::{Cmd, Conn, Reply, RespError};

/// How long [`Server::start`] waits for a server to load its file and accept connections.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One of the real servers that `scripts/install-servers.sh` installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKind {
    /// Redis 6.0.9, the engine of Azure Cache for Redis Premium: loads RDB up to 9.
    Redis60,
    /// Redis 6.2.14: loads RDB up to 9 (also the limit of Redis 6.0 / Azure Cache Premium).
    Redis62,
    /// Redis 7.0.15: loads RDB up to 10.
    Redis70,
    /// Valkey 8.1.8: loads RDB up to 11 (the limit of Redis 7.2 / Valkey 7.2–8.1).
    Valkey81,
    /// Redis 8.2.3: loads RDB up to 12 (Redis 7.4 – 8.4).
    Redis82,
    /// Valkey 9.1.2: loads `VALKEY` files up to 80 and `REDIS` files up to 11.
    Valkey91,
    /// Redis Stack 7.4.1: Redis 7.4.1 started with RedisJSON, RediSearch,
    /// RedisBloom and RedisTimeSeries loaded; loads RDB up to 12. Not in
    /// [`ServerKind::ALL`] (the servers without modules).
    RedisStack74,
}

impl ServerKind {
    /// All six, oldest first.
    pub const ALL: [ServerKind; 6] = [
        ServerKind::Redis60,
        ServerKind::Redis62,
        ServerKind::Redis70,
        ServerKind::Valkey81,
        ServerKind::Redis82,
        ServerKind::Valkey91,
    ];

    /// Short stable name, also the install subdirectory: `redis-6.2`, `valkey-9.1`, ...
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Redis60 => "redis-6.0",
            ServerKind::Redis62 => "redis-6.2",
            ServerKind::Redis70 => "redis-7.0",
            ServerKind::Valkey81 => "valkey-8.1",
            ServerKind::Redis82 => "redis-8.2",
            ServerKind::Valkey91 => "valkey-9.1",
            ServerKind::RedisStack74 => "redis-stack-7.4",
        }
    }

    /// The exact server version installed (what `--version` reports).
    pub fn version(self) -> &'static str {
        match self {
            ServerKind::Redis60 => "6.0.9",
            ServerKind::Redis62 => "6.2.14",
            ServerKind::Redis70 => "7.0.15",
            ServerKind::Valkey81 => "8.1.8",
            ServerKind::Redis82 => "8.2.3",
            ServerKind::Valkey91 => "9.1.2",
            ServerKind::RedisStack74 => "7.4.1",
        }
    }

    /// The `--target` name whose output this server is proven to load:
    /// its release line, and for Redis 6.0, the engine of Azure Cache for
    /// Redis Premium, the service's name.
    pub fn target_name(self) -> &'static str {
        match self {
            ServerKind::Redis60 => "azure-premium",
            ServerKind::Redis62 => "redis-6.2",
            ServerKind::Redis70 => "redis-7.0",
            ServerKind::Valkey81 => "valkey-8.1",
            ServerKind::Redis82 => "redis-8.2",
            ServerKind::Valkey91 => "valkey-9.1",
            ServerKind::RedisStack74 => "redis-stack-7.4",
        }
    }

    /// True for Valkey servers.
    pub fn is_valkey(self) -> bool {
        matches!(self, ServerKind::Valkey81 | ServerKind::Valkey91)
    }

    /// File name of the executable: `redis-server` or `valkey-server`.
    pub fn binary_name(self) -> &'static str {
        if self.is_valkey() {
            "valkey-server"
        } else {
            "redis-server"
        }
    }

    /// Highest RDB version of a `REDIS`-magic file this server loads.
    pub fn max_rdb_version(self) -> u32 {
        match self {
            ServerKind::Redis60 | ServerKind::Redis62 => 9,
            ServerKind::Redis70 => 10,
            ServerKind::Valkey81 => 11,
            ServerKind::Redis82 | ServerKind::RedisStack74 => 12,
            ServerKind::Valkey91 => 11,
        }
    }

    /// Highest RDB version of a `VALKEY`-magic file this server loads, if any.
    pub fn max_valkey_rdb_version(self) -> Option<u32> {
        match self {
            ServerKind::Valkey91 => Some(80),
            _ => None,
        }
    }

    /// Whether this server loads a file with this header (by version alone).
    pub fn can_load(self, header: &RdbHeader) -> bool {
        match header.magic.as_str() {
            "REDIS" => header.version <= self.max_rdb_version(),
            "VALKEY" => self
                .max_valkey_rdb_version()
                .is_some_and(|max| header.version <= max),
            _ => false,
        }
    }

    /// Where the binary is (or will be) installed:
    /// `<servers_dir()>/<name()>/<binary_name()>`.
    pub fn binary_path(self) -> PathBuf {
        servers_dir().join(self.name()).join(self.binary_name())
    }

    /// The six of [`ServerKind::ALL`] and the Stack: what the install script installs.
    const EVERY: [ServerKind; 7] = [
        ServerKind::Redis60,
        ServerKind::Redis62,
        ServerKind::Redis70,
        ServerKind::Valkey81,
        ServerKind::Redis82,
        ServerKind::Valkey91,
        ServerKind::RedisStack74,
    ];

    /// The binary's path, after making sure it works: the first call in a
    /// process checks every binary (`--version` must report the expected
    /// version; the Stack's modules and OpenSSL 1.1 must be beside it) and
    /// runs `scripts/install-servers.sh` once if any is missing or broken
    /// (e.g. a shared library gone). Each kind is then judged on its own, so
    /// a Stack that could not be installed fails only the tests that use it.
    pub fn ensure_installed(self) -> Result<PathBuf, String> {
        static INSTALL: OnceLock<Option<Result<(), String>>> = OnceLock::new();
        static CHECKED: [OnceLock<Result<(), String>>; 7] = [const { OnceLock::new() }; 7];
        let script = INSTALL.get_or_init(|| {
            if ServerKind::EVERY.iter().all(|k| k.check_binary().is_ok()) {
                None
            } else {
                Some(run_install_script())
            }
        });
        let slot = ServerKind::EVERY
            .iter()
            .position(|&k| k == self)
            .expect("EVERY lists every kind");
        CHECKED[slot]
            .get_or_init(|| {
                self.check_binary().map_err(|e| match script {
                    None => e,
                    Some(Ok(())) => format!("after running {}: {e}", install_script().display()),
                    Some(Err(out)) => format!("{e}\n{out}"),
                })
            })
            .clone()?;
        Ok(self.binary_path())
    }

    /// `Ok` if the installed binary runs and reports this kind's version.
    fn check_binary(self) -> Result<(), String> {
        let path = self.binary_path();
        if !is_executable(&path) {
            return Err(format!("{} is not installed", path.display()));
        }
        if self == ServerKind::RedisStack74 {
            let libs = modules_dir();
            let needed = StackModule::ALL
                .iter()
                .map(|m| m.file_name())
                .chain(["libssl.so.1.1", "libcrypto.so.1.1"]);
            for f in needed {
                if !libs.join(f).is_file() {
                    return Err(format!("{} is missing", libs.join(f).display()));
                }
            }
        }
        let out = Command::new(&path)
            .arg("--version")
            .env("LD_LIBRARY_PATH", modules_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && text.contains(&format!(" server v={} ", self.version())) {
            Ok(())
        } else {
            Err(format!(
                "{} --version: {}{}",
                path.display(),
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flavor = match self {
            ServerKind::RedisStack74 => "Redis Stack",
            k if k.is_valkey() => "Valkey",
            _ => "Redis",
        };
        write!(f, "{flavor} {}", self.version())
    }
}

/// The rdbkit workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    here.canonicalize().unwrap_or(here)
}

/// Where the servers are installed: `$RDBKIT_SERVERS_DIR`, else `<workspace>/target/servers`.
pub fn servers_dir() -> PathBuf {
    match std::env::var_os("RDBKIT_SERVERS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => workspace_root().join("target").join("servers"),
    }
}

/// Where Redis Stack's modules (`rejson.so`, `redisearch.so`,
/// `redisbloom.so`, `redistimeseries.so`) and the OpenSSL 1.1 they and the
/// Stack's server link are installed: `<servers_dir()>/redis-stack-7.4/lib`.
pub fn modules_dir() -> PathBuf {
    servers_dir().join("redis-stack-7.4").join("lib")
}

/// The module files [`Server::start_with_modules`] loads, in load order
/// (the file names of [`StackModule::ALL`]).
pub const STACK_MODULES: [&str; 4] = [
    "rejson.so",
    "redisearch.so",
    "redisbloom.so",
    "redistimeseries.so",
];

/// One of the four modules of Redis Stack 7.4.1, installed in [`modules_dir`].
/// All four also load into Redis 8.2.3, Valkey 8.1.8 and Valkey 9.1.2; into
/// Redis 7.0.15 all but RediSearch (its initialization fails); into Redis
/// 6.2.14 only RedisBloom and RedisTimeSeries (RedisJSON aborts the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StackModule {
    /// RedisJSON 2.8.3 (`JSON.*`; data type `ReJSON-RL`).
    Json,
    /// RediSearch 2.10.5 (`FT.*`; keeps its index definitions in module AUX records).
    Search,
    /// RedisBloom 2.8.2 (`BF.*`, `CF.*`, `CMS.*`, `TOPK.*`, `TDIGEST.*`).
    Bloom,
    /// RedisTimeSeries 1.12.2 (`TS.*`; data type `TSDB-TYPE`).
    TimeSeries,
}

impl StackModule {
    /// All four, in the order Redis Stack loads them.
    pub const ALL: [StackModule; 4] = [
        StackModule::Json,
        StackModule::Search,
        StackModule::Bloom,
        StackModule::TimeSeries,
    ];

    /// The shared object's file name: `rejson.so`, ...
    pub fn file_name(self) -> &'static str {
        match self {
            StackModule::Json => "rejson.so",
            StackModule::Search => "redisearch.so",
            StackModule::Bloom => "redisbloom.so",
            StackModule::TimeSeries => "redistimeseries.so",
        }
    }

    /// The name `MODULE LIST` reports once it is loaded: `ReJSON`, `search`, `bf`, `timeseries`.
    pub fn module_name(self) -> &'static str {
        match self {
            StackModule::Json => "ReJSON",
            StackModule::Search => "search",
            StackModule::Bloom => "bf",
            StackModule::TimeSeries => "timeseries",
        }
    }

    /// `<modules_dir()>/<file_name()>`.
    pub fn path(self) -> PathBuf {
        modules_dir().join(self.file_name())
    }
}

/// `<workspace>/scripts/install-servers.sh`.
pub fn install_script() -> PathBuf {
    workspace_root().join("scripts").join("install-servers.sh")
}

/// Run the install script for all servers now (normally [`ServerKind::ensure_installed`]
/// does this on demand). Returns the script's output on failure.
pub fn install_all() -> Result<(), String> {
    run_install_script()
}

fn run_install_script() -> Result<(), String> {
    let script = install_script();
    let out = Command::new("bash")
        .arg(&script)
        .env("RDBKIT_SERVERS_DIR", servers_dir())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed ({}):\n{}{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Magic and version from the first 9 bytes of an RDB file (`REDIS0011`, `VALKEY080`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RdbHeader {
    /// `REDIS` or `VALKEY`.
    pub magic: String,
    /// The decimal version after the magic.
    pub version: u32,
}

impl RdbHeader {
    /// Parse a 9-byte header.
    pub fn parse(head: &[u8]) -> Option<RdbHeader> {
        let head = head.get(..9)?;
        let split = head.iter().position(|b| b.is_ascii_digit())?;
        let (magic, digits) = head.split_at(split);
        if magic.is_empty()
            || !magic.iter().all(u8::is_ascii_uppercase)
            || !digits.iter().all(u8::is_ascii_digit)
        {
            return None;
        }
        Some(RdbHeader {
            magic: String::from_utf8(magic.to_vec()).ok()?,
            version: std::str::from_utf8(digits).ok()?.parse().ok()?,
        })
    }

    /// Read the header of the file at `path`.
    pub fn read(path: &Path) -> io::Result<RdbHeader> {
        let mut head = [0u8; 9];
        fs::File::open(path)?.read_exact(&mut head)?;
        RdbHeader::parse(&head).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not an RDB file (header {head:?})", path.display()),
            )
        })
    }
}

impl fmt::Display for RdbHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = 9usize.saturating_sub(self.magic.len());
        write!(f, "{}{:0width$}", self.magic, self.version)
    }
}

/// A server did not come up: not installed, refused the RDB file, crashed or
/// timed out. `Display` shows everything, including the server's own reason.
#[derive(Debug, Clone)]
pub struct LoadError {
    /// Which server.
    pub kind: ServerKind,
    /// What happened, e.g. `exited with exit status: 1`.
    pub what: String,
    /// The log lines that explain it (e.g. `Can't handle RDB format version 12`);
    /// empty if none were recognised.
    pub reason: String,
    /// The last lines of the server's log file and stdout/stderr.
    pub log_tail: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} did not start: {}", self.kind, self.what)?;
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        if !self.log_tail.is_empty() {
            write!(f, "\n--- log tail ---\n{}", self.log_tail)?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A private temporary directory, removed (with its contents) on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> io::Result<TempDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let base = std::env::temp_dir();
        loop {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let p = base.join(format!("{prefix}-{}-{n}-{nanos}", std::process::id()));
            match fs::create_dir(&p) {
                Ok(()) => return Ok(TempDir(p)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A running server on `127.0.0.1:<port()>` in its own temp dir. Dropping it
/// kills the process (by its pid), waits for it and removes the dir.
#[derive(Debug)]
pub struct Server {
    kind: ServerKind,
    modules: Vec<StackModule>,
    port: u16,
    child: Child,
    dir: TempDir,
}

const LOG_FILE: &str = "server.log";
const STDOUT_FILE: &str = "stdout.log";
const READY_MARKERS: &[&str] = &["Ready to accept connections"];

impl Server {
    /// Start `kind` with `rdb` (copied to `<tmp>/dump.rdb`) loaded at startup,
    /// or empty. Waits until the server accepts connections.
    pub fn start(kind: ServerKind, rdb: Option<&Path>) -> Result<Server, LoadError> {
        Server::start_with(kind, rdb, &[])
    }

    /// Like [`Server::start`], with extra command-line config such as
    /// `["--databases", "32"]` appended after the defaults.
    pub fn start_with(
        kind: ServerKind,
        rdb: Option<&Path>,
        extra_args: &[&str],
    ) -> Result<Server, LoadError> {
        let modules: &[StackModule] = if kind == ServerKind::RedisStack74 {
            &StackModule::ALL
        } else {
            &[]
        };
        Server::start_inner(kind, rdb, extra_args, modules)
    }

    /// Like [`Server::start_with`], with Redis Stack 7.4.1's four modules
    /// ([`STACK_MODULES`]) loaded (`--loadmodule`) into `kind`: they also
    /// load into Redis 8.2.3 and Valkey 8.1.8. [`ServerKind::RedisStack74`]
    /// always has them.
    pub fn start_with_modules(
        kind: ServerKind,
        rdb: Option<&Path>,
        extra_args: &[&str],
    ) -> Result<Server, LoadError> {
        Server::start_inner(kind, rdb, extra_args, &StackModule::ALL)
    }

    /// Like [`Server::start_with`], with exactly `modules` loaded into
    /// `kind` (none: no module, even for [`ServerKind::RedisStack74`]), in
    /// the order given. [`Server::modules`] tells which.
    pub fn start_with_chosen_modules(
        kind: ServerKind,
        rdb: Option<&Path>,
        modules: &[StackModule],
        extra_args: &[&str],
    ) -> Result<Server, LoadError> {
        Server::start_inner(kind, rdb, extra_args, modules)
    }

    fn start_inner(
        kind: ServerKind,
        rdb: Option<&Path>,
        extra_args: &[&str],
        modules: &[StackModule],
    ) -> Result<Server, LoadError> {
        let fail = |what: String| LoadError {
            kind,
            what,
            reason: String::new(),
            log_tail: String::new(),
        };
        let bin = kind.ensure_installed().map_err(fail)?;
        if !modules.is_empty() {
            // The module files come with the Stack.
            ServerKind::RedisStack74.ensure_installed().map_err(fail)?;
        }
        let dir = TempDir::new("rdbkit-server")
            .map_err(|e| fail(format!("cannot create a temp dir: {e}")))?;
        if let Some(rdb) = rdb {
            fs::copy(rdb, dir.0.join("dump.rdb"))
                .map_err(|e| fail(format!("cannot copy {}: {e}", rdb.display())))?;
        }
        for attempt in 0..3 {
            let port = free_port().map_err(|e| fail(format!("cannot pick a free port: {e}")))?;
            let mut child = spawn(&bin, &dir.0, port, extra_args, modules)
                .map_err(|e| fail(format!("cannot run {}: {e}", bin.display())))?;
            match wait_ready(&mut child, port, &dir.0) {
                Ok(()) => {
                    return Ok(Server {
                        kind,
                        modules: modules.to_vec(),
                        port,
                        child,
                        dir,
                    });
                }
                Err(what) => {
                    kill_and_wait(&mut child);
                    let log = read_logs(&dir.0);
                    if attempt < 2 && log.contains("already in use") {
                        // Lost a race for the port: try another one.
                        let _ = fs::remove_file(dir.0.join(LOG_FILE));
                        let _ = fs::remove_file(dir.0.join(STDOUT_FILE));
                        continue;
                    }
                    return Err(LoadError {
                        kind,
                        what,
                        reason: log_reason(&log),
                        log_tail: tail(&log, 40),
                    });
                }
            }
        }
        unreachable!("the last attempt always returns")
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The modules it was started with (`--loadmodule`), in load order.
    pub fn modules(&self) -> &[StackModule] {
        &self.modules
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's working dir (`--dir`), removed when the server is dropped.
    pub fn dir(&self) -> &Path {
        &self.dir.0
    }

    /// `<dir>/dump.rdb`: the file it loaded at startup and the one `SAVE` writes.
    pub fn rdb_path(&self) -> PathBuf {
        self.dir.0.join("dump.rdb")
    }

    /// A new connection to the server.
    pub fn conn(&self) -> Result<Conn, RespError> {
        Conn::connect_port(self.port)
    }

    /// Run `SAVE` and return the path of the RDB file the server wrote.
    pub fn save(&self) -> Result<PathBuf, RespError> {
        self.conn()?.query(&Cmd::new("SAVE"))?;
        Ok(self.rdb_path())
    }

    /// The server's log file plus its stdout/stderr so far.
    pub fn log(&self) -> String {
        read_logs(&self.dir.0)
    }

    /// Kill the server now (same as dropping it).
    pub fn stop(self) {}
}

impl Drop for Server {
    fn drop(&mut self) {
        kill_and_wait(&mut self.child);
    }
}

fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn spawn(
    bin: &Path,
    dir: &Path,
    port: u16,
    extra_args: &[&str],
    modules: &[StackModule],
) -> io::Result<Child> {
    let out = fs::File::create(dir.join(STDOUT_FILE))?;
    let err = out.try_clone()?;
    let dir_s = dir.to_string_lossy().into_owned();
    let log = dir.join(LOG_FILE).to_string_lossy().into_owned();
    let port_s = port.to_string();
    let mut args: Vec<&str> = vec![
        "--port",
        &port_s,
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir_s,
        "--dbfilename",
        "dump.rdb",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--logfile",
        &log,
    ];
    let libs = modules_dir();
    let module_paths: Vec<String> = modules
        .iter()
        .map(|m| m.path().to_string_lossy().into_owned())
        .collect();
    for m in &module_paths {
        args.extend_from_slice(&["--loadmodule", m]);
    }
    args.extend_from_slice(extra_args);
    Command::new(bin)
        .args(&args)
        // The Stack's server and modules link OpenSSL 1.1, installed beside
        // the modules; the other servers do not read it.
        .env("LD_LIBRARY_PATH", &libs)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
}

/// Wait until the log says the server is ready and it answers PING, or it
/// exits, or [`START_TIMEOUT`] passes. `Err` says which.
fn wait_ready(child: &mut Child, port: u16, dir: &Path) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let exited = |st: ExitStatus| format!("server exited ({st})");
    // 1. the log line
    loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(exited(st));
        }
        let log = fs::read_to_string(dir.join(LOG_FILE)).unwrap_or_default();
        if READY_MARKERS.iter().any(|m| log.contains(m)) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no \"Ready to accept connections\" in the log after {}s",
                START_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // 2. PING
    loop {
        if let Some(st) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(exited(st));
        }
        let pong = Conn::connect_port(port).and_then(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(2)))?;
            c.query_raw(&Cmd::new("PING"))
        });
        match pong {
            Ok(Reply::Status(s)) if s == "PONG" => return Ok(()),
            Ok(Reply::Error(e)) if !e.starts_with("LOADING") => {
                return Err(format!("PING answered: {e}"));
            }
            _ => {}
        }
        if Instant::now() > deadline {
            return Err(format!(
                "server did not answer PING within {}s",
                START_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill_and_wait(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        // Child::kill sends SIGKILL to exactly this pid.
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn read_logs(dir: &Path) -> String {
    let mut parts = Vec::new();
    for name in [LOG_FILE, STDOUT_FILE] {
        if let Ok(b) = fs::read(dir.join(name)) {
            let text = String::from_utf8_lossy(&b).into_owned();
            if !text.trim().is_empty() {
                parts.push(text);
            }
        }
    }
    parts.join("\n")
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Log messages that explain a refusal to load (compared lowercase).
const SPECIFIC: &[&str] = &[
    "can't handle rdb",
    "unknown rdb",
    "internal error in rdb",
    "short read",
    "wrong rdb checksum",
    "wrong signature",
    "crashed by signal",
    "assertion failed",
    "unrecoverable error",
    "bad data format",
    "unknown object type",
    "bad file format",
    "unexpected",
    "corrupt",
    "failed to load",
    "not supported",
    "unknown module",
    "unknown type",
    "unknown opcode",
    "unknown encoding",
    "fatal",
    "error",
    "already in use",
    "bad directive",
];

/// Strip the `pid:R dd Mon yyyy hh:mm:ss.mmm # ` prefix of a Redis/Valkey log line.
fn log_message(line: &str) -> &str {
    let starts_like_log = line.starts_with('[')
        || line
            .split(':')
            .next()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if starts_like_log {
        for marker in [" # ", " * ", " - ", " . "] {
            if let Some(i) = line.find(marker) {
                return line[i + marker.len()..].trim();
            }
        }
    }
    line.trim()
}

/// The few log lines that say why a server refused to start or to load its file.
fn log_reason(log: &str) -> String {
    let mut picked: Vec<&str> = Vec::new();
    for line in log.lines() {
        let msg = log_message(line);
        let lower = msg.to_ascii_lowercase();
        if !msg.is_empty() && SPECIFIC.iter().any(|s| lower.contains(s)) && !picked.contains(&msg) {
            picked.push(msg);
        }
    }
    picked.truncate(6);
    picked.join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdb_headers() {
        let h = RdbHeader::parse(b"REDIS0011").unwrap();
        assert_eq!((h.magic.as_str(), h.version), ("REDIS", 11));
        let v = RdbHeader::parse(b"VALKEY080").unwrap();
        assert_eq!((v.magic.as_str(), v.version), ("VALKEY", 80));
        assert_eq!(v.to_string(), "VALKEY080");
        assert!(RdbHeader::parse(b"REDIS00").is_none());
        assert!(RdbHeader::parse(b"redis0011").is_none());
        assert!(ServerKind::Valkey91.can_load(&v));
        assert!(!ServerKind::Redis82.can_load(&v));
        assert!(ServerKind::Redis82.can_load(&RdbHeader::parse(b"REDIS0012").unwrap()));
        assert!(!ServerKind::Valkey91.can_load(&RdbHeader::parse(b"REDIS0012").unwrap()));
    }

    #[test]
    fn log_reasons() {
        let log = "123:C 21 Nov 2025 05:10:00.000 # oO0OoO0OoO0Oo Redis is starting\n\
                   123:M 21 Nov 2025 05:10:00.001 # Can't handle RDB format version 12\n\
                   123:M 21 Nov 2025 05:10:00.001 # Fatal error loading the DB, check server logs. Exiting.\n";
        assert_eq!(
            log_reason(log),
            "Can't handle RDB format version 12 | Fatal error loading the DB, check server logs. Exiting."
        );
    }
}
