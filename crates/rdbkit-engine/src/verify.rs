//! Verification as a loader checks a file: a full structural walk with
//! every value decoded ([`crate::check`]), the checksum, and the rules
//! across records (duplicate keys).
//!
//! A file is checked on every core (cut into runs at guessed record
//! boundaries, or batched to workers); anything wrong with it is then found
//! and named by a sequential walk, so the verdict and its message are those
//! of one thread reading from the start. Stdin is walked once, as a stream.
//!
//! ```
//! use rdbkit_engine::verify::verify_slice;
//!
//! let file = b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00";
//! let verdict = verify_slice(file)?;
//! assert!(verdict.is_sound());
//! assert_eq!(verdict.keys, 1);
//!
//! // The same key twice: loaders refuse the file.
//! let twice = b"REDIS0009\xfe\x00\x00\x01k\x01v\x00\x01k\x01w\xff\x00\x00\x00\x00\x00\x00\x00\x00";
//! let verdict = verify_slice(twice)?;
//! assert!(verdict.damage.unwrap().to_string().contains("duplicate key"));
//! # Ok::<(), rdbkit_engine::Error>(())
//! ```

use rdbkit_parser::{Checksum, Error, RawValue, Record, RecordKind};

use crate::check::{MemberCheck, check_value, check_value_with, invalid};
use crate::keyhash::{HashSet64, IdHasher, IdSet};
use crate::keylog::KeyLog;
use crate::parallel::{self, Batcher, Pool};
use crate::source::{MapVisitor, Visitor, WalkEnd, walk, walk_map};

