//! The trm broker: authenticates nodes and peer brokers with mutual TLS, verifies and durably
//! stores the envelopes nodes submit, relays those for other brokers' nodes to their home
//! broker, and delivers envelopes to its own nodes, without ever seeing content.
//!
//! # Layout
//! - [`cli`]: the `trm-broker` program.
//! - [`config`]: the TOML configuration, validated before anything is bound or opened.
//! - [`server`]: TLS, health, reflection, background tasks and graceful shutdown.
//! - [`service`]: the `trm.v1.Broker` and `trm.v1.BrokerPeer` gRPC services.
//! - [`submit`]: accepting an envelope from a node: authenticate, verify, store durably, receipt.
//! - [`admit`]: the checks on an envelope shared by submit and relay, and broker receipts.
//! - [`delivery`]: the acknowledged delivery stream to a node.
//! - [`relay`]: the outbound relay task per peer broker, with backoff.
//! - [`lease`]: relaying to a peer in one process at a time when several share the store.
//! - [`wakeups`]: wake-ups across the processes sharing a store, and the periodic rescan.
//! - [`peer`]: the inbound Relay handler for peer brokers.
//! - [`refresh`]: the directory refresh task.
//! - [`reload`]: SIGHUP: the configuration and directory re-read, what is reloadable.
//! - [`status`]: `trm-broker status`, the metrics page for a person.
//! - [`connect`]: channels to peer brokers.
//! - [`link`]: per-peer signals, channel and relay status.
//! - [`handshake`]: TLS 1.3 with directory-pinned client certificates, for the listener.
//! - [`listen`]: the accept loop: connection caps and the handshake timeout.
//! - [`metrics`]: the Prometheus metrics page (queues, peers, counters, expiries).
//! - [`auth`]: TLS peer to directory identity.
//! - [`home`]: node-facing calls only for nodes homed on this broker.
//! - [`state`]: what the handlers and tasks share.
//! - [`store`]: the store (queues, outboxes, duplicate table, relay log) as a trait whose
//!   writes return once durable, and its embedded engine.
//! - [`record`]: relay-log records.
//! - [`quota`]: queue caps, submission rates, relay caps and the free-disk watermark.
//! - [`expiry`]: the sweep that removes expired envelopes and tells their senders.
//! - [`error`]: refusals and their gRPC statuses.

pub mod admit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod connect;
pub mod delivery;
pub mod error;
pub mod expiry;
pub mod handshake;
pub mod home;
pub mod lease;
pub mod link;
pub mod listen;
pub mod metrics;
pub mod peer;
pub mod prekeys;
pub mod quota;
pub mod record;
pub mod refresh;
pub mod relay;
pub mod reload;
pub mod server;
pub mod service;
pub mod state;
pub mod status;
pub mod store;
pub mod submit;
pub mod wakeups;

pub use config::{BrokerConfig, BrokerConfigFile, ConfigError};
pub use server::{ServeError, run, serve, serve_state};
pub use state::BrokerState;
pub use store::BrokerStore;
