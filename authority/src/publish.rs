//! What makes a publish durable: the version number is reserved on disk before anything is
//! signed with it, and every signed version is kept in `published/` before it replaces
//! `directory.pb`.
//!
//! `next-version` holds the lowest version number never handed out. A publish reads it,
//! takes the larger of it and the version after `directory.pb`'s, writes the one after that
//! back (file and folder synced), and only then signs. A publish stopped at any step (a
//! crash, a power cut, `kill -9`) and run again therefore signs with a new number, never a
//! second directory under a number already used: numbers may be skipped, never reused. The
//! copy in `published/<version>.pb` is written whole once and never replaced, so a number
//! found there is refused too.

use std::io;
use std::path::{Path, PathBuf};

use crate::CertsError;
use crate::files::{self, Access};

fn problem(path: &Path, problem: impl Into<String>) -> CertsError {
    CertsError::Publish {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

/// Reserves the version to sign next, the directory in use being `current`, and returns it.
/// When this returns, no later publish can be handed the same number.
pub(crate) fn reserve(dir: &Path, current: u64) -> Result<u64, CertsError> {
    let path = dir.join(files::NEXT_VERSION);
    let reserved = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u64>().map_err(|_| {
            problem(
                &path,
                format!("holds {:?}, not a version number", text.trim()),
            )
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        Err(source) => {
            return Err(CertsError::Io {
                action: "read",
                path,
                source,
            });
        }
    };
    let version = current.checked_add(1).map(|next| next.max(reserved));
    let (Some(version), Some(after)) = (version, version.and_then(|v| v.checked_add(1))) else {
        return Err(problem(&path, "no version number is left to publish"));
    };
    files::write(&path, format!("{after}\n").as_bytes(), Access::Public)?;
    Ok(version)
}

/// The copy of version `version` in the federation folder `dir`.
pub fn published_path(dir: &Path, version: u64) -> PathBuf {
    dir.join(files::PUBLISHED).join(format!("{version}.pb"))
}

/// Keeps the signed directory `bytes` of `version` in `published/`, refusing a version that
/// is already there.
pub(crate) fn archive(dir: &Path, version: u64, bytes: &[u8]) -> Result<(), CertsError> {
    let folder = dir.join(files::PUBLISHED);
    if !folder.is_dir() {
        files::create_dir(&folder)?;
        trm_storage::fs::sync_folder(dir).map_err(|e| CertsError::Io {
            action: "sync",
            path: e.path,
            source: e.source,
        })?;
    }
    let path = published_path(dir, version);
    match path.try_exists() {
        Ok(false) => files::write(&path, bytes, Access::Public),
        Ok(true) => Err(problem(
            &path,
            format!(
                "version {version} was already published; another directory cannot take its number"
            ),
        )),
        Err(source) => Err(CertsError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_reserved_in_order_and_never_handed_out_twice()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        assert_eq!(reserve(dir.path(), 1)?, 2);
        // A publish stopped after reserving 2: the next one gets 3, though directory.pb is at 1.
        assert_eq!(reserve(dir.path(), 1)?, 3);
        // A directory.pb ahead of the file (a folder restored from elsewhere) wins.
        assert_eq!(reserve(dir.path(), 9)?, 10);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(files::NEXT_VERSION))?,
            "11\n"
        );
        Ok(())
    }

    #[test]
    fn an_unreadable_reservation_is_refused_and_left_as_it_was()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join(files::NEXT_VERSION);
        std::fs::write(&path, "seven")?;
        let error = reserve(dir.path(), 1).err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(format!("{}: holds \"seven\", not a version number", path.display()).as_str())
        );
        assert_eq!(std::fs::read_to_string(&path)?, "seven");
        std::fs::write(&path, "1")?;
        let error = reserve(dir.path(), u64::MAX).err().map(|e| e.to_string());
        assert!(
            error.is_some_and(|e| e.ends_with("no version number is left to publish")),
            "overflow"
        );
        Ok(())
    }

    #[test]
    fn a_published_version_is_never_replaced() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        archive(dir.path(), 2, b"first")?;
        let error = archive(dir.path(), 2, b"second")
            .err()
            .map(|e| e.to_string());
        assert!(
            error.is_some_and(|e| e.ends_with(
                "version 2 was already published; another directory cannot take its number"
            )),
            "second archive of version 2"
        );
        assert_eq!(std::fs::read(published_path(dir.path(), 2))?, b"first");
        Ok(())
    }
}
