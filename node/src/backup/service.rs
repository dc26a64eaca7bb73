//! The `trm.v1.NodeBackup` service on the node's admin socket: the running node makes one
//! consistent snapshot of its store and case keys ([`crate::store::NodeStore::snapshot`]),
//! adds the directory it uses, and streams it to `trm-node backup`, which encrypts it.
//!
//! A snapshot holds every case and every live case key, so the socket's file permissions are
//! not enough (caseworkers use the same socket for `trm`): only the node's own user (the
//! service account) and root may ask for one ([`may_take_snapshot`]). Root is allowed because
//! it can read the data folder and the keys directly anyway, and an operator may well run
//! `sudo trm-node backup`. Who asked is logged (their uid, never content), and one snapshot
//! runs at a time.

use std::sync::Arc;
use std::time::Instant;

use prost::Message as _;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::UdsConnectInfo;
use tonic::{Request, Response, Status};
use trm_proto::pb;

use crate::error::NodeError;
use crate::node::Node;

/// The size of the pieces a snapshot is streamed in.
const CHUNK_BYTES: usize = 1024 * 1024;

/// The backup service.
#[derive(Clone)]
pub struct BackupService {
    node: Arc<Node>,
    /// One snapshot at a time: each holds a copy of the whole store in memory.
    running: Arc<Semaphore>,
}

impl BackupService {
    /// A service over a running node.
    pub fn new(node: Arc<Node>) -> Self {
        Self {
            node,
            running: Arc::new(Semaphore::new(1)),
        }
    }
}

/// Whether the local user `caller` may take a snapshot of a node running as `node_uid`: the
/// node's own user, or root. An unknown caller (no peer credentials) may not.
pub fn may_take_snapshot(caller: Option<u32>, node_uid: u32) -> bool {
    caller.is_some_and(|uid| uid == node_uid || uid == 0)
}

/// The uid of the process at the other end of the admin socket, if the platform says.
fn caller_uid<T>(request: &Request<T>) -> Option<u32> {
    request
        .extensions()
        .get::<UdsConnectInfo>()
        .and_then(|info| info.peer_cred)
        .map(|cred| cred.uid())
}

/// The snapshot of `node` with the directory in use, encoded.
fn encoded_snapshot(node: &Node) -> Result<Vec<u8>, Status> {
    let started = Instant::now();
    let mut snapshot = node
        .store()
        .snapshot(trm_proto::time::now_ms())
        .map_err(|e| Status::from(NodeError::from(e)))?;
    let copied_ms = started.elapsed().as_millis();
    let directory = node.data_dir().join(crate::refresh::ADOPTED_DIRECTORY);
    match std::fs::read(&directory) {
        Ok(data) => snapshot.files.push(pb::BackupFile {
            path: format!("data/{}", crate::refresh::ADOPTED_DIRECTORY),
            data,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(Status::unavailable(format!(
                "cannot read {}: {e}",
                directory.display()
            )));
        }
    }
    // The content keys still kept (destroyed ones are gone from the folder): a restored node
    // reads what partners sealed to them, and destroys each at its time as the original would.
    let content_keys = crate::epochs::ring::files(node.data_dir())
        .map_err(|e| Status::unavailable(e.to_string()))?;
    for (name, data) in content_keys {
        snapshot.files.push(pb::BackupFile {
            path: format!("data/{}/{name}", crate::epochs::ring::FOLDER),
            data,
        });
    }
    tracing::info!(
        log_entries = snapshot.log_entries,
        files = snapshot.files.len(),
        paused_us = snapshot.paused_us,
        copied_ms,
        "backup snapshot taken"
    );
    Ok(snapshot.encode_to_vec())
}

#[tonic::async_trait]
impl pb::node_backup_server::NodeBackup for BackupService {
    type SnapshotStream = ReceiverStream<Result<pb::SnapshotChunk, Status>>;

    async fn snapshot(
        &self,
        request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        crate::accounts::authorize(&request, crate::accounts::Action::Backup)?;
        let caller = caller_uid(&request);
        let node_uid = nix::unistd::geteuid().as_raw();
        if !may_take_snapshot(caller, node_uid) {
            let who =
                caller.map_or_else(|| "an unknown user".to_owned(), |uid| format!("uid {uid}"));
            tracing::warn!(caller_uid = ?caller, "backup snapshot refused: not the node's own user");
            return Err(Status::permission_denied(format!(
                "{who} may not take a backup: only the user the node runs as (uid {node_uid}) \
                 or root may, because a backup holds every case and its keys"
            )));
        }
        let Ok(permit) = self.running.clone().try_acquire_owned() else {
            return Err(Status::unavailable(
                "a backup is already running: wait for it to finish and try again",
            ));
        };
        tracing::info!(caller_uid = ?caller, "backup snapshot asked for");
        let node = self.node.clone();
        // Pausing the writer and copying the store blocks: keep it off the runtime's threads.
        let encoded = tokio::task::spawn_blocking(move || encoded_snapshot(&node))
            .await
            .map_err(|e| Status::internal(format!("the snapshot task failed: {e}")))??;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            // Held until the copy is streamed out and freed.
            let _permit = permit;
            for data in encoded.chunks(CHUNK_BYTES) {
                let chunk = pb::SnapshotChunk {
                    data: data.to_vec(),
                };
                if tx.send(Ok(chunk)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

#[cfg(test)]
mod tests {
    use super::may_take_snapshot;

    #[test]
    fn only_the_nodes_own_user_or_root_may_take_a_snapshot() {
        assert!(may_take_snapshot(Some(998), 998));
        assert!(may_take_snapshot(Some(0), 998));
        assert!(!may_take_snapshot(Some(1000), 998));
        assert!(!may_take_snapshot(None, 998));
    }
}
