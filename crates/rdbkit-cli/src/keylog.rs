//! Duplicate detection over any number of keys in bounded memory.
//!
//! Every key's 128-bit id (see [`crate::keyhash`]) is appended to one
//! buffer; appends are sequential, so the walk pays no cache miss per key (a
//! hash set of all keys did, and was the largest single cost of `verify` on
//! small keys). At the end the ids are partitioned in place by their top
//! byte into 256 buckets, and each bucket is checked on its own with a set
//! that fits in cache. Past [`MEMORY_BUDGET`] the full buffer is partitioned
//! the same way and written out as one run to an unlinked temp file (16
//! bytes a key on disk), so the memory of a walk stays flat whatever the
//! number of keys; each bucket is then read back from every run. Threads
//! keep logs of their own, merged at the end ([`KeyLog::absorb`]). Ids are
//! uniformly random, so buckets are even: checking the largest needs about
//! 1/256 of all ids in memory.
//!
//! One file written in budget-sized pieces replaced 256 bucket files fed 16
//! KiB at a time: the kernel's block allocation for those was 7 % of a
//! `verify` of 7 M keys.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use crate::keyhash::IdSet;

/// Bytes of ids kept in memory before spilling to a temp file.
pub(crate) const MEMORY_BUDGET: usize = 24 << 20;
const BUCKETS: usize = 256;
const ID: usize = 16;

/// Where each bucket starts in a partitioned run (and where the run ends).
type Starts = [usize; BUCKETS + 1];

/// An append-only log of ids that can say whether any id occurs twice.
#[derive(Debug)]
pub(crate) struct KeyLog {
    buf: Vec<u128>,
    /// Ids held in memory before a run is written out.
    cap: usize,
    spill: Option<Spill>,
}

#[derive(Debug)]
struct Spill {
    /// Unlinked as soon as they are created: nothing is left behind
    /// whatever happens to the process. One per log; a log that absorbed
    /// others holds theirs too.
    files: Vec<SpillFile>,
    /// Where each run is: file, offset, bucket starts.
    runs: Vec<(usize, u64, Box<Starts>)>,
}

#[derive(Debug)]
struct SpillFile {
    file: File,
    end: u64,
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog::with_budget(MEMORY_BUDGET)
    }
}

#[inline]
fn bucket(id: u128) -> usize {
    (id >> 120) as usize
}

