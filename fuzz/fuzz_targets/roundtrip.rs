#![no_main]
//! Arbitrary logical content -> writer (RDB 6..13, VALKEY080) -> parser -> equal.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdbkit_parser_fuzz::roundtrip::roundtrip(data);
});
