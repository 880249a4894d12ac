//! The `convert` fuzz target's check (arbitrary file -> convert to a target
//! picked by the first byte -> never a panic; a sound input gives a sound
//! output), replayed on the committed corpora of the `convert` and
//! `parse_file` targets with every target, so that it runs in every
//! `cargo test`.

mod check {
    #![allow(dead_code, unreachable_pub, clippy::all)]
    include!("../../../fuzz/src/convert_check.rs");
}

use crate::fuzz_files as files;

#[test]
fn convert_corpus() {
    let mut inputs = files("corpus", "convert");
    inputs.extend(files("artifacts", "convert"));
    // Files of the parse_file corpus, each for every target.
    for file in files("corpus", "parse_file") {
        for pick in 0..9u8 {
            let mut v = vec![pick];
            v.extend_from_slice(&file);
            inputs.push(v);
        }
    }
    assert!(inputs.len() > 100, "corpus not found");
    let checked = inputs.iter().filter(|d| check::convert(d)).count();
    // Most of the corpus is damaged on purpose; enough of it is not.
    assert!(checked >= 100, "only {checked} sound inputs converted");
}
