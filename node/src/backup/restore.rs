//! `trm-node restore`: decrypts a backup with the recovery identity, checks its manifest and
//! every file ([`super::archive::read`]) before anything is written, refuses a folder that is
//! not empty, and writes a node folder ready to run:
//!
//! - `node.toml`: the backed-up configuration with every file path pointing into the folder
//!   (`data/`, `keys/...`) and the admin socket at `trm-node.sock` in it;
//! - `original-node.toml`: the configuration as it was, for reference;
//! - `keys/`: signing key, age identity, TLS certificate and key, CA certificate, directory;
//! - `data/`: the store rebuilt from its records, the case keys, the directory in use, and
//!   the mark ([`super::marker`]) that keeps the node from starting until `--take-over`.
//!
//! Folders are made 0700 and files 0600, the store engine's own files too. The restored store is then opened, which verifies the
//! handover log, and its length and head must be the manifest's. Everything is written into
//! `<into>.partial` and renamed to `<into>` only at the end; if anything fails, the partial
//! folder is removed, and one left by a restore killed part way is removed by the next.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};

use trm_proto::pb;

use super::archive::{self, Contents};
use super::{BackupError, io_at};
use crate::config::NodeConfigFile;
use crate::store::NodeStore;
use crate::store::snapshot::{self, STORE_FILE};

/// What `trm-node restore` was asked.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The backup.
    pub from: PathBuf,
    /// The file holding the recovery identity.
    pub identity: PathBuf,
    /// The folder to restore into: new or empty.
    pub into: PathBuf,
}

/// The configuration file of the restored node, in the folder.
pub const CONFIG: &str = "node.toml";

/// The admin socket of the restored node, in the folder.
pub const SOCKET: &str = "trm-node.sock";

/// Reads every age identity in `path`: one per line, `#` comments and blank lines skipped.
fn identities(path: &Path) -> Result<Vec<age::x25519::Identity>, BackupError> {
    let text = std::fs::read_to_string(path).map_err(io_at(path))?;
    let found: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.parse().ok())
        .collect();
    if found.is_empty() {
        return Err(BackupError::Identity(path.to_owned()));
    }
    Ok(found)
}

/// Whether `dir` is missing or empty; an error if it is a file or cannot be read.
fn is_new_or_empty(dir: &Path) -> Result<bool, BackupError> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_at(dir)(e)),
    }
}

fn make_dir(dir: &Path) -> Result<(), BackupError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io_at(dir))?;
    // `create` leaves an existing folder's mode alone.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_at(dir))
}

/// The restored configuration: the backed-up one with its paths into the folder.
fn restored_config(original: &[u8], into: &Path) -> Result<String, BackupError> {
    let text = String::from_utf8_lossy(original);
    let mut file = NodeConfigFile::from_toml(&text, &into.join("original-node.toml"))?;
    file.data_dir = "data".into();
    file.admin_socket = SOCKET.into();
    file.signing_key = "keys/signing.key".into();
    file.age_key = "keys/age.key".into();
    file.tls_cert = "keys/tls.crt".into();
    file.tls_key = "keys/tls.key".into();
    file.ca_cert = "keys/ca.crt".into();
    file.directory = "keys/directory".into();
    let body = toml::to_string(&file).map_err(|e| BackupError::Damaged {
        path: into.join(CONFIG),
        problem: format!("the configuration cannot be written back: {e}"),
    })?;
    Ok(format!(
        "# Restored by trm-node restore: paths are relative to this folder.\n\
         # The configuration as it was is in original-node.toml.\n{body}"
    ))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    trm_storage::fs::write_atomically(path, bytes, trm_storage::fs::PRIVATE)
        .map_err(|e| io_at(path)(e.into()))
}

