//! Duplicate detection over any number of keys in bounded memory.
//!
//! Every key's 64-bit id (see [`crate::keyhash`]) goes into one of 256
//! buckets by its top byte. The buckets' tails are 256 cache lines, so the
//! walk pays no cache miss per key (a hash set of all keys did, and was the
//! largest single cost of `verify` on small keys), and no partitioning pass
//! is needed afterwards (sorting one buffer in place was 12 % of a `verify`
//! of a file of strings). At the end each bucket is checked on its own with
//! a set that fits in cache. When a bucket is full ([`MEMORY_BUDGET`] in
//! all) every bucket is written out, as one run, to an unlinked temp file
//! (8 bytes a key on disk), so the memory of a walk stays flat whatever the
//! number of keys; each bucket is then read back from every run. Ids are
//! uniformly random, so buckets are even: checking the largest needs about
//! 1/256 of all ids in memory. Threads keep logs of their own, merged at
//! the end ([`KeyLog::absorb`]).
//!
//! Ids are 64 bits, not 128: half the bytes to keep, write and read back.
//! Two different keys then share an id now and then (about once in 400 000
//! files of 10 M keys), so a repeated id is only a suspect: the caller looks
//! for it again among the keys themselves, and if it was two different keys,
//! asks again with that id set aside ([`KeyLog::find_duplicate`]'s `skip`).
//!
//! One file written in budget-sized pieces replaced 256 bucket files fed 16
//! KiB at a time: the kernel's block allocation for those was 7 % of a
//! `verify` of 7 M keys.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use crate::keyhash::HashSet64;

/// Bytes of ids kept in memory before spilling to a temp file.
pub(crate) const MEMORY_BUDGET: usize = 24 << 20;
const BUCKETS: usize = 256;
const ID: usize = 8;

/// Where each bucket starts in a written run (and where the run ends), in ids.
type Starts = [usize; BUCKETS + 1];

/// An append-only log of ids that can say whether any id occurs twice.
#[derive(Debug)]
pub(crate) struct KeyLog {
    buckets: Box<[Vec<u64>; BUCKETS]>,
    /// Ids a bucket holds before the log spills.
    cap: usize,
    /// Temp files holding runs, unlinked as soon as they are created
    /// (nothing is left behind whatever happens to the process): this log's
    /// own, made at its first spill, and those of the logs it absorbed.
    files: Vec<File>,
    /// Which of `files` this log writes its runs to, and where it ends.
    own: Option<(usize, u64)>,
    /// Where each run is: file, offset, bucket starts, and what its ids are
    /// to be xored with when read back ([`KeyLog::xor_all`]).
    runs: Vec<(usize, u64, Box<Starts>, u64)>,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::with_budget(MEMORY_BUDGET)
    }
}

#[inline(always)]
fn bucket(id: u64) -> u8 {
    (id >> 56) as u8
}

/// A temp file for ids, unlinked at once.
fn unlinked_temp() -> io::Result<File> {
    // Several threads' logs may spill in the same nanosecond.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "rdbkit-keys-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// The first id of `ids` seen before (outside `skip`).
fn first_repeat(set: &mut HashSet64, ids: &[u64], skip: &HashSet64) -> Option<u64> {
    set.clear();
    set.reserve(ids.len());
    // The set hashes by the id's bits as they are; those of one bucket share
    // their top byte, which the table uses for its tags, so the byte is
    // rotated to where neither tags nor slot numbers come from.
    ids.iter()
        .copied()
        .find(|&id| !set.insert(id.rotate_right(8)) && !skip.contains(&id))
}

impl KeyLog {
    /// A log that keeps up to `bytes` of ids in memory before spilling.
    pub(crate) fn with_budget(bytes: usize) -> KeyLog {
        let cap = (bytes / ID / BUCKETS).max(1);
        KeyLog {
            buckets: Box::new(std::array::from_fn(|_| Vec::new())),
            cap,
            files: Vec::new(),
            own: None,
            runs: Vec::new(),
        }
    }

    /// Record one id.
    #[inline]
    pub(crate) fn push(&mut self, id: u64) -> io::Result<()> {
        let b = &mut self.buckets[usize::from(bucket(id))];
        if b.capacity() == 0 {
            // Reserved whole on first use (memory is only taken as it is
            // written); growing by doubling would overshoot the budget.
            b.reserve_exact(self.cap);
        }
        b.push(id);
        if b.len() >= self.cap {
            self.write_run()?;
        }
        Ok(())
    }

    fn write_run(&mut self) -> io::Result<()> {
        let (f, at) = match self.own {
            Some(own) => own,
            None => {
                self.files.push(unlinked_temp()?);
                (self.files.len() - 1, 0)
            }
        };
        let file = self
            .files
            .get(f)
            .ok_or_else(|| io::Error::other("lost spill file"))?;
        let mut starts = Box::new([0usize; BUCKETS + 1]);
        let mut w = io::BufWriter::with_capacity(1 << 20, file);
        for (b, ids) in self.buckets.iter_mut().enumerate() {
            starts[b + 1] = starts[b] + ids.len();
            for id in ids.iter() {
                w.write_all(&id.to_le_bytes())?;
            }
            ids.clear();
        }
        w.flush()?;
        drop(w);
        self.own = Some((f, at + (starts[BUCKETS] * ID) as u64));
        self.runs.push((f, at, starts, 0));
        Ok(())
    }

    /// Xor every id logged so far with `x`, whose top byte must be 0 (so
    /// that each id stays in its bucket): ids logged under an assumed
    /// database become those of the real one ([`crate::keyhash::IdHasher::db_mask`]).
    pub(crate) fn xor_all(&mut self, x: u64) {
        debug_assert_eq!(bucket(x), 0);
        for ids in self.buckets.iter_mut() {
            for id in ids.iter_mut() {
                *id ^= x;
            }
        }
        for run in &mut self.runs {
            run.3 ^= x;
        }
    }

    /// Take in the ids of another log (kept by another thread), so that
    /// [`KeyLog::find_duplicate`] looks at both.
    pub(crate) fn absorb(&mut self, other: KeyLog) -> io::Result<()> {
        let base = self.files.len();
        self.files.extend(other.files);
        self.runs.extend(
            other
                .runs
                .into_iter()
                .map(|(f, at, starts, x)| (base + f, at, starts, x)),
        );
        for ids in other.buckets.iter() {
            for &id in ids {
                self.push(id)?;
            }
        }
        Ok(())
    }

    /// An id that was pushed more than once, other than those in `skip`
    /// (ids already found to belong to different keys), if any.
    pub(crate) fn find_duplicate(&self, skip: &HashSet64) -> io::Result<Option<u64>> {
        find_duplicate_among(&[self], skip)
    }

    /// Whether the ids went to a temp file.
    #[cfg(test)]
    fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }
}

