//! Helpers for the unit tests: write a file, read it back.

use rdbkit_parser::{RdbReader, RdbVersion, RecordKind, Value};

use crate::RdbWriter;
use crate::error::Result;

/// Write a whole file for `target` with `f` and finish it.
pub(crate) fn write_file(
    target: RdbVersion,
    f: impl FnOnce(&mut RdbWriter<Vec<u8>>) -> Result<()>,
) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new(), target).unwrap();
    f(&mut w).unwrap();
    w.finish().unwrap()
}

/// Every record kind of a file, in order (checksum verified).
pub(crate) fn read_records(bytes: &[u8]) -> Vec<RecordKind<'_>> {
    RdbReader::new(bytes)
        .unwrap()
        .map(|r| r.unwrap().kind)
        .collect()
}

/// The string entries of a file: (key, value).
pub(crate) fn entries(bytes: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    read_records(bytes)
        .into_iter()
        .filter_map(|k| match k {
            RecordKind::Entry(e) => match e.value.decode().unwrap() {
                Value::String(s) => Some((e.key.to_vec(), s.to_vec())),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