/// Partition `ids` in place by bucket (one pass of an in-place radix sort).
fn partition(ids: &mut [u128]) -> Box<Starts> {
    let mut starts = Box::new([0usize; BUCKETS + 1]);
    for &id in ids.iter() {
        starts[bucket(id) + 1] += 1;
    }
    for b in 0..BUCKETS {
        starts[b + 1] += starts[b];
    }
    let mut next: [usize; BUCKETS] = std::array::from_fn(|b| starts[b]);
    for b in 0..BUCKETS {
        while next[b] < starts[b + 1] {
            let t = bucket(ids[next[b]]);
            if t != b {
                ids.swap(next[b], next[t]);
            }
            next[t] += 1;
        }
    }
    starts
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

fn first_repeat(set: &mut IdSet, ids: impl ExactSizeIterator<Item = u128>) -> Option<u128> {
    set.clear();
    set.reserve(ids.len());
    ids.into_iter().find(|&id| !set.insert(id))
}

impl KeyLog {
    /// A log that keeps up to `bytes` of ids in memory before spilling.
    pub(crate) fn with_budget(bytes: usize) -> KeyLog {
        let cap = (bytes / ID).max(1);
        KeyLog {
            buf: Vec::with_capacity(cap),
            cap,
            spill: None,
        }
    }

    /// Record one id.
    #[inline]
    pub(crate) fn push(&mut self, id: u128) -> io::Result<()> {
        self.buf.push(id);
        if self.buf.len() >= self.cap {
            self.write_run()?;
        }
        Ok(())
    }

    fn write_run(&mut self) -> io::Result<()> {
        let spill = match &mut self.spill {
            Some(s) => s,
            None => self.spill.insert(Spill {
                files: vec![SpillFile {
                    file: unlinked_temp()?,
                    end: 0,
                }],
                runs: Vec::new(),
            }),
        };
        let starts = partition(&mut self.buf);
        // A log writes only to its own file (the first); absorbed ones are
        // only read.
        let Some(own) = spill.files.first_mut() else {
            return Err(io::Error::other("key log without its spill file"));
        };
        let at = own.end;
        let mut w = io::BufWriter::with_capacity(1 << 20, &own.file);
        for id in &self.buf {
            w.write_all(&id.to_le_bytes())?;
        }
        w.flush()?;
        drop(w);
        own.end += (self.buf.len() * ID) as u64;
        spill.runs.push((0, at, starts));
        self.buf.clear();
        Ok(())
    }

    /// Take in the ids of another log (kept by another thread), so that
    /// [`KeyLog::find_duplicate`] looks at both.
    pub(crate) fn absorb(&mut self, other: KeyLog) -> io::Result<()> {
        if let Some(theirs) = other.spill {
            if self.spill.is_none() {
                // Runs of this log go to a file of its own, first in the list.
                self.spill = Some(Spill {
                    files: vec![SpillFile {
                        file: unlinked_temp()?,
                        end: 0,
                    }],
                    runs: Vec::new(),
                });
            }
            if let Some(mine) = &mut self.spill {
                let base = mine.files.len();
                mine.files.extend(theirs.files);
                mine.runs.extend(
                    theirs
                        .runs
                        .into_iter()
                        .map(|(f, at, starts)| (base + f, at, starts)),
                );
            }
        }
        for id in other.buf {
            self.push(id)?;
        }
        Ok(())
    }

    /// An id that was pushed more than once, if any.
    pub(crate) fn find_duplicate(&mut self) -> io::Result<Option<u128>> {
        let starts = partition(&mut self.buf);
        let (buf, spill) = (&self.buf, &self.spill);
        // Buckets are independent: the two halves are checked on two threads
        // (the walk is over, the cores are free).
        let half = |range: std::ops::Range<usize>| -> io::Result<Option<u128>> {
            let mut set = IdSet::default();
            let mut bytes = Vec::new();
            for b in range {
                let in_mem = buf[starts[b]..starts[b + 1]].iter().copied();
                let Some(spill) = spill else {
                    if let Some(id) = first_repeat(&mut set, in_mem) {
                        return Ok(Some(id));
                    }
                    continue;
                };
                bytes.clear();
                for (f, at, s) in &spill.runs {
                    let from = bytes.len();
                    bytes.resize(from + (s[b + 1] - s[b]) * ID, 0);
                    let file = &spill
                        .files
                        .get(*f)
                        .ok_or_else(|| io::Error::other("lost spill file"))?
                        .file;
                    file.read_exact_at(&mut bytes[from..], at + (s[b] * ID) as u64)?;
                }
                let on_disk = bytes.chunks_exact(ID).map(|c| {
                    let mut w = [0u8; ID];
                    w.copy_from_slice(c);
                    u128::from_le_bytes(w)
                });
                let all: Vec<u128> = on_disk.chain(in_mem).collect();
                if let Some(id) = first_repeat(&mut set, all.into_iter()) {
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

    /// Whether the ids went to a temp file.
    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.spill.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyhash::IdHasher;

    #[test]
    fn finds_the_one_duplicate_in_memory_and_spilled() {
        let h = IdHasher::default();
        for n in [1_000u64, (MEMORY_BUDGET / ID) as u64 + 10_000] {
            let mut log = KeyLog::default();
            for i in 0..n {
                log.push(h.id(0, &i.to_le_bytes())).unwrap();
            }
            assert_eq!(log.find_duplicate().unwrap(), None);
            let dup = h.id(0, &(n / 2).to_le_bytes());
            log.push(dup).unwrap();
            assert_eq!(log.spilled(), n > 1_000);
            assert_eq!(log.find_duplicate().unwrap(), Some(dup));
        }
    }

    #[test]
    fn duplicates_across_runs_and_the_memory_tail() {
        let h = IdHasher::default();
        // Runs of 1 000 ids: the pair can be in two runs, one run, or a run
        // and the ids still in memory.
        for (first, second) in [(10, 2_500), (1_200, 1_900), (300, 4_321), (4_100, 4_200)] {
            let mut log = KeyLog::with_budget(1_000 * ID);
            for i in 0..4_500u64 {
                let k = if i == second { first } else { i };
                log.push(h.id(0, &k.to_le_bytes())).unwrap();
            }
            assert!(log.spilled());
            assert_eq!(
                log.find_duplicate().unwrap(),
                Some(h.id(0, &first.to_le_bytes())),
                "{first} {second}"
            );
        }
        let mut log = KeyLog::with_budget(1_000 * ID);
        for i in 0..4_500u64 {
            log.push(h.id(0, &i.to_le_bytes())).unwrap();
        }
        assert_eq!(log.find_duplicate().unwrap(), None);
    }

    #[test]
    fn absorbed_logs_are_checked_together() {
        let h = IdHasher::default();
        let id = |i: u64| h.id(0, &i.to_le_bytes());
        // Budgets of 1 000 ids: each log spills (or not) on its own, and the
        // pair of equal ids sits in different logs, in memory or on disk.
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
                assert_eq!(a.find_duplicate().unwrap(), want, "{a_len} {b_len} {dup:?}");
            }
        }
    }

    #[test]
    fn partition_groups_by_top_byte() {
        let h = IdHasher::default();
        let mut ids: Vec<u128> = (0..5_000u64).map(|i| h.id(1, &i.to_le_bytes())).collect();
        let mut sorted = ids.clone();
        let starts = partition(&mut ids);
        assert_eq!(starts[BUCKETS], ids.len());
        for b in 0..BUCKETS {
            assert!(
                ids[starts[b]..starts[b + 1]]
                    .iter()
                    .all(|&id| bucket(id) == b)
            );
        }
        ids.sort_unstable();
        sorted.sort_unstable();
        assert_eq!(ids, sorted);
    }
}
