//! What makes a sled database's writes durable beyond `sled::Db::flush`: its file synced, and
//! the files it writes large values to.
//!
//! sled 0.34 keeps its log and pages in one file, `db`, in the database's folder. On Linux its
//! flush writes the log's buffers with `sync_file_range` and nothing else, which persists
//! neither the file's size nor the disk's write cache; sled calls `fsync` itself only on its
//! own timer. So a flush here is sled's flush followed by `fdatasync` on `db`.
//!
//! That is not all sled writes. A log message larger than a quarter of a segment (128 KiB less
//! a header at the default 512 KiB segments) goes to a file of its own, `blobs/<log position>`,
//! and the log holds only its position. sled writes such a file whole, before the log message
//! that points at it, and never syncs it or the `blobs` folder. They are not rare: a value of
//! more than 128 KiB is one, and so is a tree node whose values add up to that (a leaf of
//! sixteen 8 KiB envelopes). After a power loss the log may then point at a file that is
//! missing (sled recovers the page as it was before, losing the write) or cut short (its
//! check fails and sled's recovery stops there, losing everything logged after it).
//!
//! So a flush also syncs every blob file it has not synced before, and then the `blobs`
//! folder, before the sync of `db`. Which files a flush may count as synced for good needs
//! care, since sled may be writing one while the flush lists the folder:
//! - a file listed *before* sled's flush belongs to a log message reserved before that flush
//!   began, and sled's flush waits for every such message to be written, so the file is whole
//!   once sled's flush returns: synced then, it stays synced;
//! - a file that appears only in a listing *after* sled's flush may still be being written by
//!   a message that flush does not cover. It is synced too (sled's flush may have written
//!   messages reserved after the first listing, which point at it), but not counted as done:
//!   the next flush lists it before its own sled flush and syncs it again.
//!
//! The first flush after opening syncs every blob file there is, whoever wrote it.
//!
//! The files of the writes a flush is for are always in its first listing: a writer asks for
//! durability after its write returned, so after sled wrote the file, and the flusher lists
//! the folder after taking every request made so far.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::StorageError;

/// The file in a sled database's folder that holds its log and pages (sled 0.34's name).
const DATABASE_FILE: &str = "db";

/// The folder in a sled database's folder for values too large for its log (sled 0.34's name).
const BLOB_FOLDER: &str = "blobs";

/// One database's files, to make what sled wrote durable (see the module documentation).
pub(crate) struct SledFiles {
    database: File,
    blobs: PathBuf,
    /// Blob files synced after they were whole; forgotten once sled removes them.
    synced: HashSet<OsString>,
}

impl SledFiles {
    /// The files of the database opened in `folder`. Fails when its `db` file cannot be
    /// opened: then `folder` is not where that database is.
    pub(crate) fn open(folder: &Path) -> Result<Self, StorageError> {
        let path = folder.join(DATABASE_FILE);
        let database =
            File::open(&path).map_err(|source| StorageError::DatabaseFile { path, source })?;
        Ok(Self {
            database,
            blobs: folder.join(BLOB_FOLDER),
            synced: HashSet::new(),
        })
    }

    /// sled's flush of `db`, then every blob file not synced yet, their folder, and the
    /// database's file. Returns how many blob files it synced.
    pub(crate) fn flush(&mut self, db: &sled::Db) -> sled::Result<usize> {
        self.flush_with(|| db.flush().map(drop))
    }

