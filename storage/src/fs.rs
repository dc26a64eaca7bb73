//! One atomic file write: a file is replaced whole or not at all, and is on disk when the call
//! returns.
//!
//! The bytes go to a temporary file beside the target (same folder, so the rename cannot cross
//! file systems), which is given its mode, written, synced, renamed over the target, and then
//! the folder is synced so the rename itself survives a crash. A reader sees either the old
//! file or the new one, never a half-written one. A crash may leave the temporary file
//! (`<name>.tmp`) behind; the next write to the same target replaces it.
//!
//! Data folders are private to the daemon's user whatever its umask: [`private_folder`]
//! creates a folder at 0700 and brings every file in it to 0600 (folders to 0700), and
//! [`check_private_file`] refuses a key file that other users may read.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The mode of files only the process's user may read: keys, salts.
pub const PRIVATE: u32 = 0o600;

/// The mode of files anyone on the machine may read: public data such as a signed directory.
pub const PUBLIC: u32 = 0o644;

/// The mode of folders only the process's user may enter: data folders.
pub const PRIVATE_FOLDER: u32 = 0o700;

/// Permission bits that let users other than a file's owner touch it (group and others).
const SHARED_BITS: u32 = 0o077;

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
    sync_folder(folder_of(path))
}

/// The folder that holds `path`: its parent, or the current folder when it names none (a bare
/// name such as `data`, whose parent is the empty path, which no call can open).
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Syncs a folder, so that files created, renamed or removed in it stay so after a crash.
pub fn sync_folder(folder: &Path) -> Result<(), WriteError> {
    std::fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(at(folder))
}

/// Creates `folder` (and missing parents) at mode 0700, then makes it and everything in it
/// private: folders 0700, files their owner's bits only (0644 becomes 0600). Symbolic links
/// are left alone. Idempotent, and independent of the umask.
pub fn private_folder(folder: &Path) -> Result<(), WriteError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(PRIVATE_FOLDER);
    }
    builder.create(folder).map_err(at(folder))?;
    make_private(folder)
}

/// Takes group and others' permission bits off `path` and, for a folder, everything in it.
fn make_private(path: &Path) -> Result<(), WriteError> {
    let metadata = std::fs::symlink_metadata(path).map_err(at(path))?;
    if metadata.file_type().is_symlink() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o7777;
        let private = if metadata.is_dir() {
            PRIVATE_FOLDER
        } else {
            mode & !SHARED_BITS
        };
        if mode != private {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(private))
                .map_err(at(path))?;
        }
    }
    if metadata.is_dir() {
        for entry in std::fs::read_dir(path).map_err(at(path))? {
            make_private(&entry.map_err(at(path))?.path())?;
        }
    }
    Ok(())
}

/// Why a key file was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file's metadata could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Users other than the file's owner may read or change it.
    #[error(
        "key file {} may be read or changed by other users (mode {mode:04o}); \
         allow its owner only: chmod 600 {}",
        path.display(),
        path.display()
    )]
    Shared {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Refuses a secret key file that users other than its owner may read or change (any group or
/// others bit, as OpenSSH refuses such keys): whoever can read it can act as this organisation
/// or broker, so the daemon does not start until the file is fixed.
pub fn check_private_file(path: &Path) -> Result<(), KeyFileError> {
    let metadata = std::fs::metadata(path).map_err(|source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & SHARED_BITS != 0 {
            return Err(KeyFileError::Shared {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = metadata;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_name_is_in_the_current_folder() {
        // `Path::new("data").parent()` is the empty path: syncing it fails (ENOENT), which
        // made a store configured as `data_dir = "data"` refuse to open.
        assert_eq!(folder_of(Path::new("data")), Path::new("."));
        assert_eq!(folder_of(Path::new("var/data")), Path::new("var"));
        assert_eq!(folder_of(Path::new("/data")), Path::new("/"));
        assert!(sync_folder(folder_of(Path::new("data"))).is_ok());
    }

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

    #[cfg(unix)]
    fn mode(path: &Path) -> std::io::Result<u32> {
        use std::os::unix::fs::PermissionsExt as _;
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o7777)
    }

    #[cfg(unix)]
    #[test]
    fn a_private_folder_and_its_contents_lose_every_group_and_others_bit()
    -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("var").join("data");
        // Created anew: 0700 whatever the umask.
        private_folder(&data)?;
        assert_eq!(mode(&data)?, 0o700);
        // An existing folder a loose umask made, with loose files in it.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))?;
        std::fs::create_dir(data.join("blobs"))?;
        std::fs::set_permissions(data.join("blobs"), std::fs::Permissions::from_mode(0o775))?;
        std::fs::write(data.join("db"), b"x")?;
        std::fs::set_permissions(data.join("db"), std::fs::Permissions::from_mode(0o644))?;
        std::fs::write(data.join("blobs").join("1"), b"x")?;
        std::fs::set_permissions(
            data.join("blobs").join("1"),
            std::fs::Permissions::from_mode(0o666),
        )?;
        std::fs::write(data.join("tool"), b"x")?;
        std::fs::set_permissions(data.join("tool"), std::fs::Permissions::from_mode(0o755))?;
        private_folder(&data)?;
        assert_eq!(mode(&data)?, 0o700);
        assert_eq!(mode(&data.join("blobs"))?, 0o700);
        assert_eq!(mode(&data.join("db"))?, 0o600);
        assert_eq!(mode(&data.join("blobs").join("1"))?, 0o600);
        assert_eq!(mode(&data.join("tool"))?, 0o700);
        // A regular file where the folder should be is an error naming it.
        let file = dir.path().join("file");
        std::fs::write(&file, b"x")?;
        let error = private_folder(&file).err();
        assert!(error.is_some_and(|e| e.path == file));
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_may_read_is_refused_with_the_fix() -> Result<(), Box<dyn std::error::Error>>
    {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir()?;
        let key = dir.path().join("tls.key");
        write_atomically(&key, b"secret", PRIVATE)?;
        check_private_file(&key)?;
        for loose in [0o644, 0o640, 0o604, 0o660] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(loose))?;
            let message = check_private_file(&key).err().map(|e| e.to_string());
            assert_eq!(
                message,
                Some(format!(
                    "key file {0} may be read or changed by other users (mode {loose:04o}); \
                     allow its owner only: chmod 600 {0}",
                    key.display()
                ))
            );
        }
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400))?;
        check_private_file(&key)?;
        let missing = check_private_file(&dir.path().join("absent"));
        assert!(matches!(missing, Err(KeyFileError::Read { .. })));
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
