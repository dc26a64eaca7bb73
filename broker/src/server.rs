//! Serving: TLS with required client certificates, the broker service, gRPC health and
//! reflection, and graceful shutdown. The caller binds the listener (tests bind port 0).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::info;
use trm_proto::pb;

use crate::config::BrokerConfig;
use crate::service::BrokerService;
use crate::state::BrokerState;
use crate::store::{BrokerStore, StoreError};

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
}

/// Extra bytes allowed on the wire above the envelope limit, so an envelope just over the
/// limit gets the broker's precise error rather than the transport's.
const FRAME_SLACK: usize = 64 * 1024;

/// Opens the store and serves until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let store = BrokerStore::open(&config.data_dir)?;
    serve(listener, config, store, shutdown).await
}

/// Serves an already opened store until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    config: BrokerConfig,
    store: BrokerStore,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(
            &config.tls_cert_pem,
            &config.tls_key_pem,
        ))
        .client_ca_root(Certificate::from_pem(&config.ca_pem));
    let state = Arc::new(BrokerState::new(
        config.name.clone(),
        config.signing_key.clone(),
        config.directory.clone(),
        store,
        config.max_envelope_bytes,
    ));
    let broker = pb::broker_server::BrokerServer::new(BrokerService::new(state))
        .max_decoding_message_size(config.max_envelope_bytes + FRAME_SLACK);

    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<pb::broker_server::BrokerServer<BrokerService>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    info!(
        broker = %config.name,
        addr = ?listener.local_addr().ok(),
        directory_version = config.directory.version(),
        "broker serving"
    );
    Server::builder()
        .tls_config(tls)?
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(broker)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    info!(broker = %config.name, "broker stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
