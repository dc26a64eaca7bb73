//! **Dangerous**: tools for tests that must tamper with a node's stored handover log as someone
//! with access to the disk could, to show that the node and the auditor notice. Nothing in the
//! node uses them; they exist only in test builds and with the `danger-test-tools` feature.
//! Each opens the database in a node's data folder, which no running node may hold open.

use std::path::Path;

use trm_proto::pb;

use super::StoreError;
use super::log::{self, Log};

/// The log format in a database of its own, appended to in batches directly, without a node's
/// store or its writer: the baseline a benchmark measures the node's append path against.
#[derive(Clone)]
pub struct BareLog {
    log: sled::Tree,
    checkpoints: sled::Tree,
    commit: trm_storage::GroupCommit,
}

impl BareLog {
    /// Opens (or makes) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = trm_storage::open_db(dir)?;
        Ok(Self {
            log: db.open_tree(log::TREE)?,
            checkpoints: db.open_tree(super::CHECKPOINTS_TREE)?,
            commit: trm_storage::GroupCommit::try_start(db, dir)?,
        })
    }

    /// Appends `entries` in one transaction (not yet durable: see [`BareLog::durable`]).
    pub fn append_batch(&self, entries: &[pb::LogEntry]) -> Result<(), StoreError> {
        self.log.transaction(|tx| {
            for entry in entries {
                log::append(tx, entry.clone())?;
            }
            Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    /// How many entries the log holds.
    pub fn entry_count(&self) -> Result<u64, StoreError> {
        Ok(log::entry_count(&self.log)?)
    }

    /// Up to `limit` entries' stored bytes from index `from`.
    pub fn read_bytes(&self, from: u64, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(log::read_bytes(&self.log, from, limit)?)
    }

    /// Verifies the whole chain.
    pub fn verify(&self) -> Result<crate::handover_log::ChainSummary, StoreError> {
        Ok(log::verify(&self.log)?)
    }

    /// Stores a signed checkpoint note under its tree size (not yet durable).
    pub fn store_checkpoint(&self, size: u64, note: &str) -> Result<(), StoreError> {
        self.checkpoints
            .insert(size.to_be_bytes(), note.as_bytes())?;
        Ok(())
    }

    /// Returns once everything written before the call is on disk (group commit).
    pub async fn durable(&self) -> Result<(), StoreError> {
        Ok(self.commit.durable().await?)
    }

    /// How many flushes the group commit has made.
    pub fn flushes(&self) -> u64 {
        self.commit.flushes()
    }
}

/// The stored bytes of entry `index` of the log in `data_dir`, if there is one.
pub fn danger_read_log_entry(data_dir: &Path, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
    let db = trm_storage::open_db(data_dir)?;
    let tree = db.open_tree(log::TREE)?;
    Ok(tree.get(log::entry_key(index))?.map(|bytes| bytes.to_vec()))
}

/// Overwrites entry `index` of the log in `data_dir` with `bytes`, leaving everything else as
/// it is, and flushes.
pub fn danger_overwrite_log_entry(
    data_dir: &Path,
    index: u64,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let db = trm_storage::open_db(data_dir)?;
    let tree = db.open_tree(log::TREE)?;
    tree.insert(log::entry_key(index), bytes)?;
    db.flush()?;
    Ok(())
}

/// Overwrites the head record of the log in `data_dir` (the number of entries and the hash of
/// the last one), and flushes.
pub fn danger_overwrite_log_head(
    data_dir: &Path,
    entries: u64,
    last: [u8; 32],
) -> Result<(), StoreError> {
    let db = trm_storage::open_db(data_dir)?;
    let tree = db.open_tree(log::TREE)?;
    let mut head = entries.to_be_bytes().to_vec();
    head.extend_from_slice(&last);
    tree.insert(log::HEAD_KEY, head)?;
    db.flush()?;
    Ok(())
}

/// Replaces the whole log in `data_dir` with `entries`, well chained, and flushes.
pub fn danger_replace_log(data_dir: &Path, entries: &[pb::LogEntry]) -> Result<(), StoreError> {
    let db = trm_storage::open_db(data_dir)?;
    db.drop_tree(log::TREE)?;
    let tree = db.open_tree(log::TREE)?;
    for entry in entries {
        tree.transaction(|tx| {
            log::append(tx, entry.clone())?;
            Ok::<_, sled::transaction::ConflictableTransactionError<StoreError>>(())
        })?;
    }
    db.flush()?;
    // Read back through the store's own check, so a caller learns at once if it did not take.
    let _ = Log::new(tree).entry_count()?;
    Ok(())
}
