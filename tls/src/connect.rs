//! Dialling a broker: TCP, then TLS with a pinned [`client_config`](crate::client_config),
//! as a connector an HTTP/2 client (tonic's `Endpoint::connect_with_connector`) can use. The
//! client is given the endpoint as `http://` ([`connector_uri`]) because the TLS is done here,
//! not by the client.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use trm_proto::addr::BrokerName;

use crate::TlsError;

/// Dials TCP to the URI's host and port and runs the pinned TLS handshake over it.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    server_name: ServerName<'static>,
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
        })
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
        Box::pin(async move {
            let host = uri
                .host()
                .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
                .ok_or_else(|| unusable(&uri))?;
            let port = uri.port_u16().unwrap_or(443);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let stream = tls.connect(server_name, tcp).await?;
            Ok(TokioIo::new(stream))
        })
    }
}
