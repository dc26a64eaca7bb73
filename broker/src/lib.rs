//! The trm broker: authenticates nodes with mutual TLS, verifies and durably stores the
//! envelopes they submit, and delivers them to their addressees, without ever seeing content.
//!
//! # Layout
//! - [`cli`]: the `trm-broker` program.
//! - [`config`]: the TOML configuration, validated before anything is bound or opened.
//! - [`server`]: TLS, health, reflection and graceful shutdown around the service.
//! - [`service`]: the `trm.v1.Broker` gRPC service.
//! - [`submit`]: accepting an envelope: authenticate, verify, store, flush, receipt.
//! - [`delivery`]: the acknowledged delivery stream to a node.
//! - [`auth`]: TLS peer to directory identity.
//! - [`state`]: what the handlers share.
//! - [`store`]: the sled-backed queues, duplicate table and relay log.
//! - [`error`]: refusals and their gRPC statuses.

pub mod auth;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod error;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod submit;

pub use config::{BrokerConfig, BrokerConfigFile, ConfigError};
pub use server::{ServeError, run, serve};
pub use store::BrokerStore;
