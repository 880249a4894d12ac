//! Integration tests of the writer: every real fixture converted to every
//! target, read back with the parser and compared logically with the source
//! minus exactly the reported losses.

mod compact;
mod conversions;
mod convert_corpus;
mod model;
mod roundtrip_corpus;
mod synthetic;
