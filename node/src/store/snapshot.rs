//! The store at one point in time, for a backup, and a store rebuilt from one, for a restore.
//!
//! **Consistency.** Every change to messages, the outbox, cases and the handover log goes
//! through the one writer thread (`combine`), so pausing it between two batches freezes all of
//! them together: [`NodeStore::snapshot`] pauses the writer (changes keep queueing and wait;
//! nothing is refused), copies every tree of the database into memory, and lets the writer go
//! on at once. Only then are the copied handover log verified and the case keys read (under
//! the vault's own lock, which creating and destroying keys take). The keys are those the
//! copy's messages are sealed to, less the cases the copy holds as erased:
//!
//! - a live case's key never changes until the case is erased, so reading it after the pause
//!   reads the key the copy was sealed to; a key made for a change after the pause is left
//!   out, and so is its content, which is not in the copy either;
//! - a case erased in the copy has its key left out even if the key file is still being
//!   destroyed, so a backup taken after an erasure never holds that case's key; a case erased
//!   after the pause has its key destroyed already, and is left out too (its copied content
//!   can then no longer be read, as after the erasure);
//! - a case's two keys are chosen apart: a sent message that still holds content keeps the key
//!   of what this node authored (a withdrawal erases only what the partner sent), and, in a
//!   live case, the case's other key too (a case stored before the keys were split keeps its
//!   sent messages under that one).
//!
//! The pause is logged at DEBUG with its length and returned in the snapshot (`paused_us`).
//! Trees written outside the writer (signed checkpoints, witness records) are copied in the
//! same pause; a checkpoint only ever signs a prefix of the log, which the copy holds whole.
//! An outbox record set aside outside the writer holds the writer's gate, so it is paused too.
//! The copy is held in memory (the store's size) and encrypted by the caller; nothing of it is
//! written to disk here.

use std::collections::BTreeSet;
use std::time::Instant;

use prost::Message as _;
use trm_proto::pb;

use super::content::ContentFile;
use super::engine::{MESSAGES_TREE, OUTBOX_TREE};
use super::log;
use super::{CASES_TREE, NodeStore, OUTGOING, StoreError, case_key_of, corrupt};
use crate::handover_log::ChainSummary;

/// The path of the store's records in a backup.
pub const STORE_FILE: &str = "data/store";

/// The folder of the case keys in a backup.
pub const CASE_KEYS_DIR: &str = "data/case-keys";

impl NodeStore {
    /// Copies the whole store and the keys of its live cases at one point in time (see the
    /// module documentation). Blocking: call it off the async runtime.
    pub fn snapshot(&self, taken_at_ms: u64) -> Result<pb::NodeSnapshot, StoreError> {
        let started = Instant::now();
        let engine = self.engine()?;
        let trees = {
            let _paused = engine.combiner.pause();
            Self::copy_trees(&engine.db)?
        };
        let paused = started.elapsed();
        // After the pause: the file is only appended to, so a place in the copy reads the
        // same bytes now.
        let trees = content_inline(trees, &engine.content)?;
        tracing::debug!(
            paused_us = paused.as_micros(),
            "store writer paused for a snapshot"
        );
        let chain = verify_copied_log(&trees)?;
        let (live, erased) = live_case_keys(&trees)?;
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
            paused_us: u64::try_from(paused.as_micros()).unwrap_or(u64::MAX),
        })
    }

    /// Every record of every tree of `db`, as they are now.
    fn copy_trees(db: &sled::Db) -> Result<Vec<pb::StoreTree>, StoreError> {
        let mut trees = Vec::new();
        for name in db.tree_names() {
            let tree = db.open_tree(&name)?;
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
        Ok(trees)
    }
}

/// The copy with what the file of sealed content holds put back into the records that name
/// it (each stored message's content, each waiting envelope): a backup holds the store's
/// records, not the file, and a store rebuilt from it reads either form. An outbox record whose
/// envelope does not read is copied as it is (the restored node sets it aside, as this one
/// would).
fn content_inline(
    mut trees: Vec<pb::StoreTree>,
    content: &ContentFile,
) -> Result<Vec<pb::StoreTree>, StoreError> {
    for tree in &mut trees {
        if tree.name == MESSAGES_TREE.as_bytes() {
            for record in &mut tree.records {
                let mut stored = pb::StoredMessage::decode(record.value.as_slice())
                    .map_err(|e| corrupt(MESSAGES_TREE, e))?;
                let Some(place) = stored.content_place.take() else {
                    continue;
                };
                stored.content = content.read(&place)?;
                record.value = stored.encode_to_vec();
            }
        } else if tree.name == OUTBOX_TREE.as_bytes() {
            for record in &mut tree.records {
                let Ok(mut item) = pb::OutboxItem::decode(record.value.as_slice()) else {
                    continue;
                };
                let Some(place) = item.envelope_place.take() else {
                    continue;
                };
                let envelope = match content.read(&place) {
                    Ok(bytes) => pb::Envelope::decode(bytes.as_slice()).ok(),
                    Err(StoreError::Corrupt { .. }) => None,
                    Err(e) => return Err(e),
                };
                if let Some(envelope) = envelope {
                    item.envelope = Some(envelope);
                    record.value = item.encode_to_vec();
                }
            }
        }
    }
    Ok(trees)
}

