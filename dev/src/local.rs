//! A federation run inside one process on loopback: real brokers with mutual TLS, real node
//! daemons with their stores and admin sockets, each started and stopped independently. The
//! demo, the integration tests and the benchmarks use it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use trm_authority::Federation;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::pb::node_cases_client::NodeCasesClient;
use trm_storage::EndpointList;

use crate::spec::{AgreementSpec, BrokerSpec, FederationSpec, NodeSpec};
use crate::{devfed, socket};

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("task panicked")?
    }
}

/// A federation of in-process brokers and nodes under one folder.
pub struct LocalFederation {
    /// The generated certificates, keys and directory.
    pub federation: Federation,
    root: PathBuf,
    broker_addrs: HashMap<String, SocketAddr>,
    brokers: HashMap<String, Running>,
    broker_states: HashMap<String, Arc<trm_broker::BrokerState>>,
    nodes: HashMap<String, Running>,
}

/// Relay backoff and directory refresh of in-process brokers: small, so that tests of outages
/// and refreshes run in seconds.
pub const TEST_RELAY_BACKOFF_INITIAL_MS: u64 = 50;
/// See [`TEST_RELAY_BACKOFF_INITIAL_MS`].
pub const TEST_RELAY_BACKOFF_MAX_MS: u64 = 1_000;
/// See [`TEST_RELAY_BACKOFF_INITIAL_MS`].
pub const TEST_DIRECTORY_REFRESH_SECS: u64 = 1;
/// Periodic checkpoints of in-process nodes: rare, so that tests decide when checkpoints are
/// signed (`trm log checkpoint`) and count them exactly.
pub const TEST_CHECKPOINT_INTERVAL_SECS: u64 = 3600;

/// A federation spec: `(name, country, address)` brokers and `(address, organisation, type,
/// country)` nodes, with a sharing agreement for every kind between every two nodes (remove
/// some to test refusals).
pub fn spec(
    federation: &str,
    brokers: &[(&str, &str, SocketAddr)],
    nodes: &[(&str, &str, &str, &str)],
) -> FederationSpec {
    FederationSpec {
        federation: federation.to_owned(),
        validity_days: 30,
        brokers: brokers
            .iter()
            .map(|(name, country, addr)| BrokerSpec {
                name: (*name).to_owned(),
                country: (*country).to_owned(),
                endpoints: EndpointList::from(format!("https://{addr}")),
            })
            .collect(),
        nodes: nodes
            .iter()
            .map(|(address, organisation, kind, country)| NodeSpec {
                address: (*address).to_owned(),
                organisation: (*organisation).to_owned(),
                organisation_type: (*kind).to_owned(),
                country: (*country).to_owned(),
                services: vec!["shelter".into(), "legal_aid".into()],
                languages: vec!["en".into()],
                accepts_child_referrals: true,
            })
            .collect(),
        agreements: nodes
            .iter()
            .enumerate()
            .flat_map(|(i, (a, ..))| {
                nodes[i + 1..].iter().map(move |(b, ..)| AgreementSpec {
                    reference: format!("MoU {a} {b}"),
                    parties: [(*a).to_owned(), (*b).to_owned()],
                    kinds: vec!["all".into()],
                    valid_days: None,
                })
            })
            .collect(),
    }
}

impl LocalFederation {
    /// Reserves a loopback port for each broker, then generates the federation under `root`
    /// with those ports in the directory. `nodes` are `(address, organisation, type, country)`.
    pub async fn create(
        root: &Path,
        name: &str,
        brokers: &[(&str, &str)],
        nodes: &[(&str, &str, &str, &str)],
    ) -> anyhow::Result<Self> {
        Self::create_with(root, name, brokers, nodes, |_| {}).await
    }

