//! [`AppendFile`]: a file written only at its end, whose writers share their syncs.
//!
//! Writers append under a lock, so each write is whole before the next one starts, and then
//! wait until what they wrote is on disk: the first writer to find no sync running syncs
//! everything written so far (`fdatasync`), and the others wait for that sync and look again.
//! Many writers at once cost about one sync, as in the storage engine's group commit.
//!
//! A sync that fails leaves the file unusable for writing: what was written since the last good
//! sync may not be on disk, and a later sync that succeeds would not say it is (the kernel may
//! have dropped the pages). Every later write is refused until the file is opened again.
//!
//! Reads (and the rare write in place, such as zeroing a record) go through [`AppendFile::file`].

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A file appended to by many writers that share their syncs (see the module documentation).
pub struct AppendFile {
    path: PathBuf,
    file: File,
    state: Mutex<State>,
    /// Woken when a sync ends.
    synced: Condvar,
}

struct State {
    /// Where the next write goes.
    end: u64,
    /// Everything before this is on disk.
    synced_to: u64,
    /// A writer is syncing.
    syncing: bool,
    /// A sync failed: no more writes.
    failed: Option<String>,
}

impl AppendFile {
    /// Opens the file at `path` for reading and appending, made (mode 0600, its folder synced)
    /// when there is none. Writes go at `end_of(&file)`: the end of what the caller reads as
    /// whole (a record a crash cut short is then written over).
    pub fn open(path: &Path, end_of: impl FnOnce(&File) -> io::Result<u64>) -> io::Result<Self> {
        let existed = path.exists();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(crate::fs::PRIVATE)
            .open(path)?;
        if !existed {
            file.sync_all()?;
            if let Some(folder) = path.parent() {
                crate::fs::sync_folder(folder).map_err(io::Error::other)?;
            }
        }
        let end = end_of(&file)?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            state: Mutex::new(State {
                end,
                synced_to: end,
                syncing: false,
                failed: None,
            }),
            synced: Condvar::new(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file, for reads and writes in place.
    pub fn file(&self) -> &File {
        &self.file
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `bytes` at the end and returns where they start, once they are on disk.
    /// Blocking.
    pub fn append_synced(&self, bytes: &[u8]) -> io::Result<u64> {
        self.append_with(|_| bytes)
    }

    /// Writes the bytes `make` gives for the place they will take (where the end is, known
    /// only under the lock) and returns that place, once they are on disk. Blocking. A failed
    /// write leaves the end where it was, to be written over.
    pub fn append_with<B: AsRef<[u8]>>(&self, make: impl FnOnce(u64) -> B) -> io::Result<u64> {
        let (at, end) = {
            let mut state = self.state();
            if let Some(failed) = &state.failed {
                return Err(io::Error::other(failed.clone()));
            }
            let at = state.end;
            let bytes = make(at);
            let bytes = bytes.as_ref();
            self.file.write_all_at(bytes, at)?;
            state.end = at + bytes.len() as u64;
            (at, state.end)
        };
        self.sync_past(end)?;
        Ok(at)
    }

    /// Returns once everything before `upto` is on disk: syncs what has been written when no
    /// one else is syncing, else waits for that sync and looks again. Blocking.
    fn sync_past(&self, upto: u64) -> io::Result<()> {
        let mut state = self.state();
        loop {
            if let Some(failed) = &state.failed {
                return Err(io::Error::other(failed.clone()));
            }
            if state.synced_to >= upto {
                return Ok(());
            }
            if state.syncing {
                state = self
                    .synced
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.syncing = true;
            let target = state.end;
            drop(state);
            let synced = self.file.sync_data();
            state = self.state();
            state.syncing = false;
            self.synced.notify_all();
            match synced {
                Ok(()) => state.synced_to = state.synced_to.max(target),
                Err(e) => {
                    state.failed = Some(format!(
                        "{}: an earlier sync failed ({e}); writes wait for a reopen",
                        self.path.display()
                    ));
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn len(file: &File) -> io::Result<u64> {
        Ok(file.metadata()?.len())
    }

    #[test]
    fn appends_follow_each_other_and_a_reopen_goes_on_at_the_end() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("records");
        let file = AppendFile::open(&path, len)?;
        assert_eq!(file.append_synced(b"one")?, 0);
        assert_eq!(file.append_synced(b"two!")?, 3);
        drop(file);
        let file = AppendFile::open(&path, len)?;
        assert_eq!(file.append_synced(b"3")?, 7);
        assert_eq!(std::fs::read(&path)?, b"onetwo!3");
        Ok(())
    }

    #[test]
    fn the_end_the_caller_reads_as_whole_is_written_over() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("records");
        std::fs::write(&path, b"whole+torn")?;
        let file = AppendFile::open(&path, |_| Ok(5))?;
        assert_eq!(file.append_synced(b"_next")?, 5);
        assert_eq!(std::fs::read(&path)?, b"whole_next");
        Ok(())
    }

    #[test]
    fn writers_at_once_each_get_their_own_place() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("records");
        let file = std::sync::Arc::new(AppendFile::open(&path, len)?);
        let writers: Vec<_> = (0..8u8)
            .map(|n| {
                let file = std::sync::Arc::clone(&file);
                std::thread::spawn(move || -> io::Result<Vec<u64>> {
                    (0..50).map(|_| file.append_synced(&[n; 16])).collect()
                })
            })
            .collect();
        let bytes_at = |at: u64| -> io::Result<[u8; 16]> {
            let mut out = [0u8; 16];
            file.file().read_exact_at(&mut out, at)?;
            Ok(out)
        };
        for (n, writer) in writers.into_iter().enumerate() {
            let places = writer.join().map_err(|_| "a writer panicked")??;
            for at in places {
                assert_eq!(bytes_at(at)?, [n as u8; 16], "at {at}");
            }
        }
        assert_eq!(std::fs::metadata(&path)?.len(), 8 * 50 * 16);
        Ok(())
    }
}
