//! Broker processes as the multi-instance tests run them: several `trm-broker` processes of one
//! broker name on one JetStream stream (or one process on its embedded store), each started
//! from a written configuration file, logging at info level to `<process>.log` in the test's
//! folder (appended to, so that a process restarted on the same configuration continues its
//! log), and the sender-side waits those tests share.
//!
//! Every process has the test relay backoff ([`trm_dev::local::TEST_RELAY_BACKOFF_INITIAL_MS`])
//! and checks every second whether an earlier endpoint of a peer answers again
//! (`network.failback_secs = 1`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tonic::transport::Channel;
use trm_broker::config::store::StoreFile;
use trm_dev::local::LocalFederation;
use trm_proto::pb::node_admin_client::NodeAdminClient;

use crate::fixtures;
use crate::process::{self, BrokerProcess};

/// One broker process: which broker it is, where it listens, its store and how it reaches
/// its peers.
#[derive(Debug, Clone)]
pub struct BrokerLaunch {
    /// The process's name in the test's folder: its configuration `<name>.toml`, its log
    /// `<name>.log` and its data folder `data/<name>`.
    pub process_name: String,
    /// The broker it is a process of (its certificate and key).
    pub broker: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// Its store; the embedded one if `None`.
    pub store: Option<StoreFile>,
    /// Endpoints of peer brokers that replace their directory entries: `(peer, endpoints)`.
    pub peer_endpoints: Vec<(String, Vec<String>)>,
}

/// A free port on 127.0.0.1, picked by the kernel and released for a process to take.
pub fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The log of process `process_name` in `dir`.
pub fn log_path(dir: &Path, process_name: &str) -> PathBuf {
    dir.join(format!("{process_name}.log"))
}

/// Writes the configuration of `launch` into `dir` and starts it from `program` (a test's
/// `CARGO_BIN_EXE_broker-process`), logging at info level to its log; returns once it accepts
/// connections.
pub async fn start_broker(
    program: &Path,
    dir: &Path,
    fed: &LocalFederation,
    launch: &BrokerLaunch,
) -> anyhow::Result<BrokerProcess> {
    let material = fed
        .federation
        .broker(&launch.broker)
        .with_context(|| format!("no broker {}", launch.broker))?
        .clone();
    let mut config = trm_dev::devfed::broker_config(
        &fed.federation,
        &material,
        launch.listen,
        dir.join("data").join(&launch.process_name),
    );
    if let Some(store) = &launch.store {
        config.store = store.clone();
    }
    for (peer, endpoints) in &launch.peer_endpoints {
        config
            .network
            .peer_endpoints
            .insert(peer.clone(), endpoints.clone().into());
    }
    config.relay_backoff_initial_ms = trm_dev::local::TEST_RELAY_BACKOFF_INITIAL_MS;
    config.relay_backoff_max_ms = trm_dev::local::TEST_RELAY_BACKOFF_MAX_MS;
    config.network.failback_secs = 1;
    let path = dir.join(format!("{}.toml", launch.process_name));
    std::fs::write(&path, toml::to_string(&config)?)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path(dir, &launch.process_name))?;
    process::spawn_broker_logging(program, &path, launch.listen, Stdio::from(log), "info").await
}

/// Waits until the sender's evidence shows each of `ids` delivered, and relayed too when
/// `relayed` is set (relayed before it was delivered).
pub async fn wait_delivered(
    client: &NodeAdminClient<Channel>,
    ids: &[String],
    relayed: bool,
    limit: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    for id in ids {
        let left = limit.saturating_sub(started.elapsed());
        fixtures::wait_for_step(client, id, "delivered", left).await?;
        if relayed {
            let steps = fixtures::steps(&mut client.clone(), id).await?;
            anyhow::ensure!(
                steps.iter().any(|s| s == "relayed"),
                "{id} delivered without a relayed step: {steps:?}"
            );
        }
    }
    Ok(())
}
