//! The federation the load tool measures: the test federation's broker and nodes as real
//! processes on loopback, each on a configuration written for load (quotas high enough that
//! nothing is refused for volume), started and stopped at will, with their memory and the CPU
//! time they have used read from `/proc`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, anyhow};
use tonic::transport::Channel;
use trm_broker::config::store::StoreFile;
use trm_dev::local::LocalFederation;
use trm_proto::pb::broker_client::BrokerClient;
use trm_proto::pb::node_admin_client::NodeAdminClient;

use crate::faults::cluster::Programs;
use crate::fixtures::{self, BROKER};
use crate::process::{self, BrokerProcess, NodeProcess};

/// A federation of processes under `root`.
pub struct Cluster {
    /// The generated federation: material, data folders, sockets.
    pub fed: LocalFederation,
    root: PathBuf,
    programs: Programs,
    broker: Option<BrokerProcess>,
    nodes: BTreeMap<String, NodeProcess>,
}

impl Cluster {
    /// Generates the test federation under `root` and writes its configurations, the broker on
    /// the embedded store; nothing runs.
    pub async fn create(root: &Path, programs: Programs) -> anyhow::Result<Self> {
        Self::create_on(root, programs, &StoreFile::default()).await
    }

    /// [`Cluster::create`] with the broker on the store `store` names.
    pub async fn create_on(
        root: &Path,
        programs: Programs,
        store: &StoreFile,
    ) -> anyhow::Result<Self> {
        let fed = fixtures::federation(root).await?;
        std::fs::create_dir_all(root.join("logs"))?;
        std::fs::create_dir_all(root.join("config"))?;
        let cluster = Self {
            fed,
            root: root.to_owned(),
            programs,
            broker: None,
            nodes: BTreeMap::new(),
        };
        cluster.write_configs(store)?;
        Ok(cluster)
    }

    /// The broker's configuration file (the ceiling reads its TLS material from it too).
    pub fn broker_config_path(&self) -> PathBuf {
        self.root.join("config").join("broker.toml")
    }

    fn node_config_path(&self, address: &str) -> PathBuf {
        self.root
            .join("config")
            .join(format!("{address}.node.toml"))
    }

    fn write_configs(&self, store: &StoreFile) -> anyhow::Result<()> {
        let material = self
            .fed
            .federation
            .broker(BROKER)
            .ok_or_else(|| anyhow!("no broker {BROKER}"))?;
        let mut config = trm_dev::devfed::broker_config(
            &self.fed.federation,
            material,
            self.fed.broker_addr(BROKER)?,
            self.fed.broker_data_dir(BROKER),
        );
        // Volume is what is measured: no quota may refuse it.
        let quotas = &mut config.quotas;
        quotas.max_queued_per_node = 100_000_000;
        quotas.max_queued_bytes_per_node = 1 << 40;
        quotas.submissions_per_minute = 100_000_000;
        quotas.submission_burst = 100_000_000;
        quotas.min_free_disk_bytes = 0;
        quotas.min_free_disk_percent = 0;
        config.network.max_connections_per_address = 1024;
        config.network.max_concurrent_streams = 1024;
        config.store = store.clone();
        std::fs::write(self.broker_config_path(), toml::to_string(&config)?)?;
        for (address, ..) in fixtures::NODES {
            let config = self.fed.node_config(address)?;
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

    /// Starts the broker (its earlier process, if any, is killed first).
    pub async fn start_broker(&mut self) -> anyhow::Result<()> {
        self.broker = None;
        // Warnings only, unless `TRM_LOAD_BROKER_LOG` asks for more (a log filter, `info`).
        let filter = std::env::var("TRM_LOAD_BROKER_LOG").unwrap_or_else(|_| "warn".into());
        let process = process::spawn_broker_logging(
            &self.programs.broker,
            &self.broker_config_path(),
            self.fed.broker_addr(BROKER)?,
            self.log(BROKER)?,
            &filter,
        )
        .await
        .context("starting the broker")?;
        self.broker = Some(process);
        Ok(())
    }

    /// Starts node `address` (its earlier process, if any, is killed first).
    pub async fn start_node(&mut self, address: &str) -> anyhow::Result<()> {
        self.stop_node(address);
        let process = process::spawn_node(
            &self.programs.node,
            &self.node_config_path(address),
            &self.fed.node_socket(address),
            self.log(address)?,
        )
        .await
        .with_context(|| format!("starting node {address}"))?;
        self.nodes.insert(address.to_owned(), process);
        Ok(())
    }

    /// Kills node `address` (SIGKILL: everything it acknowledged is on disk), if it runs.
    pub fn stop_node(&mut self, address: &str) {
        self.nodes.remove(address);
    }

    /// The broker's process id.
    pub fn broker_pid(&self) -> anyhow::Result<u32> {
        self.broker
            .as_ref()
            .map(BrokerProcess::id)
            .context("the broker is not running")
    }

    /// Node `address`'s process id.
    pub fn node_pid(&self, address: &str) -> anyhow::Result<u32> {
        self.nodes
            .get(address)
            .map(NodeProcess::id)
            .with_context(|| format!("node {address} is not running"))
    }

    /// An admin client for node `address`, over its socket.
    pub async fn client(&self, address: &str) -> anyhow::Result<NodeAdminClient<Channel>> {
        self.fed.client(address).await
    }

    /// A broker client speaking as node `address` over mutual TLS, with its certificate.
    pub async fn broker_client_as(&self, address: &str) -> anyhow::Result<BrokerClient<Channel>> {
        fixtures::raw_client_as(&self.fed, address).await
    }
}

/// A process's memory: what it holds now and the most it held, in KiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set since the process started.
    pub peak_kib: u64,
}

/// Reads process `pid`'s resident memory from `/proc/<pid>/status`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading the memory of process {pid}"))?;
    parse_memory(&status).with_context(|| format!("process {pid} shows no resident memory"))
}

