//! The `[network]` table of `broker.toml`: how long a caller may take to finish the TLS
//! handshake, how many connections the broker holds (in total and per source address), and the
//! HTTP/2 limits of each connection, and where to reach a peer broker when its directory
//! endpoint is not the way in from here. Every setting has a safe default, so the table may be
//! left out; unknown keys are refused.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use trm_proto::addr::BrokerName;
use trm_storage::EndpointList;
use trm_storage::config::{ConfigError, field};

/// Default time a caller has to complete the TLS handshake: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;
/// Default cap on open connections, handshakes included.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default cap on open connections from one IP address, handshakes included.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 16;
/// Default cap on concurrent HTTP/2 streams (calls) on one connection: 100, the smallest value
/// RFC 9113 recommends, since a client that starts calls before it has read the broker's
/// settings gets those beyond the cap refused.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Default cap on the size of one call's headers: 16 KiB.
pub const DEFAULT_MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;
/// Default largest HTTP/2 frame the broker accepts: 16 KiB, the protocol's minimum.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = MIN_FRAME_BYTES;
/// Default interval between two HTTP/2 pings on a quiet connection: 30 s.
pub const DEFAULT_KEEPALIVE_INTERVAL_SECS: u64 = 30;
/// Default time a peer has to answer a ping before the connection is closed: 10 s.
pub const DEFAULT_KEEPALIVE_TIMEOUT_SECS: u64 = 10;
/// Default idle time before the operating system probes a TCP connection: 60 s.
pub const DEFAULT_TCP_KEEPALIVE_SECS: u64 = 60;
/// Default time limit on one unary call (the delivery stream is not limited): 60 s.
pub const DEFAULT_REQUEST_TIMEOUT_SECS: u64 = 60;

/// The smallest HTTP/2 frame size a peer may be held to (RFC 9113, section 6.5.2).
const MIN_FRAME_BYTES: u32 = 16 * 1024;
/// The largest HTTP/2 frame size there is.
const MAX_FRAME_BYTES: u32 = (1 << 24) - 1;
/// The smallest header allowance that still fits a gRPC call's headers.
const MIN_HEADER_LIST_BYTES: u32 = 1024;

/// The `[network]` table as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkFile {
    /// Milliseconds a caller has to complete the TLS handshake before it is dropped.
    pub handshake_timeout_ms: u64,
    /// Open connections at most; more are closed as soon as they are accepted.
    pub max_connections: usize,
    /// Open connections from one IP address at most; more are closed as soon as accepted.
    pub max_connections_per_address: usize,
    /// Concurrent calls on one connection at most; the client holds further calls back.
    pub max_concurrent_streams: u32,
    /// Largest size of one call's headers, bytes.
    pub max_header_list_bytes: u32,
    /// Largest HTTP/2 frame accepted, bytes (16384 to 16777215).
    pub max_frame_bytes: u32,
    /// Seconds between two HTTP/2 pings on a connection.
    pub keepalive_interval_secs: u64,
    /// Seconds a peer has to answer a ping before its connection is closed.
    pub keepalive_timeout_secs: u64,
    /// Seconds of silence before the operating system probes a TCP connection.
    pub tcp_keepalive_secs: u64,
    /// Seconds one unary call may take (the delivery stream is not limited).
    pub request_timeout_secs: u64,
    /// Peer broker name to the endpoint (`https://host:port`), or several in order of
    /// preference, used to call it instead of those the directory lists: a private address, a
    /// tunnel, a test proxy. The peer must still present the certificate the directory lists
    /// for it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub peer_endpoints: BTreeMap<String, EndpointList>,
    /// While connected to a later endpoint of a peer broker, how often to check whether an
    /// earlier one answers again, seconds.
    pub failback_secs: u64,
}

impl Default for NetworkFile {
    fn default() -> Self {
        Self {
            handshake_timeout_ms: DEFAULT_HANDSHAKE_TIMEOUT_MS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            max_header_list_bytes: DEFAULT_MAX_HEADER_LIST_BYTES,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            keepalive_interval_secs: DEFAULT_KEEPALIVE_INTERVAL_SECS,
            keepalive_timeout_secs: DEFAULT_KEEPALIVE_TIMEOUT_SECS,
            tcp_keepalive_secs: DEFAULT_TCP_KEEPALIVE_SECS,
            request_timeout_secs: DEFAULT_REQUEST_TIMEOUT_SECS,
            peer_endpoints: BTreeMap::new(),
            failback_secs: trm_tls::failover::DEFAULT_FAILBACK_EVERY.as_secs(),
        }
    }
}

