#!/usr/bin/env bash
# Every check, as CI runs it: installs the real Redis/Valkey servers the tests
# start (cached under target/servers) and headless Chromium (the HTML
# report's tests open the page in it), then formatting, lints, all tests, docs,
# the fuzz crate and the benches' build.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "install test servers (Redis 6.0/6.2/7.0/8.2, Valkey 8.1/9.1, Redis Stack 7.4.1)"
scripts/install-servers.sh

step "install headless Chromium (the HTML report's browser tests)"
scripts/install-browser.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, integration, real servers, doctests)"
cargo test --workspace --locked

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

if [ -f fuzz/Cargo.toml ]; then
    step "fuzz crate builds"
    (cd fuzz && cargo check --locked 2>/dev/null || cargo check)
fi

step "benches build"
cargo bench --workspace --no-run --locked

step "all checks passed"
