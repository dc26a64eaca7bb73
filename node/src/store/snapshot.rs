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
        let engine = self.engine()?;
        let _paused = engine.combiner.pause();
        let chain = engine.log.verify()?;
        let mut trees = Vec::new();
        for name in engine.db.tree_names() {
            let tree = engine.db.open_tree(&name)?;
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
        for record in self.engine()?.cases.iter() {
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

#[cfg(test)]
mod tests {
    use trm_proto::addr::{MessageId, NodeAddr};
    use trm_proto::envelope::Header;

    use super::super::{EntryFacts, message_key};
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const MESSAGES: u64 = 200;

    /// Receives referral `n`, alone in its own case, with body `body n`.
    async fn receive(
        store: NodeStore,
        n: u64,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let header = Header {
            message_id: format!("{n:032x}").parse::<MessageId>()?,
            from: "lefoe-ibf@at".parse::<NodeAddr>()?,
            to: "astra@rs".parse::<NodeAddr>()?,
            created_at_ms: 1_700_000_000_000,
            expires_at_ms: 1_800_000_000_000,
            priority: pb::Priority::Routine,
            kind: pb::MessageKind::Referral,
            ciphertext_sha256: [0; 32],
        };
        let mut digest = [0u8; 32];
        digest[..8].copy_from_slice(&n.to_be_bytes());
        let content = pb::body::Content::Referral(pb::Referral::default());
        let case_ref = format!("AT-LEFOE-2026-{n:04}");
        let facts = EntryFacts {
            header: &header,
            digest: &digest,
            case_ref: &case_ref,
            flags: pb::AuditFlags::default(),
            content: Some(&content),
        };
        let body = format!("body {n}");
        store
            .record_received(
                &pb::Envelope::default(),
                &facts,
                body.as_bytes(),
                1_700_000_000_001 + n,
            )
            .await?;
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn snapshots_taken_while_messages_arrive_hold_each_message_with_its_entry_and_key()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..MESSAGES {
            writers.spawn(receive(store.clone(), n));
        }
        let mut snapshots = Vec::new();
        for _ in 0..6 {
            let store = store.clone();
            snapshots.push(tokio::task::spawn_blocking(move || store.snapshot(1)).await??);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        while let Some(written) = writers.join_next().await {
            written?.map_err(|e| e.to_string())?;
        }
        let last = tokio::task::spawn_blocking(move || store.snapshot(2)).await??;
        assert_eq!(last.log_entries, MESSAGES);
        snapshots.push(last);
        let sizes: Vec<u64> = snapshots.iter().map(|s| s.log_entries).collect();
        eprintln!("log entries in the snapshots: {sizes:?}");
        for snapshot in &snapshots {
            // Rebuilt as a restore does: the case keys, then the store's records.
            let copy_dir = tempfile::tempdir()?;
            let keys = copy_dir.path().join(crate::vault::FOLDER);
            std::fs::create_dir(&keys)?;
            let mut records = None;
            for file in &snapshot.files {
                if let Some(name) = file.path.strip_prefix("data/case-keys/") {
                    std::fs::write(keys.join(name), &file.data)?;
                } else if file.path == STORE_FILE {
                    records = Some(file.data.clone());
                }
            }
            rebuild(copy_dir.path(), &records.ok_or("no store records")?)?;
            let copy = NodeStore::open(copy_dir.path())?;
            let chain = copy.verify_log()?;
            assert_eq!(
                (chain.entries, chain.head.to_vec()),
                (snapshot.log_entries, snapshot.log_head.clone())
            );
            // One point in time: every message with its log entry, and its key to read it.
            let inbox = copy.inbox(usize::MAX)?;
            assert_eq!(inbox.len() as u64, chain.entries);
            for summary in inbox {
                let stored =
                    copy.stored_message(&message_key(&summary.from, &summary.message_id))?;
                let n = u64::from_str_radix(&summary.message_id, 16)?;
                assert_eq!(copy.content(&stored)?, format!("body {n}").into_bytes());
            }
        }
        Ok(())
    }
}
