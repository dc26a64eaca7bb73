//! The federation the fault tool runs: two brokers (`at`, `rs`) and two organisations on each,
//! every one a real process started from its program on a written configuration file, killed
//! with SIGKILL and started again at will. Each broker's peer reaches it through a link proxy
//! (its directory endpoint is the proxy's port), and each broker's store may sit on its own
//! small tmpfs.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, anyhow};
use tonic::transport::Channel;
use trm_dev::local::LocalFederation;
use trm_proto::pb::node_admin_client::NodeAdminClient;

use super::disk::Tmpfs;
use super::link::Link;
use crate::process::{self, BrokerProcess, NodeProcess};

/// The brokers: `(name, country)`.
pub const BROKERS: [(&str, &str); 2] = [("at", "AT"), ("rs", "RS")];

/// The organisations: `(address, organisation, type, country)`.
pub const NODES: [(&str, &str, &str, &str); 4] = [
    ("lefoe-ibf@at", "LEFÖ-IBF", "ngo", "AT"),
    ("men-via@at", "MEN VIA", "ngo", "AT"),
    ("astra@rs", "Astra", "ngo", "RS"),
    ("atina@rs", "Atina", "ngo", "RS"),
];

/// Who sends referrals to whom: every route crosses the link between the brokers.
pub const ROUTES: [(&str, &str); 4] = [
    ("lefoe-ibf@at", "astra@rs"),
    ("men-via@at", "atina@rs"),
    ("astra@rs", "lefoe-ibf@at"),
    ("atina@rs", "men-via@at"),
];

/// Size of each broker's tmpfs, MiB: small enough to fill in a moment, large enough for a long
/// run's store.
const TMPFS_MIB: u64 = 256;
/// The brokers' free-space watermark, scaled to the tmpfs.
const MIN_FREE_BYTES: u64 = 16 << 20;

/// The programs to run.
#[derive(Clone, Debug)]
pub struct Programs {
    /// The `trm-broker` program.
    pub broker: PathBuf,
    /// The `trm-node` program.
    pub node: PathBuf,
}

impl Programs {
    /// The programs built beside the running one (`broker-process` and `node-process`).
    pub fn beside_current() -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let dir = exe.parent().context("the program has no folder")?;
        Ok(Self {
            broker: dir.join("broker-process"),
            node: dir.join("node-process"),
        })
    }
}

/// The running federation.
pub struct Cluster {
    /// The generated federation: material, data folders, sockets.
    pub fed: LocalFederation,
    /// Where each broker listens (its nodes connect there; its peer through its link).
    listen: BTreeMap<String, SocketAddr>,
    root: PathBuf,
    programs: Programs,
    brokers: BTreeMap<String, Option<BrokerProcess>>,
    nodes: BTreeMap<String, Option<NodeProcess>>,
    /// The link proxies: each broker's inbound link from its peer, by broker name.
    pub links: BTreeMap<String, Link>,
    /// The brokers' stores on tmpfs, by broker name; empty when mounting is impossible.
    pub disks: BTreeMap<String, Tmpfs>,
    /// Why the stores are not on tmpfs, when they are not.
    pub no_disks: Option<String>,
}

impl Cluster {
    /// Generates the federation under `root`, mounts a tmpfs for each broker's store when
    /// `mount` is set and it can, starts the link proxies, the brokers and the nodes.
    pub async fn start(root: &Path, programs: Programs, mount: bool) -> anyhow::Result<Self> {
        // Each broker's own port stays reserved until the federation is generated (which
        // reserves ports of its own that nothing here uses); its peer reaches it through the
        // proxy in front of that port, named as its endpoint in the directory.
        let reserved = BROKERS
            .iter()
            .map(|(name, _)| {
                Ok((
                    (*name).to_owned(),
                    std::net::TcpListener::bind("127.0.0.1:0")?,
                ))
            })
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        let mut listen = BTreeMap::new();
        let mut links = BTreeMap::new();
        for (name, listener) in &reserved {
            let addr = listener.local_addr()?;
            listen.insert(name.clone(), addr);
            links.insert(name.clone(), Link::start(addr).await?);
        }
        let endpoints: BTreeMap<String, String> = links
            .iter()
            .map(|(name, link)| (name.clone(), link.endpoint()))
            .collect();
        let fed = LocalFederation::create_with(root, "trm-faults", &BROKERS, &NODES, |spec| {
            for broker in &mut spec.brokers {
                if let Some(endpoint) = endpoints.get(&broker.name) {
                    broker.endpoints = endpoint.as_str().into();
                }
            }
        })
        .await?;
        drop(reserved);
        std::fs::create_dir_all(root.join("logs"))?;
        std::fs::create_dir_all(root.join("config"))?;
        let mut cluster = Self {
            fed,
            listen,
            root: root.to_owned(),
            programs,
            brokers: BTreeMap::new(),
            nodes: BTreeMap::new(),
            links,
            disks: BTreeMap::new(),
            no_disks: None,
        };
        if mount {
            cluster.mount_disks();
        } else {
            cluster.no_disks = Some("not asked for".into());
        }
        cluster.write_configs()?;
        for (name, _) in BROKERS {
            cluster.start_broker(name).await?;
        }
        for (address, ..) in NODES {
            cluster.start_node(address).await?;
        }
        Ok(cluster)
    }

