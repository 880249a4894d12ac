//! `rdbkit verify`: a full structural walk with every value decoded, plus
//! the checksum and cross-record rules a loader enforces (duplicate keys).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_parser::{Checksum, Error, Item, RawValue, Record, RecordKind, Value};

use crate::input::{Visitor, walk};
use crate::keyhash::{IdHasher, IdSet};

/// Arguments of `rdbkit verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// Instead of checking the file itself, say whether target T would load
    /// it as it is, and what `convert --target T` would have to change or lose.
    #[arg(long, value_name = "T")]
    pub(crate) target: Option<String>,
    #[command(flatten)]
    pub(crate) conv: crate::cmd::convert::ConvOpts,
}

/// `verify --target T`: a dry run of the conversion.
fn preflight(args: &Args, target: &str, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let options = args.conv.options(Some(target), None)?;
    let target = options.target;
    let mut dry = crate::cmd::convert::DryRun::new(options);
    walk(&args.file, Default::default(), &mut dry)?;
    let (source, report) = dry.finish()?;
    let loads_as_is = crate::cmd::convert::loads_as_is(source, target);
    writeln!(out, "{report}")?;
    if loads_as_is {
        writeln!(out, "{target}: the file loads as it is")?;
        Ok(ExitCode::SUCCESS)
    } else if report.is_lossless() {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); `rdbkit convert --target` rewrites it without losing data"
        )?;
        Ok(ExitCode::from(1))
    } else {
        writeln!(
            out,
            "{target}: the file does not load as it is ({source}); converting loses: {}",
            report.loss_summary()
        )?;
        Ok(ExitCode::from(1))
    }
}

/// Decode a value completely (every element, with the checks the iterators
/// make) and check the rules loaders enforce on top: no empty collections, no
/// duplicate members or fields. Returns the element count.
pub(crate) fn check_value(v: &RawValue<'_>) -> Result<u64, Error> {
    check_value_with(v, &mut MemberCheck::default())
}

/// Reusable state for the duplicate-member check (one set, cleared per value).
#[derive(Debug, Default)]
pub(crate) struct MemberCheck {
    ids: IdHasher,
    seen: IdSet,
}

impl MemberCheck {
    #[inline]
    fn check(&mut self, item: &Item<'_>, what: &'static str, offset: u64) -> Result<(), Error> {
        if !self.seen.insert(self.ids.item(item)) {
            return Err(Error::new(
                offset,
                rdbkit_parser::ErrorKind::Invalid {
                    what,
                    reason: format!("duplicate member {item:?}").into(),
                },
            ));
        }
        Ok(())
    }

    fn reset(&mut self) {
        // Keep a small allocation across values; clearing a big one costs a
        // memset of its whole control array, for every following value.
        if self.seen.capacity() > 256 {
            self.seen = IdSet::default();
        } else if !self.seen.is_empty() {
            self.seen.clear();
        }
    }
}

/// [`check_value`] with reusable state.
pub(crate) fn check_value_with(v: &RawValue<'_>, m: &mut MemberCheck) -> Result<u64, Error> {
    let at = v.offset();
    m.reset();
    let n = match v.decode()? {
        Value::String(_) => return Ok(1),
        Value::List(l) => l.iter()?.try_fold(0u64, |n, r| r.map(|_| n + 1))?,
        Value::Set(s) => {
            let mut n = 0;
            for r in s.iter()? {
                m.check(&r?, "set", at)?;
                n += 1;
            }
            n
        }
        Value::ZSet(z) => {
            let mut n = 0;
            for r in z.iter()? {
                m.check(&r?.0, "sorted set", at)?;
                n += 1;
            }
            n
        }
        Value::Hash(h) => {
            let mut n = 0;
            for r in h.iter()? {
                m.check(&r?.field, "hash", at)?;
                n += 1;
            }
            n
        }
        Value::Stream(s) => {
            let mut live = 0u64;
            for r in s.entries() {
                if !r?.deleted {
                    live += 1;
                }
            }
            if live != s.length {
                return Err(Error::new(
                    at,
                    rdbkit_parser::ErrorKind::Invalid {
                        what: "stream",
                        reason: format!(
                            "length says {} entries but the nodes hold {live} live entries",
                            s.length
                        )
                        .into(),
                    },
                ));
            }
            // An empty stream is a valid key.
            return Ok(live);
        }
        Value::Module(m) => return Ok(m.items()?.len() as u64),
    };
    if n == 0 {
        return Err(Error::new(
            at,
            rdbkit_parser::ErrorKind::Invalid {
                what: "collection",
                reason: "empty collection (loaders skip or mishandle it)".into(),
            },
        ));
    }
    Ok(n)
}

