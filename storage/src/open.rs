//! Opening a sled database with trm's configuration.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::StorageError;

/// How long [`open_db`] keeps retrying while the database's lock file is held.
///
/// Dropping the last `sled::Db` does not release its `flock` synchronously: sled's I/O threads
/// let go of the file a moment later (spacejam/sled#1234, #1289), so reopening a database in the
/// same process right after closing it can fail spuriously. A second process that really holds
/// the database still fails after this delay.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// How long to sleep between two attempts while waiting for the lock.
const LOCK_RETRY: Duration = Duration::from_millis(10);

/// The page cache a database gets unless its configuration says otherwise: 32 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 32 << 20;

/// How a database is opened: what a daemon's configuration may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSettings {
    /// The most bytes sled keeps of the database in its page cache. sled's own default is
    /// 1 GiB, which lets a long queue hold its memory: the cache only ever grows to this bound,
    /// and what is not in it is read from disk (the operating system's file cache in front).
    pub cache_capacity: u64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            cache_capacity: DEFAULT_CACHE_BYTES,
        }
    }
}

impl EngineSettings {
    /// The settings a configuration's `cache_mib` key gives: a page cache of `mib` MiB,
    /// refused outside 1 MiB ..= 1 TiB.
    pub fn from_cache_mib(mib: u64) -> Result<Self, crate::ConfigError> {
        if !(1..=1 << 20).contains(&mib) {
            return Err(crate::config::field(
                "cache_mib",
                format!("must be between 1 and {} (MiB)", 1u64 << 20),
            ));
        }
        Ok(Self {
            cache_capacity: mib << 20,
        })
    }
}

/// Opens the database in `path` with the default [`EngineSettings`]: see [`open_db_with`].
pub fn open_db(path: &Path) -> Result<sled::Db, StorageError> {
    open_db_with(path, &EngineSettings::default())
}

/// Opens (creating if needed) the sled database in the directory `path`, with `settings`.
///
/// The directory is private to the process's user, whatever its umask: created at 0700, and
/// it and the files in it brought to 0700 and 0600 before and after opening
/// ([`crate::fs::private_folder`]). Files sled makes later sit inside the private directory.
/// Once open, the directory and its parent are synced, so the files sled made are named on disk.
///
/// This blocks on disk I/O and recovery, so async callers run it before the runtime starts or in
/// `spawn_blocking`. Writes become durable only through [`crate::GroupCommit`] (or, for a writer
/// that runs once, [`crate::flush_durably`]): sled's own flush is not enough on Linux.
pub fn open_db_with(path: &Path, settings: &EngineSettings) -> Result<sled::Db, StorageError> {
    // sled's defaults are deliberate here:
    // - `Mode::LowSpace` (the default) rather than `HighThroughput`: trm's write throughput is
    //   bounded by fsync in the group commit, not by sled's write path, and HighThroughput trades
    //   it for faster disk growth, which other sled users (databend, zebra) hit in production.
    // - the background flush every 500 ms stays on: it bounds how much unacknowledged data a
    //   crash can lose, while acknowledged writes are flushed explicitly by `GroupCommit`.
    // - the page cache is bounded by `settings` (sled's default, 1 GiB, let the broker's memory
    //   grow with its queue).
    let config = sled::Config::new()
        .path(path)
        .mode(sled::Mode::LowSpace)
        .cache_capacity(settings.cache_capacity);
    private(path)?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match config.open() {
            Ok(db) => {
                private(path)?;
                settle_names(path)?;
                return Ok(db);
            }
            Err(error) if is_lock_contention(&error) => {
                if Instant::now() >= deadline {
                    return Err(StorageError::Locked {
                        path: path.to_path_buf(),
                        source: error,
                    });
                }
                thread::sleep(LOCK_RETRY);
            }
            Err(error) => {
                return Err(StorageError::Open {
                    path: path.to_path_buf(),
                    source: error,
                });
            }
        }
    }
}

/// Makes the database directory private ([`crate::fs::private_folder`]), as an open error.
fn private(path: &Path) -> Result<(), StorageError> {
    crate::fs::private_folder(path).map_err(|e| StorageError::Open {
        path: path.to_path_buf(),
        source: sled::Error::Io(e.into()),
    })
}

/// Syncs the database's folder and the folder that holds it: sled makes its files (and the
/// folder may be new) without syncing the folders, so without this a machine that loses power
/// could forget a new database's files however often their contents were synced.
fn settle_names(path: &Path) -> Result<(), StorageError> {
    for folder in [path, crate::fs::folder_of(path)] {
        crate::fs::sync_folder(folder).map_err(|e| StorageError::Open {
            path: path.to_path_buf(),
            source: sled::Error::Io(e.into()),
        })?;
    }
    Ok(())
}

/// Whether sled failed to open because another handle holds the database's lock file.
///
/// sled 0.34 reports this as an `io::ErrorKind::Other` whose message is all that identifies it.
fn is_lock_contention(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(io) if io.to_string().starts_with("could not acquire lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests return `Result` so that `?` names the failing step.
    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn opens_creates_and_reopens() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("nested").join("db");
        {
            let db = open_db(&path)?;
            db.insert(b"k", b"v")?;
            db.flush()?;
        }
        // Reopening right away works even though sled releases its lock lazily.
        let db = open_db(&path)?;
        assert_eq!(db.get(b"k")?.as_deref(), Some(&b"v"[..]));
        // Every file of the database is its user's alone.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&path)?, 0o700);
            for entry in std::fs::read_dir(&path)? {
                let entry = entry?.path();
                let want = if entry.is_dir() { 0o700 } else { 0o600 };
                assert_eq!(mode(&entry)?, want, "{}", entry.display());
            }
        }
        Ok(())
    }

    #[test]
    fn a_held_database_is_reported_as_locked_with_its_path() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("db");
        let _held = open_db(&path)?;
        let err = match open_db(&path) {
            Ok(_) => panic!("a second open of a held database succeeded"),
            Err(err) => err,
        };
        assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn an_unusable_path_is_reported_with_its_path() -> TestResult {
        let dir = tempfile::tempdir()?;
        // A regular file where the database directory should be.
        let path = dir.path().join("file");
        std::fs::write(&path, b"not a database")?;
        let err = match open_db(&path) {
            Ok(_) => panic!("opened a database inside a regular file"),
            Err(err) => err,
        };
        assert!(matches!(err, StorageError::Open { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        Ok(())
    }
}
