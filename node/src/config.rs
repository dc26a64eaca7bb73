//! Node configuration: a TOML file plus environment overrides, validated completely (keys
//! loaded, directory verified, this node found in it with matching keys) before the database
//! is opened or the socket bound.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::{self, Directory, DirectoryError};
use trm_storage::EndpointList;
use trm_storage::config::{
    RelativePaths, config_from_toml, env_override, field, read_secret, read_text,
};

use crate::deadlines::Deadlines;
use crate::keys::{KeyError, NodeKeys};

/// How long a sealed message stays deliverable by default: 30 days, longer than any outage a
/// partner organisation is expected to have.
pub const DEFAULT_MESSAGE_TTL_SECS: u64 = 30 * 24 * 3600;

/// How long a case's content is kept after its last message by default: five years.
pub const DEFAULT_RETENTION_DAYS: u64 = 5 * 365;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read or parsed, or a field is invalid.
    #[error(transparent)]
    File(#[from] trm_storage::config::ConfigError),
    /// The directory or the authority key was refused.
    #[error("federation directory: {0}")]
    Directory(#[from] DirectoryError),
    /// A key file was refused.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// The configuration file as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfigFile {
    /// This node's address, `name@broker`.
    pub address: String,
    /// Folder for the node's database.
    pub data_dir: PathBuf,
    /// The Unix socket `trm` connects to.
    pub admin_socket: PathBuf,
    /// The home broker's endpoint, `https://host:port`, or several in order of preference
    /// (`["https://a:7401", "https://b:7401"]`): the node dials them in turn from the first
    /// and comes back to an earlier one when it answers again.
    pub broker_endpoint: EndpointList,
    /// While connected to a later endpoint of the home broker, how often to check whether an
    /// earlier one answers again, seconds.
    #[serde(default = "default_failback")]
    pub broker_failback_secs: u64,
    /// PEM client certificate.
    pub tls_cert: PathBuf,
    /// PEM private key for `tls_cert`.
    pub tls_key: PathBuf,
    /// PEM certificate of the federation CA.
    pub ca_cert: PathBuf,
    /// Ed25519 signing key (`ed25519:` hex).
    pub signing_key: PathBuf,
    /// age identity (`AGE-SECRET-KEY-1...`).
    pub age_key: PathBuf,
    /// The signed federation directory.
    pub directory: PathBuf,
    /// The federation authority's public key, hex.
    pub authority_key: String,
    /// The federation's name.
    pub federation: String,
    /// How long sent messages stay deliverable, seconds: at most 30 days, the longest
    /// envelope lifetime brokers accept (`trm_proto::time::MAX_ENVELOPE_LIFETIME_MS`).
    #[serde(default = "default_ttl")]
    pub message_ttl_secs: u64,
    /// Largest envelope this node sends or accepts, bytes.
    #[serde(default = "default_max")]
    pub max_envelope_bytes: usize,
    /// How often to ask the broker for a newer directory, seconds.
    #[serde(default = "default_refresh")]
    pub directory_refresh_secs: u64,
    /// Days before the directory in use expires from which every refresh warns (log and
    /// `trm directory`).
    #[serde(default = "default_expiry_warning")]
    pub directory_expiry_warning_days: u64,
    /// Due times of open items (see `deadlines.rs`).
    #[serde(default)]
    pub deadlines: Deadlines,
    /// Days a case's content is kept after its last message before it is erased; 0 keeps it.
    #[serde(default = "default_retention")]
    pub retention_days: u64,
    /// Seconds between sweeps for overdue items and expired content.
    #[serde(default = "default_maintenance")]
    pub maintenance_interval_secs: u64,
    /// How often to sign a checkpoint of the handover log if it grew, seconds: receipts carry
    /// the latest one for partners to witness.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_secs: u64,
    /// The most memory the store's page cache may take, MiB (at least 1). What does not fit
    /// is read from disk when needed, so a large store does not grow the node's memory.
    #[serde(default = "default_cache_mib")]
    pub cache_mib: u64,
    /// Size limits of attachments (the `[attachments]` table).
    #[serde(default)]
    pub attachments: crate::attachments::AttachmentLimits,
    /// Backups (the `[backup]` table): the recovery recipient `trm-node backup` encrypts to.
    #[serde(default)]
    pub backup: crate::backup::BackupSettings,
    /// The `[metrics]` table: where the Prometheus metrics page is served (off by default).
    #[serde(default)]
    pub metrics: trm_storage::exposition::MetricsFile,
    /// The `[webhooks]` table: retries, deadlines and the CA of notifications to receivers.
    #[serde(default)]
    pub webhooks: crate::webhooks::WebhookSettings,
    /// How the outbox submits to the home broker (the `[outbox]` table).
    #[serde(default)]
    pub outbox: crate::outbox::OutboxSettings,
    /// Forward-secret content keys (the `[content_keys]` table): how long partners seal to
    /// one key, and how long it is kept after that before it is destroyed.
    #[serde(default)]
    pub content_keys: crate::epochs::ContentKeySettings,
    /// The `[http]` table: where the HTTPS JSON API is served (off by default).
    #[serde(default)]
    pub http: crate::http::settings::HttpFile,
    /// Session expiry and the lockout after wrong passwords (the `[accounts]` table).
    #[serde(default)]
    pub accounts: crate::accounts::AccountsSettings,
}

fn default_retention() -> u64 {
    DEFAULT_RETENTION_DAYS
}

fn default_cache_mib() -> u64 {
    trm_storage::open::DEFAULT_CACHE_BYTES >> 20
}

fn default_maintenance() -> u64 {
    60
}

/// The default of `checkpoint_interval_secs`.
pub const DEFAULT_CHECKPOINT_INTERVAL_SECS: u64 = 60;

fn default_checkpoint_interval() -> u64 {
    DEFAULT_CHECKPOINT_INTERVAL_SECS
}

/// The default of `directory_expiry_warning_days`.
pub const DEFAULT_DIRECTORY_EXPIRY_WARNING_DAYS: u64 = 14;

fn default_expiry_warning() -> u64 {
    DEFAULT_DIRECTORY_EXPIRY_WARNING_DAYS
}

/// How often, by default, a connection to a later endpoint of the home broker checks whether
/// an earlier one answers again, seconds.
pub const DEFAULT_BROKER_FAILBACK_SECS: u64 = 30;

fn default_failback() -> u64 {
    DEFAULT_BROKER_FAILBACK_SECS
}

fn default_refresh() -> u64 {
    300
}

fn default_ttl() -> u64 {
    DEFAULT_MESSAGE_TTL_SECS
}

fn default_max() -> usize {
    4 * 1024 * 1024
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's keys.
    pub keys: NodeKeys,
    /// Folder for the database.
    pub data_dir: PathBuf,
    /// The admin socket path.
    pub admin_socket: PathBuf,
    /// The home broker's endpoints, the preferred first; never empty.
    pub broker_endpoints: Vec<String>,
    /// How often a connection to a later endpoint checks whether an earlier one answers again.
    pub broker_failback: std::time::Duration,
    /// Client certificate, PEM.
    pub tls_cert_pem: String,
    /// Client key, PEM.
    pub tls_key_pem: String,
    /// Federation CA, PEM.
    pub ca_pem: String,
    /// The verified directory.
    pub directory: Directory,
    /// The directory file, re-read on SIGHUP ([`crate::reload`]).
    pub directory_file: PathBuf,
    /// The pinned authority key.
    pub authority_key: VerifyingKey,
    /// Message time to live, milliseconds.
    pub message_ttl_ms: u64,
    /// Largest envelope.
    pub max_envelope_bytes: usize,
    /// How often to ask the broker for a newer directory.
    pub directory_refresh: std::time::Duration,
    /// How long before the directory in use expires to warn.
    pub directory_expiry_warning: std::time::Duration,
    /// Due times of open items.
    pub deadlines: Deadlines,
    /// How long a case's content is kept after its last message, in ms; 0 keeps it.
    pub retention_ms: u64,
    /// Time between maintenance sweeps.
    pub maintenance_interval: std::time::Duration,
    /// How often to sign a checkpoint if the log grew.
    pub checkpoint_interval: std::time::Duration,
    /// Size limits of attachments, sent and received.
    pub attachments: trm_proto::attachment::Limits,
    /// Where the metrics page is served, if at all (a loopback address).
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Webhook retries, deadlines and CA.
    pub webhooks: crate::webhooks::WebhookConfig,
    /// How many submissions the outbox keeps on their way to the broker at once.
    pub outbox_window: usize,
    /// How long content keys are used and kept.
    pub content_keys: crate::epochs::ContentKeySettings,
    /// The HTTPS JSON API, if it is on.
    pub http: Option<crate::http::settings::HttpSettings>,
    /// Session expiry and the lockout after wrong passwords.
    pub accounts: crate::accounts::AccountsPolicy,
    /// How the store's database is opened (its page cache).
    pub engine: trm_storage::EngineSettings,
}

impl RelativePaths for NodeConfigFile {
    fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let mut paths = vec![
            &mut self.data_dir,
            &mut self.admin_socket,
            &mut self.tls_cert,
            &mut self.tls_key,
            &mut self.ca_cert,
            &mut self.signing_key,
            &mut self.age_key,
            &mut self.directory,
        ];
        paths.extend(self.webhooks.ca_file.as_mut());
        paths.extend(self.http.paths_mut());
        paths
    }
}

