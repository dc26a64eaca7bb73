//! `trm-node backup`: asks the running node for a snapshot over its admin socket, adds the
//! configuration file and the key, certificate and directory files it names, and writes the
//! archive encrypted to the recovery recipient. The archive is encrypted as it is written, to
//! a temporary file beside the target (mode 0600), which is synced and then renamed over the
//! target, and the folder synced: a crash leaves the old backup or the new one, never half of
//! one, and never a byte in plaintext.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use prost::Message as _;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use trm_proto::pb;

use super::{BackupError, archive, io_at};
use crate::config::NodeConfigFile;

/// What `trm-node backup` was asked.
#[derive(Debug, Clone)]
pub struct BackupRequest {
    /// The node's configuration file.
    pub config: PathBuf,
    /// The archive to write.
    pub to: PathBuf,
    /// The recovery recipient; the configuration's `[backup] recovery_recipient` if `None`.
    pub recipient: Option<String>,
}

/// What a backup holds, to tell the operator.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// The manifest written.
    pub manifest: pb::BackupManifest,
    /// The recipient it is encrypted to.
    pub recipient: String,
    /// The archive's size in bytes.
    pub bytes: u64,
    /// How long the node's store writer was paused for the snapshot, in microseconds.
    pub paused_us: u64,
}

/// A channel to the node listening on `socket`.
async fn channel(socket: &Path) -> Result<Channel, BackupError> {
    let path = socket.to_owned();
    // The URI is required by the HTTP/2 layer but unused: the connector always dials the socket.
    Endpoint::from_static("http://node.local")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .map_err(|e| BackupError::Connect {
            path: socket.to_owned(),
            message: std::error::Error::source(&e)
                .map_or_else(|| e.to_string(), ToString::to_string),
        })
}

/// Asks the node on `socket` for a snapshot.
async fn snapshot(socket: &Path) -> Result<pb::NodeSnapshot, BackupError> {
    let refused = |status: tonic::Status| BackupError::Snapshot(status.message().to_owned());
    let mut client = pb::node_backup_client::NodeBackupClient::new(channel(socket).await?);
    let mut stream = client
        .snapshot(pb::SnapshotRequest {})
        .await
        .map_err(refused)?
        .into_inner();
    let mut encoded = Vec::new();
    while let Some(chunk) = stream.message().await.map_err(refused)? {
        encoded.extend_from_slice(&chunk.data);
    }
    pb::NodeSnapshot::decode(encoded.as_slice())
        .map_err(|e| BackupError::Snapshot(format!("the snapshot does not decode: {e}")))
}

/// The recipient to encrypt to, checked: an age recipient, and not the node's own key.
fn recipient(
    given: Option<&str>,
    file: &NodeConfigFile,
) -> Result<age::x25519::Recipient, BackupError> {
    let text = given
        .or(file.backup.recovery_recipient.as_deref())
        .ok_or(BackupError::NoRecipient)?
        .trim();
    let own = std::fs::read_to_string(&file.age_key).map_err(io_at(&file.age_key))?;
    let own = own
        .trim()
        .parse::<age::x25519::Identity>()
        .map(|own| own.to_public().to_string())
        .unwrap_or_default();
    if let Some(problem) = super::recipient_problem(text, &own) {
        return Err(if text == own {
            BackupError::OwnKey
        } else {
            BackupError::Recipient(problem)
        });
    }
    text.parse()
        .map_err(|_| BackupError::Recipient(format!("{text:?} is not an age recipient (age1...)")))
}

/// The configuration and the files it names, as archive files.
fn config_files(config: &Path, file: &NodeConfigFile) -> Result<Vec<pb::BackupFile>, BackupError> {
    let named = [
        ("config/node.toml", config),
        ("keys/signing.key", file.signing_key.as_path()),
        ("keys/age.key", file.age_key.as_path()),
        ("keys/tls.crt", file.tls_cert.as_path()),
        ("keys/tls.key", file.tls_key.as_path()),
        ("keys/ca.crt", file.ca_cert.as_path()),
        ("keys/directory", file.directory.as_path()),
    ];
    named
        .into_iter()
        .map(|(path, source)| {
            Ok(pb::BackupFile {
                path: path.to_owned(),
                data: std::fs::read(source).map_err(io_at(source))?,
            })
        })
        .collect()
}

/// Encrypts the archive into `to` atomically: temporary file (0600), sync, rename, folder sync.
fn write_archive(
    to: &Path,
    recipient: &age::x25519::Recipient,
    manifest: &pb::BackupManifest,
    files: &[pb::BackupFile],
) -> Result<u64, BackupError> {
    let (temporary, file) = new_temporary(to)?;
    let written = archive::write(std::io::BufWriter::new(file), recipient, manifest, files)
        .and_then(|mut out| {
            out.flush()?;
            out.into_inner()
                .map_err(std::io::IntoInnerError::into_error)
        })
        .and_then(|file| {
            file.sync_all()?;
            file.metadata()
        });
    let bytes = match written {
        Ok(meta) => meta.len(),
        Err(e) => {
            let _ = std::fs::remove_file(&temporary);
            return Err(io_at(&temporary)(e));
        }
    };
    std::fs::rename(&temporary, to).map_err(io_at(to))?;
    let folder = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    trm_storage::fs::sync_folder(folder).map_err(|e| io_at(folder)(e.into()))?;
    Ok(bytes)
}

/// A new file beside `to` with a random name, made by this call (never an existing file, nor
/// one a link points at) and private (0600 whatever the umask).
fn new_temporary(to: &Path) -> Result<(PathBuf, std::fs::File), BackupError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let mut name = to.file_name().unwrap_or_default().to_owned();
    name.push(format!(".{:016x}.tmp", rand::random::<u64>()));
    let temporary = to.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(trm_storage::fs::PRIVATE)
        .open(&temporary)
        .map_err(io_at(&temporary))?;
    file.set_permissions(std::fs::Permissions::from_mode(trm_storage::fs::PRIVATE))
        .map_err(io_at(&temporary))?;
    Ok((temporary, file))
}

/// Takes a backup of the running node configured in `request.config`.
pub async fn backup(request: &BackupRequest) -> Result<BackupSummary, BackupError> {
    let file = NodeConfigFile::load(&request.config)?;
    let recipient = recipient(request.recipient.as_deref(), &file)?;
    let mut files = config_files(&request.config, &file)?;
    let snapshot = snapshot(&file.admin_socket).await?;
    for taken in &snapshot.files {
        if let Some(problem) = archive::path_problem(&taken.path) {
            return Err(BackupError::Snapshot(problem));
        }
    }
    files.extend(snapshot.files.iter().cloned());
    let manifest = archive::manifest(&file.address, &file.federation, &snapshot, &files);
    let to = request.to.clone();
    let (written_manifest, written_recipient) = (manifest.clone(), recipient.clone());
    let bytes = tokio::task::spawn_blocking(move || {
        write_archive(&to, &written_recipient, &written_manifest, &files)
    })
    .await
    .map_err(|e| BackupError::Snapshot(format!("writing the archive failed: {e}")))??;
    Ok(BackupSummary {
        manifest,
        recipient: recipient.to_string(),
        bytes,
        paused_us: snapshot.paused_us,
    })
}
