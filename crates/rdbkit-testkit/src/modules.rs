//! Module data for tests: the Redis Stack fixture and the views of a
//! running server with modules, both read by `scripts/module_views.py` (one
//! reader of module views, shared with the fixture generator).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::logical::fixtures_dir;
use crate::server::{Server, workspace_root};

/// `fixtures/modules/redis-stack-7.4.1/modules.rdb`, written by a real
/// Redis Stack 7.4.1 (`fixtures/modules/README.md`).
pub fn module_fixture_rdb() -> PathBuf {
    fixtures_dir()
        .join("modules")
        .join("redis-stack-7.4.1")
        .join("modules.rdb")
}

/// The fixture's logical contents (`modules.json`): `{"dbs": {db: {key:
/// {"type", "pexpiretime", "view"}}}, "indexes": {...}}`.
pub fn module_fixture_views() -> Result<Value, String> {
    let p = module_fixture_rdb().with_file_name("modules.json");
    let text = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", p.display()))
}

/// The same document read from a running server (PEXPIRETIME needs Redis
/// 7.0+ or Valkey).
pub fn module_views(server: &Server) -> Result<Value, String> {
    let script = workspace_root().join("scripts").join("module_views.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(server.port().to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("module_views.py output: {e}"))
}

/// Where two view documents differ, as readable lines (empty: equal):
/// keys only in one, keys whose type, expiry or view differ, indexes that
/// differ.
pub fn diff_views(want: &Value, got: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let empty = serde_json::Map::new();
    let dbs = |v: &Value| v["dbs"].as_object().cloned().unwrap_or_default();
    let (a, b) = (dbs(want), dbs(got));
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for db in names {
        let ka = a.get(db).and_then(Value::as_object).unwrap_or(&empty);
        let kb = b.get(db).and_then(Value::as_object).unwrap_or(&empty);
        for (k, v) in ka {
            match kb.get(k) {
                None => out.push(format!("db {db} key {k:?}: missing")),
                Some(w) if w != v => {
                    let short = |x: &Value| {
                        let s = x.to_string();
                        if s.len() > 300 {
                            format!("{}...", &s[..s.floor_char_boundary(300)])
                        } else {
                            s
                        }
                    };
                    out.push(format!(
                        "db {db} key {k:?}: want {} got {}",
                        short(v),
                        short(w)
                    ));
                }
                Some(_) => {}
            }
        }
        for k in kb.keys() {
            if !ka.contains_key(k) {
                out.push(format!("db {db} key {k:?}: not expected"));
            }
        }
    }
    if want["indexes"] != got["indexes"] {
        out.push(format!(
            "indexes: want {} got {}",
            want["indexes"], got["indexes"]
        ));
    }
    out
}
