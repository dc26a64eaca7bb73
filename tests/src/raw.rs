//! Talking to a broker the way an attacker or a broken client would: with any certificate (or
//! none), with arbitrary bytes where a protobuf message belongs, or as a peer broker relaying
//! whatever it likes.

use std::net::SocketAddr;

use bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Status, codegen::http};
use trm_proto::pb::broker_client::BrokerClient;
use trm_proto::pb::broker_peer_client::BrokerPeerClient;

/// A channel to the broker at `addr` (whose certificate names `broker`), trusting `ca_pem`,
/// presenting `identity` (certificate and key PEM) if given.
pub async fn channel(
    addr: SocketAddr,
    broker: &str,
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> anyhow::Result<Channel> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name(format!("{broker}.broker.trm"));
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Ok(Endpoint::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect_lazy())
}

/// A broker client over `channel`, accepting large answers.
pub fn broker(channel: Channel) -> BrokerClient<Channel> {
    BrokerClient::new(channel).max_encoding_message_size(64 * 1024 * 1024)
}

/// A broker-peer client over `channel`: the `Relay` calls a peer broker (or an impostor)
/// makes, accepting large batches.
pub fn peer(channel: Channel) -> BrokerPeerClient<Channel> {
    BrokerPeerClient::new(channel).max_encoding_message_size(64 * 1024 * 1024)
}

/// Sends `bytes` as the request message of `Broker/Submit`, exactly as given.
pub async fn submit_bytes(channel: Channel, bytes: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static("/trm.v1.Broker/Submit");
    let response = grpc
        .unary(tonic::Request::new(bytes), path, RawCodec)
        .await?;
    Ok(response.into_inner())
}

/// A codec that passes bytes through untouched.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        Ok(Some(bytes.to_vec()))
    }
}

/// Whether `status` is a broker refusing the client's certificate during the TLS handshake
/// (the `access denied` alert), before any call reached it.
pub fn refused_at_handshake(status: &Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unknown | tonic::Code::Unavailable
    ) && format!("{status:?}").contains("AccessDenied")
}
