//! The `[store]` table of `broker.toml`: which engine keeps the broker's queues, outboxes,
//! duplicate table and relay log. `embedded` (the default) is the database in `data_dir`,
//! on this machine's disk; `jetstream` is a stream on a NATS JetStream cluster, replicated over
//! `replicas` servers, so that the broker's state outlives the machine it runs on. Unknown keys
//! are refused, and so are JetStream settings with the embedded engine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use trm_storage::config::{ConfigError, field};

/// Default number of JetStream servers that hold each write before it is acknowledged.
pub const DEFAULT_REPLICAS: usize = 3;
/// Default first part of the stream's name (`TRM_<broker>`).
pub const DEFAULT_STREAM_PREFIX: &str = "TRM";

/// Which engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The embedded database in `data_dir`.
    #[default]
    Embedded,
    /// A NATS JetStream cluster.
    JetStream,
}

/// The `[store]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreFile {
    /// `embedded` (a database in `data_dir`, the default) or `jetstream` (a NATS JetStream cluster).
    pub kind: StoreKind,
    /// The JetStream cluster's servers, `nats://host:port` or `tls://host:port` (jetstream).
    pub servers: Vec<String>,
    /// How many servers hold each write before it is acknowledged: 1, 3 or 5 (jetstream).
    pub replicas: usize,
    /// First part of the stream's name, `<prefix>_<broker>`: letters, digits, `-` (jetstream).
    pub stream_prefix: String,
    /// PEM certificate of the CA the servers' certificates chain to; TLS is then required
    /// (jetstream).
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate presented to the servers, with `tls_key` (jetstream).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (jetstream).
    pub tls_key: Option<PathBuf>,
    /// A NATS credentials file (user JWT and nkey seed) (jetstream).
    pub credentials: Option<PathBuf>,
}

impl Default for StoreFile {
    fn default() -> Self {
        StoreFile {
            kind: StoreKind::Embedded,
            servers: Vec::new(),
            replicas: DEFAULT_REPLICAS,
            stream_prefix: DEFAULT_STREAM_PREFIX.into(),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            credentials: None,
        }
    }
}

/// The engine, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The embedded database in `data_dir`.
    Embedded,
    /// A NATS JetStream cluster.
    JetStream(JetStreamSettings),
}

/// How to reach the JetStream cluster and lay out the broker's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JetStreamSettings {
    /// The servers' URLs.
    pub servers: Vec<String>,
    /// Replicas of the stream.
    pub replicas: usize,
    /// First part of the stream's name.
    pub stream_prefix: String,
    /// The CA of the servers' certificates, if TLS is required.
    pub tls_ca: Option<PathBuf>,
    /// The client certificate and its key, if one is presented.
    pub tls_client: Option<(PathBuf, PathBuf)>,
    /// The credentials file, if any.
    pub credentials: Option<PathBuf>,
}

impl StoreFile {
    /// The file names in the table, to be made relative to the configuration file's folder.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        [
            &mut self.tls_ca,
            &mut self.tls_cert,
            &mut self.tls_key,
            &mut self.credentials,
        ]
        .into_iter()
        .filter_map(Option::as_mut)
        .collect()
    }

    /// Checks the table.
    pub fn validate(&self) -> Result<Store, ConfigError> {
        if self.kind == StoreKind::Embedded {
            let defaults = StoreFile::default();
            let jetstream_only = [
                ("store.servers", !self.servers.is_empty()),
                ("store.replicas", self.replicas != defaults.replicas),
                (
                    "store.stream_prefix",
                    self.stream_prefix != defaults.stream_prefix,
                ),
                ("store.tls_ca", self.tls_ca.is_some()),
                ("store.tls_cert", self.tls_cert.is_some()),
                ("store.tls_key", self.tls_key.is_some()),
                ("store.credentials", self.credentials.is_some()),
            ];
            if let Some((name, _)) = jetstream_only.iter().find(|(_, set)| *set) {
                return Err(field(name, "only applies with kind = \"jetstream\""));
            }
            return Ok(Store::Embedded);
        }
        if self.servers.is_empty() {
            return Err(field("store.servers", "lists no server"));
        }
        for server in &self.servers {
            let rest = server
                .strip_prefix("nats://")
                .or_else(|| server.strip_prefix("tls://"));
            if !rest.is_some_and(|r| !r.is_empty() && !r.contains(char::is_whitespace)) {
                return Err(field(
                    "store.servers",
                    format!("{server:?} is not nats://host:port or tls://host:port"),
                ));
            }
        }
        if !matches!(self.replicas, 1 | 3 | 5) {
            return Err(field(
                "store.replicas",
                format!("must be 1, 3 or 5, not {}", self.replicas),
            ));
        }
        let prefix_ok = (1..=32).contains(&self.stream_prefix.len())
            && self
                .stream_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !prefix_ok {
            return Err(field(
                "store.stream_prefix",
                format!(
                    "{:?} is not 1 to 32 letters, digits or -",
                    self.stream_prefix
                ),
            ));
        }
        let tls_client = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            (Some(_), None) => return Err(field("store.tls_key", "tls_cert needs tls_key")),
            (None, Some(_)) => return Err(field("store.tls_cert", "tls_key needs tls_cert")),
        };
        Ok(Store::JetStream(JetStreamSettings {
            servers: self.servers.clone(),
            replicas: self.replicas,
            stream_prefix: self.stream_prefix.clone(),
            tls_ca: self.tls_ca.clone(),
            tls_client,
            credentials: self.credentials.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<StoreFile, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn the_embedded_engine_is_the_default_and_takes_no_jetstream_settings()
    -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(parse("")?.validate()?, Store::Embedded);
        let refused = parse("servers = [\"nats://127.0.0.1:4222\"]")?.validate();
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("store.servers")),
            "{refused:?}"
        );
        assert!(parse("kind = \"other\"").is_err());
        assert!(parse("kind = \"embedded\"\nhost = \"x\"").is_err());
        Ok(())
    }

    #[test]
    fn jetstream_settings_are_checked_one_by_one() -> Result<(), Box<dyn std::error::Error>> {
        let good = "kind = \"jetstream\"\nservers = [\"nats://127.0.0.1:4222\"]\n";
        let Store::JetStream(settings) = parse(good)?.validate()? else {
            return Err("not jetstream".into());
        };
        assert_eq!(settings.replicas, 3);
        assert_eq!(settings.stream_prefix, "TRM");
        for (extra, named) in [
            ("replicas = 2", "store.replicas"),
            ("stream_prefix = \"a.b\"", "store.stream_prefix"),
            ("tls_cert = \"c.pem\"", "store.tls_key"),
            ("tls_key = \"k.pem\"", "store.tls_cert"),
        ] {
            let error = parse(&format!("{good}{extra}"))?.validate();
            assert!(
                error.as_ref().is_err_and(|e| e.to_string().contains(named)),
                "{extra}: {error:?}"
            );
        }
        for servers in ["[]", "[\"127.0.0.1:4222\"]", "[\"nats://\"]"] {
            let text = format!("kind = \"jetstream\"\nservers = {servers}");
            let error = parse(&text)?.validate();
            assert!(
                error
                    .as_ref()
                    .is_err_and(|e| e.to_string().contains("store.servers")),
                "{servers}: {error:?}"
            );
        }
        Ok(())
    }
}
