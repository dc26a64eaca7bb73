//! Broker configuration: a TOML file plus environment overrides, fully validated (files read,
//! keys parsed, the directory verified, this broker found in it) before any port is bound or
//! any database opened.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::quota::QuotaSettings;
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use trm_proto::addr::BrokerName;
use trm_proto::directory::{self, Directory};
use trm_proto::signing;
use trm_storage::config::{
    RelativePaths, config_from_toml, env_override, field, read_secret, read_text,
};

pub mod network;
pub mod store;

pub use network::{Network, NetworkFile};
pub use trm_storage::exposition::MetricsFile;

/// The default limit on one envelope's encoded size: 4 MiB, room for a referral with a few
/// scanned documents attached.
pub const DEFAULT_MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;

/// The largest envelope limit a broker may configure: 16 MiB, so that any single envelope fits
/// in a relay batch ([`crate::relay::BATCH_BYTES`]).
pub const MAX_MAX_ENVELOPE_BYTES: usize = trm_proto::MAX_ENVELOPE_BYTES;

/// The default first retry ceiling towards an unreachable peer broker, milliseconds.
pub const DEFAULT_RELAY_BACKOFF_INITIAL_MS: u64 = 500;

/// The default largest retry ceiling towards a silent peer broker: 20 s, so that with the
/// connect timeout a link that comes back is used again within 30 s (half of it for a peer
/// that answers with errors; see `docs/decisions.md`).
pub const DEFAULT_RELAY_BACKOFF_MAX_MS: u64 = 20_000;

/// The default interval between two directory refreshes: five minutes.
pub const DEFAULT_DIRECTORY_REFRESH_SECS: u64 = 300;

/// The default time a relay-log record is kept: 90 days, long enough to answer a sender's
/// question about a message's path, short enough that the log does not become a record of who
/// wrote to whom over years.
pub const DEFAULT_RELAY_LOG_RETENTION_DAYS: u64 = 90;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or parsed, or a field is invalid.
    #[error(transparent)]
    File(#[from] trm_storage::config::ConfigError),
    /// The federation directory was refused.
    #[error("federation directory: {0}")]
    Directory(#[from] directory::DirectoryError),
}

/// The configuration file as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfigFile {
    /// This broker's name in the directory (`at`, `rs`, ...).
    pub name: String,
    /// Address to listen on, e.g. `127.0.0.1:7401`.
    pub listen: String,
    /// Folder for the broker's database.
    pub data_dir: PathBuf,
    /// PEM certificate chain this broker presents.
    pub tls_cert: PathBuf,
    /// PEM private key for `tls_cert`.
    pub tls_key: PathBuf,
    /// PEM certificate of the federation CA, which client certificates must chain to.
    pub ca_cert: PathBuf,
    /// This broker's Ed25519 receipt-signing key (`ed25519:` hex).
    pub signing_key: PathBuf,
    /// The signed federation directory (`directory.pb`).
    pub directory: PathBuf,
    /// The federation authority's public key, 64 hex digits: pinned, never taken from a peer.
    pub authority_key: String,
    /// The federation's name.
    pub federation: String,
    /// Largest accepted envelope, bytes.
    #[serde(default = "default_max_envelope_bytes")]
    pub max_envelope_bytes: usize,
    /// First retry ceiling towards an unreachable peer broker, milliseconds; it doubles after
    /// each failure and returns to this value when a relay batch is answered.
    #[serde(default = "default_relay_backoff_initial_ms")]
    pub relay_backoff_initial_ms: u64,
    /// Largest retry ceiling towards a silent peer broker, milliseconds (half of it towards a
    /// peer that answers with errors).
    #[serde(default = "default_relay_backoff_max_ms")]
    pub relay_backoff_max_ms: u64,
    /// Seconds between two directory refreshes (the file, then every peer broker).
    #[serde(default = "default_directory_refresh_secs")]
    pub directory_refresh_secs: u64,
    /// The most memory the store's page cache may take, MiB (at least 1). What does not fit
    /// is read from disk when needed, so a long queue does not grow the broker's memory.
    #[serde(default = "default_cache_mib")]
    pub cache_mib: u64,
    /// Days a relay-log record (who sent which message to whom, when, through which broker)
    /// is kept; older records are removed by the expiry sweep (at least 1).
    #[serde(default = "default_relay_log_retention_days")]
    pub relay_log_retention_days: u64,
    /// Queue caps, submission rate, relay caps, free-disk watermark and expiry sweep.
    #[serde(default)]
    pub quotas: QuotaSettings,
    /// The `[network]` table: handshake timeout, connection caps, HTTP/2 limits.
    #[serde(default)]
    pub network: NetworkFile,
    /// The `[metrics]` table: where the Prometheus metrics page is served (off by default).
    #[serde(default)]
    pub metrics: MetricsFile,
    /// The `[store]` table: the embedded engine (default) or a NATS JetStream cluster.
    #[serde(default)]
    pub store: store::StoreFile,
}

