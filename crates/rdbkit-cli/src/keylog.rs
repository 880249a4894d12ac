//! Duplicate detection over any number of keys in bounded memory.
//!
//! Every key's 128-bit id (see [`crate::keyhash`]) is appended to one of 256
//! buckets chosen by its top byte; appends are sequential, so the walk pays
//! no cache miss per key (a hash set of all keys did, and was the largest
//! single cost of `verify` on small keys). At the end each bucket is checked
//! on its own with a set that fits in cache. While the ids fit in
//! [`MEMORY_BUDGET`] the buckets stay in memory; past it they move to 256
//! temp files (16 bytes a key on disk), so the memory of a walk stays flat
//! whatever the number of keys. Ids are uniformly random, so buckets are
//! even: checking the largest needs about 1/256 of all ids in memory.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use crate::keyhash::IdSet;

/// Bytes of ids kept in memory before spilling to temp files.
pub(crate) const MEMORY_BUDGET: usize = 24 << 20;
const BUCKETS: usize = 256;

/// An append-only log of ids that can say whether any id occurs twice.
#[derive(Debug)]
pub(crate) struct KeyLog {
    mem: Vec<Vec<u128>>,
    in_mem: usize,
    spill: Option<Spill>,
}

#[derive(Debug)]
struct Spill {
    dir: PathBuf,
    files: Vec<BufWriter<File>>,
}

impl Drop for Spill {
    fn drop(&mut self) {
        self.files.clear();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Default for KeyLog {
    fn default() -> Self {
        KeyLog {
            mem: (0..BUCKETS).map(|_| Vec::new()).collect(),
            in_mem: 0,
            spill: None,
        }
    }
}

#[inline]
fn bucket(id: u128) -> usize {
    (id >> 120) as usize
}

impl KeyLog {
    /// Record one id.
    #[inline]
    pub(crate) fn push(&mut self, id: u128) -> io::Result<()> {
        if let Some(s) = &mut self.spill {
            return s.files[bucket(id)].write_all(&id.to_le_bytes());
        }
        self.mem[bucket(id)].push(id);
        self.in_mem += 1;
        if self.in_mem * 16 > MEMORY_BUDGET {
            self.start_spill()?;
        }
        Ok(())
    }

    fn start_spill(&mut self) -> io::Result<()> {
        let dir = std::env::temp_dir().join(format!(
            "rdbkit-keys-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        fs::create_dir(&dir)?;
        let mut spill = Spill {
            dir,
            files: Vec::with_capacity(BUCKETS),
        };
        for b in 0..BUCKETS {
            let f = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(spill.dir.join(format!("{b:02x}")))?;
            spill.files.push(BufWriter::with_capacity(16 << 10, f));
        }
        for (b, ids) in self.mem.iter_mut().enumerate() {
            for id in ids.drain(..) {
                spill.files[b].write_all(&id.to_le_bytes())?;
            }
            *ids = Vec::new();
        }
        self.in_mem = 0;
        self.spill = Some(spill);
        Ok(())
    }

    /// An id that was pushed more than once, if any.
    pub(crate) fn find_duplicate(&mut self) -> io::Result<Option<u128>> {
        let mut set = IdSet::default();
        if let Some(s) = &mut self.spill {
            let mut buf = Vec::new();
            for w in &mut s.files {
                w.flush()?;
                let f = w.get_mut();
                io::Seek::seek(f, io::SeekFrom::Start(0))?;
                buf.clear();
                f.read_to_end(&mut buf)?;
                set.clear();
                set.reserve(buf.len() / 16);
                for chunk in buf.chunks_exact(16) {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(chunk);
                    let id = u128::from_le_bytes(b);
                    if !set.insert(id) {
                        return Ok(Some(id));
                    }
                }
            }
            return Ok(None);
        }
        for ids in &self.mem {
            set.clear();
            set.reserve(ids.len());
            for &id in ids {
                if !set.insert(id) {
                    return Ok(Some(id));
                }
            }
        }
        Ok(None)
    }

    /// Whether the ids went to temp files.
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
        for n in [1_000u64, (MEMORY_BUDGET / 16) as u64 + 10_000] {
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
}
