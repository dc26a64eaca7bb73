//! Dialling a broker: TCP, then TLS with a pinned [`client_config`](crate::client_config),
//! as a connector an HTTP/2 client (tonic's `Endpoint::connect_with_connector`) can use. The
//! client is given the endpoint as `http://` ([`connector_uri`]) because the TLS is done here,
//! not by the client.
//!
//! Every wait has a deadline: the TCP dial ([`DIAL_TIMEOUT`]) and the TLS handshake
//! ([`HANDSHAKE_TIMEOUT`]) each fail with a plain "did not finish within" error, so a peer that
//! accepts TCP and then says nothing (a broken middlebox, a half-dead host) costs one bounded
//! attempt, not a wait for ever. The HTTP/2 keepalive constants below are the ones brokers and
//! nodes give their client channels, so that a connection that went silent is noticed and
//! re-dialled within [`KEEPALIVE_INTERVAL`] + [`KEEPALIVE_TIMEOUT`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use trm_proto::addr::BrokerName;

use crate::TlsError;

/// How long the TCP dial may take.
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the TLS handshake may take once TCP is up.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a client pings a broker over HTTP/2, busy or idle.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// How long a ping may go unanswered before the connection is dropped (and re-dialled on the
/// next call).
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Dials TCP to the URI's host and port and runs the pinned TLS handshake over it.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    server_name: ServerName<'static>,
    dial_timeout: Duration,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl Connector {
    /// A connector to broker `broker` with `config` (which pins that broker's certificate).
    pub fn new(config: Arc<ClientConfig>, broker: &BrokerName) -> Result<Self, TlsError> {
        let name = crate::broker_server_name(broker);
        let server_name =
            ServerName::try_from(name.clone()).map_err(|_| TlsError::ServerName(name))?;
        Ok(Self {
            tls: TlsConnector::from(config),
            server_name,
            dial_timeout: DIAL_TIMEOUT,
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }

    /// The same connector with other deadlines for the TCP dial and the TLS handshake.
    pub fn with_timeouts(mut self, dial: Duration, handshake: Duration) -> Self {
        self.dial_timeout = dial;
        self.handshake_timeout = handshake;
        self
    }
}

/// The endpoint as the HTTP/2 client sees it: `https://` becomes `http://`, since the
/// [`Connector`] does the TLS itself.
pub fn connector_uri(endpoint: &str) -> String {
    match endpoint.strip_prefix("https://") {
        Some(rest) => format!("http://{rest}"),
        None => endpoint.to_owned(),
    }
}

/// A wait that passed its deadline.
fn timed_out(what: &str, uri: &http::Uri, limit: Duration) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("{what} with {uri} did not finish within {limit:?}"),
    )
}

/// Why a connection could not be made.
fn unusable(uri: &http::Uri) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("endpoint {uri} names no host"),
    )
}

impl tower::Service<http::Uri> for Connector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let tls = self.tls.clone();
        let server_name = self.server_name.clone();
        let (dial_timeout, handshake_timeout) = (self.dial_timeout, self.handshake_timeout);
        Box::pin(async move {
            let host = uri
                .host()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
                .ok_or_else(|| unusable(&uri))?;
            let port = uri.port_u16().unwrap_or(443);
            let tcp = tokio::time::timeout(dial_timeout, TcpStream::connect((host.as_str(), port)))
                .await
                .map_err(|_| timed_out("connecting", &uri, dial_timeout))??;
            tcp.set_nodelay(true)?;
            let stream = tokio::time::timeout(handshake_timeout, tls.connect(server_name, tcp))
                .await
                .map_err(|_| timed_out("the TLS handshake", &uri, handshake_timeout))??;
            Ok(TokioIo::new(stream))
        })
    }
}
