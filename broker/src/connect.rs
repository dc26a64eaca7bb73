//! Calling peer brokers: a mutual-TLS channel presenting this broker's own certificate (which
//! carries both server and client authentication), trusting the federation CA and expecting
//! the peer's name `<peer>.broker.trm`. The peer then checks our certificate against its
//! directory, as we check theirs.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use trm_proto::addr::BrokerName;
use trm_proto::directory::BrokerInfo;

use crate::config::BrokerConfig;

/// How long establishing a connection to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one call to a peer may take, a relay batch's durable flush included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// What this broker presents and trusts when it calls a peer.
#[derive(Clone)]
pub struct ClientTls {
    /// The federation CA, PEM.
    ca_pem: String,
    /// This broker's certificate chain, PEM.
    cert_pem: String,
    /// Its private key, PEM.
    key_pem: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("ClientTls").finish_non_exhaustive()
    }
}

impl ClientTls {
    /// The client side of this broker's TLS identity.
    pub fn from_config(config: &BrokerConfig) -> Self {
        Self {
            ca_pem: config.ca_pem.clone(),
            cert_pem: config.tls_cert_pem.clone(),
            key_pem: config.tls_key_pem.clone(),
        }
    }
}

/// The TLS server name brokers' certificates carry: `<name>.broker.trm`.
pub fn server_name(broker: &BrokerName) -> String {
    format!("{broker}.broker.trm")
}

/// A lazy channel to `peer` at its directory endpoint; it connects (and reconnects) on use.
pub fn channel(tls: &ClientTls, peer: &BrokerInfo) -> Result<Channel, tonic::transport::Error> {
    let config = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&tls.ca_pem))
        .identity(Identity::from_pem(&tls.cert_pem, &tls.key_pem))
        .domain_name(server_name(&peer.name));
    Ok(Endpoint::from_shared(peer.endpoint.clone())?
        .tls_config(config)?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy())
}
