//! The node daemon: opens the store (verifying the handover log), keeps the broker connection
//! (outbox and delivery tasks), signs periodic checkpoints and serves `trm` on a Unix socket
//! until shutdown.

use std::future::Future;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Server;
use tracing::{info, warn};
use trm_proto::pb;

use crate::admin::AdminService;
use crate::checkpointer::CheckpointerError;
use crate::config::NodeConfig;
use crate::connect;
use crate::error::NodeError;
use crate::node::Node;
use crate::store::{NodeStore, StoreError};
use crate::{inbound, outbox};

/// Why the daemon stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The admin socket could not be bound.
    #[error("cannot bind admin socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The directory in use could not be kept in the data folder.
    #[error(transparent)]
    Directory(#[from] crate::refresh::RefreshError),
    /// The broker channel or the admin server failed.
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The channel to the broker cannot be set up.
    #[error(transparent)]
    Connect(#[from] connect::ConnectError),
    /// The metrics page cannot be served.
    #[error(transparent)]
    Metrics(#[from] trm_storage::exposition::serve::ServeError),
    /// The HTTP API cannot be served.
    #[error(transparent)]
    Http(#[from] crate::http::server::ServeError),
    /// The node was restored from a backup and not taken over yet.
    #[error(transparent)]
    Restored(#[from] crate::backup::marker::MarkerError),
}

/// Binds the admin socket, readable and writable by the node's own user only: file
/// permissions are the access control. There is no moment at which others could connect: the
/// socket is bound inside a fresh private (0700) folder beside its path, made 0600 there, and
/// only then renamed into place.
pub fn bind_admin_socket(path: &Path) -> Result<UnixListener, DaemonError> {
    let socket_error = |source| DaemonError::Socket {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        // A socket left behind by a previous run; a live daemon would still hold the database lock.
        std::fs::remove_file(path).map_err(socket_error)?;
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let staging = parent.join(format!(".trm-socket-{:016x}", rand::random::<u64>()));
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&staging)
        .map_err(socket_error)?;
    let staged = staging.join("s");
    let bound = UnixListener::bind(&staged).and_then(|listener| {
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&staged, path)?;
        Ok(listener)
    });
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&staging);
    bound.map_err(socket_error)
}

/// Signs a checkpoint every `interval` if the log grew (never of the empty log), so that receipts carry a recent one for
/// partners to witness (see [`crate::witness`]).
async fn checkpoints(node: Arc<Node>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return,
        }
        match node.checkpoint().await {
            Ok(signed) if signed.signed_now => {
                info!(size = signed.checkpoint.size, "periodic checkpoint signed");
            }
            Ok(_) | Err(NodeError::Checkpoint(CheckpointerError::Empty)) => {}
            Err(e) => warn!(cause = %e, "periodic checkpoint failed"),
        }
    }
}

/// Opens the store and runs the node until `shutdown` completes.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    crate::backup::marker::check(&config.data_dir)?;
    let store = NodeStore::open_with(&config.data_dir, config.engine)?;
    let listener = bind_admin_socket(&config.admin_socket)?;
    serve(config, store, listener, shutdown).await
}

