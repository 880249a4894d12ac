//! `rdbkit verify`: a full structural walk with every value decoded, plus
//! the checksum and cross-record rules a loader enforces (duplicate keys).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_parser::{Checksum, Error, Item, RawValue, Record, RecordKind, Value};

use crate::input::{MapVisitor, Visitor, WalkEnd, walk, walk_map};
use crate::keyhash::{IdHasher, IdSet};
use crate::keylog::KeyLog;
use crate::parallel::{self, Pool};

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

fn duplicate_error(offset: u64, e: &rdbkit_parser::Entry<'_>) -> Error {
    Error::new(
        offset,
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
}

/// How a verifier checks for duplicate keys.
#[derive(Debug)]
pub(crate) enum Dups {
    /// Not at all.
    Off,
    /// A set of all ids, checked as each key arrives (stdin: the input can be
    /// read only once, and the error must still name the key); 16-32 bytes a key.
    Now(IdSet),
    /// Ids logged in bounded memory and checked after the walk; a duplicate
    /// found then is located (offset, key) by a second walk ([`Dups::Find`]).
    AtEnd(KeyLog),
    /// The second walk: report the second key with this id.
    Find { id: u128, seen: bool },
}

pub(crate) struct Verifier {
    dups: Dups,
    records: u64,
    keys: u64,
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
                // A 128-bit keyed id per key: duplicate keys make every loader
                // refuse the file.
                match &mut self.dups {
                    Dups::Off => {}
                    Dups::Now(seen) => {
                        if !seen.insert(self.ids.id(e.db, &e.key)) {
                            return Err(duplicate_error(rec.offset, e).into());
                        }
                    }
                    Dups::AtEnd(log) => log.push(self.ids.id(e.db, &e.key))?,
                    Dups::Find { id, seen } => {
                        if self.ids.id(e.db, &e.key) == *id {
                            if *seen {
                                return Err(duplicate_error(rec.offset, e).into());
                            }
                            *seen = true;
                        }
                    }
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

    /// A verifier; `dup_check` also rejects duplicate keys.
    pub(crate) fn new(dup_check: bool) -> Verifier {
        Verifier::with_dups(if dup_check {
            Dups::Now(IdSet::default())
        } else {
            Dups::Off
        })
    }

    /// A verifier with the given duplicate-key check.
    pub(crate) fn with_dups(dups: Dups) -> Verifier {
        Verifier {
            dups,
            records: 0,
            keys: 0,
            ids: IdHasher::default(),
            members: MemberCheck::default(),
            checksum: None,
        }
    }
}

/// Verify a written file completely (structure, every value, checksum,
/// duplicate keys) by re-reading it, on every core.
pub(crate) fn verify_path(path: &std::path::Path) -> anyhow::Result<()> {
    let file = path.to_string_lossy();
    let v = match verify_parallel(&file)? {
        Some((v, _)) => v,
        None => {
            let (v, result) = verify_sequential(&file)?;
            result?;
            v
        }
    };
    v.written_ok()
}

/// How a verification of a stream ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StreamVerdict {
    /// Everything checked.
    Verified,
    /// A record larger than the cap: the stream was not checked further
    /// (the file is then verified from disk instead, without holding the
    /// record in memory).
    Deferred,
}

/// Verify a written file completely from a stream of its bytes, holding at
/// most `max_record` bytes of one record.
pub(crate) fn verify_stream(
    src: impl std::io::Read,
    max_record: u64,
) -> anyhow::Result<StreamVerdict> {
    let mut v = Verifier::new(false);
    let mut options = rdbkit_parser::ReaderOptions::default();
    options.limits.max_record_len = max_record;
    match crate::input::walk_reader(src, options, &mut v) {
        Ok(_) => {}
        Err(e)
            if e.downcast_ref::<Error>().is_some_and(|pe| {
                matches!(
                    pe.kind(),
                    rdbkit_parser::ErrorKind::LimitExceeded {
                        what: "record size",
                        ..
                    }
                )
            }) =>
        {
            return Ok(StreamVerdict::Deferred);
        }
        Err(e) => return Err(e),
    }
    v.written_ok()?;
    Ok(StreamVerdict::Verified)
}

/// One key for a worker of the parallel verify.
struct Job<'d> {
    db: u64,
    key: std::borrow::Cow<'d, [u8]>,
    value: RawValue<'d>,
}

/// What a worker found in a batch: the keys' ids (for the duplicate check),
/// or that some value failed (the sequential walk then reports it).
struct Checked {
    ids: Vec<u128>,
    failed: bool,
}

/// Keys per batch, and input bytes per batch, whichever comes first.
const BATCH_KEYS: usize = 2048;
const BATCH_BYTES: usize = 1 << 20;

/// The walking side of the parallel verify.
struct ParVerifier<'p, 'w, 'd> {
    pool: &'p mut Pool<'w, Job<'d>, Checked, (IdHasher, MemberCheck)>,
    batch: Vec<Job<'d>>,
    batch_bytes: usize,
    /// First file offset of each submitted batch not yet taken, oldest first.
    starts: std::collections::VecDeque<u64>,
    batch_start: u64,
    log: KeyLog,
    records: u64,
    keys: u64,
    checksum: Option<Checksum>,
    failed: bool,
}

