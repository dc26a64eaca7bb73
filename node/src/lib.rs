//! The trm node: one per organisation. It holds the organisation's keys, seals what it sends
//! and opens what it receives, keeps the append-only handover log, and runs as a daemon that
//! keeps its broker connection and serves the `trm` command line on a Unix socket.
//!
//! # Layout
//! - [`cli`]: the `trm-node` program.
//! - [`config`]: the TOML configuration, validated before anything is opened.
//! - [`keys`]: the signing key and age identity.
//! - [`seal`] and [`open`]: the envelope format, both directions.
//! - [`rules`]: consent, children and returns: what must hold before anything is sealed.
//! - [`attachments`]: attachment limits and checks, before sealing and on delivery.
//! - [`audit`]: the yes/no audit flags derived from content.
//! - [`cases`]: the case lifecycle: which message may follow which.
//! - [`handling`]: handling-code notices and the H2 onward-sharing check.
//! - [`deadlines`] and [`maintenance`]: due times, the overdue sweep, retention.
//! - [`vault`]: one age key per case; erasure destroys it.
//! - [`handover_log`]: the types of the hash-chained, append-only log (its format, Merkle
//!   tree and signed checkpoints are the `trm-log` crate).
//! - [`checkpointer`]: the node's tree over its log and the checkpoints it signs and stores.
//! - [`witness`]: checking and cosigning partners' checkpoints from their receipts, and fork
//!   evidence.
//! - [`export`]: the log as a metadata-only bundle for offline audit.
//! - [`coordinator`]: a national coordinator collecting its country's checkpoints.
//! - [`store`]: the node's durable state behind typed operations (messages, outbox, cases,
//!   evidence, the append-only handover log, checkpoints, witness records), each change with
//!   its log entry, on disk when an operation returns.
//! - [`node`]: send, receive and record receipts, independent of transport.
//! - [`connect`], [`outbox`], [`inbound`]: the broker connection (retry delays come from
//!   [`trm_storage::Backoff`]).
//! - [`refresh`]: keeping the federation directory current.
//! - [`metrics`]: the Prometheus metrics page (outbox, counts, log size, directory).
//! - [`reload`]: SIGHUP re-reads the directory file; what is reloadable.
//! - [`refusal_log`]: how many refused deliveries of one sender get a log entry each.
//! - [`admin`]: the local admin service for `trm`.
//! - [`accounts`]: people's accounts, roles, sessions, API tokens and the permission table;
//!   [`access_log`]: the hash-chained record of who read which content.
//! - [`backup`]: `trm-node backup` and `restore`, and the snapshot service they use.
//! - [`case_admin`]: the local cases service for `trm cases` and `trm case`.
//! - [`webhooks`]: signed notifications to the organisation's systems, from a durable queue.
//! - [`http`]: the HTTPS JSON API for people and case-management systems, over the same
//!   services as the socket.
//! - [`daemon`]: everything together until shutdown.
//! - [`error`]: refusals and their gRPC statuses.

pub mod access_log;
pub mod accounts;
pub mod admin;
pub mod attachments;
pub mod audit;
pub mod backup;
pub mod case_admin;
pub mod cases;
pub mod checkpointer;
pub mod cli;
pub mod config;
pub mod connect;
pub mod console;
pub mod coordinator;
pub mod daemon;
pub mod deadlines;
pub mod error;
pub mod export;
pub mod handling;
pub mod handover_log;
pub mod http;
pub mod inbound;
pub mod keys;
pub mod maintenance;
pub mod metrics;
pub mod node;
pub mod open;
pub mod outbox;
pub mod refresh;
pub mod refusal_log;
pub mod reload;
pub mod rules;
pub mod seal;
pub mod store;
pub mod vault;
pub mod webhooks;
pub mod witness;

pub use config::{NodeConfig, NodeConfigFile};
pub use daemon::{run, serve};