/// Runs the node on an opened store and a bound admin socket until `shutdown` completes.
pub async fn serve(
    config: NodeConfig,
    store: NodeStore,
    listener: UnixListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    let node = Arc::new(Node::new(&config, store));
    // Recovers the store by itself after a full or failing disk.
    let recovery = tokio::spawn(node.store().recovery());
    crate::refresh::load_adopted(&node)?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let broker_channel = connect::broker_channel(&config, node.pins().clone())?;
    let dial_config = config.clone();
    let dial_pins = node.pins().clone();
    let sources = crate::refresh::Sources::new(
        broker_channel.clone(),
        Arc::new(move |broker: &trm_proto::directory::BrokerInfo| {
            connect::channel_to(
                &dial_config,
                dial_pins.clone(),
                &broker.name,
                &broker.endpoints,
            )
        }),
        config.directory_expiry_warning,
    );
    if let Some(addr) = config.metrics_listen {
        let listener = trm_storage::exposition::serve::start(addr, &config.data_dir).await?;
        tasks.push(tokio::spawn(crate::metrics::serve(
            node.clone(),
            listener,
            stopped.clone(),
        )));
    }
    if let Some(settings) = &config.http {
        let acceptor = crate::http::server::acceptor(settings)?;
        let listener = crate::http::server::bind(settings, &config.data_dir).await?;
        let api = Arc::new(crate::http::Api {
            admin: AdminService::new(node.clone(), sources.clone()),
            cases: crate::case_admin::CasesService::new(node.clone()),
            accounts: crate::accounts::rpc::AccountsService::new(node.clone()),
            webhooks: crate::webhooks::service::WebhooksService::new(node.clone()),
            node: node.clone(),
            max_body_bytes: settings.max_body_bytes,
        });
        tasks.push(tokio::spawn(crate::http::server::serve(
            listener,
            acceptor,
            crate::http::router(api),
            stopped.clone(),
        )));
    }
    // Listened for whatever the log's state, so that a SIGHUP never ends the node.
    tasks.push(tokio::spawn(crate::reload::on_hangup(
        node.clone(),
        config.directory_file.clone(),
        stopped.clone(),
    )));
    if node.log_broken().is_none() {
        let channel = broker_channel.clone();
        node.content_keys().connect(channel.clone());
        let published = crate::epochs::publish::first(&node).await;
        tasks.push(tokio::spawn(crate::epochs::publish::run(
            node.clone(),
            config.content_keys.epoch_ms(),
            published,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(outbox::run(
            node.clone(),
            channel.clone(),
            sources.clone(),
            config.outbox_window,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(crate::refresh::run(
            node.clone(),
            sources.clone(),
            config.directory_refresh,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(crate::maintenance::run(
            node.clone(),
            config.maintenance_interval,
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(inbound::run(
            node.clone(),
            sources.clone(),
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(crate::webhooks::worker::run(
            node.clone(),
            stopped.clone(),
        )));
        tasks.push(tokio::spawn(checkpoints(
            node.clone(),
            config.checkpoint_interval,
            stopped,
        )));
    } else {
        warn!("handover log is broken: not connecting to the broker; `trm log verify` shows where");
    }
    info!(node = %config.keys.address, socket = %config.admin_socket.display(), "node running");
    // The store is open and the admin socket bound: a service manager may start `trm` users.
    let shutdown = trm_storage::notify::ready_when_armed(shutdown).await;
    let shutdown = async {
        shutdown.await;
        trm_storage::notify::stopping();
    };
    // A send request or a message shown carries its attachments: allow what the limits allow.
    let admin_bytes = crate::attachments::admin_message_bytes(config.max_envelope_bytes);
    let result = Server::builder()
        .add_service(pb::node_cases_server::NodeCasesServer::new(
            crate::case_admin::CasesService::new(node.clone()),
        ))
        .add_service(pb::node_accounts_server::NodeAccountsServer::new(
            crate::accounts::rpc::AccountsService::new(node.clone()),
        ))
        .add_service(pb::node_webhooks_server::NodeWebhooksServer::new(
            crate::webhooks::service::WebhooksService::new(node.clone()),
        ))
        .add_service(pb::node_backup_server::NodeBackupServer::new(
            crate::backup::service::BackupService::new(node.clone()),
        ))
        .add_service(
            pb::node_admin_server::NodeAdminServer::new(AdminService::new(node, sources))
                .max_decoding_message_size(admin_bytes),
        )
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    let _ = stop.send(true);
    recovery.abort();
    for task in tasks {
        let _ = task.await;
    }
    let _ = std::fs::remove_file(&config.admin_socket);
    if config.http.is_some() {
        crate::http::server::forget(&config.data_dir);
    }
    info!(node = %config.keys.address, "node stopped");
    Ok(result?)
}
