//! Nobody can exhaust a broker, over real TLS on loopback: a caller that never finishes the
//! TLS handshake is dropped after the configured time, connections beyond the per-address cap
//! are closed at once while listed nodes still send and receive, one connection cannot open
//! more concurrent calls than the cap (nor hold the broker's shutdown with a call it keeps
//! open), and reflection lists only the broker's own services.
//! Attackers connect from other loopback addresses (127.0.0.2, ...) so that the nodes, on
//! 127.0.0.1, keep their own per-address allowance.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use trm_dev::local::LocalFederation;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

const WAIT: Duration = Duration::from_secs(30);

/// How long a connection must stay open to count as held rather than closed at once.
const HELD: Duration = Duration::from_millis(400);

/// Starts the test broker with its `[network]` settings adjusted by `adjust`.
async fn broker_with(
    fed: &mut LocalFederation,
    adjust: impl FnOnce(&mut trm_broker::config::Network),
) -> anyhow::Result<()> {
    let mut config = fed.broker_config(BROKER)?;
    adjust(&mut config.network);
    fed.start_broker_with(BROKER, config).await
}

/// A TCP connection to `broker` from loopback address `127.0.0.{host}`, which says nothing.
async fn silent_connection(broker: SocketAddr, host: u8) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from(([127, 0, 0, host], 0)))?;
    Ok(socket.connect(broker).await?)
}

/// Waits up to `limit` for the broker to close `tcp`; how long it took, or `None` if the
/// connection was still open at the end.
async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut byte = [0u8; 1];
    match tokio::time::timeout(limit, tcp.read(&mut byte)).await {
        // End of stream or a reset: closed by the broker.
        Ok(Ok(0) | Err(_)) => Some(start.elapsed()),
        Ok(Ok(_)) => panic!("the broker sent bytes to a client that never said hello"),
        Err(_) => None,
    }
}

/// A mutual-TLS channel to the broker with node `address`'s listed certificate.
async fn listed(fed: &LocalFederation, address: &str) -> anyhow::Result<Channel> {
    fixtures::channel_as(fed, address).await
}

fn health_request() -> HealthCheckRequest {
    HealthCheckRequest {
        service: "trm.v1.Broker".into(),
    }
}

#[tokio::test]
async fn a_caller_that_never_finishes_the_handshake_is_dropped_after_the_configured_timeout()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    broker_with(&mut fed, |network| {
        network.handshake_timeout = Duration::from_millis(600);
        network.max_connections_per_address = 1;
    })
    .await?;
    let addr = fed.broker_addr(BROKER)?;

    let mut silent = silent_connection(addr, 2).await?;
    // A second one from the same address is over the cap of 1: closed at once.
    let mut second = silent_connection(addr, 2).await?;
    let at_once = closed_within(&mut second, Duration::from_secs(5))
        .await
        .context("the connection over the cap stayed open")?;
    assert!(at_once < HELD, "closed only after {at_once:?}");

    // The first is held through the handshake timeout, then dropped (the default is 10 s).
    let dropped = closed_within(&mut silent, Duration::from_secs(5))
        .await
        .context("the silent connection outlived the handshake timeout")?;
    assert!(
        dropped >= Duration::from_millis(300),
        "dropped after {dropped:?}"
    );

    // Its place came back: the next connection from that address is held again.
    let mut next = silent_connection(addr, 2).await?;
    assert_eq!(closed_within(&mut next, HELD).await, None);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn idle_connections_beyond_the_per_address_cap_are_closed_while_listed_nodes_send_and_receive()
-> anyhow::Result<()> {
    const CAP: usize = 4;
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    broker_with(&mut fed, |network| {
        network.handshake_timeout = Duration::from_secs(60);
        network.max_connections_per_address = CAP;
    })
    .await?;
    let addr = fed.broker_addr(BROKER)?;

    // The attacker fills its allowance with connections that never say hello...
    let mut held = Vec::new();
    for _ in 0..CAP {
        held.push(silent_connection(addr, 2).await?);
    }
    for tcp in &mut held {
        assert_eq!(closed_within(tcp, Duration::from_millis(100)).await, None);
    }
    // ... and every further one is closed at once.
    for _ in 0..3 * CAP {
        let mut extra = silent_connection(addr, 2).await?;
        let closed = closed_within(&mut extra, Duration::from_secs(5))
            .await
            .context("a connection over the cap stayed open")?;
        assert!(closed < HELD, "closed only after {closed:?}");
    }

    // Meanwhile listed nodes connect, send and receive.
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let sent = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    let astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 1, WAIT).await?;

    // Once the attacker closes one, its address gets exactly one place back.
    drop(held.pop());
    let start = Instant::now();
    loop {
        let mut tcp = silent_connection(addr, 2).await?;
        if closed_within(&mut tcp, HELD).await.is_none() {
            held.push(tcp);
            break;
        }
        anyhow::ensure!(start.elapsed() < WAIT, "the place never came back");
    }
    let mut over = silent_connection(addr, 2).await?;
    assert!(
        closed_within(&mut over, Duration::from_secs(5))
            .await
            .is_some()
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_connection_cannot_hold_more_concurrent_calls_than_the_cap_while_others_proceed()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    broker_with(&mut fed, |network| network.max_concurrent_streams = 2).await?;

    // Two open health watches take both streams of this connection.
    let crowded = listed(&fed, LEFOE).await?;
    let mut watches = Vec::new();
    for _ in 0..2 {
        let mut watch = HealthClient::new(crowded.clone())
            .watch(health_request())
            .await?
            .into_inner();
        watch.message().await?.context("first health status")?;
        watches.push(watch);
    }
    // A third call on the same connection is not served while they stay open...
    let mut third_client = HealthClient::new(crowded.clone());
    let mut third = Box::pin(third_client.check(health_request()));
    assert!(
        tokio::time::timeout(Duration::from_millis(800), &mut third)
            .await
            .is_err(),
        "a third concurrent call was served"
    );
    // ... while another connection is served at once.
    let other = listed(&fed, ASTRA).await?;
    tokio::time::timeout(
        Duration::from_secs(5),
        HealthClient::new(other).check(health_request()),
    )
    .await??;
    // Closing one watch frees a stream, and the third call completes.
    drop(watches.pop());
    tokio::time::timeout(WAIT, third).await??;
    // The watch still open does not hold the broker's shutdown beyond its grace period.
    tokio::time::timeout(Duration::from_secs(20), fed.shutdown())
        .await
        .context("an open health watch held the shutdown")??;
    drop(watches);
    Ok(())
}

#[tokio::test]
async fn reflection_lists_only_the_services_the_broker_serves() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(listed(&fed, LEFOE).await?)
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let answer = responses.message().await?.context("reflection answer")?;
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let listed: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
    let expected: BTreeSet<String> = [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "trm.v1.Broker",
        "trm.v1.BrokerPeer",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(listed, expected);
    fed.shutdown().await?;
    Ok(())
}
