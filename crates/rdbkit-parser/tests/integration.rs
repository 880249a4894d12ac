//! Integration tests of the parser: every real fixture, hostile inputs, and
//! the fuzz corpus replayed.

mod constructed;
mod fixtures;
mod fuzz_corpus;
mod hostile;