impl ParVerifier<'_, '_, '_> {
    fn submit(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_KEYS));
        self.starts.push_back(self.batch_start);
        self.batch_bytes = 0;
        self.pool.submit(batch);
    }

    fn take(&mut self, c: Checked) -> anyhow::Result<()> {
        self.starts.pop_front();
        self.failed |= c.failed;
        for id in c.ids {
            self.log.push(id)?;
        }
        Ok(())
    }
}

impl<'d> MapVisitor<'d> for ParVerifier<'_, '_, 'd> {
    fn record(&mut self, rec: Record<'d>) -> anyhow::Result<bool> {
        self.records += 1;
        match rec.kind {
            RecordKind::Entry(e) => {
                self.keys += 1;
                if self.batch.is_empty() {
                    self.batch_start = rec.offset;
                }
                self.batch_bytes += rec.raw.len();
                self.batch.push(Job {
                    db: e.db,
                    key: e.key,
                    value: e.value,
                });
                if self.batch.len() >= BATCH_KEYS || self.batch_bytes >= BATCH_BYTES {
                    self.submit();
                    while let Some(c) = self.pool.try_next() {
                        self.take(c)?;
                    }
                }
            }
            RecordKind::Eof { checksum } => self.checksum = Some(checksum),
            _ => {}
        }
        // A failed value: stop here, the sequential walk names it.
        Ok(!self.failed)
    }

    fn in_use_from(&self) -> u64 {
        match (self.starts.front(), self.batch.is_empty()) {
            (Some(&s), _) => s,
            (None, false) => self.batch_start,
            (None, true) => u64::MAX,
        }
    }
}

/// Verify a file with the values checked on every core. `Ok(None)` when
/// something is wrong with it: the caller then walks it again sequentially,
/// which finds and names the first problem exactly as it always has.
fn verify_parallel(path: &str) -> anyhow::Result<Option<(Verifier, WalkEnd)>> {
    let map = crate::input::open(path)?;
    let ids = IdHasher::default();
    let work = |st: &mut (IdHasher, MemberCheck), batch: Vec<Job<'_>>| {
        let mut out = Checked {
            ids: Vec::with_capacity(batch.len()),
            failed: false,
        };
        for j in &batch {
            if check_value_with(&j.value, &mut st.1).is_err() {
                out.failed = true;
                break;
            }
            out.ids.push(st.0.id(j.db, &j.key));
        }
        out
    };
    let run = parallel::with_pool(
        || (ids, MemberCheck::default()),
        &work,
        |pool| -> anyhow::Result<_> {
            let mut pv = ParVerifier {
                pool,
                batch: Vec::with_capacity(BATCH_KEYS),
                batch_bytes: 0,
                starts: Default::default(),
                batch_start: 0,
                log: KeyLog::default(),
                records: 0,
                keys: 0,
                checksum: None,
                failed: false,
            };
            let end = walk_map(&map, Default::default(), &mut pv);
            pv.submit();
            while let Some(c) = pv.pool.next() {
                pv.take(c)?;
            }
            Ok(match end {
                Ok(end) if !pv.failed => Some((pv.log, pv.records, pv.keys, pv.checksum, end)),
                _ => None,
            })
        },
    )?;
    let Some((mut log, records, keys, checksum, end)) = run else {
        return Ok(None);
    };
    if log.find_duplicate()?.is_some() {
        return Ok(None);
    }
    let mut v = Verifier::with_dups(Dups::Off);
    v.records = records;
    v.keys = keys;
    v.checksum = checksum;
    Ok(Some((v, end)))
}

/// Run `rdbkit verify`: exit 0 sound, 1 damaged, 2 usage/I/O.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if let Some(t) = &args.target {
        return preflight(args, t, out);
    }
    // A file is checked on every core; anything wrong with it is then found
    // and named by the sequential walk below.
    let checked = if args.file != "-" {
        verify_parallel(&args.file)?
    } else {
        None
    };
    let (v, result) = match checked {
        Some((v, end)) => (v, Ok(end)),
        None => verify_sequential(&args.file)?,
    };
    report(out, &v, result)
}

/// The one-thread verify (stdin, and files with a problem to name).
fn verify_sequential(file: &str) -> anyhow::Result<(Verifier, anyhow::Result<WalkEnd>)> {
    // Files: duplicate keys are found after the walk in bounded memory (and
    // located by a second walk only if there is one); stdin: as they come.
    let mut v = Verifier::with_dups(if file == "-" {
        Dups::Now(IdSet::default())
    } else {
        Dups::AtEnd(KeyLog::default())
    });
    let mut result = walk(file, Default::default(), &mut v);
    if result.is_ok()
        && let Dups::AtEnd(log) = &mut v.dups
        && let Some(id) = log.find_duplicate()?
    {
        // Walk again to name the key and its offset; the same hasher keys.
        let mut again = Verifier::with_dups(Dups::Find { id, seen: false });
        again.ids = v.ids;
        result = walk(file, Default::default(), &mut again);
        v.records = again.records;
        v.keys = again.keys;
        if result.is_ok() {
            anyhow::bail!("internal error: a duplicate key id was logged but not found again");
        }
    }
    Ok((v, result))
}

fn report(
    out: &mut dyn Write,
    v: &Verifier,
    result: anyhow::Result<WalkEnd>,
) -> anyhow::Result<ExitCode> {
    match result {
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
