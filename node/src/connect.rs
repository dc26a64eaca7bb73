//! The mutual-TLS channel to the node's home broker. The channel is lazy and reconnects by
//! itself; the outbox and delivery tasks only see failed calls and retry with backoff.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::config::NodeConfig;

/// The TLS server name brokers' certificates carry: `<name>.broker.trm`.
pub fn broker_server_name(broker: &trm_proto::addr::BrokerName) -> String {
    format!("{broker}.broker.trm")
}

/// A channel to the home broker, authenticated both ways.
pub fn broker_channel(config: &NodeConfig) -> Result<Channel, tonic::transport::Error> {
    broker_channel_to(
        config,
        &config.broker_endpoint,
        &config.keys.address.broker(),
    )
}

/// A channel to broker `broker` at `endpoint` (any broker of the federation, for directory
/// refreshes), authenticated both ways.
pub fn broker_channel_to(
    config: &NodeConfig,
    endpoint: &str,
    broker: &trm_proto::addr::BrokerName,
) -> Result<Channel, tonic::transport::Error> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&config.ca_pem))
        .identity(Identity::from_pem(
            &config.tls_cert_pem,
            &config.tls_key_pem,
        ))
        .domain_name(broker_server_name(broker));
    Ok(Endpoint::from_shared(endpoint.to_owned())?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true)
        .connect_lazy())
}