    /// [`SledFiles::flush`] with `sled_flush` as sled's flush.
    fn flush_with(&mut self, sled_flush: impl FnOnce() -> sled::Result<()>) -> sled::Result<usize> {
        let whole_after_flush = self.not_yet_synced()?;
        sled_flush()?;
        let listed_now = self.listing()?;
        let mut synced_now = 0;
        for name in listed_now
            .iter()
            .filter(|name| !self.synced.contains(*name))
        {
            match File::open(self.blobs.join(name)) {
                Ok(file) => file.sync_data()?,
                // sled removed it in the meantime: nothing to keep.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            }
            synced_now += 1;
        }
        if synced_now > 0 {
            crate::fs::sync_folder(&self.blobs).map_err(io::Error::other)?;
        }
        self.database.sync_data()?;
        // Keep what is still there and was whole when synced.
        self.synced.retain(|name| listed_now.contains(name));
        self.synced.extend(
            whole_after_flush
                .into_iter()
                .filter(|name| listed_now.contains(name)),
        );
        Ok(synced_now)
    }

    /// The blob files listed now that no flush has synced whole.
    fn not_yet_synced(&self) -> io::Result<HashSet<OsString>> {
        let mut names = self.listing()?;
        names.retain(|name| !self.synced.contains(name));
        Ok(names)
    }

    /// The names in the blob folder; none when there is no such folder.
    fn listing(&self) -> io::Result<HashSet<OsString>> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashSet::new()),
            Err(e) => return Err(e),
        };
        entries
            .map(|entry| entry.map(|entry| entry.file_name()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A value past sled's blob threshold at its default segment size.
    const LARGE: usize = 200 * 1024;

    fn temp_db() -> Result<(tempfile::TempDir, PathBuf, sled::Db), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let folder = dir.path().join("db");
        let db = crate::open_db(&folder)?;
        Ok((dir, folder, db))
    }

    fn blob_count(folder: &Path) -> io::Result<usize> {
        Ok(std::fs::read_dir(folder.join(BLOB_FOLDER))?.count())
    }

    #[test]
    fn a_large_value_goes_to_a_blob_file_which_the_flush_syncs_once() -> TestResult {
        let (_dir, folder, db) = temp_db()?;
        let mut files = SledFiles::open(&folder)?;
        db.insert(b"small", &[1u8; 100][..])?;
        assert_eq!(files.flush(&db)?, 0, "a small value needs no blob file");

        db.insert(b"large", vec![7u8; LARGE])?;
        // The premise: sled put it in a file of its own, which its flush does not sync.
        assert_eq!(
            blob_count(&folder)?,
            1,
            "sled wrote the large value to a blob file"
        );
        assert_eq!(files.flush(&db)?, 1, "the new blob file is synced");
        assert_eq!(
            files.flush(&db)?,
            0,
            "a blob file synced whole is not synced again"
        );

        db.insert(b"larger", vec![8u8; LARGE])?;
        assert_eq!(files.flush(&db)?, 1, "only the newer blob file is synced");
        Ok(())
    }

    #[test]
    fn a_blob_file_removed_by_sled_is_forgotten() -> TestResult {
        let (_dir, folder, db) = temp_db()?;
        let mut files = SledFiles::open(&folder)?;
        db.insert(b"large", vec![7u8; LARGE])?;
        // A file of sled's name pattern beside the real one, removed later as sled removes a
        // blob once nothing points at it (which it does in its own time).
        let stand_in = folder.join(BLOB_FOLDER).join("999999999");
        std::fs::write(&stand_in, b"blob")?;
        assert_eq!(files.flush(&db)?, 2);
        assert_eq!(files.synced.len(), 2);
        std::fs::remove_file(&stand_in)?;
        assert_eq!(files.flush(&db)?, 0);
        assert_eq!(files.synced.len(), 1, "a removed file is not remembered");
        Ok(())
    }

    #[test]
    fn a_blob_file_that_appears_during_the_flush_is_synced_again_by_the_next() -> TestResult {
        let (_dir, folder, db) = temp_db()?;
        let mut files = SledFiles::open(&folder)?;
        let blobs = folder.join(BLOB_FOLDER);
        std::fs::create_dir_all(&blobs)?;
        // A file sled starts while the flush runs may not be whole when the flush syncs it.
        let synced = files.flush_with(|| {
            std::fs::write(blobs.join("1000"), b"half").map_err(sled::Error::from)?;
            db.flush().map(drop)
        })?;
        assert_eq!(
            synced, 1,
            "synced, since the flush may have logged its pointer"
        );
        assert!(files.synced.is_empty(), "but not taken as whole");
        assert_eq!(files.flush(&db)?, 1, "the next flush syncs it again");
        assert_eq!(files.flush(&db)?, 0, "and then it is done");
        Ok(())
    }
}
