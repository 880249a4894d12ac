//! Walking one memory-mapped file on every core at once, by cutting it into
//! runs of records found by search.
//!
//! An RDB file has no index and no sync marks: where a record ends is known
//! only by parsing everything before it. So one thread has always walked,
//! and for small keys that walk (about 30 ns a key, most of it the page
//! faults of the map) was the pace of `verify` whatever the other cores did.
//!
//! Here each run but the first starts at a guess: an offset at or after an
//! even share of the file from which records parse and pass the caller's
//! check for a while ([`sync_point`]). A guess can be wrong: a value's bytes
//! can read as records, and periodic data (keys of one width with values of
//! one shape) can read as a false chain of records for as long as the
//! period lasts. So no guess is trusted. The runs are taken in file order at
//! the end: a run counts only if it started exactly where the records of the
//! run before it ended ([`RunEnd::landed`]); any other run is walked again
//! from there, on one thread ([`walk_run`] from a known start). A wrong
//! guess costs one run's walk, never a wrong answer.
//!
//! A run starts without knowing which database is selected there (the
//! SELECTDB may be anywhere before it): the caller assumes db 0 and mends
//! the keys seen before the run's own first SELECTDB once the runs before it
//! are done ([`crate::keyhash::IdHasher::db_mask`]). Each run hashes its
//! own bytes for the checksum, whatever records it found in them, and the
//! pieces are joined at the end (`crc64_combine`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rdbkit_parser::crc64::{Crc64, crc64_combine};
use rdbkit_parser::format::{Opcode, RDB_OPCODE_EOF, RDB_OPCODE_KEY_META};
use rdbkit_parser::mmap::Mmap;
use rdbkit_parser::{RdbReader, RdbType, RdbVersion, ReaderOptions, Record, RecordKind};

use crate::source::{RELEASE_EVERY, SharedProgress};

/// Records that must parse (and pass the caller's check) in a row from a
/// guessed start.
const PROBE_RECORDS: usize = 16;
/// Records of a probe's chain passed over before the start it gives: a false
/// start often ends in a true record boundary after a record or two (a
/// value's bytes read as one short record), and from there the chain is
/// the file's own.
const PROBE_SKIP: usize = 4;
/// How far past an even share a run's start is looked for.
const SEARCH_WINDOW: usize = 256 << 10;
/// Bytes the records of one probe may span: a probe from a wrong offset can
/// take a value's bytes for a huge collection; this bounds what it reads.
const PROBE_SPAN: usize = 1 << 20;
/// Time one search may take. Probes from wrong offsets mostly fail within
/// a few bytes, and [`probe_options`] bounds each one; this only stops a
/// crafted file from making every probe of the window do its most.
const SEARCH_TIME: std::time::Duration = std::time::Duration::from_millis(20);
/// Files smaller than this are walked by one thread: a split saves less
/// than starting the threads costs.
const MIN_SPLIT_FILE: usize = 32 << 20;
/// Runs per thread: more runs than threads even out runs that cost more per
/// byte than others (streams next to strings).
const RUNS_PER_THREAD: usize = 4;
/// Each run is at least this long.
const MIN_RUN: usize = 8 << 20;
/// Bytes hashed at once by a run's checksum (as the reader's own batching).
const CRC_BATCH: usize = 64 << 10;

/// How probes read. Inside a big collection, a wrong offset often reads as
/// a collection of thousands of elements made of the real one's bytes, and
/// walking those was most of a search's time: a probe refuses counts above
/// a few hundred at once (a real record that big is passed over, and the
/// search finds the record after it).
fn probe_options() -> ReaderOptions {
    let mut o = options();
    o.limits.max_elements = 256;
    o.limits.max_string_len = PROBE_SPAN as u64;
    o
}

fn options() -> ReaderOptions {
    ReaderOptions {
        verify_checksum: false,
        ..ReaderOptions::default()
    }
}

