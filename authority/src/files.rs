//! The files of a federation folder: their names, and writing them with the right permissions.
//!
//! Private keys are created with mode 0600 in the same call that creates the file, so there
//! is no moment at which another user could open them. An existing file is removed first,
//! because the mode only applies when a file is created.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::CertsError;

/// The federation CA's certificate, PEM.
pub const CA_CERT: &str = "ca.pem";
/// The federation CA's private key, PEM (0600).
pub const CA_KEY: &str = "ca.key";
/// The federation authority's Ed25519 secret key, `ed25519:<hex>` (0600).
pub const AUTHORITY_KEY: &str = "authority.key";
/// The federation authority's Ed25519 public key, 64 hex digits.
pub const AUTHORITY_PUB: &str = "authority.pub";
/// The encoded `SignedDirectory`.
pub const DIRECTORY: &str = "directory.pb";
/// The lowest directory version never handed out, in decimal; written before each signing.
pub const NEXT_VERSION: &str = "next-version";
/// Held locked (advisory, exclusive) by the one process changing the federation folder.
pub const LOCK: &str = ".lock";
/// The folder holding every published directory version, `<version>.pb`.
pub const PUBLISHED: &str = "published";
/// The spec the folder was generated from.
pub const SPEC: &str = "federation.toml";
/// The folder holding one folder per broker, named after the broker.
pub const BROKERS: &str = "brokers";
/// The folder holding one folder per node, named after its address.
pub const NODES: &str = "nodes";
/// A broker's or node's TLS certificate, PEM.
pub const TLS_CERT: &str = "tls.pem";
/// A broker's or node's TLS private key, PEM (0600).
pub const TLS_KEY: &str = "tls.key";
/// A broker's or node's Ed25519 secret key, `ed25519:<hex>` (0600).
pub const SIGNING_KEY: &str = "signing.key";
/// A node's age X25519 identity, `AGE-SECRET-KEY-1...` (0600).
pub const AGE_KEY: &str = "age.key";

/// Whether a file holds a secret and must be readable by its owner only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone may read it.
    Public,
    /// Mode 0600.
    Private,
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> CertsError {
    let path = path.to_path_buf();
    move |source| CertsError::Io {
        action,
        path,
        source,
    }
}

/// Creates a folder and its parents.
pub fn create_dir(path: &Path) -> Result<PathBuf, CertsError> {
    fs::create_dir_all(path).map_err(io_error("create folder", path))?;
    Ok(path.to_path_buf())
}

/// Writes `contents` to `path`, replacing any existing file atomically and durably
/// ([`trm_storage::fs::write_atomically`]); a private file is 0600 even when it replaces a
/// readable one.
pub fn write(path: &Path, contents: &[u8], access: Access) -> Result<(), CertsError> {
    let mode = match access {
        Access::Public => trm_storage::fs::PUBLIC,
        Access::Private => trm_storage::fs::PRIVATE,
    };
    trm_storage::fs::write_atomically(path, contents, mode).map_err(|e| CertsError::Io {
        action: "write",
        path: e.path,
        source: e.source,
    })
}

/// Reads a text file.
pub fn read(path: &Path) -> Result<String, CertsError> {
    fs::read_to_string(path).map_err(io_error("read", path))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn private_files_are_0600_even_when_replacing_a_readable_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret.key");
        write(&path, b"old", Access::Public).expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"new", Access::Private).expect("replace");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(read(&path).expect("read"), "new");
    }

    #[test]
    fn errors_name_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing").join("file");
        let err = write(&path, b"x", Access::Public).expect_err("no parent folder");
        assert!(err.to_string().contains("missing/file"), "{err}");
    }
}
