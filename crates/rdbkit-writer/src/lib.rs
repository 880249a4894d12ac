//! Writer for RDB snapshot files (work in progress: see the convert issue).