/// A likely record start at or after `at`: from the first offset in
/// `at..at + SEARCH_WINDOW` at which [`PROBE_RECORDS`] records parse in a
/// row and pass `plausible` (none of them the end of the file), the start
/// of its chain's record number [`PROBE_SKIP`]. `None` if there is none (or
/// the search ran out of time).
///
/// Parsing alone is a weak test: the bytes of a listpack often read as a
/// run of tiny keys (type 1, a 5-byte key, an empty list...). A check of
/// the values (no empty collection, every element sound) rules those out.
pub(crate) fn sync_point(
    map: &[u8],
    version: RdbVersion,
    at: usize,
    plausible: &(dyn Fn(&Record<'_>) -> bool + Sync),
) -> Option<usize> {
    let deadline = std::time::Instant::now() + SEARCH_TIME;
    let last = at.saturating_add(SEARCH_WINDOW).min(map.len());
    // Bytes that can start a record of this version other than the end
    // record: most bytes of text and of lengths cannot, and looking them up
    // costs far less than a probe (which builds an error to fail).
    let can_start: [bool; 256] = std::array::from_fn(|b| match u8::try_from(b).map(Opcode) {
        Ok(RDB_OPCODE_EOF) | Err(_) => false,
        // The opcodes the parser reads: KEY_META / SLOT_IMPORT (243) and up
        // (it does not read 242, Valkey's UPDATE).
        Ok(Opcode(b)) if b >= RDB_OPCODE_KEY_META.0 => true,
        Ok(Opcode(b)) => RdbType(b).kind_in(version).is_some(),
    });
    for x in at..last {
        // The clock is read every 256 offsets.
        if x % 256 == 0 && std::time::Instant::now() > deadline {
            return None;
        }
        if !map.get(x).is_some_and(|&b| can_start[usize::from(b)]) {
            continue;
        }
        let span = map.get(x..map.len().min(x + PROBE_SPAN))?;
        let mut r = RdbReader::records(span, version, x as u64, 0, probe_options());
        let mut chain = [0u64; PROBE_RECORDS];
        let mut n = 0;
        loop {
            let here = r.offset();
            match r.next_record_with(|rec| {
                !matches!(rec.kind, RecordKind::Eof { .. }) && plausible(&rec)
            }) {
                Ok(Some(true)) => {
                    if let Some(c) = chain.get_mut(n) {
                        *c = here;
                    }
                    n += 1;
                    if n == PROBE_RECORDS {
                        return chain.get(PROBE_SKIP).map(|&c| c as usize);
                    }
                }
                // The end record proves nothing (any 0xff byte parses as
                // one), nor does running out of span.
                Ok(_) | Err(_) => break,
            }
        }
    }
    None
}

/// Where the runs of a walk on `threads` threads start: 0 (the header) and
/// the sync points found near even shares of the file, in order (searched
/// for on every thread). One start means the file is not split.
pub(crate) fn split(
    map: &[u8],
    version: RdbVersion,
    threads: usize,
    plausible: &(dyn Fn(&Record<'_>) -> bool + Sync),
) -> Vec<usize> {
    let mut starts = vec![0];
    if threads < 2 || map.len() < MIN_SPLIT_FILE {
        return starts;
    }
    let runs = (threads * RUNS_PER_THREAD).min(map.len() / MIN_RUN).max(1);
    let never = AtomicBool::new(false);
    let (found, _) = for_each_run(
        runs - 1,
        threads,
        || (),
        &never,
        |(), j| sync_point(map, version, map.len() / runs * (j + 1), plausible),
    );
    for s in found.into_iter().flatten().flatten() {
        if starts.last().is_some_and(|&prev| s > prev) {
            starts.push(s);
        }
    }
    starts
}

/// How the walk of one run ended.
#[derive(Debug)]
pub(crate) struct RunEnd {
    /// Where the walk's records started.
    pub(crate) from: usize,
    /// The first record start at or after the run's end: where the next run
    /// must have started. `None` if the walk did not get there (it stopped,
    /// met an error, or met the end record).
    pub(crate) landed: Option<usize>,
    /// The visitor stopped the walk.
    pub(crate) stopped: bool,
    /// A record failed to parse.
    pub(crate) error: bool,
    /// CRC-64 of the run's bytes and how many: from its nominal start to the
    /// next run's, or through the end record's opcode (what the trailer
    /// covers). Only meaningful when the walk landed or met the end record.
    pub(crate) crc: (u64, u64),
    /// The end record was reached: the offset after it, and the bytes after.
    pub(crate) eof: Option<(u64, u64)>,
}

/// Walk the records from `from` until the first that starts at or after
/// `end` (`None`: until the end record), handing each to `f` (which
/// returns whether to go on), and hash the bytes from `crc_from` (`<=
/// from`) to where the run ends. `from` 0 means the file's start: the header
/// is checked first.
pub(crate) fn walk_run<'d>(
    map: &'d Mmap,
    version: RdbVersion,
    crc_from: usize,
    from: usize,
    end: Option<usize>,
    progress: &SharedProgress,
    mut f: impl FnMut(Record<'d>) -> bool,
) -> RunEnd {
    let data: &'d [u8] = map;
    let mut done = RunEnd {
        from,
        landed: None,
        stopped: false,
        error: false,
        crc: (0, 0),
        eof: None,
    };
    let reader = if from == 0 {
        RdbReader::with_options(data, options())
    } else {
        Ok(RdbReader::records(
            data.get(from..).unwrap_or_default(),
            version,
            from as u64,
            0,
            options(),
        ))
    };
    let Ok(mut r) = reader else {
        done.error = true;
        return done;
    };
    let mut crc = Crc64::new();
    let mut crc_pos = crc_from;
    let mut released = from;
    let mut counted = from;
    loop {
        let pos = r.offset() as usize;
        if end.is_some_and(|e| pos >= e) {
            done.landed = Some(pos);
            break;
        }
        let at_eof = data.get(pos) == Some(&RDB_OPCODE_EOF.0);
        if at_eof {
            // The trailer covers everything up to and with the end opcode.
            crc.update(data.get(crc_pos..=pos).unwrap_or_default());
            crc_pos = pos + 1;
        }
        match r.next_record_with(&mut f) {
            Err(_) => {
                done.error = true;
                break;
            }
            Ok(None) => {
                // A run of records cut out of the file ends with the file.
                done.error = true;
                break;
            }
            Ok(Some(go_on)) => {
                if at_eof {
                    let after = r.offset();
                    done.eof = Some((after, map.len() as u64 - after));
                    break;
                }
                if !go_on {
                    done.stopped = true;
                    break;
                }
            }
        }
        let pos = r.offset() as usize;
        // Only the run's own bytes: the last record may reach into the next.
        let upto = end.map_or(pos, |e| pos.min(e));
        if upto - crc_pos >= CRC_BATCH {
            crc.update(data.get(crc_pos..upto).unwrap_or_default());
            crc_pos = upto;
        }
        if pos - counted >= RELEASE_EVERY {
            progress.add((pos - counted) as u64);
            counted = pos;
            // The checksum has read everything before `crc_pos`.
            released = rdbkit_parser::mmap::release_behind(map, released, crc_pos);
        }
    }
    progress.add((r.offset() as usize).saturating_sub(counted) as u64);
    if done.eof.is_none()
        && let Some(e) = end
    {
        crc.update(data.get(crc_pos..e).unwrap_or_default());
        crc_pos = e;
    }
    done.crc = (crc.finish(), crc_pos.saturating_sub(crc_from) as u64);
    // The rest of the run's pages too: finished runs would otherwise keep up
    // to RELEASE_EVERY each mapped until the process ends.
    rdbkit_parser::mmap::release_behind(map, released, (r.offset() as usize).max(crc_pos));
    done
}

/// Join checksums of consecutive pieces, in file order, into the whole's.
pub(crate) fn join_crcs(pieces: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    pieces
        .into_iter()
        .fold(0, |acc, (crc, len)| crc64_combine(acc, crc, len))
}

/// Run `work(run index)` for every run on `threads` threads, each thread
/// taking the next run not yet taken, until all are done or `stop` is set.
/// The results come back in run order (`None` for runs not walked).
pub(crate) fn for_each_run<S: Send, T: Send>(
    runs: usize,
    threads: usize,
    state: impl Fn() -> S + Sync,
    stop: &AtomicBool,
    work: impl Fn(&mut S, usize) -> T + Sync,
) -> (Vec<Option<T>>, Vec<S>) {
    let next = AtomicUsize::new(0);
    let one = || {
        let mut st = state();
        let mut done = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= runs {
                break;
            }
            done.push((i, work(&mut st, i)));
        }
        (done, st)
    };
    let per_thread: Vec<(Vec<(usize, T)>, S)> = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads.min(runs))
            .filter_map(|t| {
                std::thread::Builder::new()
                    .name(format!("rdbkit-run-{t}"))
                    .spawn_scoped(s, one)
                    .ok()
            })
            .collect();
        let mut all = vec![one()];
        for h in others {
            all.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    });
    let mut results: Vec<Option<T>> = (0..runs).map(|_| None).collect();
    let mut states = Vec::new();
    for (done, st) in per_thread {
        for (i, t) in done {
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(t);
            }
        }
        states.push(st);
    }
    (results, states)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RDB 11 file of strings, plain sets and listpack-like blobs, with
    /// keys and values of random lengths and bytes (no period for a false
    /// chain of records to follow), and its record starts.
    fn varied_file(keys: usize) -> (Vec<u8>, Vec<usize>) {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut f = b"REDIS0011\xfe\x00".to_vec();
        let mut starts = vec![0, 9];
        let string = |f: &mut Vec<u8>, len: u64, next: &mut dyn FnMut(u64) -> u64| {
            // Lengths below 64: one byte.
            f.push(len as u8);
            for _ in 0..len {
                f.push(next(256) as u8);
            }
        };
        for i in 0..keys {
            starts.push(f.len());
            if i % 5 == 0 {
                // A set of distinct members: "<i>-<j>".
                f.push(2);
                string(&mut f, 1 + next(40), &mut next);
                let n = 1 + next(20);
                f.push(n as u8);
                for j in 0..n {
                    let m = format!("{i}-{j}");
                    f.push(m.len() as u8);
                    f.extend_from_slice(m.as_bytes());
                }
            } else {
                f.push(0);
                string(&mut f, 1 + next(40), &mut next);
                string(&mut f, next(64), &mut next);
            }
        }
        starts.push(f.len());
        f.push(RDB_OPCODE_EOF.0);
        let crc = rdbkit_parser::crc64::crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        (f, starts)
    }

    fn any(_: &Record<'_>) -> bool {
        true
    }

    #[test]
    fn searches_land_on_record_starts() {
        let (f, starts) = varied_file(20_000);
        let version = rdbkit_parser::parse_header(&f).unwrap();
        for i in 1..200 {
            let at = f.len() * i / 200;
            let s = sync_point(&f, version, at, &any).expect("a start");
            assert!(s >= at, "{at} -> {s}");
            assert!(
                starts.binary_search(&s).is_ok(),
                "{at} -> {s}: not a record start"
            );
            // Near where it looked: a few records on (a wrong offset's
            // first record can claim a long string and end on a true
            // record start, whose chain then passes).
            assert!(s - at < 64 << 10, "{at} -> {s}");
        }
        // Nothing to find in the last records (none is the end record).
        assert_eq!(sync_point(&f, version, f.len() - 200, &any), None);
        // Nor in bytes that cannot start a record.
        let text = [b"REDIS0011".as_slice(), &[b'x'; 100_000]].concat();
        assert_eq!(sync_point(&text, version, 9, &any), None);
    }

    #[test]
    fn small_files_are_not_split_and_big_ones_are() {
        let (f, starts) = varied_file(20_000);
        let version = rdbkit_parser::parse_header(&f).unwrap();
        assert_eq!(split(&f, version, 2, &any), vec![0]);
        let (big, starts_big) = varied_file(1_200_000);
        assert!(big.len() >= MIN_SPLIT_FILE, "{}", big.len());
        let s = split(&big, version, 2, &any);
        assert_eq!(s.len(), 2 * RUNS_PER_THREAD, "{s:?}");
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.iter().all(|x| starts_big.binary_search(x).is_ok()));
        assert_eq!(split(&big, version, 1, &any), vec![0]);
        drop(starts);
    }

    #[test]
    fn runs_hash_their_own_bytes() {
        let (f, starts) = varied_file(20_000);
        let version = rdbkit_parser::parse_header(&f).unwrap();
        let dir = std::env::temp_dir().join(format!("rdbkit-runs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.rdb");
        std::fs::write(&path, &f).unwrap();
        let map = crate::source::open(path.to_str().unwrap()).unwrap();
        let progress = SharedProgress::new(f.len() as u64);
        let eof = f.len() - 9;
        // Runs cut at record starts and elsewhere; each run's records are
        // walked from where the run before it landed, its bytes from its cut.
        let cut = [
            0,
            starts[5_000],
            starts[9_000] + 3,
            f.len() / 2,
            starts[15_000],
        ];
        let mut pieces = Vec::new();
        let mut from = 0;
        let mut records = 0;
        for i in 0..cut.len() {
            let end = cut.get(i + 1).copied();
            let r = walk_run(&map, version, cut[i], from, end, &progress, |_| {
                records += 1;
                true
            });
            assert!(!r.error && !r.stopped, "{i}: {r:?}");
            pieces.push(r.crc);
            match end {
                Some(e) => {
                    let landed = r.landed.unwrap();
                    assert!(landed >= e && starts.binary_search(&landed).is_ok());
                    from = landed;
                }
                None => assert_eq!(r.eof, Some((f.len() as u64, 0))),
            }
        }
        // Every record once, and the pieces join into the trailer's checksum.
        assert_eq!(records, starts.len() - 1);
        let len: u64 = pieces.iter().map(|p| p.1).sum();
        assert_eq!(len, eof as u64 + 1);
        assert_eq!(join_crcs(pieces), rdbkit_parser::crc64::crc64(&f[..=eof]));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
