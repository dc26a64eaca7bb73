//! Connecting to an in-process node's admin service over its Unix socket, for the demo and the
//! tests. (`trm` has its own connection with its own error messages; this crate does not depend
//! on the command line.)

use std::path::Path;

use anyhow::Context as _;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::pb::node_cases_client::NodeCasesClient;

/// An admin client connected to the node listening on `socket`.
pub async fn connect(socket: &Path) -> anyhow::Result<NodeAdminClient<Channel>> {
    Ok(NodeAdminClient::new(channel(socket).await?))
}

/// A cases client connected to the node listening on `socket`.
pub async fn connect_cases(socket: &Path) -> anyhow::Result<NodeCasesClient<Channel>> {
    Ok(NodeCasesClient::new(channel(socket).await?))
}

/// A channel to the node listening on `socket`.
pub async fn channel(socket: &Path) -> anyhow::Result<Channel> {
    let path = socket.to_owned();
    // The URI is required by the HTTP/2 layer but unused: the connector always dials the socket.
    Endpoint::from_static("http://node.local")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .with_context(|| format!("cannot reach the node at {}", socket.display()))
}