fn default_max_envelope_bytes() -> usize {
    DEFAULT_MAX_ENVELOPE_BYTES
}

fn default_relay_backoff_initial_ms() -> u64 {
    DEFAULT_RELAY_BACKOFF_INITIAL_MS
}

fn default_relay_backoff_max_ms() -> u64 {
    DEFAULT_RELAY_BACKOFF_MAX_MS
}

fn default_directory_refresh_secs() -> u64 {
    DEFAULT_DIRECTORY_REFRESH_SECS
}

fn default_relay_log_retention_days() -> u64 {
    DEFAULT_RELAY_LOG_RETENTION_DAYS
}

fn default_cache_mib() -> u64 {
    trm_storage::open::DEFAULT_CACHE_BYTES >> 20
}

/// A validated configuration with every file loaded.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// This broker's name.
    pub name: BrokerName,
    /// Where to listen.
    pub listen: SocketAddr,
    /// Folder for the database.
    pub data_dir: PathBuf,
    /// The TLS certificate chain, PEM.
    pub tls_cert_pem: String,
    /// The TLS private key, PEM.
    pub tls_key_pem: String,
    /// The federation CA, PEM.
    pub ca_pem: String,
    /// The receipt-signing key.
    pub signing_key: SigningKey,
    /// The verified directory, as read at start-up.
    pub directory: Directory,
    /// The directory file, re-read at every refresh.
    pub directory_file: PathBuf,
    /// The pinned authority key.
    pub authority_key: VerifyingKey,
    /// The federation's name, which every directory must carry.
    pub federation: String,
    /// Largest accepted envelope.
    pub max_envelope_bytes: usize,
    /// First retry ceiling towards an unreachable peer broker.
    pub relay_backoff_initial: Duration,
    /// Largest retry ceiling towards an unreachable peer broker.
    pub relay_backoff_max: Duration,
    /// Interval between two directory refreshes.
    pub directory_refresh: Duration,
    /// How the store's database is opened (its page cache).
    pub engine: trm_storage::EngineSettings,
    /// How long a relay-log record is kept.
    pub relay_log_retention: Duration,
    /// Queue caps, submission rate, relay caps, free-disk watermark and expiry sweep.
    pub quotas: QuotaSettings,
    /// Handshake timeout, connection caps and HTTP/2 limits.
    pub network: Network,
    /// Where the metrics page is served, if at all (a loopback address).
    pub metrics_listen: Option<SocketAddr>,
    /// Which engine keeps the broker's state.
    pub store: store::Store,
}

/// Reads a signing key file, refused when other users may read it.
pub fn load_signing_key(path: &Path, field: &'static str) -> Result<SigningKey, ConfigError> {
    signing::decode_secret(&read_secret(path)?).ok_or_else(|| {
        ConfigError::from(trm_storage::config::field(
            field,
            format!("{} is not an `ed25519:` key file", path.display()),
        ))
    })
}

impl RelativePaths for BrokerConfigFile {
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![
            &mut self.data_dir,
            &mut self.tls_cert,
            &mut self.tls_key,
            &mut self.ca_cert,
            &mut self.signing_key,
            &mut self.directory,
        ];
        paths.extend(self.store.paths_mut());
        paths
    }
}

