//! Keeping the federation directory current: the node asks its broker for the signed
//! directory, verifies it against the pinned authority key, and adopts it only if it is a
//! newer, unexpired version. An adopted directory is written to the data folder so that a
//! restart does not fall back to an older one (which would undo a revocation).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::watch;
use tonic::transport::Channel;
use tracing::{debug, info, warn};
use trm_proto::directory::{Directory, DirectoryError};
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;

use crate::node::Node;

/// The file in the data folder holding the newest adopted directory.
pub const ADOPTED_DIRECTORY: &str = "directory.pb";

/// Why a refresh did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// The broker could not be asked.
    #[error("cannot fetch the directory from the broker: {0}")]
    Fetch(#[from] tonic::Status),
    /// The offered directory was refused.
    #[error(transparent)]
    Refused(#[from] DirectoryError),
    /// The adopted directory could not be written.
    #[error("cannot store the adopted directory: {0}")]
    Store(#[from] std::io::Error),
}

/// Verifies `signed` and adopts it if newer; returns whether it was adopted.
pub fn offer(node: &Node, signed: pb::SignedDirectory) -> Result<bool, RefreshError> {
    let candidate = Directory::verify(
        signed,
        node.authority_key(),
        node.federation(),
        trm_proto::time::now_ms(),
    )?;
    let version = candidate.version();
    // Adoption and persistence happen under one lock, and what is written is the directory in
    // use, so concurrent refreshes can neither interleave their writes nor leave an older file.
    let _persisting = node.directory_persist();
    if !node.directory().offer(candidate)? {
        return Ok(false);
    }
    node.follow_directory();
    persist(
        node.data_dir(),
        &node.directory().current().signed().encode_to_vec(),
    )?;
    info!(version, "adopted a newer federation directory");
    Ok(true)
}

/// Writes the adopted directory whole and durably (it is public: mode 0644).
fn persist(dir: &Path, bytes: &[u8]) -> std::io::Result<()> {
    trm_storage::fs::write_atomically(
        &dir.join(ADOPTED_DIRECTORY),
        bytes,
        trm_storage::fs::PUBLIC,
    )?;
    Ok(())
}

/// At start-up: adopts the directory kept from before a restart if it is newer than the
/// configured file, then keeps whichever is in use, so that rolling the configured file back
/// never rolls the node back.
pub fn load_adopted(node: &Node) -> Result<(), RefreshError> {
    let path = node.data_dir().join(ADOPTED_DIRECTORY);
    let kept = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    if let Some(bytes) = &kept {
        match pb::SignedDirectory::decode(bytes.as_slice()) {
            Ok(signed) => {
                if let Err(e) = offer(node, signed) {
                    debug!(cause = %e, "kept directory not used");
                }
            }
            Err(e) => warn!(path = %path.display(), cause = %e, "kept directory is unreadable"),
        }
    }
    let current = node.directory().current().signed().encode_to_vec();
    if kept.as_deref() != Some(current.as_slice()) {
        persist(node.data_dir(), &current)?;
    }
    Ok(())
}

/// Asks the broker once.
pub async fn refresh_once(node: &Node, channel: Channel) -> Result<bool, RefreshError> {
    let known_version = node.directory().current().version();
    let signed = BrokerClient::new(channel)
        .fetch_directory(pb::FetchDirectoryRequest { known_version })
        .await?
        .into_inner();
    offer(node, signed)
}

/// Refreshes every `every` until `shutdown` turns true.
pub async fn run(
    node: Arc<Node>,
    channel: Channel,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = refresh_once(&node, channel.clone()).await {
            warn!(cause = %e, "directory refresh failed; keeping the directory in use");
        }
    }
}
