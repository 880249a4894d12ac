//! Integration tests of the parser: every real fixture, hostile inputs.

mod constructed;
mod fixtures;