    /// As [`LocalFederation::create`], letting `adjust` change the spec before generation.
    pub async fn create_with(
        root: &Path,
        name: &str,
        brokers: &[(&str, &str)],
        nodes: &[(&str, &str, &str, &str)],
        adjust: impl FnOnce(&mut FederationSpec),
    ) -> anyhow::Result<Self> {
        let mut broker_addrs = HashMap::new();
        // Every listener stays bound until all ports are chosen, so no two brokers get the same
        // one. They are closed before the brokers start: a bound port that nobody serves would
        // hang the nodes' connections instead of refusing them.
        let mut listeners = Vec::new();
        let mut reserved = Vec::new();
        for (broker, country) in brokers {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            broker_addrs.insert((*broker).to_owned(), addr);
            listeners.push(listener);
            reserved.push((*broker, *country, addr));
        }
        drop(listeners);
        let mut spec = spec(name, &reserved, nodes);
        adjust(&mut spec);
        let federation = crate::generate(&spec, &root.join("federation"))?;
        Ok(Self {
            federation,
            root: root.to_owned(),
            broker_addrs,
            brokers: HashMap::new(),
            broker_states: HashMap::new(),
            nodes: HashMap::new(),
        })
    }

    /// Where broker `name` keeps its database.
    pub fn broker_data_dir(&self, name: &str) -> PathBuf {
        self.root.join("data").join("brokers").join(name)
    }

    /// Where node `address` keeps its database.
    pub fn node_data_dir(&self, address: &str) -> PathBuf {
        self.root.join("data").join("nodes").join(address)
    }

    /// Node `address`'s admin socket.
    pub fn node_socket(&self, address: &str) -> PathBuf {
        self.root.join(format!("{address}.sock"))
    }

