//! Serving: TLS with required client certificates through the capped accept loop
//! ([`crate::listen`]), HTTP/2 within the `[network]` limits, the broker and broker-peer
//! services, gRPC health and reflection (listing only those services), the relay and directory
//! refresh tasks, and graceful shutdown. The caller binds the listener (tests bind port 0).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::transport::Server;
use tracing::{info, warn};
use trm_proto::pb;

use crate::config::{BrokerConfig, Network};
use crate::service::{BrokerPeerService, BrokerService};
use crate::state::BrokerState;
use crate::store::{self, BrokerStore, StoreError};
use crate::{expiry, handshake, listen, refresh, relay};

/// Why the broker stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS or HTTP/2 serving failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The reflection service could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The TLS certificate, key or CA cannot be used.
    #[error(transparent)]
    Tls(#[from] trm_tls::TlsError),
    /// The metrics page cannot be served.
    #[error(transparent)]
    Metrics(#[from] trm_storage::exposition::serve::ServeError),
}

/// Extra bytes allowed on the wire above the envelope limit, so an envelope just over the
/// limit gets the broker's precise error rather than the transport's.
const FRAME_SLACK: usize = 64 * 1024;

/// How long open calls may take to finish once shutdown begins.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Opens the store and serves until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let store = store::open(&config).await?;
    serve(listener, config, store, shutdown).await
}

/// Serves an already opened store until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: BrokerConfig,
    store: Arc<dyn BrokerStore>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let state = Arc::new(BrokerState::new(&config, store));
    serve_state(listener, &config, state, shutdown).await
}

/// Serves with state the caller assembled (and may keep, to read relay status or trigger a
/// directory refresh) until `shutdown` completes. Starts a relay task for every other broker
/// in the directory and the directory refresh task; when this returns they have all ended,
/// so the store is released once the caller drops its own handles.
pub async fn serve_state(
    listener: TcpListener,
    config: &BrokerConfig,
    state: Arc<BrokerState>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let tls = handshake::server_config(&state)?;
    let broker = pb::broker_server::BrokerServer::new(BrokerService::new(state.clone()))
        .max_decoding_message_size(config.max_envelope_bytes + FRAME_SLACK);
    let peer = pb::broker_peer_server::BrokerPeerServer::new(BrokerPeerService::new(state.clone()))
        .max_decoding_message_size(relay::BATCH_BYTES + FRAME_SLACK);
    let prekeys =
        pb::prekeys_server::PrekeysServer::new(crate::prekeys::PrekeysService::new(state.clone()));

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::broker_server::BrokerServer<BrokerService>>()
        .await;
    health_reporter
        .set_serving::<pb::broker_peer_server::BrokerPeerServer<BrokerPeerService>>()
        .await;
    health_reporter
        .set_service_status(WRITES_HEALTH, tonic_health::ServingStatus::Serving)
        .await;
    if let Some(writable) = state.store.writable() {
        state.spawn(report_writes(
            health_reporter.clone(),
            writable,
            state.shutdown_signal(),
        ));
    }
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let directory = state.directory.current();
    info!(
        broker = %config.name,
        addr = ?listener.local_addr().ok(),
        directory_version = directory.version(),
        peers = ?relay::peers(&directory, &state.name),
        "broker serving"
    );
    relay::ensure_tasks(&state, &directory);
    crate::wakeups::start(&state);
    state.spawn(refresh::run(state.clone()));
    state.spawn(expiry::run(state.clone()));
    crate::metrics::start(&state, config).await?;
    // The listener is bound and the store open: a service manager may start what depends on us.
    let shutdown = trm_storage::notify::ready_when_armed(shutdown).await;
    let (stop_asked, stop_heard) = tokio::sync::oneshot::channel();
    let stopping = {
        let state = state.clone();
        async move {
            shutdown.await;
            trm_storage::notify::stopping();
            // Delivery streams and background tasks end now, so that the server's graceful
            // shutdown does not wait for long-lived streams.
            state.begin_shutdown();
            let _ = stop_asked.send(());
        }
    };
    // Streams a peer keeps open (a health watch) would hold a graceful shutdown forever.
    let grace_over = async move {
        if stop_heard.await.is_ok() {
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let incoming = listen::incoming(listener, tls, &config.network);
    let served = http2(&config.network)
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(broker)
        .add_service(peer)
        .add_service(prekeys)
        .serve_with_incoming_shutdown(incoming, stopping);
    let served = tokio::select! {
        served = served => served,
        () = grace_over => {
            warn!(broker = %config.name, "calls still open after the shutdown grace period were cut");
            Ok(())
        }
    };
    state.stop().await;
    served?;
    info!(broker = %config.name, "broker stopped");
    Ok(())
}

/// The services this process answers, the only ones reflection lists (the shared descriptor
/// set also holds the node's services).
const SERVED: [&str; 5] = [
    <pb::broker_server::BrokerServer<BrokerService> as NamedService>::NAME,
    <pb::broker_peer_server::BrokerPeerServer<BrokerPeerService> as NamedService>::NAME,
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// A reflection builder that knows every descriptor but lists only [`SERVED`].
fn reflection() -> tonic_reflection::server::Builder<'static> {
    SERVED.iter().fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
        |builder, name| builder.with_service_name(*name),
    )
}

/// The HTTP/2 server within the `[network]` limits. The request timeout bounds the time to a
/// response's headers, so it ends slow unary calls but not the delivery stream once open.
fn http2(network: &Network) -> Server {
    Server::builder()
        .timeout(network.request_timeout)
        .max_concurrent_streams(network.max_concurrent_streams)
        .http2_max_header_list_size(network.max_header_list_bytes)
        .max_frame_size(network.max_frame_bytes)
        .http2_keepalive_interval(Some(network.keepalive_interval))
        .http2_keepalive_timeout(Some(network.keepalive_timeout))
}

/// The health-service name of the write path (submissions and relayed intake): NOT_SERVING
/// while the store refuses writes after a storage fault, SERVING otherwise. Deliveries and the
/// directory keep the broker's other names SERVING.
pub const WRITES_HEALTH: &str = "trm.v1.Broker.writes";

/// Keeps [`WRITES_HEALTH`] in step with whether the store takes writes, until shutdown.
async fn report_writes(
    reporter: tonic_health::server::HealthReporter,
    mut writable: tokio::sync::watch::Receiver<bool>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let status = if *writable.borrow_and_update() {
            tonic_health::ServingStatus::Serving
        } else {
            tonic_health::ServingStatus::NotServing
        };
        reporter.set_service_status(WRITES_HEALTH, status).await;
        tokio::select! {
            changed = writable.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            () = crate::state::stopped(&mut shutdown) => return,
        }
    }
}