/// The validated `[network]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Time a caller has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections from one IP address at most.
    pub max_connections_per_address: usize,
    /// Concurrent calls on one connection at most.
    pub max_concurrent_streams: u32,
    /// Largest size of one call's headers, bytes.
    pub max_header_list_bytes: u32,
    /// Largest HTTP/2 frame accepted, bytes.
    pub max_frame_bytes: u32,
    /// Interval between two HTTP/2 pings.
    pub keepalive_interval: Duration,
    /// Time a peer has to answer a ping.
    pub keepalive_timeout: Duration,
    /// Silence before the operating system probes a TCP connection.
    pub tcp_keepalive: Duration,
    /// Time limit on one unary call.
    pub request_timeout: Duration,
    /// Endpoints that replace the directory's for some peer brokers, the preferred first.
    pub peer_endpoints: BTreeMap<BrokerName, Vec<String>>,
    /// How often a connection to a later endpoint of a peer checks an earlier one.
    pub failback: Duration,
}

impl Default for Network {
    fn default() -> Self {
        // The defaults are valid by construction; the test below holds them to it.
        NetworkFile::default().validated(BTreeMap::new())
    }
}

/// Refuses `value` for `name` unless it is at least `min`.
fn at_least<T: PartialOrd + std::fmt::Display>(
    name: &'static str,
    value: T,
    min: T,
) -> Result<(), ConfigError> {
    if value < min {
        return Err(field(name, format!("must be at least {min}, not {value}")));
    }
    Ok(())
}

impl NetworkFile {
    /// Checks every setting and converts it.
    pub fn validate(self) -> Result<Network, ConfigError> {
        at_least("network.handshake_timeout_ms", self.handshake_timeout_ms, 1)?;
        at_least("network.max_connections", self.max_connections, 1)?;
        at_least(
            "network.max_connections_per_address",
            self.max_connections_per_address,
            1,
        )?;
        if self.max_connections_per_address > self.max_connections {
            return Err(field(
                "network.max_connections_per_address",
                format!(
                    "must not exceed network.max_connections ({})",
                    self.max_connections
                ),
            ));
        }
        at_least(
            "network.max_concurrent_streams",
            self.max_concurrent_streams,
            1,
        )?;
        at_least(
            "network.max_header_list_bytes",
            self.max_header_list_bytes,
            MIN_HEADER_LIST_BYTES,
        )?;
        if !(MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&self.max_frame_bytes) {
            return Err(field(
                "network.max_frame_bytes",
                format!(
                    "must be between {MIN_FRAME_BYTES} and {MAX_FRAME_BYTES}, not {}",
                    self.max_frame_bytes
                ),
            ));
        }
        at_least(
            "network.keepalive_interval_secs",
            self.keepalive_interval_secs,
            1,
        )?;
        at_least(
            "network.keepalive_timeout_secs",
            self.keepalive_timeout_secs,
            1,
        )?;
        at_least("network.tcp_keepalive_secs", self.tcp_keepalive_secs, 1)?;
        at_least("network.request_timeout_secs", self.request_timeout_secs, 1)?;
        at_least("network.failback_secs", self.failback_secs, 1)?;
        let peer_endpoints = peer_endpoints(&self.peer_endpoints)?;
        Ok(self.validated(peer_endpoints))
    }

    /// The conversion, without the checks, with the already checked `peer_endpoints`.
    fn validated(self, peer_endpoints: BTreeMap<BrokerName, Vec<String>>) -> Network {
        Network {
            handshake_timeout: Duration::from_millis(self.handshake_timeout_ms),
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            max_concurrent_streams: self.max_concurrent_streams,
            max_header_list_bytes: self.max_header_list_bytes,
            max_frame_bytes: self.max_frame_bytes,
            keepalive_interval: Duration::from_secs(self.keepalive_interval_secs),
            keepalive_timeout: Duration::from_secs(self.keepalive_timeout_secs),
            tcp_keepalive: Duration::from_secs(self.tcp_keepalive_secs),
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            peer_endpoints,
            failback: Duration::from_secs(self.failback_secs),
        }
    }
}

