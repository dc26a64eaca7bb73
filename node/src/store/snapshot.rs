//! The store at one point in time, for a backup, and a store rebuilt from one, for a restore.
//!
//! **Consistency.** Every change to messages, the outbox, cases and the handover log goes
//! through the one writer thread (`combine`), so pausing it between two batches freezes all of
//! them together: [`NodeStore::snapshot`] pauses the writer (changes keep queueing and wait;
//! nothing is refused), then copies every tree of the database and the case keys, and lets the
//! writer go on. The case keys are read under the vault's own lock, which creating and
//! destroying keys take, and only for the cases the frozen store holds as live (not erased):
//!
//! - a key made for a change still waiting in the queue is left out, and so is its content,
//!   which is not in the copy either;
//! - a case erased in the copy has its key left out even if the key file is still being
//!   destroyed, so a backup taken after an erasure never holds that case's key.
//!
//! Trees written outside the writer (signed checkpoints, witness records) are copied in the
//! same pause; a checkpoint only ever signs a prefix of the log, which the copy holds whole.
//! The copy is held in memory (the store's size) and encrypted by the caller; nothing of it is
//! written to disk here.

use prost::Message as _;
use trm_proto::pb;

use super::{CASES_TREE, NodeStore, StoreError, corrupt};

/// The path of the store's records in a backup.
pub const STORE_FILE: &str = "data/store";

/// The folder of the case keys in a backup.
pub const CASE_KEYS_DIR: &str = "data/case-keys";

impl NodeStore {
    /// Copies the whole store and the keys of its live cases at one point in time (see the
    /// module documentation). Blocking: call it off the async runtime.
    pub fn snapshot(&self, taken_at_ms: u64) -> Result<pb::NodeSnapshot, StoreError> {
        let _paused = self.combiner.pause();
        let chain = self.log.verify()?;
        let mut trees = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let mut records = Vec::with_capacity(tree.len());
            for record in tree.iter() {
                let (key, value) = record?;
                records.push(pb::StoreRecord {
                    key: key.to_vec(),
                    value: value.to_vec(),
                });
            }
            trees.push(pb::StoreTree {
                name: name.to_vec(),
                records,
            });
        }
        let (live, erased) = self.live_case_keys()?;
        let keys = self
            .vault
            .copy_keys(live.iter().map(Vec::as_slice))?
            .into_iter()
            .map(|(name, data)| pb::BackupFile {
                path: format!("{CASE_KEYS_DIR}/{name}"),
                data,
            });
        let mut files = vec![pb::BackupFile {
            path: STORE_FILE.to_owned(),
            data: pb::StoreRecords { trees }.encode_to_vec(),
        }];
        files.extend(keys);
        Ok(pb::NodeSnapshot {
            taken_at_ms,
            log_entries: chain.entries,
            log_head: chain.head.to_vec(),
            files,
            erased_cases: erased,
        })
    }

    /// The store keys of the cases whose content is not erased, and how many are erased.
    fn live_case_keys(&self) -> Result<(Vec<Vec<u8>>, u32), StoreError> {
        let mut live = Vec::new();
        let mut erased = 0u32;
        for record in self.cases.iter() {
            let (key, value) = record?;
            let case =
                pb::StoredCase::decode(value.as_ref()).map_err(|e| corrupt(CASES_TREE, e))?;
            if case.summary.is_some_and(|s| s.erased_at_ms != 0) {
                erased = erased.saturating_add(1);
            } else {
                live.push(key.to_vec());
            }
        }
        Ok((live, erased))
    }
}

/// Writes the records of a snapshot's store (the bytes of [`STORE_FILE`]) into a new database
/// in `dir`, on disk when this returns. `dir` must hold no database yet.
pub fn rebuild(dir: &std::path::Path, encoded: &[u8]) -> Result<(), StoreError> {
    let records =
        pb::StoreRecords::decode(encoded).map_err(|e| corrupt("backup store records", e))?;
    let db = trm_storage::open_db(dir)?;
    for tree in records.trees {
        let target = db.open_tree(&tree.name)?;
        for record in tree.records {
            target.insert(record.key, record.value)?;
        }
    }
    db.flush()?;
    Ok(())
}