impl NodeConfigFile {
    /// Parses TOML text of the file at `path` (named in errors); relative file names are
    /// relative to its folder.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, ConfigError> {
        Ok(config_from_toml(text, path)?)
    }

    /// Reads the file and applies `TRM_NODE_BROKER` (the broker endpoint) and
    /// `TRM_NODE_SOCKET` from the environment when set.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let mut file = Self::from_toml(&read_text(path)?, path)?;
        env_override("TRM_NODE_BROKER", &mut file.broker_endpoint);
        env_override("TRM_NODE_SOCKET", &mut file.admin_socket);
        Ok(file)
    }

    /// Loads every referenced file and checks it all fits together.
    pub fn validate(self) -> Result<NodeConfig, ConfigError> {
        let address: NodeAddr = self
            .address
            .parse()
            .map_err(|e| ConfigError::from(field("address", format!("{e}"))))?;
        if self.broker_endpoint.as_slice().is_empty() {
            return Err(ConfigError::from(field(
                "broker_endpoint",
                "names no endpoint",
            )));
        }
        if let Some(bad) = self.broker_endpoint.first_unusable() {
            return Err(ConfigError::from(field(
                "broker_endpoint",
                format!("{bad:?} must be https://host:port"),
            )));
        }
        let authority_key = directory::parse_authority_key(&self.authority_key)?;
        let directory = directory::load(&self.directory, &authority_key, &self.federation)?;
        // Whoever can read a key acts as this organisation: refuse keys others may read.
        trm_storage::fs::check_private_file(&self.signing_key)
            .and_then(|()| trm_storage::fs::check_private_file(&self.age_key))
            .map_err(trm_storage::config::ConfigError::from)?;
        let keys = NodeKeys::load(address.clone(), &self.signing_key, &self.age_key)?;
        let tls_cert_pem = read_text(&self.tls_cert)?;
        let entry = directory.node(&address).ok_or_else(|| {
            ConfigError::from(field(
                "address",
                format!(
                    "{address} is not in directory version {}",
                    directory.version()
                ),
            ))
        })?;
        if entry.signing_key != keys.signing.verifying_key() {
            return Err(ConfigError::from(field(
                "signing_key",
                format!("key is not the one the directory lists for {address}"),
            )));
        }
        if entry.age_recipient != keys.age_recipient() {
            return Err(ConfigError::from(field(
                "age_key",
                format!("identity is not the one the directory lists for {address}"),
            )));
        }
        if directory::pem_leaf_fingerprint(&tls_cert_pem) != Some(entry.certificate_sha256) {
            return Err(ConfigError::from(field(
                "tls_cert",
                format!("certificate is not the one the directory lists for {address}"),
            )));
        }
        if directory.broker(&address.broker()).is_none() {
            return Err(ConfigError::from(field(
                "address",
                format!("home broker {} is not in the directory", address.broker()),
            )));
        }
        let max_ttl_secs = trm_proto::time::MAX_ENVELOPE_LIFETIME_MS / 1000;
        if !(1..=max_ttl_secs).contains(&self.message_ttl_secs) {
            return Err(ConfigError::from(field(
                "message_ttl_secs",
                format!(
                    "must be between 1 and {max_ttl_secs} (30 days, the longest envelope \
                     lifetime brokers accept)"
                ),
            )));
        }
        if let Some(problem) = self
            .backup
            .recovery_recipient
            .as_deref()
            .and_then(|recipient| {
                crate::backup::recipient_problem(recipient, &keys.age_recipient())
            })
        {
            return Err(ConfigError::from(field(
                "backup.recovery_recipient",
                problem,
            )));
        }
        let attachments = self
            .attachments
            .validate(self.max_envelope_bytes)
            .map_err(|(name, problem)| ConfigError::from(field(name, problem)))?;
        let metrics_listen = self.metrics.validate()?;
        let webhooks = self
            .webhooks
            .validate()
            .map_err(|(name, problem)| ConfigError::from(field(name, problem)))?;
        let outbox_window = self
            .outbox
            .validate()
            .map_err(|(name, problem)| ConfigError::from(field(name, problem)))?;
        let accounts = self
            .accounts
            .validate()
            .map_err(|(name, problem)| ConfigError::from(field(name, problem)))?;
        let content_keys = self
            .content_keys
            .validate()
            .map_err(|(name, problem)| ConfigError::from(field(name, problem)))?;
        let tls_key_pem = read_secret(&self.tls_key)?;
        let http = self.http.validate(&tls_cert_pem, &tls_key_pem)?;
        let engine = trm_storage::EngineSettings::from_cache_mib(self.cache_mib)?;
        Ok(NodeConfig {
            content_keys,
            accounts,
            webhooks,
            outbox_window,
            metrics_listen,
            http,
            engine,
            attachments,
            keys,
            data_dir: self.data_dir,
            admin_socket: self.admin_socket,
            broker_endpoints: self.broker_endpoint.into_vec(),
            broker_failback: std::time::Duration::from_secs(self.broker_failback_secs.max(1)),
            tls_key_pem,
            ca_pem: read_text(&self.ca_cert)?,
            tls_cert_pem,
            directory,
            directory_file: self.directory,
            authority_key,
            message_ttl_ms: self.message_ttl_secs.saturating_mul(1000),
            max_envelope_bytes: self.max_envelope_bytes,
            directory_refresh: std::time::Duration::from_secs(self.directory_refresh_secs.max(1)),
            directory_expiry_warning: std::time::Duration::from_secs(
                self.directory_expiry_warning_days.saturating_mul(86_400),
            ),
            deadlines: self.deadlines,
            retention_ms: self.retention_days.saturating_mul(24 * 3600 * 1000),
            maintenance_interval: std::time::Duration::from_secs(
                self.maintenance_interval_secs.max(1),
            ),
            checkpoint_interval: std::time::Duration::from_secs(
                self.checkpoint_interval_secs.max(1),
            ),
        })
    }
}
