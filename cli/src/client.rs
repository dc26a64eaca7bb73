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

/// Whether a socket owned by `owner` may be trusted by a caller running as `me`: it must be
/// owned by root, by the caller itself, or by `expected` (the node's user, from
/// `TRM_SOCKET_OWNER`). Anything else could be another local user's impostor collecting what
/// is sent to it (passwords included).
pub fn owner_trusted(owner: u32, me: u32, expected: Option<u32>) -> bool {
    owner == 0 || owner == me || expected == Some(owner)
}

/// The uid `TRM_SOCKET_OWNER` names (a number or a user name), if set.
fn expected_owner() -> Result<Option<u32>, String> {
    let Ok(value) = std::env::var("TRM_SOCKET_OWNER") else {
        return Ok(None);
    };
    if let Ok(uid) = value.parse::<u32>() {
        return Ok(Some(uid));
    }
    match nix::unistd::User::from_name(&value) {
        Ok(Some(user)) => Ok(Some(user.uid.as_raw())),
        _ => Err(format!("TRM_SOCKET_OWNER={value}: no such user")),
    }
}

/// Refuses a socket owned by another user than expected (see [`owner_trusted`]).
fn check_owner(socket: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(socket) else {
        // Missing: the connection's own error says so.
        return Ok(());
    };
    let me = nix::unistd::geteuid().as_raw();
    if owner_trusted(meta.uid(), me, expected_owner()?) {
        return Ok(());
    }
    let name = |uid: u32| {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map_or_else(
                || format!("uid {uid}"),
                |u| format!("{} (uid {uid})", u.name),
            )
    };
    Err(format!(
        "refusing to talk to it: the socket belongs to {}, not to you, root or TRM_SOCKET_OWNER; another user may have put it there",
        name(meta.uid())
    ))
}

/// A webhooks client connected to the node listening on `socket`.
pub async fn connect_webhooks(
    socket: &Path,
) -> Result<trm_proto::pb::node_webhooks_client::NodeWebhooksClient<Channel>, ConnectError> {
    Ok(trm_proto::pb::node_webhooks_client::NodeWebhooksClient::new(channel(socket).await?))
}

/// A channel to the node listening on `socket`, once its owner is checked.
pub async fn channel(socket: &Path) -> Result<Channel, ConnectError> {
    let path = socket.to_owned();
    let error = |message: String| ConnectError {
        path: socket.to_owned(),
        message,
    };
    check_owner(socket).map_err(error)?;
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
