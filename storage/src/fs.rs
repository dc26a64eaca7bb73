//! One atomic file write: a file is replaced whole or not at all, and is on disk when the call
//! returns.
//!
//! The bytes go to a temporary file beside the target (same folder, so the rename cannot cross
//! file systems), which is given its mode, written, synced, renamed over the target, and then
//! the folder is synced so the rename itself survives a crash. A reader sees either the old
//! file or the new one, never a half-written one. A crash may leave the temporary file
//! (`<name>.tmp`) behind; the next write to the same target replaces it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The mode of files only the process's user may read: keys, salts.
pub const PRIVATE: u32 = 0o600;

/// The mode of files anyone on the machine may read: public data such as a signed directory.
pub const PUBLIC: u32 = 0o644;

/// Why an atomic write failed, naming the file that could not be handled.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {} atomically: {source}", path.display())]
pub struct WriteError {
    /// The file (the target, its temporary file or its folder) the failing step touched.
    pub path: PathBuf,
    /// The I/O error.
    #[source]
    pub source: std::io::Error,
}

impl From<WriteError> for std::io::Error {
    fn from(error: WriteError) -> Self {
        Self::new(error.source.kind(), error)
    }
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_owned(),
        source,
    }
}

/// The temporary file a write to `path` goes through.
pub fn temporary_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically and durably, the file having `mode` (Unix
/// permission bits such as [`PRIVATE`]; ignored elsewhere). The folder must exist.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let temporary = temporary_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(mode);
    }
    let mut file = options.open(&temporary).map_err(at(&temporary))?;
    #[cfg(unix)]
    {
        // A temporary file left by a crash keeps its old mode through `open`; set it again.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(at(&temporary))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(at(&temporary))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(at(path))?;
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    sync_folder(folder)
}

/// Syncs a folder, so that files created, renamed or removed in it stay so after a crash.
pub fn sync_folder(folder: &Path) -> Result<(), WriteError> {
    std::fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(at(folder))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_appears_whole_with_its_mode_and_no_temporary_is_left()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("key");
        write_atomically(&path, b"first", PRIVATE)?;
        assert_eq!(std::fs::read(&path)?, b"first");
        write_atomically(&path, b"second, longer", PRIVATE)?;
        assert_eq!(std::fs::read(&path)?, b"second, longer");
        let names: Vec<_> = std::fs::read_dir(dir.path())?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        assert_eq!(names, ["key"]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o777);
            assert_eq!(mode(&path)?, 0o600);
            let public = dir.path().join("directory.pb");
            write_atomically(&public, b"public", PUBLIC)?;
            assert_eq!(mode(&public)?, 0o644);
        }
        Ok(())
    }

    #[test]
    fn a_stale_temporary_file_does_not_leak_into_the_target_or_its_mode()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("salt");
        // A crash after writing part of the temporary file: the target is untouched.
        write_atomically(&path, b"old", PRIVATE)?;
        std::fs::write(temporary_path(&path), b"half-written and much longer")?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(
                temporary_path(&path),
                std::fs::Permissions::from_mode(0o666),
            )?;
        }
        assert_eq!(std::fs::read(&path)?, b"old");
        write_atomically(&path, b"new", PRIVATE)?;
        assert_eq!(std::fs::read(&path)?, b"new");
        assert!(!temporary_path(&path).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path)?.permissions().mode() & 0o777,
                0o600
            );
        }
        Ok(())
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_the_file_and_leaves_nothing() {
        let Ok(dir) = tempfile::tempdir() else {
            return;
        };
        let path = dir.path().join("absent").join("key");
        let error = write_atomically(&path, b"x", PRIVATE).err();
        assert!(
            error
                .as_ref()
                .is_some_and(|e| e.path == temporary_path(&path)),
            "{error:?}"
        );
        assert!(!path.exists());
    }
}
