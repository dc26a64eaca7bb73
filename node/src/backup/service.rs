//! The `trm.v1.NodeBackup` service on the node's admin socket: the running node makes one
//! consistent snapshot of its store and case keys ([`crate::store::NodeStore::snapshot`]),
//! adds the directory it uses, and streams it to `trm-node backup`, which encrypts it. The
//! socket's file permissions (the node's own user only) are the access control, as for `trm`.

use std::sync::Arc;
use std::time::Instant;

use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
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
}

impl BackupService {
    /// A service over a running node.
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }
}

/// The snapshot of `node` with the directory in use, encoded.
fn encoded_snapshot(node: &Node) -> Result<Vec<u8>, Status> {
    let started = Instant::now();
    let mut snapshot = node
        .store()
        .snapshot(trm_proto::time::now_ms())
        .map_err(|e| Status::from(NodeError::from(e)))?;
    let paused_ms = started.elapsed().as_millis();
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
    tracing::info!(
        log_entries = snapshot.log_entries,
        files = snapshot.files.len(),
        paused_ms,
        "backup snapshot taken"
    );
    Ok(snapshot.encode_to_vec())
}

#[tonic::async_trait]
impl pb::node_backup_server::NodeBackup for BackupService {
    type SnapshotStream = ReceiverStream<Result<pb::SnapshotChunk, Status>>;

    async fn snapshot(
        &self,
        _request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        let node = self.node.clone();
        // Pausing the writer and copying the store blocks: keep it off the runtime's threads.
        let encoded = tokio::task::spawn_blocking(move || encoded_snapshot(&node))
            .await
            .map_err(|e| Status::internal(format!("the snapshot task failed: {e}")))??;
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
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
