//! What the broker and the node share at run time: group commit over sled, retry backoff, and
//! the shape of a daemon program.
//!
//! Both keep their state in sled, and both follow one rule: nothing is acknowledged before it
//! is on disk. sled 0.34.7's `flush_async` deadlocks when about eight or more callers flush at
//! once (spacejam/sled#1308), and a flush per request wastes most of its fsync. This crate
//! therefore runs one flusher thread per database that batches every caller waiting for
//! durability into as few flushes as possible ([`GroupCommit`]).
//!
//! Both also retry peers that are unreachable (a node its broker, a broker its peer brokers)
//! with the same capped, jittered exponential [`Backoff`].
//!
//! # Layout
//! - [`open`]: [`open_db`], opening a sled database with trm's configuration.
//! - [`group_commit`]: [`GroupCommit`], the flusher thread and the tickets writers wait on.
//! - `sled_files` (private): what a flush syncs besides sled's own flush: the database's file
//!   and the files sled writes large values to.
//! - [`backoff`]: [`Backoff`], retry delays with full jitter and a cap.
//! - [`notify`]: readiness notification to the service manager (`READY=1`, `STOPPING=1`).
//! - [`daemon`]: logging, configuration, runtime, shutdown and exit codes of a daemon.
//! - [`exposition`]: Prometheus metrics pages and the tiny HTTP server that answers them.
//! - [`logging`]: log lines as text (no escape codes off a terminal) or JSON, for every program.
//! - [`config`]: reading a TOML configuration and the files it names, with precise errors.
//! - [`endpoint_list`]: [`EndpointList`], one endpoint or several in order of preference.
//! - [`append_file`]: [`AppendFile`], a file written only at its end whose writers share syncs.
//! - [`fs`]: [`fs::write_atomically`], the one way a file is replaced whole and durably.
//! - [`error`]: the error type, [`StorageError`].
//! - [`fault`]: [`fault::WriteHealth`], refusing writes while the disk is full or failing, and
//!   recovering by itself when it takes writes again.
//!
//! Everything but `fs`, `append_file`, `config`, `endpoint_list` and `logging` needs the default feature `engine`; `logging`
//! needs the feature of that name (which `engine` includes).

#![forbid(unsafe_code)]

pub mod append_file;
#[cfg(feature = "engine")]
pub mod backoff;
pub mod config;
#[cfg(feature = "engine")]
pub mod daemon;
pub mod endpoint_list;
#[cfg(feature = "engine")]
pub mod error;
#[cfg(feature = "engine")]
pub mod exposition;
pub mod fault;
pub mod fs;
#[cfg(feature = "engine")]
pub mod group_commit;
#[cfg(feature = "logging")]
pub mod logging;
#[cfg(feature = "engine")]
pub mod notify;
#[cfg(feature = "engine")]
pub mod open;
#[cfg(feature = "engine")]
mod sled_files;

pub use append_file::AppendFile;
#[cfg(feature = "engine")]
pub use backoff::{Backoff, Failure};
pub use config::ConfigError;
pub use endpoint_list::EndpointList;
#[cfg(feature = "engine")]
pub use error::StorageError;
#[cfg(feature = "engine")]
pub use fault::{WriteHealth, WriteRefused};
#[cfg(feature = "engine")]
pub use group_commit::{GroupCommit, flush_durably};
#[cfg(feature = "engine")]
pub use open::{EngineSettings, open_db, open_db_with};
