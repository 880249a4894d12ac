#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    rdbkit_parser_fuzz::intset(data);
});