    fn mount_disks(&mut self) {
        for (name, _) in BROKERS {
            let dir = self.fed.broker_data_dir(name);
            match Tmpfs::mount(&dir, TMPFS_MIB) {
                Ok(tmpfs) => {
                    self.disks.insert(name.to_owned(), tmpfs);
                }
                Err(e) => {
                    self.no_disks = Some(e.to_string());
                    self.disks.clear();
                    return;
                }
            }
        }
    }

    fn broker_config_path(&self, name: &str) -> PathBuf {
        self.root.join("config").join(format!("{name}.broker.toml"))
    }

    fn node_config_path(&self, address: &str) -> PathBuf {
        self.root
            .join("config")
            .join(format!("{address}.node.toml"))
    }

    /// Where broker `name` listens.
    fn listen_addr(&self, name: &str) -> anyhow::Result<SocketAddr> {
        self.listen
            .get(name)
            .copied()
            .ok_or_else(|| anyhow!("no broker {name}"))
    }

    fn write_configs(&self) -> anyhow::Result<()> {
        for (name, _) in BROKERS {
            let material = self
                .fed
                .federation
                .broker(name)
                .ok_or_else(|| anyhow!("no broker {name}"))?;
            let mut config = trm_dev::devfed::broker_config(
                &self.fed.federation,
                material,
                self.listen_addr(name)?,
                self.fed.broker_data_dir(name),
            );
            // The store's filesystem is small: the free-space watermark is scaled down to it,
            // so that envelopes are refused only when the disk is (nearly) full.
            config.quotas.min_free_disk_bytes = MIN_FREE_BYTES;
            config.quotas.min_free_disk_percent = 0;
            std::fs::write(self.broker_config_path(name), toml::to_string(&config)?)?;
        }
        for (address, ..) in NODES {
            let mut config = self.fed.node_config(address)?;
            let broker = address.rsplit('@').next().unwrap_or_default();
            config.broker_endpoint = format!("https://{}", self.listen_addr(broker)?).into();
            std::fs::write(self.node_config_path(address), toml::to_string(&config)?)?;
        }
        Ok(())
    }

    fn log(&self, name: &str) -> anyhow::Result<Stdio> {
        let path = self.root.join("logs").join(format!("{name}.log"));
        Ok(Stdio::from(
            File::options().create(true).append(true).open(path)?,
        ))
    }

    /// Starts broker `name` (its earlier process, if any, is killed first).
    pub async fn start_broker(&mut self, name: &str) -> anyhow::Result<()> {
        self.kill_broker(name)?;
        let process = process::spawn_broker(
            &self.programs.broker,
            &self.broker_config_path(name),
            self.listen_addr(name)?,
            self.log(name)?,
        )
        .await
        .with_context(|| format!("starting broker {name}"))?;
        self.brokers.insert(name.to_owned(), Some(process));
        Ok(())
    }

    /// Kills broker `name` with SIGKILL, if it runs.
    pub fn kill_broker(&mut self, name: &str) -> anyhow::Result<()> {
        if let Some(mut process) = self.brokers.get_mut(name).and_then(Option::take) {
            process.kill()?;
        }
        Ok(())
    }

    /// Starts node `address` (its earlier process, if any, is killed first).
    pub async fn start_node(&mut self, address: &str) -> anyhow::Result<()> {
        self.kill_node(address)?;
        let process = process::spawn_node(
            &self.programs.node,
            &self.node_config_path(address),
            &self.fed.node_socket(address),
            self.log(address)?,
        )
        .await
        .with_context(|| format!("starting node {address}"))?;
        self.nodes.insert(address.to_owned(), Some(process));
        Ok(())
    }

    /// Kills node `address` with SIGKILL, if it runs.
    pub fn kill_node(&mut self, address: &str) -> anyhow::Result<()> {
        if let Some(mut process) = self.nodes.get_mut(address).and_then(Option::take) {
            process.kill()?;
        }
        Ok(())
    }

    /// What an operator does when the federation is stuck: every link back to passing, every
    /// process killed and started again.
    pub async fn restart_all(&mut self) -> anyhow::Result<()> {
        for link in self.links.values() {
            link.heal();
        }
        for (name, _) in BROKERS {
            self.start_broker(name).await?;
        }
        for (address, ..) in NODES {
            self.start_node(address).await?;
        }
        Ok(())
    }

    /// Kills every process.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        for (address, ..) in NODES {
            self.kill_node(address)?;
        }
        for (name, _) in BROKERS {
            self.kill_broker(name)?;
        }
        Ok(())
    }

    /// An admin client for node `address`, over its socket.
    pub async fn client(&self, address: &str) -> anyhow::Result<NodeAdminClient<Channel>> {
        self.fed.client(address).await
    }

    /// The run's folder: configurations, logs, data.
    pub fn root(&self) -> &Path {
        &self.root
    }
}
