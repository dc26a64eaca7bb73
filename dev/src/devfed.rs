//! Configuration files for a generated development federation: one `broker.toml` per broker
//! and one `node.toml` per node, pointing at the certificates and keys `trm-dev generate` wrote.
//! `trm dev-federation` and `trm-dev generate` write them, with file names relative to each
//! configuration file's folder, so the daemons start from any folder and the federation folder
//! can be moved; the demo and the integration tests build the same configurations in memory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use trm_authority::{BrokerMaterial, Federation, NodeMaterial, files};
use trm_broker::BrokerConfigFile;
use trm_node::NodeConfigFile;
use trm_storage::EndpointList;
use trm_storage::config::RelativePaths;

/// The authority's public key as configuration files pin it.
pub fn authority_key_hex(federation: &Federation) -> String {
    hex::encode(federation.authority.verifying_key().to_bytes())
}

/// The configuration of `broker`, listening on `listen`, keeping its data in `data_dir`.
pub fn broker_config(
    federation: &Federation,
    broker: &BrokerMaterial,
    listen: SocketAddr,
    data_dir: PathBuf,
) -> BrokerConfigFile {
    BrokerConfigFile {
        name: broker.name.to_string(),
        listen: listen.to_string(),
        data_dir,
        tls_cert: broker.dir.join(files::TLS_CERT),
        tls_key: broker.dir.join(files::TLS_KEY),
        ca_cert: federation.dir.join(files::CA_CERT),
        signing_key: broker.dir.join(files::SIGNING_KEY),
        directory: federation.dir.join(files::DIRECTORY),
        authority_key: authority_key_hex(federation),
        federation: federation.federation.clone(),
        max_envelope_bytes: trm_broker::config::DEFAULT_MAX_ENVELOPE_BYTES,
        relay_backoff_initial_ms: trm_broker::config::DEFAULT_RELAY_BACKOFF_INITIAL_MS,
        relay_backoff_max_ms: trm_broker::config::DEFAULT_RELAY_BACKOFF_MAX_MS,
        directory_refresh_secs: trm_broker::config::DEFAULT_DIRECTORY_REFRESH_SECS,
        relay_log_retention_days: trm_broker::config::DEFAULT_RELAY_LOG_RETENTION_DAYS,
        cache_mib: trm_storage::open::DEFAULT_CACHE_BYTES >> 20,
        quotas: trm_broker::quota::QuotaSettings::default(),
        network: trm_broker::config::NetworkFile::default(),
        metrics: Default::default(),
        store: Default::default(),
    }
}

/// The configuration of `node`, reaching its broker at `broker_endpoint` (one endpoint or
/// several, the preferred first).
pub fn node_config(
    federation: &Federation,
    node: &NodeMaterial,
    broker_endpoint: impl Into<EndpointList>,
    data_dir: PathBuf,
    admin_socket: PathBuf,
) -> NodeConfigFile {
    NodeConfigFile {
        address: node.address.to_string(),
        data_dir,
        admin_socket,
        broker_endpoint: broker_endpoint.into(),
        broker_failback_secs: trm_node::config::DEFAULT_BROKER_FAILBACK_SECS,
        tls_cert: node.dir.join(files::TLS_CERT),
        tls_key: node.dir.join(files::TLS_KEY),
        ca_cert: federation.dir.join(files::CA_CERT),
        signing_key: node.dir.join(files::SIGNING_KEY),
        age_key: node.dir.join(files::AGE_KEY),
        directory: federation.dir.join(files::DIRECTORY),
        authority_key: authority_key_hex(federation),
        federation: federation.federation.clone(),
        message_ttl_secs: trm_node::config::DEFAULT_MESSAGE_TTL_SECS,
        max_envelope_bytes: trm_broker::config::DEFAULT_MAX_ENVELOPE_BYTES,
        directory_refresh_secs: 300,
        directory_expiry_warning_days: trm_node::config::DEFAULT_DIRECTORY_EXPIRY_WARNING_DAYS,
        deadlines: trm_node::deadlines::Deadlines::default(),
        retention_days: trm_node::config::DEFAULT_RETENTION_DAYS,
        maintenance_interval_secs: 60,
        checkpoint_interval_secs: trm_node::config::DEFAULT_CHECKPOINT_INTERVAL_SECS,
        cache_mib: trm_storage::open::DEFAULT_CACHE_BYTES >> 20,
        attachments: trm_node::attachments::AttachmentLimits::default(),
        backup: trm_node::backup::BackupSettings::default(),
        metrics: Default::default(),
        webhooks: Default::default(),
        outbox: Default::default(),
        http: Default::default(),
        accounts: Default::default(),
        content_keys: Default::default(),
    }
}

/// Where a broker listens, from its directory endpoint `https://host:port`.
pub fn listen_address(endpoint: &str) -> Option<SocketAddr> {
    endpoint
        .strip_prefix("https://")?
        .trim_end_matches('/')
        .parse()
        .ok()
}

/// `target` as seen from the folder `base`: `../../ca.pem` from `fed/brokers/at` for
/// `fed/ca.pem`. Both are made absolute first (from the current folder); `target` itself when
/// they share no root.
pub fn relative_to(base: &Path, target: &Path) -> PathBuf {
    let (Ok(base), Ok(target)) = (std::path::absolute(base), std::path::absolute(target)) else {
        return target.to_owned();
    };
    let base: Vec<_> = base.components().collect();
    let target: Vec<_> = target.components().collect();
    let common = base.iter().zip(&target).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return target.iter().collect();
    }
    let mut relative = PathBuf::new();
    for _ in common..base.len() {
        relative.push("..");
    }
    relative.extend(target.iter().skip(common));
    relative
}

/// Writes `config` as TOML to `path`, its file names relative to `path`'s folder.
fn write_config<T: RelativePaths + serde::Serialize>(
    mut config: T,
    path: &Path,
) -> anyhow::Result<()> {
    let folder = path.parent().unwrap_or_else(|| Path::new(""));
    for name in config.paths_mut() {
        *name = relative_to(folder, name);
    }
    std::fs::write(path, toml::to_string_pretty(&config)?)?;
    Ok(())
}

/// Writes `broker.toml` and `node.toml` files for every broker and node, with data and
/// sockets under `run_dir`, every file name relative to the configuration's folder. Returns
/// the files written. A broker listens at its first endpoint (the development federation runs
/// one instance of each); its nodes are given every endpoint it lists.
pub fn write_configs(federation: &Federation, run_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for broker in &federation.brokers {
        let first = broker.endpoints.first().map_or("", String::as_str);
        let listen = listen_address(first).ok_or_else(|| {
            anyhow::anyhow!(
                "broker {} endpoint {first:?} is not https://ip:port",
                broker.name,
            )
        })?;
        let config = broker_config(
            federation,
            broker,
            listen,
            run_dir.join("brokers").join(broker.name.as_str()),
        );
        let path = broker.dir.join("broker.toml");
        write_config(config, &path)?;
        written.push(path);
    }
    for node in &federation.nodes {
        let broker = federation
            .broker(node.address.broker().as_str())
            .ok_or_else(|| anyhow::anyhow!("node {} has no broker", node.address))?;
        let config = node_config(
            federation,
            node,
            EndpointList::from(broker.endpoints.clone()),
            run_dir.join("nodes").join(node.address.as_str()),
            run_dir.join(format!("{}.sock", node.address)),
        );
        let path = node.dir.join("node.toml");
        write_config(config, &path)?;
        written.push(path);
    }
    Ok(written)
}
