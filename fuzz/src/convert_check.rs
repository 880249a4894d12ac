// Conversion of arbitrary files: whatever the input, converting it to any
// target (losses allowed) never panics; and when the input is sound (every
// value decodes), a conversion that succeeds writes a file that is sound too
// (every record parses, every value decodes, the checksum holds).
//
// Shared by the `convert` fuzz target and the writer's
// `tests/convert_corpus.rs` (through `include!`), which replays the
// `parse_file` corpus in every `cargo test`.

use rdbkit_parser::{Limits, RdbReader, RdbVersion, ReaderOptions, RecordKind, Value};
use rdbkit_writer::{ConvertOptions, LossPolicy};

/// Targets tried, picked by the first input byte.
const TARGETS: [u32; 9] = [3, 6, 7, 9, 10, 11, 12, 13, 80];

fn options() -> ReaderOptions {
    ReaderOptions {
        limits: Limits::small(),
        verify_checksum: false,
    }
}

/// Whether every record of `file` parses and every value decodes fully.
fn sound(file: &[u8], options: ReaderOptions) -> bool {
    let Ok(reader) = RdbReader::with_options(file, options) else {
        return false;
    };
    for rec in reader {
        let Ok(rec) = rec else { return false };
        if let RecordKind::Entry(e) = rec.kind {
            let ok = match e.value.decode() {
                Ok(Value::List(l)) => l.iter().is_ok_and(|mut i| i.all(|r| r.is_ok())),
                Ok(Value::Set(s)) => s.iter().is_ok_and(|mut i| i.all(|r| r.is_ok())),
                Ok(Value::ZSet(z)) => z.iter().is_ok_and(|mut i| i.all(|r| r.is_ok())),
                Ok(Value::Hash(h)) => h.iter().is_ok_and(|mut i| i.all(|r| r.is_ok())),
                Ok(Value::Stream(s)) => s.entries().all(|r| r.is_ok()),
                Ok(Value::Module(m)) => m.items().is_ok(),
                Ok(Value::String(_)) => true,
                Err(_) => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// The check: the first byte picks the target, the rest is the file.
/// Returns whether a sound input was converted and its output checked.
pub fn convert(data: &[u8]) -> bool {
    let Some((&pick, file)) = data.split_first() else {
        return false;
    };
    let target = RdbVersion(TARGETS[usize::from(pick) % TARGETS.len()]);
    let Ok(mut reader) = RdbReader::with_options(file, options()) else {
        return false;
    };
    let mut opts = ConvertOptions::new(target);
    opts.on_loss = LossPolicy::Warn;
    let result = rdbkit_writer::convert(&mut reader, Vec::new(), &opts);
    if let Ok((out, _report)) = result
        && sound(file, options())
    {
        let checked = ReaderOptions {
            limits: Limits::default(),
            verify_checksum: true,
        };
        assert!(
            sound(&out, checked),
            "a sound input converted for {target} gave an unsound output"
        );
        return true;
    }
    false
}