pub(crate) struct Verifier {
    dup_check: bool,
    records: u64,
    keys: u64,
    keys_seen: IdSet,
    ids: IdHasher,
    members: MemberCheck,
    checksum: Option<Checksum>,
}

impl Visitor for Verifier {
    fn record(&mut self, rec: &Record<'_>) -> anyhow::Result<bool> {
        self.records += 1;
        match &rec.kind {
            RecordKind::Entry(e) => {
                check_value_with(&e.value, &mut self.members)
                    .map_err(|err| err.with_key(&e.key))?;
                self.keys += 1;
                if !self.dup_check {
                    return Ok(true);
                }
                // A 128-bit keyed id per key: duplicate keys make every loader
                // refuse the file, and 16 bytes a key keeps this affordable.
                if !self.keys_seen.insert(self.ids.id(e.db, &e.key)) {
                    return Err(Error::new(
                        rec.offset,
                        rdbkit_parser::ErrorKind::Invalid {
                            what: "key",
                            reason: format!(
                                "duplicate key in db {} (every loader refuses the file)",
                                e.db
                            )
                            .into(),
                        },
                    )
                    .with_key(&e.key)
                    .into());
                }
            }
            RecordKind::Eof { checksum } => self.checksum = Some(*checksum),
            _ => {}
        }
        Ok(true)
    }
}

impl Verifier {
    /// After a walk of a file rdbkit wrote: the checksum must be there and right.
    fn written_ok(&self) -> anyhow::Result<()> {
        match self.checksum {
            Some(Checksum::Verified(_) | Checksum::Absent) => Ok(()),
            other => anyhow::bail!("unexpected checksum state {other:?}"),
        }
    }

    /// A verifier; `dup_check` also rejects duplicate keys (16 bytes a key).
    pub(crate) fn new(dup_check: bool) -> Verifier {
        Verifier {
            dup_check,
            records: 0,
            keys: 0,
            keys_seen: IdSet::default(),
            ids: IdHasher::default(),
            members: MemberCheck::default(),
            checksum: None,
        }
    }
}

/// Verify a written file completely (structure, every value, checksum), by
/// re-reading it (for outputs not verified while written).
#[allow(dead_code)]
pub(crate) fn verify_path(path: &std::path::Path) -> anyhow::Result<()> {
    let mut v = Verifier::new(false);
    walk(&path.to_string_lossy(), Default::default(), &mut v)?;
    v.written_ok()
}

/// Verify a written file completely from a stream of its bytes.
pub(crate) fn verify_stream(src: impl std::io::Read) -> anyhow::Result<()> {
    let mut v = Verifier::new(false);
    crate::input::walk_reader(src, Default::default(), &mut v)?;
    v.written_ok()
}

/// Run `rdbkit verify`: exit 0 sound, 1 damaged, 2 usage/I/O.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if let Some(t) = &args.target {
        return preflight(args, t, out);
    }
    let mut v = Verifier::new(true);
    match walk(&args.file, Default::default(), &mut v) {
        Ok(end) => {
            let checksum = match v.checksum {
                Some(Checksum::Verified(c)) => format!("checksum OK (0x{c:016x})"),
                Some(Checksum::NotComputed) => {
                    "checksum not computed by the saver (stored 0)".into()
                }
                Some(Checksum::Absent) => "no checksum (RDB < 5)".into(),
                Some(Checksum::Unchecked(c)) => format!("checksum 0x{c:016x} not checked"),
                None => "no checksum".into(),
            };
            writeln!(
                out,
                "OK: {} records, {} keys, {}",
                v.records, v.keys, checksum
            )?;
            if let Some(t) = end.trailing.filter(|&t| t > 0) {
                writeln!(
                    out,
                    "note: {t} bytes after the checksum (ignored by loaders)"
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => match e.downcast_ref::<Error>() {
            Some(pe) => {
                writeln!(out, "DAMAGED: {pe}")?;
                writeln!(out, "(after {} good records, {} keys)", v.records, v.keys)?;
                Ok(ExitCode::from(1))
            }
            None => Err(e),
        },
    }
}
