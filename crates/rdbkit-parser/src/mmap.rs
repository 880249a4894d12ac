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
