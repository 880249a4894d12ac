#!/usr/bin/env bash
# Fuzz one target with libFuzzer on stable Rust (see build-stable.sh).
#
# Usage: fuzz/run-stable.sh TARGET SECONDS [more libFuzzer flags...]
#
# New inputs go to fuzz/work/TARGET (not committed); the committed seeds in
# fuzz/corpus/TARGET are read too. Crashes, timeouts and over-allocations land
# in fuzz/artifacts/TARGET/. Afterwards, fold what was learned into the
# committed corpus with:  fuzz/run-stable.sh TARGET merge
set -euo pipefail
cd "$(dirname "$0")"
t=$1
secs=$2
shift 2
triple=$(rustc -vV | sed -n 's/^host: //p')
bin=target/$triple/release/$t
[ -x "$bin" ] || ./build-stable.sh "$t"
mkdir -p "work/$t" "corpus/$t" "artifacts/$t"
# Limits: 10 s per input is a hang; 2 GiB RSS is an over-allocation (inputs
# are at most 64 KiB, Limits::small caps strings at 1 MiB, LZF expands at most
# 88x). -malloc_limit_mb only works with a sanitizer allocator (nightly
# `cargo fuzz`); on stable, allocations that are reserved but never touched
# are caught by the counting allocator of tests/hostile.rs instead.
common=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536)
if [ "$secs" = merge ]; then
    # Keep only inputs that reach new edges (hit counts ignored, which keeps
    # the committed corpus small), smallest first.
    mkdir -p "work/$t.merged"
    "$bin" -merge=1 -use_counters=0 "${common[@]}" "work/$t.merged" "corpus/$t" "work/$t" "$@"
    rm -rf "corpus/$t" && mv "work/$t.merged" "corpus/$t"
    exit 0
fi
exec "$bin" "work/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" \
    -max_total_time="$secs" -print_final_stats=1 "${common[@]}" "$@"