fn duplicate_error(offset: u64, e: &rdbkit_parser::Entry<'_>) -> Error {
    invalid(
        offset,
        "key",
        format!(
            "duplicate key in db {} (every loader refuses the file)",
            e.db
        ),
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
    /// 64-bit ids logged in bounded memory and checked after the walk; a
    /// repeated id found then is looked for again by a second walk
    /// ([`Dups::Find`]), which confirms it (and names the key) or finds that
    /// two different keys share it.
    AtEnd(KeyLog),
    /// The second walk: the keys with this id so far; the first key seen
    /// again is the duplicate.
    Find { id: u64, keys: Vec<(u64, Vec<u8>)> },
}

/// The sequential verifier: a [`Visitor`] that checks every value and
/// the duplicate keys.
pub(crate) struct Verifier {
    dups: Dups,
    records: u64,
    keys: u64,
    ids: IdHasher,
    members: MemberCheck,
    checksum: Option<Checksum>,
}

impl Visitor for Verifier {
    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        self.records += 1;
        match &rec.kind {
            RecordKind::Entry(e) => {
                check_value_with(&e.value, &mut self.members)
                    .map_err(|err| err.with_key(&e.key))?;
                self.keys += 1;
                // A keyed id per key (128 bits from stdin, where nothing can be
                // walked again; 64, confirmed by a second walk, from a file):
                // duplicate keys make every loader refuse the file.
                match &mut self.dups {
                    Dups::Off => {}
                    Dups::Now(seen) => {
                        if !seen.insert(self.ids.id(e.db, &e.key)) {
                            return Err(duplicate_error(rec.offset, e).into());
                        }
                    }
                    Dups::AtEnd(log) => log.push(self.ids.id64(e.db, &e.key))?,
                    Dups::Find { id, keys } => {
                        if self.ids.id64(e.db, &e.key) == *id {
                            if keys.iter().any(|(db, k)| *db == e.db && k[..] == e.key[..]) {
                                return Err(duplicate_error(rec.offset, e).into());
                            }
                            keys.push((e.db, e.key.to_vec()));
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
    fn written_ok(&self) -> crate::Result<()> {
        match self.checksum {
            Some(Checksum::Verified(_) | Checksum::Absent) => Ok(()),
            other => crate::error::bail!("unexpected checksum state {other:?}"),
        }
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
pub fn verify_path(path: &std::path::Path) -> crate::Result<()> {
    let file = path.to_string_lossy();
    let v = match verify_parallel(&crate::source::open(&file)?)? {
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
pub enum StreamVerdict {
    /// Everything checked.
    Verified,
    /// A record larger than the cap: the stream was not checked further
    /// (the file is then verified from disk instead, without holding the
    /// record in memory).
    Deferred,
}

/// Whether an error is a streaming reader's refusal of a record bigger than
/// its cap.
fn is_record_cap(e: &crate::Error) -> bool {
    matches!(e, crate::Error::Damaged(pe) if matches!(
        pe.kind(),
        rdbkit_parser::ErrorKind::LimitExceeded {
            what: "record size",
            ..
        }
    ))
}

/// Verify a written file completely from a stream of its bytes, holding at
/// most `max_record` bytes of one record.
///
/// It runs beside the thread that writes the file. With more than two cores
/// the values are decoded by `cores - 2` more threads ([`verify_stream_on`]);
/// with two, the writer and this verifier already keep both busy, and one
/// more thread only takes time from the writer (measured: filter 1.85 s ->
/// 2.2 s on the 1 GiB benchmark file), so it decodes them itself.
pub fn verify_stream(src: impl std::io::Read, max_record: u64) -> crate::Result<StreamVerdict> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores > 2 {
        return verify_stream_on(cores - 2, src, max_record);
    }
    let mut v = Verifier::with_dups(Dups::Off);
    let mut options = rdbkit_parser::ReaderOptions::default();
    options.limits.max_record_len = max_record;
    match crate::source::walk_reader(src, options, &mut v) {
        Ok(_) => {}
        Err(e) if is_record_cap(&e) => return Ok(StreamVerdict::Deferred),
        Err(e) => return Err(e),
    }
    v.written_ok()?;
    Ok(StreamVerdict::Verified)
}

/// [`verify_stream`] with the values decoded on `workers` more threads (and
/// this one), from copies of runs of whole records read by
/// [`RdbReader::records`](rdbkit_parser::RdbReader::records) with the file's
/// offsets.
pub fn verify_stream_on(
    workers: usize,
    src: impl std::io::Read,
    max_record: u64,
) -> crate::Result<StreamVerdict> {
    let work = |m: &mut MemberCheck, runs: Vec<Run>| -> Option<Error> {
        runs.iter().find_map(|run| check_run(m, run))
    };
    fn check_run(m: &mut MemberCheck, run: &Run) -> Option<Error> {
        let mut r = rdbkit_parser::RdbReader::records(
            &run.bytes,
            run.version,
            run.start,
            run.db,
            Default::default(),
        );
        loop {
            match r.next_record() {
                Ok(Some(rec)) => {
                    if let RecordKind::Entry(e) = &rec.kind
                        && let Err(err) = check_value_with(&e.value, m)
                    {
                        return Some(err.with_key(&e.key));
                    }
                }
                Ok(None) => return None,
                Err(e) => return Some(e),
            }
        }
    }
    let (verdict, _) = parallel::with_workers(workers, MemberCheck::default, &work, |pool| {
        let mut v = RunVerifier {
            pool,
            version: rdbkit_parser::RdbVersion(0),
            run: Vec::new(),
            run_start: 0,
            run_db: 0,
            db: 0,
            checksum: None,
            failed: None,
        };
        let mut options = rdbkit_parser::ReaderOptions::default();
        options.limits.max_record_len = max_record;
        let walked = crate::source::walk_reader(src, options, &mut v);
        v.submit();
        while let Some(r) = v.pool.next() {
            v.take(r);
        }
        // The first problem in the file: a value (found by a worker) before
        // whatever stopped the walk.
        if let Some(e) = v.failed {
            return Err(e.into());
        }
        match walked {
            Ok(_) => {}
            Err(e) if is_record_cap(&e) => return Ok(StreamVerdict::Deferred),
            Err(e) => return Err(e),
        }
        match v.checksum {
            Some(Checksum::Verified(_) | Checksum::Absent) => Ok(StreamVerdict::Verified),
            other => crate::error::bail!("unexpected checksum state {other:?}"),
        }
    });
    verdict
}

/// A copy of a run of whole records for a worker of [`verify_stream`].
struct Run {
    bytes: Vec<u8>,
    version: rdbkit_parser::RdbVersion,
    /// File offset of `bytes[0]`.
    start: u64,
    /// The database selected before it.
    db: u64,
}

/// The walking side of [`verify_stream`]: copies the records into runs of
/// about [`BATCH_BYTES`] for the workers.
struct RunVerifier<'p, 'w> {
    pool: &'p mut Pool<'w, Run, Option<Error>, MemberCheck>,
    version: rdbkit_parser::RdbVersion,
    run: Vec<u8>,
    run_start: u64,
    run_db: u64,
    db: u64,
    checksum: Option<Checksum>,
    /// The first value error, in file order.
    failed: Option<Error>,
}

impl RunVerifier<'_, '_> {
    fn submit(&mut self) {
        if self.run.is_empty() {
            return;
        }
        let bytes = std::mem::replace(&mut self.run, Vec::with_capacity(BATCH_BYTES + (64 << 10)));
        self.pool.submit(vec![Run {
            bytes,
            version: self.version,
            start: self.run_start,
            db: self.run_db,
        }]);
    }

    fn take(&mut self, r: Option<Error>) {
        if self.failed.is_none() {
            self.failed = r;
        }
    }
}

impl Visitor for RunVerifier<'_, '_> {
    fn header(&mut self, version: rdbkit_parser::RdbVersion) -> crate::Result<()> {
        self.version = version;
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match rec.kind {
            RecordKind::Eof { checksum } => {
                self.checksum = Some(checksum);
                return Ok(true);
            }
            RecordKind::SelectDb { db } => self.db = db,
            _ => {}
        }
        if self.run.is_empty() {
            self.run_start = rec.offset;
            // A SELECTDB at the start of a run is read by the run itself.
            self.run_db = self.db;
        }
        self.run.extend_from_slice(rec.raw);
        if self.run.len() >= BATCH_BYTES {
            self.submit();
            while let Some(r) = self.pool.try_next() {
                self.take(r);
            }
        }
        Ok(self.failed.is_none())
    }
}

/// One key for a worker of the parallel verify.
struct Job<'d> {
    db: u64,
    key: std::borrow::Cow<'d, [u8]>,
    value: RawValue<'d>,
}

/// A thread's state in the parallel verify. Each thread logs the ids of the
/// keys it checked in a log of its own (the order of ids does not matter to
/// the duplicate check), so the walking thread, which is the one that limits
/// the pace, neither receives nor logs them; the logs are merged at the end.
struct Checker {
    ids: IdHasher,
    members: MemberCheck,
    log: KeyLog,
    /// A failed write of the log (the walk goes on; this is reported after).
    io: Option<std::io::Error>,
}

/// Keys per batch, and input bytes per batch, whichever comes first.
const BATCH_KEYS: usize = 2048;
const BATCH_BYTES: usize = 1 << 20;

/// The walking side of the parallel verify.
struct ParVerifier<'p, 'w, 'd> {
    /// A batch's result: whether some value in it failed (the sequential
    /// walk then reports it).
    pool: &'p mut Pool<'w, Job<'d>, bool, Checker>,
    batches: Batcher<Job<'d>>,
    records: u64,
    keys: u64,
    checksum: Option<Checksum>,
    failed: bool,
}

impl ParVerifier<'_, '_, '_> {
    fn take(&mut self, failed: bool) {
        self.batches.taken();
        self.failed |= failed;
    }
}

impl<'d> MapVisitor<'d> for ParVerifier<'_, '_, 'd> {
    #[inline(always)]
    fn record(&mut self, rec: Record<'d>) -> crate::Result<bool> {
        self.records += 1;
        match rec.kind {
            RecordKind::Entry(e) => {
                self.keys += 1;
                let job = Job {
                    db: e.db,
                    key: e.key,
                    value: e.value,
                };
                if let Some(batch) = self.batches.push(rec.offset, rec.raw.len(), job) {
                    self.pool.submit(batch);
                    while let Some(failed) = self.pool.try_next() {
                        self.take(failed);
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
        self.batches.in_use_from()
    }
}

/// Verify a file with the values checked on every core. `Ok(None)` when
/// something is wrong with it: the caller then walks it again sequentially,
/// which finds and names the first problem exactly as it always has.
fn verify_parallel(map: &rdbkit_parser::mmap::Mmap) -> crate::Result<Option<(Verifier, WalkEnd)>> {
    let ids = IdHasher::default();
    let threads = parallel::workers() + 1;
    let work = |st: &mut Checker, batch: Vec<Job<'_>>| -> bool {
        for j in &batch {
            if check_value_with(&j.value, &mut st.members).is_err() {
                return true;
            }
            if st.io.is_none()
                && let Err(e) = st.log.push(st.ids.id64(j.db, &j.key))
            {
                st.io = Some(e);
            }
        }
        false
    };
    let state = || Checker {
        ids,
        members: MemberCheck::default(),
        // The logs together keep what one log would.
        log: KeyLog::with_budget(crate::keylog::MEMORY_BUDGET / threads),
        io: None,
    };
    let (run, states) = parallel::with_pool(state, &work, |pool| {
        let mut pv = ParVerifier {
            pool,
            batches: Batcher::new(BATCH_KEYS, BATCH_BYTES),
            records: 0,
            keys: 0,
            checksum: None,
            failed: false,
        };
        let end = walk_map(map, Default::default(), &mut pv);
        if let Some(batch) = pv.batches.flush() {
            pv.pool.submit(batch);
        }
        while let Some(failed) = pv.pool.next() {
            pv.take(failed);
        }
        match end {
            Ok(end) if !pv.failed => Some((pv.records, pv.keys, pv.checksum, end)),
            _ => None,
        }
    });
    let Some((records, keys, checksum, end)) = run else {
        return Ok(None);
    };
    let mut states = states.into_iter();
    let Some(mut first) = states.next() else {
        crate::error::bail!("internal error: no verifier state came back");
    };
    let mut log = first.log;
    for st in states {
        if let Some(e) = st.io {
            first.io.get_or_insert(e);
        }
        log.absorb(st.log)?;
    }
    if let Some(e) = first.io {
        return Err(crate::Error::from(e).context("cannot log the keys for the duplicate check"));
    }
    // A repeated id (a duplicate key, or two keys sharing an id): the
    // sequential walk looks into it.
    if log.find_duplicate(&HashSet64::default())?.is_some() {
        return Ok(None);
    }
    let mut v = Verifier::with_dups(Dups::Off);
    v.records = records;
    v.keys = keys;
    v.checksum = checksum;
    Ok(Some((v, end)))
}

/// What a split walk ([`verify_split`]) found.
enum Split {
    /// The file is sound.
    Sound(Box<Verifier>, WalkEnd),
    /// It was not cut into runs: walk it as before.
    Whole,
    /// Something is wrong with it: the sequential walk finds and names it.
    Suspect,
}

/// What the walk of one run found.
struct RunCheck {
    records: u64,
    keys: u64,
    /// Ids of the keys before the run's first SELECTDB, taken as db 0 (the
    /// run does not know which database is selected where it starts).
    before_select: KeyLog,
    /// Ids of the keys after it.
    after_select: KeyLog,
    /// The database the run's last SELECTDB chose.
    selected: Option<u64>,
    checksum: Option<Checksum>,
    /// A value failed.
    failed: bool,
    /// The key log could not be written.
    io: Option<std::io::Error>,
}

/// A file cut into runs: its map, version, and where each run's bytes
/// start.
struct Runs<'m> {
    map: &'m rdbkit_parser::mmap::Mmap,
    version: rdbkit_parser::RdbVersion,
    starts: &'m [usize],
}

/// Walk and check run `i` of a split file: its records from `from`, its
/// bytes from its start.
fn check_run(
    runs: &Runs<'_>,
    i: usize,
    from: usize,
    ids: IdHasher,
    members: &mut MemberCheck,
    progress: &crate::source::SharedProgress,
) -> (RunCheck, crate::segments::RunEnd) {
    let Runs {
        map,
        version,
        starts,
    } = *runs;
    let budget = crate::keylog::MEMORY_BUDGET / starts.len();
    let mut c = RunCheck {
        records: 0,
        keys: 0,
        before_select: KeyLog::with_budget(budget),
        after_select: KeyLog::with_budget(budget),
        selected: None,
        checksum: None,
        failed: false,
        io: None,
    };
    let crc_from = starts.get(i).copied().unwrap_or(0);
    let end = starts.get(i + 1).copied();
    let walked = crate::segments::walk_run(map, version, crc_from, from, end, progress, |rec| {
        c.records += 1;
        match rec.kind {
            RecordKind::Entry(e) => {
                c.keys += 1;
                if check_value_with(&e.value, members).is_err() {
                    c.failed = true;
                    return false;
                }
                let pushed = match c.selected {
                    None => c.before_select.push(ids.id64(0, &e.key)),
                    Some(db) => c.after_select.push(ids.id64(db, &e.key)),
                };
                if let Err(err) = pushed {
                    c.io = Some(err);
                    return false;
                }
            }
            RecordKind::SelectDb { db } => c.selected = Some(db),
            RecordKind::Eof { checksum } => c.checksum = Some(checksum),
            _ => {}
        }
        true
    });
    (c, walked)
}

/// Verify a file on every core, each thread walking runs of it that start
/// at guessed record boundaries ([`crate::segments`]), with every value
/// checked where it is read. The runs are then taken in file order, and one
/// whose start the run before it does not confirm is walked again from
/// where that run's records ended.
fn verify_split(map: &rdbkit_parser::mmap::Mmap) -> crate::Result<Split> {
    let threads = parallel::workers() + 1;
    let Ok(version) = rdbkit_parser::parse_header(map) else {
        return Ok(Split::Suspect);
    };
    // A probe's records must be sound to the last element: the bytes of a
    // value often parse as records that are not.
    let plausible = |rec: &Record<'_>| match &rec.kind {
        RecordKind::Entry(e) => check_value(&e.value).is_ok(),
        _ => true,
    };
    let starts = crate::segments::split(map, version, threads, &plausible);
    if starts.len() < 2 {
        return Ok(Split::Whole);
    }
    check_split(map, version, &starts, threads)
}

/// [`verify_split`] of a file cut into runs at `starts` (guesses: any
/// offsets after 0, in order), on `threads` threads.
fn check_split(
    map: &rdbkit_parser::mmap::Mmap,
    version: rdbkit_parser::RdbVersion,
    starts: &[usize],
    threads: usize,
) -> crate::Result<Split> {
    let cut = Runs {
        map,
        version,
        starts,
    };
    let ids = IdHasher::default();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let progress = crate::source::SharedProgress::new(map.len() as u64);
    let (runs, mut states) = crate::segments::for_each_run(
        starts.len(),
        threads,
        MemberCheck::<IdHasher>::default,
        &stop,
        |members, i| {
            let from = starts.get(i).copied().unwrap_or(0);
            let run = check_run(&cut, i, from, ids, members, &progress);
            // The first run starts at the header: what it finds wrong is
            // the file's, and the other runs need not go on. A later run may
            // have started at a wrong guess.
            if i == 0 && (run.1.stopped || run.1.error) {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            run
        },
    );
    let mut members = states.pop().unwrap_or_default();
    let verdict = join_runs(&cut, runs, ids, &mut members, &progress);
    progress.done();
    verdict
}

/// The runs of [`check_split`] taken in file order (see there).
fn join_runs(
    cut: &Runs<'_>,
    runs: Vec<Option<(RunCheck, crate::segments::RunEnd)>>,
    ids: IdHasher,
    members: &mut MemberCheck,
    progress: &crate::source::SharedProgress,
) -> crate::Result<Split> {
    // Every run's logs, checked together at the end.
    let mut logs = Vec::with_capacity(2 * runs.len());
    let (mut records, mut keys, mut checksum, mut db) = (0, 0, None, 0);
    let mut crcs = Vec::with_capacity(runs.len());
    // Where the file's own records enter the next run.
    let mut expect = 0;
    let mut eof = None;
    for (i, run) in runs.into_iter().enumerate() {
        let (mut c, end) = match run {
            Some(run) if run.1.from == expect => run,
            // Not walked, or from a wrong guess: walk it from where the
            // file's records enter it.
            _ => check_run(cut, i, expect, ids, members, progress),
        };
        if let Some(e) = c.io {
            return Err(
                crate::Error::from(e).context("cannot log the keys for the duplicate check")
            );
        }
        if c.failed || end.stopped || end.error {
            return Ok(Split::Suspect);
        }
        // The keys before the run's first SELECTDB belong to the database
        // the runs before it left selected.
        c.before_select.xor_all(ids.db_mask(db));
        db = c.selected.unwrap_or(db);
        logs.push(c.before_select);
        logs.push(c.after_select);
        records += c.records;
        keys += c.keys;
        checksum = c.checksum.or(checksum);
        crcs.push(end.crc);
        if end.eof.is_some() {
            // Later runs, if any, are bytes after the end record.
            eof = end.eof;
            break;
        }
        match end.landed {
            Some(at) => expect = at,
            None => return Ok(Split::Suspect),
        }
    }
    let Some((bytes, trailing)) = eof else {
        return Ok(Split::Suspect);
    };
    let checksum = match checksum {
        Some(Checksum::Unchecked(stored)) => {
            if crate::segments::join_crcs(crcs) != stored {
                return Ok(Split::Suspect);
            }
            Checksum::Verified(stored)
        }
        Some(c) => c,
        None => return Ok(Split::Suspect),
    };
    // A repeated id (a duplicate key, or two keys sharing an id): the
    // sequential walk looks into it.
    let logs: Vec<&KeyLog> = logs.iter().collect();
    if crate::keylog::find_duplicate_among(&logs, &HashSet64::default())?.is_some() {
        return Ok(Split::Suspect);
    }
    let mut v = Verifier::with_dups(Dups::Off);
    v.records = records;
    v.keys = keys;
    v.checksum = Some(checksum);
    Ok(Split::Sound(
        Box::new(v),
        WalkEnd {
            bytes,
            trailing: Some(trailing),
        },
    ))
}

/// What a verification found.
#[derive(Debug)]
pub struct Verdict {
    /// Records read (up to the problem, when there is one).
    pub records: u64,
    /// Keys read (up to the problem, when there is one).
    pub keys: u64,
    /// The checksum's state at the end record (`None` when it was not reached).
    pub checksum: Option<Checksum>,
    /// Bytes after the checksum (files only; loaders ignore them).
    pub trailing: Option<u64>,
    /// The first problem, as the file's loader would meet it: byte offset,
    /// key when known, what was expected. `None`: the file is sound.
    pub damage: Option<Error>,
}

impl Verdict {
    /// Whether the file is sound (every loader of its version takes it).
    pub fn is_sound(&self) -> bool {
        self.damage.is_none()
    }

    /// The verdict as one JSON document (`verify --json`): `sound`,
    /// `records` (the end record included), `keys`, `checksum` (`verified`,
    /// `not_computed`, `absent`, `not_checked` or `null`), `checksum_value`
    /// (hex, or `null`), `trailing_bytes`, `damage` (`null`, or `{"offset",
    /// "key", "message"}`).
    pub fn to_json(&self) -> Vec<u8> {
        use crate::json;
        let mut o = Vec::new();
        json::raw(
            &mut o,
            if self.is_sound() {
                "{\"sound\":true"
            } else {
                "{\"sound\":false"
            },
        );
        json::raw(
            &mut o,
            &format!(
                ",\"records\":{},\"keys\":{},\"checksum\":",
                self.records, self.keys
            ),
        );
        let (state, value) = match self.checksum {
            Some(Checksum::Verified(c)) => ("\"verified\"", Some(c)),
            Some(Checksum::Unchecked(c)) => ("\"not_checked\"", Some(c)),
            Some(Checksum::NotComputed) => ("\"not_computed\"", None),
            Some(Checksum::Absent) => ("\"absent\"", None),
            None => ("null", None),
        };
        json::raw(&mut o, state);
        json::raw(&mut o, ",\"checksum_value\":");
        match value {
            Some(c) => json::str(&mut o, &format!("0x{c:016x}")),
            None => json::raw(&mut o, "null"),
        }
        json::raw(
            &mut o,
            &format!(",\"trailing_bytes\":{}", self.trailing.unwrap_or(0)),
        );
        json::raw(&mut o, ",\"damage\":");
        match &self.damage {
            None => json::raw(&mut o, "null"),
            Some(d) => {
                json::raw(&mut o, &format!("{{\"offset\":{},\"key\":", d.offset()));
                match d.key() {
                    Some(k) => json::bytes(&mut o, k),
                    None => json::raw(&mut o, "null"),
                }
                json::raw(&mut o, ",\"message\":");
                json::str(&mut o, &d.to_string());
                o.push(b'}');
            }
        }
        json::raw(&mut o, "}\n");
        o
    }

    fn of(v: &Verifier, walked: crate::Result<WalkEnd>) -> crate::Result<Verdict> {
        let (trailing, damage) = match walked {
            Ok(end) => (end.trailing, None),
            Err(crate::Error::Damaged(e)) => (None, Some(e)),
            Err(e) => return Err(e),
        };
        Ok(Verdict {
            records: v.records,
            keys: v.keys,
            checksum: if damage.is_none() { v.checksum } else { None },
            trailing,
            damage,
        })
    }
}

/// Verify the file at `path` (`-` for stdin) as its loader would: every
/// value decoded and checked, the checksum, duplicate keys. A file is
/// checked on every core; a problem is then named by a sequential walk.
/// `Err` is for what is not the file's fault (it cannot be opened, a read
/// fails); a damaged file is an `Ok` verdict with its [`Verdict::damage`].
pub fn verify_file(path: &str) -> crate::Result<Verdict> {
    if let Some(map) = crate::source::open_plain(path)? {
        let checked = match verify_split(&map)? {
            Split::Sound(v, end) => Some((*v, end)),
            Split::Whole => verify_parallel(&map)?,
            Split::Suspect => None,
        };
        if let Some((v, end)) = checked {
            return Verdict::of(&v, Ok(end));
        }
    }
    let (v, result) = verify_sequential(path)?;
    Verdict::of(&v, result)
}

/// Verify a whole file held in memory, on one thread.
pub fn verify_slice(data: &[u8]) -> crate::Result<Verdict> {
    verify_reader(data)
}

/// Verify a file read from a stream (memory bounded by its largest
/// record), on one thread; duplicate keys are found as they come.
pub fn verify_reader(src: impl std::io::Read) -> crate::Result<Verdict> {
    let mut v = Verifier::with_dups(Dups::Now(IdSet::default()));
    let walked = crate::source::walk_reader(src, Default::default(), &mut v);
    Verdict::of(&v, walked)
}

/// The one-thread verify (stdin, and files with a problem to name).
fn verify_sequential(file: &str) -> crate::Result<(Verifier, crate::Result<WalkEnd>)> {
    verify_sequential_with(file, IdHasher::default())
}

/// [`verify_sequential`] with the given key hasher.
fn verify_sequential_with(
    file: &str,
    ids: IdHasher,
) -> crate::Result<(Verifier, crate::Result<WalkEnd>)> {
    // Files: duplicate keys are found after the walk in bounded memory (and
    // located by a second walk only if there is one); stdin: as they come.
    let mut v = Verifier::with_dups(if file == "-" {
        Dups::Now(IdSet::default())
    } else {
        Dups::AtEnd(KeyLog::default())
    });
    v.ids = ids;
    let mut result = walk(file, Default::default(), &mut v);
    // Ids found to be shared by different keys.
    let mut shared = HashSet64::default();
    while result.is_ok()
        && let Dups::AtEnd(log) = &mut v.dups
        && let Some(id) = log.find_duplicate(&shared)?
    {
        // Walk again to confirm it and name the key and its offset; the
        // same hasher keys.
        let mut again = Verifier::with_dups(Dups::Find {
            id,
            keys: Vec::new(),
        });
        again.ids = v.ids;
        result = walk(file, Default::default(), &mut again);
        if result.is_err() {
            v.records = again.records;
            v.keys = again.keys;
        }
        // Otherwise different keys shared the id: look for another.
        shared.insert(id);
    }
    Ok((v, result))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdbkit_parser::RdbReader;

    /// 20 000 hashes over two databases, with `bad` (a record) after key 15 000.
    fn file(bad: Option<&[u8]>) -> Vec<u8> {
        rdbkit_testkit::hash_keys_file(20_000, 15_000, bad, Some(10_000))
    }

    #[test]
    fn keys_that_share_an_id_are_not_duplicates() {
        let dir = std::env::temp_dir().join(format!("rdbkit-shared-ids-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // With 4-bit ids, 20 000 keys share 16 ids: each repeated id is
        // walked for again and found to be different keys, until none is
        // left; a real duplicate among them is still found and named (k12000
        // is in database 5, as is the copy).
        let clean = dir.join("clean.rdb");
        std::fs::write(&clean, file(None)).unwrap();
        let dup = dir.join("dup.rdb");
        std::fs::write(&dup, file(Some(b"\x04\x06k12000\x01\x01f\x011"))).unwrap();
        for bits in [4, 64] {
            let ids = if bits == 64 {
                IdHasher::default()
            } else {
                IdHasher::weak(bits)
            };
            let (v, r) = verify_sequential_with(clean.to_str().unwrap(), ids).unwrap();
            assert!(r.is_ok(), "{bits}: {:?}", r.err());
            assert_eq!(v.keys, 20_000);
            let (v, r) = verify_sequential_with(dup.to_str().unwrap(), ids).unwrap();
            let err = format!("{:#}", r.unwrap_err());
            assert!(
                err.contains("duplicate key") && err.contains("k12000"),
                "{bits}: {err}"
            );
            assert_eq!(v.keys, 15_000 + 1, "{bits}: counted up to the duplicate");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The record starts of `data`.
    fn record_starts(data: &[u8]) -> Vec<usize> {
        let mut r = RdbReader::new(data).unwrap();
        let mut at = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            at.push(rec.offset as usize);
        }
        at
    }

    /// What the split verify says of `data` cut at `starts`, on one thread
    /// and on two (the same either way): "sound <records> <keys>
    /// <checksum> <trailing>", "suspect" or "not split".
    fn split_says(dir: &std::path::Path, data: &[u8], starts: &[usize]) -> String {
        let path = dir.join("split.rdb");
        std::fs::write(&path, data).unwrap();
        let map = crate::source::open(path.to_str().unwrap()).unwrap();
        let version = rdbkit_parser::parse_header(&map).unwrap();
        let says = |threads| match check_split(&map, version, starts, threads).unwrap() {
            Split::Sound(v, end) => format!(
                "sound {} {} {:?} {:?}",
                v.records, v.keys, v.checksum, end.trailing
            ),
            Split::Suspect => "suspect".to_string(),
            Split::Whole => "whole".to_string(),
        };
        let one = says(1);
        assert_eq!(one, says(2), "{starts:?}");
        one
    }

    #[test]
    fn split_verify_takes_any_guesses_and_says_what_one_walk_says() {
        let dir = std::env::temp_dir().join(format!("rdbkit-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let clean = file(None);
        let at = record_starts(&clean);
        let n = clean.len();
        let sound = split_says(&dir, &clean, &[0]);
        assert!(
            sound.starts_with("sound 20003 20000 Some(Verified("),
            "{sound}"
        );
        // Runs that start at record boundaries (one after the switch to
        // db 5), and runs that start anywhere: inside keys, values, lengths
        // (a run from a wrong guess is walked again from where the run
        // before it ended), on the header, past the end record.
        let b = |f: usize| at[at.len() * f / 8];
        for starts in [
            vec![0, b(2), b(4), b(6)],
            vec![0, b(1), b(5)],
            vec![0, b(2) + 1, b(4) + 3, b(6) + 7],
            vec![0, 5, 9, 10, b(3)],
            vec![0, n / 3, n / 2 + 11, n - 9],
            vec![0, n - 1],
            (0..40).map(|i| i * (n / 40) + i % 7).collect(),
        ] {
            assert_eq!(split_says(&dir, &clean, &starts), sound, "{starts:?}");
        }
        for first in b(4) - 30..b(4) + 30 {
            assert_eq!(
                split_says(&dir, &clean, &[0, first, b(7)]),
                sound,
                "{first}"
            );
        }

        // The keys of a run that starts after SELECTDB 5 are db 5's: a key
        // of db 0's name there is no duplicate, one of db 5's is.
        let starts = [0, b(6), b(7)];
        let other_db = file(Some(b"\x04\x04k100\x01\x01f\x011"));
        assert!(split_says(&dir, &other_db, &starts).starts_with("sound 20004 20001"));
        let same_db = file(Some(b"\x04\x06k12000\x01\x01f\x011"));
        assert_eq!(split_says(&dir, &same_db, &starts), "suspect");
        // And with no switch, the db 0 name is a duplicate too.
        let one_db = rdbkit_testkit::hash_keys_file(
            20_000,
            15_000,
            Some(b"\x04\x04k100\x01\x01f\x011"),
            None,
        );
        assert_eq!(split_says(&dir, &one_db, &[0, b(6), b(7)]), "suspect");

        // A damaged value, a wrong checksum, no checksum.
        let damaged = file(Some(b"\x02\x01e\x00"));
        assert_eq!(split_says(&dir, &damaged, &starts), "suspect");
        let mut wrong = clean.clone();
        wrong[n - 1] ^= 1;
        assert_eq!(split_says(&dir, &wrong, &starts), "suspect");
        let mut none = clean.clone();
        none[n - 8..].fill(0);
        assert_eq!(
            split_says(&dir, &none, &starts),
            "sound 20003 20000 Some(NotComputed) Some(0)"
        );
        // Bytes after the end record, with runs that start in them.
        let mut tail = clean.clone();
        tail.extend(std::iter::repeat_n(b'\x01', 100_000));
        let said = split_says(&dir, &tail, &[0, b(4), n + 10, n + 50_000]);
        assert_eq!(said, sound.replace("Some(0)", "Some(100000)"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stream_verify_on_workers_says_what_one_thread_says() {
        let cases: [Option<&[u8]>; 4] = [
            None,
            Some(b"\x04\x02hh\x02\x01f\x011\x01f\x012"),
            Some(b"\x02\x01e\x00"),
            Some(b"\x0b\x02is\x0c\x03\0\0\0\x01\0\0\0\x05\0\0\0"),
        ];
        for bad in cases {
            let data = file(bad);
            let one = {
                let mut v = Verifier::with_dups(Dups::Off);
                crate::source::walk_reader(std::io::Cursor::new(&data), Default::default(), &mut v)
                    .and_then(|_| v.written_ok())
                    .map_err(|e| format!("{e:#}"))
            };
            for workers in [0, 1, 3] {
                let many = verify_stream_on(workers, std::io::Cursor::new(&data), 1 << 30)
                    .map_err(|e| format!("{e:#}"));
                match (&one, &many) {
                    (Ok(()), Ok(StreamVerdict::Verified)) => {}
                    (Err(a), Err(b)) => assert_eq!(a, b, "{workers} workers"),
                    other => panic!("{workers} workers: {other:?}"),
                }
            }
            assert_eq!(one.is_ok(), bad.is_none());
        }
        // A damaged checksum; a record over the cap.
        let mut data = file(None);
        let n = data.len();
        data[n - 1] ^= 1;
        assert!(verify_stream_on(1, std::io::Cursor::new(&data), 1 << 30).is_err());
        // (The streaming reader grows its buffer in big steps: the record
        // must be bigger than a step to be refused.)
        let big = vec![b'x'; 4 << 20];
        let data = file(Some(
            &[&b"\x00\x03big\x80\x00\x40\x00\x00"[..], &big].concat(),
        ));
        assert_eq!(
            verify_stream_on(1, std::io::Cursor::new(&data), 4096).unwrap(),
            StreamVerdict::Deferred
        );
    }
}
