//! Walk and fully decode every real fixture.

use std::path::PathBuf;

use rdbkit_parser::*;

pub(crate) fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub(crate) fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(fixture_dir()).unwrap() {
        let p = e.unwrap().path().join("types.rdb");
        if p.exists() {
            let name = p
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    assert!(out.len() >= 12, "fixtures missing");
    out
}

/// Decode a value completely, returning its element count.
pub(crate) fn decode_all(v: &RawValue<'_>) -> Result<u64> {
    Ok(match v.decode()? {
        Value::String(_) => 1,
        Value::List(l) => l.iter()?.try_fold(0, |n, r| r.map(|_| n + 1))?,
        Value::Set(s) => s.iter()?.try_fold(0, |n, r| r.map(|_| n + 1))?,
        Value::ZSet(z) => z.iter()?.try_fold(0, |n, r| r.map(|_| n + 1))?,
        Value::Hash(h) => h.iter()?.try_fold(0, |n, r| r.map(|_| n + 1))?,
        Value::Stream(s) => s.entries().try_fold(0, |n, r| r.map(|_| n + 1))?,
        Value::Module(m) => m.items()?.len() as u64,
    })
}

#[test]
fn every_fixture_walks_and_decodes() {
    for (name, data) in fixtures() {
        let mut keys = 0;
        let mut eof = false;
        for rec in RdbReader::new(&data).unwrap() {
            let rec = rec.unwrap_or_else(|e| panic!("{name}: {e}"));
            match rec.kind {
                RecordKind::Entry(e) => {
                    decode_all(&e.value).unwrap_or_else(|err| panic!("{name}: {err}"));
                    keys += 1;
                }
                RecordKind::Eof { checksum } => {
                    assert!(
                        matches!(checksum, Checksum::Verified(_)),
                        "{name}: {checksum:?}"
                    );
                    eof = true;
                }
                _ => {}
            }
        }
        assert!(eof && keys > 50, "{name}: {keys} keys");
    }
}

#[test]
fn streaming_reader_matches_slice_reader() {
    for (name, data) in fixtures() {
        let a: Vec<(u64, Vec<u8>)> = RdbReader::new(&data)
            .unwrap()
            .map(|r| r.map(|r| (r.offset, r.raw.to_vec())))
            .collect::<Result<_>>()
            .unwrap();
        // A reader that hands out 7 bytes at a time exercises every refill path.
        struct Dribble<'a>(&'a [u8]);
        impl std::io::Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(7).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut s = StreamingReader::new(Dribble(&data)).unwrap();
        let mut b = Vec::new();
        while let Some(r) = s.next_record().unwrap_or_else(|e| panic!("{name}: {e}")) {
            b.push((r.offset, r.raw.to_vec()));
        }
        assert_eq!(a, b, "{name}");
    }
}