/// Writes the checked `contents` into `into` (new or empty).
fn write_folder(contents: &Contents, into: &Path) -> Result<(), BackupError> {
    make_dir(into)?;
    let config = contents
        .file("config/node.toml")
        .ok_or_else(|| missing(into, "config/node.toml"))?;
    write_private(&into.join("original-node.toml"), config)?;
    write_private(
        &into.join(CONFIG),
        restored_config(config, into)?.as_bytes(),
    )?;
    for file in &contents.files {
        if file.path == STORE_FILE || file.path == "config/node.toml" {
            continue;
        }
        let target = file
            .path
            .split('/')
            .fold(into.to_path_buf(), |path, part| path.join(part));
        if let Some(parent) = target.parent() {
            make_dir(parent)?;
        }
        write_private(&target, &file.data)?;
    }
    let data = into.join("data");
    make_dir(&data)?;
    let records = contents
        .file(STORE_FILE)
        .ok_or_else(|| missing(into, STORE_FILE))?;
    snapshot::rebuild(&data, records)?;
    let store = NodeStore::open(&data)?;
    let chain = store.verify_log().map_err(crate::store::StoreError::from)?;
    let manifest = &contents.manifest;
    if chain.entries != manifest.log_entries || chain.head.as_slice() != manifest.log_head {
        return Err(BackupError::LogMismatch {
            expected: manifest.log_entries,
            expected_head: hex::encode(&manifest.log_head),
            found: chain.entries,
            found_head: hex::encode(chain.head),
        });
    }
    drop(store);
    write_private(
        &data.join(super::marker::FILE),
        super::marker::text(&manifest.node, manifest.taken_at_ms).as_bytes(),
    )?;
    private_modes(into)
}

/// Makes every folder under `dir` 0700 and every file 0600, the store engine's own included.
fn private_modes(dir: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_at(dir))?;
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let path = entry.map_err(io_at(dir))?.path();
        let kind = std::fs::symlink_metadata(&path)
            .map_err(io_at(&path))?
            .file_type();
        if kind.is_dir() {
            private_modes(&path)?;
        } else if kind.is_file() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io_at(&path))?;
        }
    }
    Ok(())
}

fn missing(into: &Path, path: &str) -> BackupError {
    BackupError::Damaged {
        path: into.to_owned(),
        problem: format!("the backup has no {path}"),
    }
}

/// The files every backup must hold.
const REQUIRED: [&str; 8] = [
    "config/node.toml",
    "keys/signing.key",
    "keys/age.key",
    "keys/tls.crt",
    "keys/tls.key",
    "keys/ca.crt",
    "keys/directory",
    STORE_FILE,
];

/// Restores the backup `request.from` into `request.into`; returns its manifest.
pub fn restore(request: &RestoreRequest) -> Result<pb::BackupManifest, BackupError> {
    let identities = identities(&request.identity)?;
    if !is_new_or_empty(&request.into)? {
        return Err(BackupError::NotEmpty(request.into.clone()));
    }
    let input = std::fs::File::open(&request.from).map_err(io_at(&request.from))?;
    let contents = archive::read(input, &identities, &request.from, &request.identity)?;
    if let Some(absent) = REQUIRED.iter().find(|p| contents.file(p).is_none()) {
        return Err(missing(&request.from, absent));
    }
    // Written beside the target and renamed into place at the end, so a restore killed part
    // way never leaves a runnable node.toml next to a partial store.
    let partial = partial_folder(&request.into);
    if partial.exists() {
        // Left by a restore that was killed part way.
        std::fs::remove_dir_all(&partial).map_err(io_at(&partial))?;
    }
    if let Err(e) = write_folder(&contents, &partial) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    // Replaces `into` if it is an empty folder.
    if let Err(e) = std::fs::rename(&partial, &request.into) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(io_at(&request.into)(e));
    }
    let parent = match request.into.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    trm_storage::fs::sync_folder(parent).map_err(|e| io_at(parent)(e.into()))?;
    Ok(contents.manifest)
}

/// The folder a restore into `into` writes before it is renamed: `<into>.partial`.
pub fn partial_folder(into: &Path) -> PathBuf {
    let mut name = into.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    into.with_file_name(name)
}