impl BrokerConfigFile {
    /// Parses TOML text of the file at `path` (named in errors); relative file names are
    /// relative to its folder.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Ok(config_from_toml(text, path)?)
    }

    /// Reads the file at `path` and applies `TRM_BROKER_LISTEN` and `TRM_BROKER_DATA_DIR`
    /// from the environment when set.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut file = Self::from_toml(&read_text(path)?, path)?;
        env_override("TRM_BROKER_LISTEN", &mut file.listen);
        env_override("TRM_BROKER_DATA_DIR", &mut file.data_dir);
        Ok(file)
    }

    /// Loads every referenced file and checks that it all fits together.
    pub fn validate(self) -> Result<BrokerConfig, ConfigError> {
        let name: BrokerName = self
            .name
            .parse()
            .map_err(|e| ConfigError::from(field("name", format!("{e}"))))?;
        let listen: SocketAddr = self
            .listen
            .parse()
            .map_err(|e| ConfigError::from(field("listen", format!("{:?}: {e}", self.listen))))?;
        if !(1024..=MAX_MAX_ENVELOPE_BYTES).contains(&self.max_envelope_bytes) {
            return Err(ConfigError::from(field(
                "max_envelope_bytes",
                format!("must be between 1024 and {MAX_MAX_ENVELOPE_BYTES}"),
            )));
        }
        if self.relay_backoff_initial_ms == 0 {
            return Err(ConfigError::from(field(
                "relay_backoff_initial_ms",
                "must be at least 1",
            )));
        }
        if self.relay_backoff_max_ms < self.relay_backoff_initial_ms {
            return Err(ConfigError::from(field(
                "relay_backoff_max_ms",
                format!(
                    "must be at least relay_backoff_initial_ms ({})",
                    self.relay_backoff_initial_ms
                ),
            )));
        }
        if self.directory_refresh_secs == 0 {
            return Err(ConfigError::from(field(
                "directory_refresh_secs",
                "must be at least 1",
            )));
        }
        if !(1..=36_500).contains(&self.relay_log_retention_days) {
            return Err(ConfigError::from(field(
                "relay_log_retention_days",
                "must be between 1 and 36500",
            )));
        }
        let engine = trm_storage::EngineSettings::from_cache_mib(self.cache_mib)?;
        self.quotas.validate()?;
        let network = self.network.validate()?;
        let metrics_listen = self.metrics.validate()?;
        let store = self.store.validate()?;
        let authority_key = directory::parse_authority_key(&self.authority_key)?;
        let directory = directory::load(&self.directory, &authority_key, &self.federation)?;
        let tls_cert_pem = read_text(&self.tls_cert)?;
        let tls_key_pem = read_secret(&self.tls_key)?;
        let ca_pem = read_text(&self.ca_cert)?;
        let signing_key = load_signing_key(&self.signing_key, "signing_key")?;
        let entry = directory.broker(&name).ok_or_else(|| {
            ConfigError::from(field(
                "name",
                format!(
                    "broker {name} is not in directory version {}",
                    directory.version()
                ),
            ))
        })?;
        if directory::pem_leaf_fingerprint(&tls_cert_pem) != Some(entry.certificate_sha256) {
            return Err(ConfigError::from(field(
                "tls_cert",
                format!("certificate is not the one the directory lists for broker {name}"),
            )));
        }
        if entry.signing_key != signing_key.verifying_key() {
            return Err(ConfigError::from(field(
                "signing_key",
                format!("key is not the one the directory lists for broker {name}"),
            )));
        }
        Ok(BrokerConfig {
            name,
            listen,
            data_dir: self.data_dir,
            tls_cert_pem,
            tls_key_pem,
            ca_pem,
            signing_key,
            directory,
            directory_file: self.directory,
            authority_key,
            federation: self.federation,
            max_envelope_bytes: self.max_envelope_bytes,
            relay_backoff_initial: Duration::from_millis(self.relay_backoff_initial_ms),
            relay_backoff_max: Duration::from_millis(self.relay_backoff_max_ms),
            directory_refresh: Duration::from_secs(self.directory_refresh_secs),
            relay_log_retention: Duration::from_secs(
                self.relay_log_retention_days.saturating_mul(86_400),
            ),
            engine,
            quotas: self.quotas,
            network,
            metrics_listen,
            store,
        })
    }
}