/// [`KeyLog::find_duplicate`] over the ids of several logs together, as if
/// one had absorbed the others (without copying their ids into it).
pub(crate) fn find_duplicate_among(logs: &[&KeyLog], skip: &HashSet64) -> io::Result<Option<u64>> {
    let spilled = logs.iter().any(|l| !l.runs.is_empty());
    // Buckets are independent: the two halves are checked on two threads
    // (the walk is over, the cores are free).
    let half = |range: std::ops::Range<usize>| -> io::Result<Option<u64>> {
        let mut set = HashSet64::default();
        let mut bytes = Vec::new();
        let mut all = Vec::new();
        for b in range {
            if let [log] = logs
                && !spilled
            {
                if let Some(id) = first_repeat(&mut set, &log.buckets[b], skip) {
                    return Ok(Some(id));
                }
                continue;
            }
            all.clear();
            for log in logs {
                bytes.clear();
                for (f, at, s, _) in &log.runs {
                    let from = bytes.len();
                    bytes.resize(from + (s[b + 1] - s[b]) * ID, 0);
                    let file = log
                        .files
                        .get(*f)
                        .ok_or_else(|| io::Error::other("lost spill file"))?;
                    file.read_exact_at(&mut bytes[from..], at + (s[b] * ID) as u64)?;
                }
                let mut rest = &bytes[..];
                for (_, _, s, x) in &log.runs {
                    let (run, after) = rest.split_at((s[b + 1] - s[b]) * ID);
                    rest = after;
                    all.extend(run.chunks_exact(ID).map(|c| {
                        let mut w = [0u8; ID];
                        w.copy_from_slice(c);
                        u64::from_le_bytes(w) ^ x
                    }));
                }
                all.extend_from_slice(&log.buckets[b]);
            }
            if let Some(id) = first_repeat(&mut set, &all, skip) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    };
    std::thread::scope(|scope| {
        let high = scope.spawn(|| half(BUCKETS / 2..BUCKETS));
        let low = half(0..BUCKETS / 2)?;
        let high = high
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        Ok(low.or(high))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyhash::IdHasher;

    fn none() -> HashSet64 {
        HashSet64::default()
    }

    #[test]
    fn finds_the_one_duplicate_in_memory_and_spilled() {
        let h = IdHasher::default();
        for n in [1_000u64, (MEMORY_BUDGET / ID) as u64 + 10_000] {
            let mut log = KeyLog::default();
            for i in 0..n {
                log.push(h.id64(0, &i.to_le_bytes())).unwrap();
            }
            assert_eq!(log.find_duplicate(&none()).unwrap(), None);
            let dup = h.id64(0, &(n / 2).to_le_bytes());
            log.push(dup).unwrap();
            assert_eq!(log.spilled(), n > 1_000);
            assert_eq!(log.find_duplicate(&none()).unwrap(), Some(dup));
        }
    }

    #[test]
    fn duplicates_across_runs_and_the_memory_tail() {
        let h = IdHasher::default();
        // Runs of about 1 000 ids: the pair can be in two runs, one run, or
        // a run and the ids still in memory.
        for (first, second) in [(10, 2_500), (1_200, 1_900), (300, 4_321), (4_100, 4_200)] {
            let mut log = KeyLog::with_budget(1_000 * ID);
            for i in 0..4_500u64 {
                let k = if i == second { first } else { i };
                log.push(h.id64(0, &k.to_le_bytes())).unwrap();
            }
            assert!(log.spilled());
            assert_eq!(
                log.find_duplicate(&none()).unwrap(),
                Some(h.id64(0, &first.to_le_bytes())),
                "{first} {second}"
            );
        }
        let mut log = KeyLog::with_budget(1_000 * ID);
        for i in 0..4_500u64 {
            log.push(h.id64(0, &i.to_le_bytes())).unwrap();
        }
        assert_eq!(log.find_duplicate(&none()).unwrap(), None);
    }

    #[test]
    fn skipped_ids_are_not_reported() {
        let h = IdHasher::default();
        let id = |i: u64| h.id64(0, &i.to_le_bytes());
        for budget in [1_000 * ID, MEMORY_BUDGET] {
            let mut log = KeyLog::with_budget(budget);
            for i in 0..3_000u64 {
                log.push(id(i)).unwrap();
            }
            // Two ids repeated (as if each were two different keys sharing
            // an id): each is reported until it is set aside.
            log.push(id(7)).unwrap();
            log.push(id(2_000)).unwrap();
            let first = log.find_duplicate(&none()).unwrap().unwrap();
            assert!(first == id(7) || first == id(2_000));
            let skip: HashSet64 = [first].into_iter().collect();
            let second = log.find_duplicate(&skip).unwrap().unwrap();
            assert_ne!(second, first);
            assert!(second == id(7) || second == id(2_000));
            let skip: HashSet64 = [first, second].into_iter().collect();
            assert_eq!(log.find_duplicate(&skip).unwrap(), None);
        }
    }

    #[test]
    fn ids_mended_to_another_database_in_memory_and_spilled() {
        // Ids taken as db 0's and mended to db 5's (some already written
        // out, some still in memory) meet db 5's own ids, and only them.
        let h = IdHasher::default();
        for budget in [1_000 * ID, MEMORY_BUDGET] {
            let mut mended = KeyLog::with_budget(budget);
            for i in 0..4_500u64 {
                mended.push(h.id64(0, &i.to_le_bytes())).unwrap();
            }
            assert_eq!(mended.spilled(), budget < MEMORY_BUDGET);
            mended.xor_all(h.db_mask(5));
            let mut db5 = KeyLog::with_budget(budget);
            db5.push(h.id64(5, &77u64.to_le_bytes())).unwrap();
            let mut db0 = KeyLog::with_budget(budget);
            db0.push(h.id64(0, &78u64.to_le_bytes())).unwrap();
            // Checked together as they are, or absorbed into one.
            let apart = |logs: &[&KeyLog]| find_duplicate_among(logs, &none()).unwrap();
            assert_eq!(apart(&[&mended, &db0]), None);
            assert_eq!(
                apart(&[&db0, &mended, &db5]),
                Some(h.id64(5, &77u64.to_le_bytes()))
            );
            mended.absorb(db0).unwrap();
            assert_eq!(mended.find_duplicate(&none()).unwrap(), None);
            mended.absorb(db5).unwrap();
            assert_eq!(
                mended.find_duplicate(&none()).unwrap(),
                Some(h.id64(5, &77u64.to_le_bytes()))
            );
        }
    }

    #[test]
    fn absorbed_logs_are_checked_together() {
        let h = IdHasher::default();
        let id = |i: u64| h.id64(0, &i.to_le_bytes());
        // Budgets of about 1 000 ids: each log spills (or not) on its own,
        // and the pair of equal ids sits in different logs, in memory or on
        // disk.
        for (a_len, b_len) in [(500u64, 700u64), (3_300, 500), (400, 2_600), (2_500, 3_100)] {
            for dup in [None, Some((a_len / 3, b_len / 2))] {
                let mut a = KeyLog::with_budget(1_000 * ID);
                let mut b = KeyLog::with_budget(1_000 * ID);
                for i in 0..a_len {
                    a.push(id(i)).unwrap();
                }
                for i in 0..b_len {
                    let k = match dup {
                        Some((first, at)) if i == at => first,
                        _ => 1_000_000 + i,
                    };
                    b.push(id(k)).unwrap();
                }
                a.absorb(b).unwrap();
                let want = dup.map(|(first, _)| id(first));
                assert_eq!(
                    a.find_duplicate(&none()).unwrap(),
                    want,
                    "{a_len} {b_len} {dup:?}"
                );
            }
        }
    }
}
