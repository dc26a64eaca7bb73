//! The `[http]` table of `node.toml`: where the node's HTTPS JSON API listens, if at all (off
//! by default), with which certificate, and how large a request body may be.
//!
//! ```toml
//! [http]
//! listen = "127.0.0.1:8443"     # port 0 picks a free one; written to http.addr in the data folder
//! # tls_cert = "api.crt"        # default: the node's own tls_cert and tls_key
//! # tls_key = "api.key"
//! # max_body_bytes = 1048576
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use trm_storage::config::{ConfigError, field, read_secret, read_text};

/// The default of `max_body_bytes`: 1 MiB, far more than any message file.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `[http]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpFile {
    /// Address and port of the API, e.g. `127.0.0.1:8443` (loopback suggested: put a reverse
    /// proxy in front for other machines); unset, no API is served. Not reloadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// PEM certificate (chain) the API presents; unset, the node's own `tls_cert`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`; set exactly when `tls_cert` is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body, bytes; a larger one is refused (413) before it is read whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
}

/// The checked `[http]` table.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The certificate chain, PEM.
    pub cert_pem: String,
    /// Its private key, PEM.
    pub key_pem: String,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
}

impl HttpFile {
    /// The paths in the table, for resolving them against the configuration file's folder.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        self.tls_cert
            .iter_mut()
            .chain(self.tls_key.iter_mut())
            .collect()
    }

    /// The settings, if the API is on: reads the configured certificate and key, or takes the
    /// node's own (`node_cert_pem`, `node_key_pem`).
    pub fn validate(
        &self,
        node_cert_pem: &str,
        node_key_pem: &str,
    ) -> Result<Option<HttpSettings>, ConfigError> {
        let Some(listen) = &self.listen else {
            return Ok(None);
        };
        let listen: SocketAddr = listen
            .parse()
            .map_err(|e| field("http.listen", format!("{listen:?}: {e}")))?;
        let (cert_pem, key_pem) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (read_text(cert)?, read_secret(key)?),
            (None, None) => (node_cert_pem.to_owned(), node_key_pem.to_owned()),
            (Some(_), None) => {
                return Err(field("http.tls_key", "is needed when http.tls_cert is set"));
            }
            (None, Some(_)) => {
                return Err(field("http.tls_cert", "is needed when http.tls_key is set"));
            }
        };
        let max_body_bytes = self.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        if max_body_bytes < 1024 {
            return Err(field("http.max_body_bytes", "must be at least 1024"));
        }
        Ok(Some(HttpSettings {
            listen,
            cert_pem,
            key_pem,
            max_body_bytes,
        }))
    }
}