    /// Broker `name`'s loopback address.
    pub fn broker_addr(&self, name: &str) -> anyhow::Result<SocketAddr> {
        self.broker_addrs
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("no broker {name}"))
    }

    /// The validated configuration of broker `name`, with the short relay backoff and
    /// directory refresh intervals of [`TEST_RELAY_BACKOFF_INITIAL_MS`] and its siblings.
    pub fn broker_config(&self, name: &str) -> anyhow::Result<trm_broker::BrokerConfig> {
        let material = self
            .federation
            .broker(name)
            .ok_or_else(|| anyhow!("no broker {name}"))?;
        let mut file = devfed::broker_config(
            &self.federation,
            material,
            self.broker_addr(name)?,
            self.broker_data_dir(name),
        );
        file.relay_backoff_initial_ms = TEST_RELAY_BACKOFF_INITIAL_MS;
        file.relay_backoff_max_ms = TEST_RELAY_BACKOFF_MAX_MS;
        file.directory_refresh_secs = TEST_DIRECTORY_REFRESH_SECS;
        file.store = self.test_store()?;
        Ok(file.validate()?)
    }

    /// The `[store]` table `TRM_TEST_STORE` asks for: `embedded` (unset, the default) or
    /// `jetstream`, on the cluster `TRM_TEST_NATS` lists (comma-separated URLs), in a stream of
    /// this federation's own (its prefix comes from the federation's folder, so it is the same
    /// across a broker's restarts and differs between tests).
    fn test_store(&self) -> anyhow::Result<trm_broker::config::store::StoreFile> {
        use trm_broker::config::store::{StoreFile, StoreKind};
        match std::env::var("TRM_TEST_STORE").ok().as_deref() {
            None | Some("") | Some("embedded") => Ok(StoreFile::default()),
            Some("jetstream") => {
                let servers = std::env::var("TRM_TEST_NATS").map_err(|_| {
                    anyhow!(
                        "TRM_TEST_STORE=jetstream needs TRM_TEST_NATS, the URLs of a running \
                         NATS cluster (comma-separated)"
                    )
                })?;
                let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
                for byte in self.root.as_os_str().as_encoded_bytes() {
                    hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
                }
                Ok(StoreFile {
                    kind: StoreKind::JetStream,
                    servers: servers.split(',').map(str::to_owned).collect(),
                    stream_prefix: format!("T{hash:016x}"),
                    ..StoreFile::default()
                })
            }
            Some(other) => Err(anyhow!(
                "TRM_TEST_STORE is {other:?}: embedded or jetstream"
            )),
        }
    }

    /// The configuration file of node `address`, with periodic checkpoints every
    /// [`TEST_CHECKPOINT_INTERVAL_SECS`].
    pub fn node_config(&self, address: &str) -> anyhow::Result<trm_node::NodeConfigFile> {
        let material = self
            .federation
            .node(address)
            .ok_or_else(|| anyhow!("no node {address}"))?;
        let broker = material.address.broker();
        let mut file = devfed::node_config(
            &self.federation,
            material,
            format!("https://{}", self.broker_addr(broker.as_str())?),
            self.node_data_dir(address),
            self.node_socket(address),
        );
        file.checkpoint_interval_secs = TEST_CHECKPOINT_INTERVAL_SECS;
        Ok(file)
    }

    /// Starts broker `name` on its reserved port.
    pub async fn start_broker(&mut self, name: &str) -> anyhow::Result<()> {
        let config = self.broker_config(name)?;
        self.start_broker_with(name, config).await
    }

    /// Starts broker `name` with a configuration the caller adjusted.
    pub async fn start_broker_with(
        &mut self,
        name: &str,
        config: trm_broker::BrokerConfig,
    ) -> anyhow::Result<()> {
        let listener = TcpListener::bind(config.listen).await?;
        let store = trm_broker::store::open(&config).await?;
        let state = Arc::new(trm_broker::BrokerState::new(&config, store));
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                trm_broker::serve_state(listener, &config, state, async {
                    let _ = stopped.await;
                })
                .await
                .map_err(anyhow::Error::from)
            }
        });
        self.brokers.insert(name.to_owned(), Running { stop, task });
        self.broker_states.insert(name.to_owned(), state);
        Ok(())
    }

    /// The shared state of running broker `name`: its store, directory and relay status.
    /// Drop it before restarting the broker, which needs the store released.
    pub fn broker_state(&self, name: &str) -> anyhow::Result<Arc<trm_broker::BrokerState>> {
        self.broker_states
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow!("broker {name} is not running"))
    }

    /// Stops broker `name` gracefully.
    pub async fn stop_broker(&mut self, name: &str) -> anyhow::Result<()> {
        self.broker_states.remove(name);
        match self.brokers.remove(name) {
            Some(running) => running.stop().await,
            None => Err(anyhow!("broker {name} is not running")),
        }
    }

    /// Starts node `address`; its admin socket accepts connections when this returns.
    pub async fn start_node(&mut self, address: &str) -> anyhow::Result<()> {
        let config = self.node_config(address)?;
        self.start_node_with(address, config).await
    }

    /// Starts node `address` with a configuration the caller adjusted.
    pub async fn start_node_with(
        &mut self,
        address: &str,
        config: trm_node::NodeConfigFile,
    ) -> anyhow::Result<()> {
        let config = config.validate()?;
        let store = trm_node::store::NodeStore::open(&config.data_dir)?;
        let listener = trm_node::daemon::bind_admin_socket(&config.admin_socket)?;
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            trm_node::serve(config, store, listener, async {
                let _ = stopped.await;
            })
            .await
            .map_err(anyhow::Error::from)
        });
        self.nodes
            .insert(address.to_owned(), Running { stop, task });
        Ok(())
    }

    /// Stops node `address` gracefully.
    pub async fn stop_node(&mut self, address: &str) -> anyhow::Result<()> {
        match self.nodes.remove(address) {
            Some(running) => running.stop().await,
            None => Err(anyhow!("node {address} is not running")),
        }
    }

    /// An admin client for node `address`.
    pub async fn client(&self, address: &str) -> anyhow::Result<NodeAdminClient<Channel>> {
        socket::connect(&self.node_socket(address)).await
    }

    /// A cases client connected to `address`'s admin socket.
    pub async fn cases_client(&self, address: &str) -> anyhow::Result<NodeCasesClient<Channel>> {
        socket::connect_cases(&self.node_socket(address)).await
    }

    /// Stops everything.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        for node in nodes {
            self.stop_node(&node).await?;
        }
        let brokers: Vec<String> = self.brokers.keys().cloned().collect();
        for broker in brokers {
            self.stop_broker(&broker).await?;
        }
        Ok(())
    }
}
