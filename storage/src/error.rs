//! The errors of trm's storage helpers.

use std::path::PathBuf;
use std::sync::Arc;

/// Why a database could not be opened or a write could not be made durable.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// sled could not open (or create) the database at `path`.
    #[error("cannot open database at {}: {source}", path.display())]
    Open {
        /// The database directory that was being opened.
        path: PathBuf,
        /// What sled reported.
        source: sled::Error,
    },
    /// The database's lock file is held, normally by another running process.
    #[error("database at {} is locked, is another trm process using it? ({source})", path.display())]
    Locked {
        /// The database directory that was being opened.
        path: PathBuf,
        /// What sled reported.
        source: sled::Error,
    },
    /// A flush to disk failed.
    ///
    /// Every caller waiting on that flush gets this error; their writes may or may not be on
    /// disk, so none of them may be acknowledged. The error is shared because `sled::Error`
    /// clones lose their I/O source.
    #[error("flush to disk failed: {0}")]
    Flush(#[source] Arc<sled::Error>),
    /// The flusher thread ended while callers still needed it (it panicked), so durability can
    /// no longer be confirmed.
    #[error("the flusher thread has stopped")]
    FlusherStopped,
    /// The operating system refused to start the flusher thread.
    #[error("cannot start the flusher thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The database's file, which every flush syncs, could not be opened.
    #[error("cannot open the database file {} to sync it: {source}", path.display())]
    DatabaseFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
