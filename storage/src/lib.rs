//! Durable storage helpers shared by the broker and the node.
//!
//! Both keep their state in sled, and both follow one rule: nothing is acknowledged before it
//! is on disk. sled 0.34.7's `flush_async` deadlocks when about eight or more callers flush at
//! once (spacejam/sled#1308), and a flush per request wastes most of its fsync. This crate
//! therefore runs one flusher thread per database that batches every caller waiting for
//! durability into as few flushes as possible ([`GroupCommit`]).
//!
//! # Layout
//! - [`open`]: [`open_db`], opening a sled database with trm's configuration.
//! - [`group_commit`]: [`GroupCommit`], the flusher thread and the tickets writers wait on.
//! - [`error`]: the error type, [`StorageError`].

#![forbid(unsafe_code)]

pub mod error;
pub mod group_commit;
pub mod open;

pub use error::StorageError;
pub use group_commit::GroupCommit;
pub use open::open_db;