/// `VmRSS` and `VmHWM` from the text of a `/proc/<pid>/status` file.
fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
    })
}

/// The CPU time process `pid` has used, user and system, all its threads (those that ended
/// too), from `/proc/<pid>/stat`.
pub fn cpu(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading the CPU time of process {pid}"))?;
    let ticks = parse_cpu_ticks(&stat)
        .with_context(|| format!("process {pid}'s stat shows no CPU time"))?;
    let per_second = rustix::param::clock_ticks_per_second();
    if per_second == 0 {
        anyhow::bail!("the system gives no clock tick rate");
    }
    Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// `utime` + `stime` (fields 14 and 15, in clock ticks) from the text of a `/proc/<pid>/stat`
/// file. The command name (field 2) is in parentheses and may hold spaces and parentheses
/// itself: the fields are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name come field 3 (the state) onward: fields 14 and 15 are the 12th and 13th.
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 \
                    731 269 0 0 20 0 12 0 5000 1000000 2000 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(1000));
        assert_eq!(parse_cpu_ticks("4242 (broker) S 1 2 3"), None);
        assert_eq!(parse_cpu_ticks("no name here"), None);
    }

    #[test]
    fn this_process_uses_cpu_time() -> anyhow::Result<()> {
        // Spins until the count moves (a tick is 10 ms on Linux), for at most five seconds.
        let before = cpu(std::process::id())?;
        let started = std::time::Instant::now();
        let mut spin = 0u64;
        while cpu(std::process::id())? == before && started.elapsed() < Duration::from_secs(5) {
            for _ in 0..100_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        assert!(cpu(std::process::id())? > before);
        Ok(())
    }

    #[test]
    fn memory_is_read_from_the_status_text() {
        let status = "Name:\ttrm-broker\nVmHWM:\t  250880 kB\nVmRSS:\t   20480 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 20_480,
                peak_kib: 250_880
            })
        );
        assert_eq!(parse_memory("Name:\tx\nVmRSS:\tlots\n"), None);
    }

    #[test]
    fn this_process_has_memory() -> anyhow::Result<()> {
        let own = memory(std::process::id())?;
        assert!(own.rss_kib > 0 && own.peak_kib >= own.rss_kib);
        Ok(())
    }
}
