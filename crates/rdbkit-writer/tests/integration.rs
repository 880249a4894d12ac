//! Integration tests of the writer: every real fixture converted to every
//! target, read back with the parser and compared logically with the source
//! minus exactly the reported losses.

mod compact;
mod conversions;
mod convert_corpus;
mod model;
mod roundtrip_corpus;
mod synthetic;

/// Every file of `fuzz/<dir>/<target>/` (`dir`: `corpus` or `artifacts`);
/// none when the folder does not exist.
pub(crate) fn fuzz_files(dir: &str, target: &str) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(dir)
        .join(target);
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    rd.filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .collect()
}
