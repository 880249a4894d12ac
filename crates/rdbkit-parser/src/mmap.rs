//! Memory-mapping a file for [`RdbReader`](crate::RdbReader): the crate's only `unsafe`.

use std::fs::File;
use std::io;
use std::path::Path;

pub use memmap2::Mmap;

/// Map `path` read-only for a sequential scan.
///
/// # Safety contract, in words
///
/// A mapped file that another process truncates or rewrites while it is mapped
/// can make reads fault (SIGBUS) or change under the parser. rdbkit never
/// writes to its inputs; callers must not map files that something else is
/// modifying (e.g. the dump a live server is saving into: it saves to a temp
/// file and renames, so the old inode stays intact, which is safe).
pub fn open_mmap(path: impl AsRef<Path>) -> io::Result<Mmap> {
    let file = File::open(path)?;
    // SAFETY: read-only private mapping; the hazard of concurrent modification
    // is documented above and is the caller's to avoid.
    #[allow(unsafe_code)]
    let map = unsafe { Mmap::map(&file)? };
    #[cfg(unix)]
    {
        let _ = map.advise(memmap2::Advice::Sequential);
    }
    Ok(map)
}

/// Give back the resident pages of `map[..upto]` (rounded down to whole
/// pages) that a front-to-back reader has finished with, so that the
/// process's RSS does not grow with the file: `madvise(MADV_DONTNEED)`.
///
/// Nothing is lost: the mapping is a read-only mapping of a file that is
/// never written through it, so a later access to a released page simply
/// reads it again from the page cache (or the disk). The page cache itself is
/// left alone (a second pass over the file stays warm). `from` is where the
/// previous release stopped; returns where this one stopped. On systems
/// without `madvise` this does nothing.
pub fn release_behind(map: &Mmap, from: usize, upto: usize) -> usize {
    const PAGE: usize = 4096;
    let end = upto.min(map.len()) & !(PAGE - 1);
    let start = from & !(PAGE - 1);
    if end <= start {
        return from;
    }
    #[cfg(unix)]
    {
        // SAFETY: MADV_DONTNEED on a read-only, never-written file mapping
        // only drops page-table entries; the contents seen through any
        // live borrow stay the same (they are re-read from the file on the next
        // access), which is why this does not invalidate the `&[u8]`s that
        // readers hold into the map.
        #[allow(unsafe_code)]
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
    end
}
