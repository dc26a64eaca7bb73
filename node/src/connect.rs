//! The mutual-TLS channel to a broker, TLS 1.3 only, accepting only the certificate the
//! directory in use lists for that broker (`trm_tls` checks the chain to the federation CA,
//! the name `<broker>.broker.trm` and the fingerprint during the handshake, at every
//! (re)connection, so a broker certificate retired by a newer directory stops working at
//! once). The channel is lazy and reconnects by itself; the outbox and delivery tasks only see
//! failed calls and retry with backoff.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use trm_proto::addr::BrokerName;
use trm_tls::{Connector, Identity, Pins, Refusals, Roots, TlsError};

use crate::config::NodeConfig;

/// How long establishing a connection may take, TLS handshake included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Refused broker certificates, logged once per certificate per interval across channels.
static REFUSALS: LazyLock<Arc<Refusals>> = LazyLock::new(|| Arc::new(Refusals::default()));

/// Why a channel to a broker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The node's TLS material cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The broker's endpoint is not a usable URI.
    #[error("broker endpoint {endpoint}: {source}")]
    Endpoint {
        /// The endpoint as configured or listed.
        endpoint: String,
        /// What tonic said.
        source: tonic::transport::Error,
    },
}

/// A channel to the home broker, authenticated both ways.
pub fn broker_channel(config: &NodeConfig, pins: Arc<Pins>) -> Result<Channel, ConnectError> {
    channel_to(
        config,
        pins,
        &config.keys.address.broker(),
        &config.broker_endpoint,
    )
}

/// A channel to broker `broker` at `endpoint`, authenticated both ways.
pub fn channel_to(
    config: &NodeConfig,
    pins: Arc<Pins>,
    broker: &BrokerName,
    endpoint: &str,
) -> Result<Channel, ConnectError> {
    let tls = trm_tls::client_config(
        &Identity::from_pem(&config.tls_cert_pem, &config.tls_key_pem)?,
        &Roots::from_pem(&config.ca_pem)?,
        pins,
        broker.clone(),
        REFUSALS.clone(),
    )?;
    let connector = Connector::new(tls, broker)?;
    let uri = trm_tls::connect::connector_uri(endpoint);
    let endpoint = Endpoint::from_shared(uri).map_err(|source| ConnectError::Endpoint {
        endpoint: endpoint.to_owned(),
        source,
    })?;
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_with_connector_lazy(connector))
}
