#![no_main]
//! Arbitrary file (first byte: the target) -> convert, losses allowed ->
//! never a panic; a sound input gives a sound output.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rdbkit_parser_fuzz::convert::convert(data);
});
