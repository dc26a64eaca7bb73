//! Connecting `trm` to its node's admin service over the Unix socket.

use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::pb::node_cases_client::NodeCasesClient;

/// The node could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach the node at {path}: {message} (is trm-node running? see --socket)")]
pub struct ConnectError {
    /// The socket path tried.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// The largest answer `trm` reads from its node: a case's thread with its messages'
/// attachments may be several envelopes' worth.
pub const MAX_ANSWER_BYTES: usize = 16 * trm_proto::MAX_ENVELOPE_BYTES;

/// An admin client connected to the node listening on `socket`.
pub async fn connect(socket: &Path) -> Result<NodeAdminClient<Channel>, ConnectError> {
    Ok(NodeAdminClient::new(channel(socket).await?).max_decoding_message_size(MAX_ANSWER_BYTES))
}

/// A cases client connected to the node listening on `socket`.
pub async fn connect_cases(socket: &Path) -> Result<NodeCasesClient<Channel>, ConnectError> {
    Ok(NodeCasesClient::new(channel(socket).await?).max_decoding_message_size(MAX_ANSWER_BYTES))
}

/// A webhooks client connected to the node listening on `socket`.
pub async fn connect_webhooks(
    socket: &Path,
) -> Result<trm_proto::pb::node_webhooks_client::NodeWebhooksClient<Channel>, ConnectError> {
    Ok(trm_proto::pb::node_webhooks_client::NodeWebhooksClient::new(channel(socket).await?))
}

/// A channel to the node listening on `socket`.
async fn channel(socket: &Path) -> Result<Channel, ConnectError> {
    let path = socket.to_owned();
    let error = |message: String| ConnectError {
        path: socket.to_owned(),
        message,
    };
    // The URI is required by the HTTP/2 layer but unused: the connector always dials the socket.
    let channel = Endpoint::from_static("http://node.local")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .map_err(|e| {
            error(format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ))
        })?;
    Ok(channel)
}