/// The records of the tree `name` in a copy (none if it has no such tree).
fn copied<'a>(trees: &'a [pb::StoreTree], name: &str) -> &'a [pb::StoreRecord] {
    trees
        .iter()
        .find(|tree| tree.name == name.as_bytes())
        .map_or(&[], |tree| tree.records.as_slice())
}

/// Verifies the handover log of a copy, in a scratch database in memory.
fn verify_copied_log(trees: &[pb::StoreTree]) -> Result<ChainSummary, StoreError> {
    let scratch = sled::Config::new().temporary(true).open()?;
    let tree = scratch.open_tree(log::TREE)?;
    for record in copied(trees, log::TREE) {
        tree.insert(record.key.as_slice(), record.value.as_slice())?;
    }
    Ok(log::verify(&tree)?)
}

/// The case keys the copy's messages are sealed to, less those of the parts the copy holds as
/// erased (a sent message that still holds content keeps its own key), and how many cases it
/// holds as erased. Chosen from the messages, not from the cases, so a
/// message sealed to a key without a case record keeps its key.
fn live_case_keys(trees: &[pb::StoreTree]) -> Result<(BTreeSet<Vec<u8>>, u32), StoreError> {
    let mut erased_cases = BTreeSet::new();
    for record in copied(trees, CASES_TREE) {
        let case =
            pb::StoredCase::decode(record.value.as_slice()).map_err(|e| corrupt(CASES_TREE, e))?;
        if case.summary.is_some_and(|s| s.erased_at_ms != 0) {
            erased_cases.insert(record.key.clone());
        }
    }
    let mut live = BTreeSet::new();
    for record in copied(trees, MESSAGES_TREE) {
        let stored = pb::StoredMessage::decode(record.value.as_slice())
            .map_err(|e| corrupt(MESSAGES_TREE, e))?;
        if !super::has_content(&stored) {
            continue;
        }
        // A sent message is under the key of what this node authored, or, stored before the
        // parts were split, under the case's one key, which an erasure destroys.
        let key = case_key_of(&stored);
        if stored.direction == OUTGOING {
            live.insert(crate::vault::authored(&key));
        }
        if !erased_cases.contains(&key) {
            live.insert(key);
        }
    }
    let erased = u32::try_from(erased_cases.len()).unwrap_or(u32::MAX);
    Ok((live, erased))
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
    trm_storage::flush_durably(&db, dir)?;
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
            recipient_key_id: String::new(),
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
            sequence: 0,
        };
        let body = format!("body {n}");
        store
            .store_received(
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
        // Half the messages first, so that every snapshot below holds some whatever the
        // machine's load; the other half arrives while the snapshots are taken.
        let mut writers = tokio::task::JoinSet::new();
        for n in 0..MESSAGES / 2 {
            writers.spawn(receive(store.clone(), n));
        }
        while let Some(written) = writers.join_next().await {
            written?.map_err(|e| e.to_string())?;
        }
        for n in MESSAGES / 2..MESSAGES {
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
        let paused: Vec<u64> = snapshots.iter().map(|s| s.paused_us).collect();
        eprintln!("log entries in the snapshots: {sizes:?}, writer paused (µs): {paused:?}");
        assert!(
            sizes.iter().any(|&n| 0 < n && n < MESSAGES),
            "no snapshot was taken while messages were arriving: {sizes:?}"
        );
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

    #[tokio::test]
    async fn keys_follow_the_messages_less_the_cases_erased_in_the_store() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        for n in 0..3 {
            receive(store.clone(), n).await.map_err(|e| e.to_string())?;
        }
        let key = |n: u64| crate::cases::case_key("lefoe-ibf@at", &format!("AT-LEFOE-2026-{n:04}"));
        // Case 1 is erased in the store while its key file is still there (being destroyed).
        let bytes = store
            .engine()?
            .cases
            .get(key(1))?
            .ok_or("no record of case 1")?;
        let mut case = pb::StoredCase::decode(bytes.as_ref())?;
        case.summary
            .get_or_insert_with(Default::default)
            .erased_at_ms = 1_700_000_000_500;
        store.engine()?.cases.insert(key(1), case.encode_to_vec())?;
        // Case 2's message is sealed to its key, but there is no case record.
        store.engine()?.cases.remove(key(2))?;
        assert!(store.vault.has_key(&key(1)) && store.vault.has_key(&key(2)));
        let snapshot = store.snapshot(1)?;
        let names: BTreeSet<&str> = snapshot
            .files
            .iter()
            .filter_map(|f| f.path.strip_prefix("data/case-keys/"))
            .collect();
        let name = |n: u64| {
            store
                .vault
                .key_path(&key(n))
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        assert!(
            names.contains(name(0).as_str()),
            "a live case's key: {names:?}"
        );
        assert!(
            !names.contains(name(1).as_str()),
            "the case erased in the store has its key left out"
        );
        assert!(
            names.contains(name(2).as_str()),
            "a message without a case record keeps its key"
        );
        assert_eq!(names.len(), 3, "the salt and two keys: {names:?}");
        assert_eq!(snapshot.erased_cases, 1);
        Ok(())
    }
}
