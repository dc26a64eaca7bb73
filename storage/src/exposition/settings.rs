//! The `[metrics]` table of `broker.toml` and `node.toml`: where the Prometheus metrics page is
//! served, if at all. Off by default. The address must be a loopback one: the page names
//! organisations and brokers and how much waits for each, which is for the operator's own
//! machine (a scraper elsewhere reaches it through an SSH tunnel or a local agent).
//!
//! ```toml
//! [metrics]
//! listen = "127.0.0.1:9464"
//! ```

use std::net::SocketAddr;

use crate::config::{ConfigError, field};
use serde::{Deserialize, Serialize};

/// The file in the data folder where a running broker or node writes the address its metrics
/// page was bound to (useful with port 0), for `trm-broker status` and tests.
pub const BOUND_ADDRESS_FILE: &str = "metrics.addr";

/// The `[metrics]` table as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsFile {
    /// Loopback address and port of the metrics page, e.g. `127.0.0.1:9464` (port 0 picks a
    /// free one); unset, no page is served. Not reloadable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
}

impl MetricsFile {
    /// The address to serve on, if any: a loopback address.
    pub fn validate(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(listen) = &self.listen else {
            return Ok(None);
        };
        let addr: SocketAddr = listen
            .parse()
            .map_err(|e| field("metrics.listen", format!("{listen:?}: {e}")))?;
        if !addr.ip().is_loopback() {
            return Err(field(
                "metrics.listen",
                format!(
                    "{addr} is not a loopback address; use 127.0.0.1 or [::1], since the \
                     metrics name organisations and brokers"
                ),
            ));
        }
        Ok(Some(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(value: &str) -> Result<Option<SocketAddr>, String> {
        MetricsFile {
            listen: Some(value.to_owned()),
        }
        .validate()
        .map_err(|e| e.to_string())
    }

    #[test]
    fn only_loopback_addresses_are_accepted_and_the_default_serves_nothing() {
        assert_eq!(MetricsFile::default().validate().ok(), Some(None));
        assert_eq!(
            listen("127.0.0.1:9464"),
            Ok(Some(SocketAddr::from(([127, 0, 0, 1], 9464))))
        );
        assert!(listen("[::1]:0").is_ok_and(|a| a.is_some()));
        let public = listen("0.0.0.0:9464").err().unwrap_or_default();
        assert!(
            public.contains("0.0.0.0:9464 is not a loopback address"),
            "{public}"
        );
        let garbage = listen("localhost").err().unwrap_or_default();
        assert!(garbage.contains("metrics.listen"), "{garbage}");
    }
}
