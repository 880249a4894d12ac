//! Support for the fuzz targets of `rdbkit-parser`: the invariants each target
//! checks live in `checks.rs`, which the parser's `tests/fuzz_corpus.rs` also
//! compiles (with `#[path]`) to replay the committed corpus on stable.

#[path = "checks.rs"]
mod checks;

pub use checks::*;

/// The writer round trip (also run by the writer's `tests/roundtrip_corpus.rs`).
pub mod roundtrip {
    include!("roundtrip_check.rs");
}

/// Conversion of arbitrary files (also run by the writer's `tests/convert_corpus.rs`).
pub mod convert {
    include!("convert_check.rs");
}
