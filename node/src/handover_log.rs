//! The handover log as the node keeps it: the node's append-only, hash-chained record of every
//! handover.
//!
//! Each entry is a [`pb::LogEntry`] (metadata only: event, time, counterparty, case reference,
//! digests, audit flags; never names or content). Entry `n` records the hash of entry `n - 1`,
//! and a head record holds the hash of the last entry, so changing, removing or inserting an
//! entry breaks the chain at a point the store's verification can name.
//!
//! The format itself (the entry hash `SHA-256("trm/log-entry/v1" || entry bytes)`, decoding,
//! and the check of a chain of entry bytes) is [`trm_log::entry`]; the store keeps each entry's
//! exact bytes under its index with a head record (`crate::store`). This module holds the types
//! the node's other modules see.
//!
//! **Architecture Invariant:** the log has no delete or rewrite path: the store reaches it only
//! through an append-only handle, whose append refuses to overwrite an existing entry.
//!
//! A local chain cannot detect a truncation that also rewrites the head record consistently:
//! that is what signed checkpoints witnessed by other organisations are for.

use trm_log::entry::ChainError;
pub(crate) use trm_log::entry::ZERO_HASH;
pub use trm_log::entry::{ChainSummary, EntryHash, entry_hash, verify_entries};
use trm_proto::pb;

/// Where an append put an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// The entry's position in the log, from 0.
    pub index: u64,
    /// The entry's hash, which the next entry will record.
    pub hash: EntryHash,
}

/// An entry as the store read it from disk.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEntry {
    /// The decoded entry.
    pub entry: pb::LogEntry,
    /// The hash of `bytes`.
    pub hash: EntryHash,
    /// The stored bytes, exactly as hashed.
    pub bytes: Vec<u8>,
}

/// Why the log could not be read or verified.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Entry `index` is not what the chain says it should be.
    #[error("handover log entry {index} is corrupt: {problem}")]
    Broken {
        /// The entry that was changed, is missing, or should not be there.
        index: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The storage engine failed.
    #[error("handover log storage: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<ChainError> for LogError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Broken { index, problem } => Self::Broken { index, problem },
        }
    }
}

/// Decodes the entry stored at `index` and checks that it says it is entry `index`.
pub(crate) fn decode(index: u64, bytes: &[u8]) -> Result<pb::LogEntry, LogError> {
    Ok(trm_log::entry::decode(index, bytes)?)
}

/// A [`LogError::Broken`] for entry `index`.
pub(crate) fn broken(index: u64, problem: impl Into<String>) -> LogError {
    ChainError::broken(index, problem).into()
}

/// A [`LogError::Broken`] for the missing entry `expected`, found while expecting it at `next`.
pub(crate) fn missing(expected: u64, next: u64) -> LogError {
    ChainError::missing(expected, next).into()
}

/// The handover log's two speed figures, as [`measure`] finds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogFigures {
    /// How many entries were appended (and then verified).
    pub entries: u64,
    /// How many tasks appended at once.
    pub appenders: u64,
    /// How long the appends took together, from the first to the last on disk.
    pub append: std::time::Duration,
    /// How long verifying the whole chain took, head record included.
    pub verify: std::time::Duration,
}

impl LogFigures {
    /// Entries appended a second, each on disk before its appender went on.
    pub fn appends_per_second(&self) -> f64 {
        self.entries as f64 / self.append.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// Measures the log in a fresh store in `dir` (which must hold none): `appenders` tasks append
/// `entries` entries in all through the node's store, each waiting until its entry is on disk
/// before appending the next (the store's writer combines what is waiting into one
/// transaction, and the group commit many transactions into one flush); then the whole chain
/// is verified as the node does when it opens. What the load tool prints for the log.
pub async fn measure(
    dir: &std::path::Path,
    appenders: u64,
    entries: u64,
) -> Result<LogFigures, crate::store::StoreError> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let store = crate::store::NodeStore::open(dir)?;
    let next = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..appenders.max(1) {
        let (store, next) = (store.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= entries {
                    return Ok::<_, crate::store::StoreError>(());
                }
                let header = pb::EnvelopeHeader {
                    message_id: format!("{:032x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                    from: "astra@rs".into(),
                    kind: pb::MessageKind::Referral.into(),
                    ..Default::default()
                };
                let mut digest = [0xe0; 32];
                digest[..8].copy_from_slice(&n.to_be_bytes());
                store
                    .record_refused(&header, &digest, 1_700_000_000_000 + n, "measured")
                    .await?;
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.map_err(|e| crate::store::StoreError::Corrupt {
            tree: "handover_log",
            message: format!("an appender failed: {e}"),
        })??;
    }
    let append = started.elapsed();
    let started = std::time::Instant::now();
    let summary = tokio::task::spawn_blocking({
        let store = store.clone();
        move || store.verify_log()
    })
    .await
    .map_err(|e| crate::store::StoreError::Corrupt {
        tree: "handover_log",
        message: format!("the verification failed: {e}"),
    })??;
    let verify = started.elapsed();
    if summary.entries != entries {
        return Err(crate::store::StoreError::Corrupt {
            tree: "handover_log",
            message: format!("{} entries verified, {entries} appended", summary.entries),
        });
    }
    Ok(LogFigures {
        entries,
        appenders,
        append,
        verify,
    })
}

#[cfg(test)]
mod tests {
    /// A figure, not a check: 64 appenders append `TRM_LOG_ENTRIES` (1,000,000) entries, then
    /// the chain is verified. Run in release:
    /// `cargo test --release -p trm-node --lib log_figures -- --ignored --nocapture`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a figure for the load tool, minutes in a debug build"]
    async fn log_figures() -> Result<(), Box<dyn std::error::Error>> {
        let entries = std::env::var("TRM_LOG_ENTRIES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let dir = tempfile::tempdir()?;
        let figures = super::measure(dir.path(), 64, entries).await?;
        println!(
            "{} entries, {} appenders: append {:.2?} ({:.0}/s), verify {:.2?}",
            figures.entries,
            figures.appenders,
            figures.append,
            figures.appends_per_second(),
            figures.verify
        );
        Ok(())
    }
}
