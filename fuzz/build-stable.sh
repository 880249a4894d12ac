#!/usr/bin/env bash
# Build the fuzz targets with libFuzzer on STABLE Rust (no `cargo fuzz`, which
# needs nightly only for -Zsanitizer). Coverage instrumentation comes from
# LLVM's SanitizerCoverage pass, which stable rustc runs with -Cpasses; the
# flags are the ones `cargo fuzz build --sanitizer none` passes. The parser has
# no unsafe code on these paths, so no AddressSanitizer is needed; debug
# assertions and overflow checks stay on so that arithmetic overflow is a crash.
#
# Usage: fuzz/build-stable.sh            (all targets)
#        fuzz/build-stable.sh parse_file (one target)
# Binaries: fuzz/target/x86_64-unknown-linux-gnu/release/<target>
set -euo pipefail
cd "$(dirname "$0")"
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth \
 -Cdebug-assertions -Coverflow-checks -Ccodegen-units=1"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in fuzz_targets/*.rs; do targets+=("$(basename "$f" .rs)"); done
fi
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
# --target keeps RUSTFLAGS away from build scripts and proc macros.
cargo build --release --target "$triple" "${bins[@]}"
echo "built in fuzz/target/$triple/release/"
