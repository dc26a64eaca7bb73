//! The mutual-TLS channel to a broker, TLS 1.3 only, accepting only the certificate the
//! directory in use lists for that broker (`trm_tls` checks the chain to the federation CA,
//! the name `<broker>.broker.trm` and the fingerprint during the handshake, at every
//! (re)connection, so a broker certificate retired by a newer directory stops working at
//! once). The channel is lazy and reconnects by itself; the outbox and delivery tasks only see
//! failed calls and retry with backoff.
//!
//! A broker with several endpoints (the configuration's `broker_endpoint` list for the home
//! broker, the directory's for others) is dialled through [`trm_tls::FailoverConnector`]: one
//! connection at a time, each dial a round from the first endpoint, and a connection to a later
//! endpoint moved back when an earlier one answers again (every `broker_failback_secs`). Every
//! endpoint must present the broker's certificate the directory lists.
//!
//! Every wait on a broker has a deadline: the dial and the TLS handshake ([`CONNECT_TIMEOUT`]),
//! each unary call ([`within`], [`CALL_TIMEOUT`]), and on the long-lived delivery stream HTTP/2
//! keepalive pings, sent busy or idle and answered within
//! [`trm_tls::connect::KEEPALIVE_TIMEOUT`]: a stream that delivers nothing and answers no ping
//! is dropped, and the delivery task dials again.

use std::future::Future;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tonic::Status;
use tonic::transport::{Channel, Endpoint};
use trm_proto::addr::BrokerName;
use trm_tls::connect::{DIAL_TIMEOUT, HANDSHAKE_TIMEOUT, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT};
use trm_tls::failover::EndpointsError;
use trm_tls::{Connector, FailoverConnector, Identity, Pins, Refusals, Roots, TlsError};

use crate::config::NodeConfig;

/// How long establishing a connection to one endpoint may take, TLS handshake included.
pub const CONNECT_TIMEOUT: Duration = DIAL_TIMEOUT.saturating_add(HANDSHAKE_TIMEOUT);

/// How long one unary call to a broker may take, its durable write included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `call`, failed with DEADLINE_EXCEEDED ("no answer within ...") if it takes longer than
/// `limit`.
pub async fn within<T>(
    limit: Duration,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    match tokio::time::timeout(limit, call).await {
        Ok(answer) => answer,
        Err(_) => Err(Status::deadline_exceeded(format!(
            "no answer within {} s",
            limit.as_secs()
        ))),
    }
}

/// Refused broker certificates, logged once per certificate per interval across channels.
static REFUSALS: LazyLock<Arc<Refusals>> = LazyLock::new(|| Arc::new(Refusals::default()));

/// Why a channel to a broker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The node's TLS material cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The broker's endpoints are not usable.
    #[error("endpoints of broker {broker}: {source}")]
    Endpoints {
        /// The broker.
        broker: BrokerName,
        /// What is wrong with the list.
        source: EndpointsError,
    },
    /// The first endpoint is not a URI the HTTP/2 client takes.
    #[error("broker endpoint {endpoint}: {source}")]
    Endpoint {
        /// The endpoint as configured or listed.
        endpoint: String,
        /// What tonic said.
        source: tonic::transport::Error,
    },
}

/// A channel to the home broker at its configured endpoints, authenticated both ways.
pub fn broker_channel(config: &NodeConfig, pins: Arc<Pins>) -> Result<Channel, ConnectError> {
    channel_to(
        config,
        pins,
        &config.keys.address.broker(),
        &config.broker_endpoints,
    )
}

/// A channel to broker `broker` at `endpoints` (tried in turn, the first preferred),
/// authenticated both ways.
pub fn channel_to(
    config: &NodeConfig,
    pins: Arc<Pins>,
    broker: &BrokerName,
    endpoints: &[String],
) -> Result<Channel, ConnectError> {
    let tls = trm_tls::client_config(
        &Identity::from_pem(&config.tls_cert_pem, &config.tls_key_pem)?,
        &Roots::from_pem(&config.ca_pem)?,
        pins,
        broker.clone(),
        REFUSALS.clone(),
    )?;
    let connector = FailoverConnector::new(Connector::new(tls, broker)?, endpoints)
        .map_err(|source| ConnectError::Endpoints {
            broker: broker.clone(),
            source,
        })?
        .with_failback_every(config.broker_failback);
    let uri = connector.uri();
    let endpoint = Endpoint::from_shared(uri).map_err(|source| ConnectError::Endpoint {
        endpoint: endpoints.first().cloned().unwrap_or_default(),
        source,
    })?;
    Ok(endpoint
        .connect_timeout(connector.round_timeout().max(CONNECT_TIMEOUT))
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true)
        .connect_with_connector_lazy(connector))
}
