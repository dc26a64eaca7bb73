//! Answering callers: TLS 1.3 with a client certificate that chains to the federation CA and
//! that the directory in use lists, checked during the handshake (`trm_tls`), so that an
//! unlisted, revoked or foreign certificate never reaches HTTP/2, health or reflection.
//! [`server_config`] builds the rustls configuration; [`incoming`] turns a TCP listener into
//! a stream of established TLS connections for tonic's `serve_with_incoming` (tonic reads
//! the peer's certificates from them, for the per-call checks of [`crate::auth`]).

use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tracing::debug;
use trm_tls::TlsError;

use crate::state::BrokerState;

/// How long a caller may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Established connections waiting for the server to take them.
const READY_BACKLOG: usize = 64;

/// The broker's server configuration, pinned to the directory `state` uses (and swapped with
/// it at every adoption).
pub fn server_config(state: &BrokerState) -> Result<Arc<ServerConfig>, TlsError> {
    let tls = &state.federation.tls;
    tls.follow(state.directory.current());
    trm_tls::server_config(
        &tls.identity()?,
        &tls.roots()?,
        tls.pins().clone(),
        tls.refusals().clone(),
    )
}

/// Accepts TCP connections on `listener` and runs each TLS handshake on its own task, within
/// [`HANDSHAKE_TIMEOUT`]; yields the connections whose handshake succeeded. Ends when the
/// stream is dropped.
pub fn incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
) -> ReceiverStream<std::io::Result<TlsStream<TcpStream>>> {
    let (ready, stream) = mpsc::channel(READY_BACKLOG);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = ready.closed() => return,
            };
            let (tcp, from) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    debug!(cause = %e, "accepting a connection failed");
                    continue;
                }
            };
            let (acceptor, ready) = (acceptor.clone(), ready.clone());
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = ready.send(Ok(tls)).await;
                    }
                    // Certificate refusals are logged by the verifier, with the fingerprint.
                    Ok(Err(e)) => debug!(%from, cause = %e, "TLS handshake failed"),
                    Err(_) => debug!(%from, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(stream)
}