/// Checks that every key of `network.peer_endpoints` is a broker name and every value one or
/// more `https://host:port` endpoints.
fn peer_endpoints(
    written: &BTreeMap<String, EndpointList>,
) -> Result<BTreeMap<BrokerName, Vec<String>>, ConfigError> {
    written
        .iter()
        .map(|(name, endpoints)| {
            let broker: BrokerName = name.parse().map_err(|e| {
                field(
                    "network.peer_endpoints",
                    format!("{name:?} is not a broker name: {e}"),
                )
            })?;
            if endpoints.as_slice().is_empty() {
                return Err(field(
                    "network.peer_endpoints",
                    format!("broker {broker} is given no endpoint"),
                ));
            }
            if endpoints.first_unusable().is_some() {
                return Err(field(
                    "network.peer_endpoints",
                    format!("endpoint of broker {broker} must be https://host:port"),
                ));
            }
            Ok((broker, endpoints.as_slice().to_vec()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(file: NetworkFile) -> String {
        match file.validate() {
            Ok(network) => panic!("accepted {network:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn the_defaults_are_valid_and_an_empty_table_means_the_defaults() -> Result<(), ConfigError> {
        assert_eq!(NetworkFile::default().validate()?, Network::default());
        let empty: NetworkFile = toml::from_str("").map_err(|e| field("network", e.to_string()))?;
        assert_eq!(empty, NetworkFile::default());
        Ok(())
    }

    #[test]
    fn unknown_keys_and_unusable_values_are_refused_with_the_setting_named() {
        let unknown = toml::from_str::<NetworkFile>("max_conections = 5");
        assert!(
            unknown
                .as_ref()
                .is_err_and(|e| e.to_string().contains("unknown field `max_conections`")),
            "{unknown:?}"
        );
        let zero = refusal(NetworkFile {
            handshake_timeout_ms: 0,
            ..NetworkFile::default()
        });
        assert!(zero.contains("network.handshake_timeout_ms"), "{zero}");
        assert!(zero.contains("must be at least 1, not 0"), "{zero}");
        let per_address = refusal(NetworkFile {
            max_connections: 4,
            max_connections_per_address: 5,
            ..NetworkFile::default()
        });
        assert!(
            per_address.contains("must not exceed network.max_connections (4)"),
            "{per_address}"
        );
        let frame = refusal(NetworkFile {
            max_frame_bytes: 1000,
            ..NetworkFile::default()
        });
        assert!(
            frame.contains("network.max_frame_bytes") && frame.contains("between 16384"),
            "{frame}"
        );
    }

    #[test]
    fn peer_endpoints_name_a_broker_and_an_https_host_and_port() -> Result<(), ConfigError> {
        let with = |name: &str, endpoint: &str| NetworkFile {
            peer_endpoints: [(name.to_owned(), EndpointList::from(endpoint))].into(),
            ..NetworkFile::default()
        };
        let network = with("rs", "https://10.0.0.7:7401").validate()?;
        let rs: BrokerName = "rs".parse().map_err(|_| field("test", "name"))?;
        assert_eq!(
            network.peer_endpoints.get(&rs).map(Vec::as_slice),
            Some(["https://10.0.0.7:7401".to_owned()].as_slice())
        );
        let several: NetworkFile = toml::from_str(
            r#"peer_endpoints = { rs = ["https://10.0.0.7:7401", "https://10.0.0.8:7401"] }"#,
        )
        .map_err(|e| field("network", e.to_string()))?;
        assert_eq!(
            several.validate()?.peer_endpoints.get(&rs).map(Vec::len),
            Some(2)
        );
        let none = refusal(NetworkFile {
            peer_endpoints: [("rs".to_owned(), EndpointList::default())].into(),
            ..NetworkFile::default()
        });
        assert!(none.contains("broker rs is given no endpoint"), "{none}");
        let second = refusal(NetworkFile {
            peer_endpoints: [(
                "rs".to_owned(),
                EndpointList::from(vec![
                    "https://10.0.0.7:7401".to_owned(),
                    "https://10.0.0.8".to_owned(),
                ]),
            )]
            .into(),
            ..NetworkFile::default()
        });
        assert!(second.contains("must be https://host:port"), "{second}");
        let name = refusal(with("Not A Broker!", "https://10.0.0.7:7401"));
        assert!(
            name.contains("network.peer_endpoints") && name.contains("is not a broker name"),
            "{name}"
        );
        let plain = refusal(with("rs", "http://10.0.0.7:7401"));
        assert!(
            plain.contains("endpoint of broker rs must be https://host:port"),
            "{plain}"
        );
        let portless = refusal(with("rs", "https://10.0.0.7"));
        assert!(portless.contains("must be https://host:port"), "{portless}");
        Ok(())
    }
}
