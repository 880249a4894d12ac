//! Test support for rdbkit: run **real** Redis / Valkey servers on 127.0.0.1
//! and compare what they hold against expected logical contents.
//!
//! * [`ServerKind`] — the six installable servers (Redis 6.0.9, 6.2.14, 7.0.15,
//!   8.2.3; Valkey 8.1.8, 9.1.2), the RDB versions each loads, and where
//!   `scripts/install-servers.sh` puts them (`$RDBKIT_SERVERS_DIR`, else
//!   `<workspace>/target/servers`). Missing binaries are installed on first
//!   use, once per process. Not in [`ServerKind::ALL`]: Redis Stack 7.4.1
//!   ([`ServerKind::RedisStack74`]), whose four modules ([`StackModule`])
//!   can also be loaded into other kinds ([`Server::start_with_modules`],
//!   [`Server::start_with_chosen_modules`]).
//! * [`Server`] — one server in a private temp dir, optionally loading an RDB
//!   file at startup; [`LoadError`] carries the server's own reason when it
//!   refuses a file (`Can't handle RDB format version 12`, ...).
//! * [`Conn`] — a small blocking RESP2 client.
//! * [`dump_logical`] / [`diff_logical`] — the canonical logical JSON form of
//!   `shared/tools/rdb_lab.py` and its diff; [`list_fixtures`] finds the
//!   real-server fixtures under `<workspace>/fixtures`.
//! * [`module_fixture_rdb`] / [`module_fixture_views`] — the snapshot a
//!   real Redis Stack 7.4.1 wrote (`fixtures/modules`) and its module views;
//!   [`module_views`] reads the same views from a running server with the
//!   modules and [`diff_views`] lists where two differ.
//! * [`hash_keys_file`] — a generated file of many small hashes, with a
//!   damaged record placed where a test wants it.
//! * [`browser`] — headless Chromium for the tests of the HTML report
//!   (`scripts/install-browser.sh` installs it), and [`png`] to look at its
//!   screenshots' pixels.
//!
//! ```no_run
//! use rdbkit_testkit::{diff_logical, dump_logical, list_fixtures, Server, ServerKind};
//!
//! let fx = list_fixtures().unwrap().into_iter().find(|f| f.name == "redis-6.2.14").unwrap();
//! let server = Server::start(ServerKind::Valkey81, Some(&fx.rdb)).unwrap();
//! let live = dump_logical(&mut server.conn().unwrap());
//! assert_eq!(diff_logical(&fx.expected().unwrap(), &live), Vec::<String>::new());
//! ```

pub mod browser;
pub mod build;
mod checker;
mod files;
mod logical;
mod modules;
pub mod mutate;
pub mod png;
mod resp;
mod server;

pub use checker::{CHECK_TIMEOUT, LoaderVerdict};
pub use files::hash_keys_file;
pub use logical::{
    DiffOptions, FORMAT, Fixture, dec, diff_logical, diff_logical_with, dump_logical, enc,
    fixtures_dir, list_fixtures, load_fixture_json, parse_score, score_repr, try_dump_logical,
};
pub use modules::{diff_views, module_fixture_rdb, module_fixture_views, module_views};
pub use resp::{Cmd, Conn, Reply, RespError, ToArg, read_reply};
pub use server::{
    LoadError, RdbHeader, STACK_MODULES, START_TIMEOUT, Server, ServerKind, StackModule,
    install_all, install_script, modules_dir, servers_dir, workspace_root,
};
