//! The embedded engine: the broker's state in sled, with group commit ([`GroupCommit`]) making
//! every write durable before it returns. The only module of this crate that names sled.
//!
//! Trees: `dedup` (`sender NUL message-id` → digest ‖ receipt), `queue` (`recipient NUL
//! sequence(u64 BE)` → `Delivery`), `outbox` ([`outbox`]) and `relay_log` (sequence →
//! `RelayRecord`), `expiry` ([`expiry_index`]: what the expiry sweep reads), `usage`
//! ([`usage_records`]: the quotas' usage on disk); [`usage`] reads what the quotas and the
//! expiry sweep need. Sequences come
//! from sled's persistent id generator, so queues, outboxes and the log keep their order
//! across restarts. [`RecoveringStore`] (`recover`) is what the broker runs: this store, refusing
//! writes while the disk is full or failing and reopened by itself when it takes writes again.
//!
//! Intakes, completions and relay answers go through one writer thread ([`writer`]) that
//! applies whatever is waiting as one transaction and answers its callers once the group
//! commit has flushed it: one transaction and one flush serve many envelopes.

use std::path::Path;
use std::sync::{Arc, Mutex};

use prost::Message;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;
use trm_storage::{EngineSettings, GroupCommit, StorageError};

use super::{
    Accepted, Admission, BrokerStore, Destination, Intake, Outgoing, Queued, RelayAnswer, Route,
    RoutedReceipt, StoreError, StoreFuture, Stored, Usage, counted,
};

mod expiry_index;
mod forget;
mod outbox;
mod prekeys;
mod recover;
mod set_aside;
mod usage;
mod usage_records;
mod writer;

pub use recover::RecoveringStore;

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Engine(Box::new(e))
    }
}

impl From<StorageError> for StoreError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Open { .. } | StorageError::Locked { .. } => {
                StoreError::Open(Box::new(e))
            }
            _ => StoreError::Durability(Box::new(e)),
        }
    }
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::from(e),
        }
    }
}

/// The broker's sled database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: sled::Db,
    dedup: sled::Tree,
    queue: sled::Tree,
    outbox: sled::Tree,
    relay_log: sled::Tree,
    expiry: sled::Tree,
    /// The quotas' usage records ([`usage_records`]).
    usage: sled::Tree,
    commit: GroupCommit,
    /// The thread every intake, completion and relay answer is committed by.
    writer: Arc<writer::Writer>,
    /// Queue usage, kept in step by the writer.
    counters: Arc<Mutex<counted::Counters>>,
}

fn queue_prefix(recipient: &NodeAddr) -> Vec<u8> {
    let mut key = recipient.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

fn queue_key(recipient: &NodeAddr, sequence: u64) -> Vec<u8> {
    let mut key = queue_prefix(recipient);
    key.extend_from_slice(&sequence.to_be_bytes());
    key
}

fn dedup_key(from: &NodeAddr, message_id: &str) -> Vec<u8> {
    let mut key = from.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(message_id.as_bytes());
    key
}

fn corrupt(tree: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree,
        message: e.to_string(),
    }
}

fn receipt_delivery(sequence: u64, receipt: &pb::SignedReceipt) -> Vec<u8> {
    pb::Delivery {
        sequence,
        item: Some(pb::delivery::Item::Receipt(receipt.clone())),
    }
    .encode_to_vec()
}

/// One write of an intake batch, with its keys and values prepared outside the transaction.
enum Prepared {
    /// An envelope: its duplicate-table key and value, where it goes, and its log record.
    Envelope {
        dedup_key: Vec<u8>,
        digest: [u8; 32],
        dedup_value: Vec<u8>,
        receipt: pb::SignedReceipt,
        /// The recipient's queue, or `None` for a peer's outbox.
        queue: Option<NodeAddr>,
        item_key: Vec<u8>,
        item: Vec<u8>,
        /// Its entry in the expiry index.
        expiry_key: Vec<u8>,
        log_key: [u8; 8],
        record: Vec<u8>,
    },
    /// A receipt for a local sender's queue, and its log record.
    Receipt {
        sender: NodeAddr,
        item_key: Vec<u8>,
        item: Vec<u8>,
        log_key: [u8; 8],
        record: Vec<u8>,
    },
}

impl EmbeddedStore {
    /// Opens (or creates) the database in `dir` with the default settings.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, &EngineSettings::default())
    }

    /// Opens (or creates) the database in `dir` with `engine`'s settings.
    pub fn open_with(dir: &Path, engine: &EngineSettings) -> Result<Self, StoreError> {
        let db = trm_storage::open_db_with(dir, engine)?;
        let trees = writer::Trees {
            dedup: db.open_tree("dedup")?,
            queue: db.open_tree("queue")?,
            outbox: db.open_tree("outbox")?,
            relay_log: db.open_tree("relay_log")?,
            aside: set_aside::open(&db)?,
            expiry: db.open_tree(expiry_index::TREE)?,
            usage: db.open_tree(usage_records::TREE)?,
        };
        expiry_index::ensure(&db, &trees.expiry, &trees.queue, &trees.outbox)?;
        usage_records::ensure(&db, &trees.usage, &trees.queue)?;
        let counters = Arc::new(Mutex::new(counted::Counters::default()));
        let commit = GroupCommit::try_start(db.clone(), dir)?;
        Ok(Self {
            writer: Arc::new(writer::Writer::start(
                trees.clone(),
                counters.clone(),
                commit.clone(),
            )?),
            counters,
            dedup: trees.dedup,
            queue: trees.queue,
            outbox: trees.outbox,
            relay_log: trees.relay_log,
            expiry: trees.expiry,
            usage: trees.usage,
            commit,
            db,
        })
    }

    /// Flushes performed so far (group commit batches many writes into one).
    pub fn flushes(&self) -> u64 {
        self.commit.flushes()
    }

    /// Write transactions run so far (the writer combines concurrent changes into one).
    pub fn transactions(&self) -> u64 {
        self.writer.transactions()
    }

    /// Waits until every write made before this call is on disk.
    async fn durable(&self) -> Result<(), StoreError> {
        Ok(self.commit.durable().await?)
    }

    fn next_sequence(&self) -> Result<u64, StoreError> {
        // sled's ids are monotonic across restarts, so queues stay in arrival order.
        Ok(self.db.generate_id()? + 1)
    }

    fn prepare(&self, item: Intake) -> Result<Prepared, StoreError> {
        match item {
            Intake::Envelope(admission) => {
                let Admission {
                    envelope,
                    receipt,
                    record,
                    destination,
                } = *admission;
                let header = envelope.header();
                let dedup_key = dedup_key(&header.from, header.message_id.as_str());
                let digest = *envelope.digest();
                let sequence = self.next_sequence()?;
                let mut dedup_value = digest.to_vec();
                dedup_value.extend_from_slice(&receipt.encode_to_vec());
                let expires_at_ms = header.expires_at_ms;
                let (queue, item_key, item) = match &destination {
                    Destination::Local(recipient) => (
                        Some(recipient.clone()),
                        queue_key(recipient, sequence),
                        pb::Delivery {
                            sequence,
                            item: Some(pb::delivery::Item::Envelope(envelope.into_raw())),
                        }
                        .encode_to_vec(),
                    ),
                    Destination::Peer(broker) => (
                        None,
                        outbox::key(broker, sequence),
                        outbox::envelope_item(envelope.into_raw()),
                    ),
                };
                let place = match queue {
                    Some(_) => counted::Tree::Queue,
                    None => counted::Tree::Outbox,
                };
                Ok(Prepared::Envelope {
                    dedup_key,
                    digest,
                    dedup_value,
                    receipt,
                    expiry_key: expiry_index::key(expires_at_ms, place, &item_key),
                    queue,
                    item_key,
                    item,
                    log_key: self.next_sequence()?.to_be_bytes(),
                    record: record.encode_to_vec(),
                })
            }
            Intake::Receipt(routed) => {
                let RoutedReceipt {
                    sender,
                    receipt,
                    record,
                } = *routed;
                let sequence = self.next_sequence()?;
                Ok(Prepared::Receipt {
                    item_key: queue_key(&sender, sequence),
                    sender,
                    item: receipt_delivery(sequence, &receipt),
                    log_key: self.next_sequence()?.to_be_bytes(),
                    record: record.encode_to_vec(),
                })
            }
        }
    }

    async fn intake_now(&self, items: Vec<Intake>) -> Result<Vec<Stored>, StoreError> {
        let prepared = items
            .into_iter()
            .map(|item| self.prepare(item))
            .collect::<Result<Vec<_>, _>>()?;
        self.writer
            .run(move |tx, deltas| write(tx, &prepared, deltas))
            .await
    }

    fn pending_now(
        &self,
        recipient: &NodeAddr,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let start = queue_key(recipient, after.saturating_add(1));
        let end = queue_key(recipient, u64::MAX);
        let mut items = Vec::new();
        for entry in self.queue.range(start..=end).take(limit) {
            let (_, value) = entry?;
            let delivery = pb::Delivery::decode(value.as_ref()).map_err(|e| corrupt("queue", e))?;
            items.push(Queued {
                sequence: delivery.sequence,
                delivery,
            });
        }
        Ok(items)
    }

    fn pending_except_now(
        &self,
        recipient: &NodeAddr,
        skip: &std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let start = queue_key(recipient, 1);
        let end = queue_key(recipient, u64::MAX);
        let mut items = Vec::new();
        for entry in self.queue.range(start..=end) {
            if items.len() >= limit {
                break;
            }
            let (key, value) = entry?;
            let sequence = key
                .len()
                .checked_sub(8)
                .and_then(|at| key.get(at..))
                .and_then(|tail| <[u8; 8]>::try_from(tail).ok())
                .map(u64::from_be_bytes);
            if sequence.is_some_and(|sequence| skip.contains(&sequence)) {
                continue;
            }
            let delivery = pb::Delivery::decode(value.as_ref()).map_err(|e| corrupt("queue", e))?;
            items.push(Queued {
                sequence: delivery.sequence,
                delivery,
            });
        }
        Ok(items)
    }

    fn item_now(
        &self,
        recipient: &NodeAddr,
        sequence: u64,
    ) -> Result<Option<pb::Delivery>, StoreError> {
        self.queue
            .get(queue_key(recipient, sequence))?
            .map(|v| pb::Delivery::decode(v.as_ref()).map_err(|e| corrupt("queue", e)))
            .transpose()
    }

    async fn complete_now(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> Result<Option<u64>, StoreError> {
        let item_key = queue_key(&recipient, sequence);
        let Some(Route {
            destination,
            receipt,
            record,
        }) = route
        else {
            return self
                .writer
                .run(move |tx, deltas| {
                    if let Some(removed) = tx.queue.remove(item_key.as_slice())? {
                        counted::queued(deltas, &recipient, &removed, false);
                        unindex(tx, &item_key, &removed)?;
                    }
                    Ok(None)
                })
                .await;
        };
        let receipt_sequence = self.next_sequence()?;
        let log_key = self.next_sequence()?.to_be_bytes();
        let (sender, receipt_key, item) = match &destination {
            Destination::Local(sender) => (
                Some(sender.clone()),
                queue_key(sender, receipt_sequence),
                receipt_delivery(receipt_sequence, &receipt),
            ),
            Destination::Peer(broker) => (
                None,
                outbox::key(broker, receipt_sequence),
                outbox::receipt_item(receipt),
            ),
        };
        let record = record.encode_to_vec();
        self.writer
            .run(move |tx, deltas| {
                let Some(removed) = tx.queue.remove(item_key.as_slice())? else {
                    // Acknowledged twice (a reconnecting node): the first completion counts.
                    return Ok(None);
                };
                counted::queued(deltas, &recipient, &removed, false);
                unindex(tx, &item_key, &removed)?;
                match &sender {
                    Some(sender) => {
                        tx.queue.insert(receipt_key.as_slice(), item.as_slice())?;
                        counted::queued(deltas, sender, &item, true);
                    }
                    None => {
                        tx.outbox.insert(receipt_key.as_slice(), item.as_slice())?;
                    }
                }
                tx.relay_log.insert(&log_key, record.as_slice())?;
                Ok(Some(receipt_sequence))
            })
            .await
    }

    fn relay_log_now(&self) -> Result<Vec<pb::RelayRecord>, StoreError> {
        self.relay_log
            .iter()
            .values()
            .map(|v| {
                let v = v?;
                pb::RelayRecord::decode(v.as_ref()).map_err(|e| corrupt("relay_log", e))
            })
            .collect()
    }
}

impl BrokerStore for EmbeddedStore {
    fn intake(&self, items: Vec<Intake>) -> StoreFuture<'_, Vec<Stored>> {
        // Durable when the writer answers, also when everything was a duplicate.
        Box::pin(self.intake_now(items))
    }

    fn pending<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        after: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(async move { self.pending_now(recipient, after, limit) })
    }

    fn pending_except<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        skip: &'a std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(async move { self.pending_except_now(recipient, skip, limit) })
    }

    fn item<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        sequence: u64,
    ) -> StoreFuture<'a, Option<pb::Delivery>> {
        Box::pin(async move { self.item_now(recipient, sequence) })
    }

    fn complete(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> StoreFuture<'_, Option<u64>> {
        // Durable when the writer answers.
        Box::pin(self.complete_now(recipient, sequence, route))
    }

    fn outgoing_skipping<'a>(
        &'a self,
        peer: &'a BrokerName,
        skip: &'a [u64],
        max_items: usize,
        max_bytes: usize,
    ) -> StoreFuture<'a, Vec<Outgoing>> {
        Box::pin(async move { self.outgoing_now(peer, skip, max_items, max_bytes) })
    }

    fn set_aside(&self, items: Vec<super::SetAside>) -> StoreFuture<'_, usize> {
        Box::pin(async move {
            let moved = self.set_aside_now(items)?;
            self.durable().await?;
            Ok(moved)
        })
    }

    fn set_aside_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move { self.set_aside_len_now(peer) })
    }

    fn set_aside_items<'a>(
        &'a self,
        peer: Option<&'a BrokerName>,
    ) -> StoreFuture<'a, Vec<super::SetAside>> {
        Box::pin(async move { self.set_aside_items_now(peer) })
    }

    fn relayed(&self, peer: BrokerName, answer: RelayAnswer) -> StoreFuture<'_, ()> {
        // Durable when the writer answers.
        Box::pin(self.relayed_now(peer, answer))
    }

    fn relay_log(&self) -> StoreFuture<'_, Vec<pb::RelayRecord>> {
        Box::pin(async move { self.relay_log_now() })
    }

    fn queue_len<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, usize> {
        // From the usage counters: the metrics page asks for every node at each scrape.
        Box::pin(async move {
            let items = self.queue_usage_now(recipient)?.items;
            Ok(usize::try_from(items).unwrap_or(usize::MAX))
        })
    }

    fn outbox_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move { self.outbox_len_now(peer) })
    }

    fn queue_usage<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, Usage> {
        Box::pin(async move { self.queue_usage_now(recipient) })
    }

    fn relayed_usage<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, Usage> {
        Box::pin(async move { self.relayed_usage_now(peer) })
    }

    fn lapsed(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<super::Lapsed>> {
        Box::pin(async move { self.lapsed_now(now_ms, limit) })
    }

    fn forget_duplicates(&self, accepted_before_ms: u64) -> StoreFuture<'_, usize> {
        // A whole-table scan: on a blocking thread, not on a runtime worker.
        let store = self.clone();
        Box::pin(off_the_runtime(move || {
            store.forget_duplicates_now(accepted_before_ms)
        }))
    }

    fn forget_relay_records(&self, before_ms: u64) -> StoreFuture<'_, usize> {
        let store = self.clone();
        Box::pin(off_the_runtime(move || {
            store.forget_relay_records_now(before_ms)
        }))
    }

    fn put_prekeys<'a>(
        &'a self,
        node: &'a NodeAddr,
        set: &'a pb::PrekeySet,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.put_prekeys_now(node, set))
    }

    fn prekeys<'a>(&'a self, node: &'a NodeAddr) -> StoreFuture<'a, Option<pb::PrekeySet>> {
        Box::pin(async move { self.prekeys_now(node) })
    }
}

/// Runs `work` (a scan of a whole tree) on tokio's blocking threads, so that the runtime's
/// workers go on serving calls meanwhile.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Engine(Box::new(e)))?
}

/// In a transaction: removes the expiry-index entry of the queue item `removed` under
/// `item_key`, just delivered.
fn unindex(tx: &writer::Tx<'_>, item_key: &[u8], removed: &[u8]) -> Result<(), writer::Abort> {
    let key = expiry_index::of_item(counted::Tree::Queue, item_key, removed)
        .map_err(ConflictableTransactionError::Abort)?;
    if let Some(key) = key {
        tx.expiry.remove(key)?;
    }
    Ok(())
}

/// Applies every prepared write of an intake batch, in order, inside the writer's transaction:
/// the batch is on disk whole or not at all, so a failed call that its sender retries finds
/// nothing of it (a routed receipt, which has no duplicate check, is never queued twice). A
/// duplicate inside the batch sees the write before it.
fn write(
    tx: &writer::Tx<'_>,
    batch: &[Prepared],
    deltas: &mut Vec<counted::Delta>,
) -> Result<Vec<Stored>, writer::Abort> {
    let mut stored = Vec::with_capacity(batch.len());
    for prepared in batch {
        stored.push(match prepared {
            Prepared::Envelope {
                dedup_key,
                digest,
                dedup_value,
                receipt,
                queue,
                item_key,
                item,
                expiry_key,
                log_key,
                record,
            } => {
                if let Some(existing) = tx.dedup.get(dedup_key)? {
                    let original = match (existing.get(..32), existing.get(32..)) {
                        (Some(seen), Some(original)) if seen == &digest[..] => original,
                        _ => {
                            stored.push(Stored::Envelope(Accepted::Conflict));
                            continue;
                        }
                    };
                    let original = pb::SignedReceipt::decode(original)
                        .map_err(|e| ConflictableTransactionError::Abort(corrupt("dedup", e)))?;
                    stored.push(Stored::Envelope(Accepted::Duplicate(original)));
                    continue;
                }
                tx.dedup
                    .insert(dedup_key.as_slice(), dedup_value.as_slice())?;
                match queue {
                    Some(recipient) => {
                        tx.queue.insert(item_key.as_slice(), item.as_slice())?;
                        counted::queued(deltas, recipient, item, true);
                    }
                    None => {
                        tx.outbox.insert(item_key.as_slice(), item.as_slice())?;
                    }
                }
                tx.expiry.insert(expiry_key.as_slice(), &[])?;
                tx.relay_log.insert(log_key, record.as_slice())?;
                Stored::Envelope(Accepted::New(receipt.clone()))
            }
            Prepared::Receipt {
                sender,
                item_key,
                item,
                log_key,
                record,
            } => {
                tx.queue.insert(item_key.as_slice(), item.as_slice())?;
                counted::queued(deltas, sender, item, true);
                tx.relay_log.insert(log_key, record.as_slice())?;
                Stored::Receipt
            }
        });
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::store::Usage;
    use ed25519_dalek::SigningKey;
    use trm_proto::addr::MessageId;
    use trm_proto::envelope::{self, UnverifiedEnvelope, VerifiedEnvelope};
    use trm_proto::signing::{self, Purpose};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn envelope(
        key: &SigningKey,
        id: &MessageId,
        ciphertext: &[u8],
    ) -> Result<VerifiedEnvelope, Box<dyn std::error::Error>> {
        dated_envelope(key, id, ciphertext, 1, u64::MAX)
    }

    fn dated_envelope(
        key: &SigningKey,
        id: &MessageId,
        ciphertext: &[u8],
        created_at_ms: u64,
        expires_at_ms: u64,
    ) -> Result<VerifiedEnvelope, Box<dyn std::error::Error>> {
        let header = pb::EnvelopeHeader {
            protocol_version: trm_proto::PROTOCOL_VERSION,
            message_id: id.to_string(),
            from: "lefoe-ibf@at".into(),
            to: "astra@at".into(),
            created_at_ms,
            expires_at_ms,
            priority: pb::Priority::Routine.into(),
            kind: pb::MessageKind::Referral.into(),
            ciphertext_sha256: envelope::digest(ciphertext).to_vec(),
            recipient_key_id: String::new(),
        }
        .encode_to_vec();
        let raw = pb::Envelope {
            signature: signing::sign(key, Purpose::Envelope, &header),
            header,
            ciphertext: ciphertext.to_vec(),
        };
        Ok(UnverifiedEnvelope::parse(raw, 1 << 20)?.verify(&[key.verifying_key()])?)
    }

    fn admission(envelope: VerifiedEnvelope, receipt: &str) -> Admission {
        Admission {
            destination: Destination::Local(envelope.header().to.clone()),
            envelope,
            receipt: pb::SignedReceipt {
                receipt: receipt.as_bytes().to_vec(),
                ..Default::default()
            },
            record: pb::RelayRecord {
                event: "accepted".into(),
                ..Default::default()
            },
        }
    }

    /// 64 callers at once, 8 KiB each: every envelope stored once and durable, in fewer
    /// transactions and flushes than envelopes, and the usage counters match a fresh count.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_intakes_share_transactions_and_flushes() -> TestResult {
        const CALLERS: usize = 64;
        const EACH: usize = 8;
        let dir = tempfile::tempdir()?;
        let store = Arc::new(EmbeddedStore::open(dir.path())?);
        let key = signing::generate_key();
        let to: NodeAddr = "astra@at".parse()?;
        // Counted before the writes, so that the counters are kept in step by the writer.
        assert_eq!(store.queue_usage(&to).await?, Usage::default());
        assert_eq!(store.relayed_usage(&"at".parse()?).await?, Usage::default());
        let mut admissions = Vec::new();
        for _ in 0..CALLERS * EACH {
            admissions.push(admission(
                envelope(&key, &MessageId::random(), &[7; 8192])?,
                "r",
            ));
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in admissions.chunks(EACH) {
            let (store, barrier, chunk) = (store.clone(), barrier.clone(), chunk.to_vec());
            tasks.spawn(async move {
                barrier.wait().await;
                for admission in chunk {
                    match store.accept(admission).await? {
                        Accepted::New(_) => {}
                        other => return Err(format!("not stored as new: {other:?}").into()),
                    }
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            });
        }
        while let Some(joined) = tasks.join_next().await {
            joined?.map_err(|e| e.to_string())?;
        }
        let envelopes = (CALLERS * EACH) as u64;
        assert_eq!(store.queue_len(&to).await?, CALLERS * EACH);
        let (transactions, flushes) = (store.transactions(), store.flushes());
        assert!(
            transactions < envelopes,
            "{transactions} transactions for {envelopes} envelopes: nothing combined"
        );
        // A flush serves every transaction committed before it; others may ask for one too
        // (the counters' first reads), so only the total is bounded.
        assert!(
            flushes < envelopes,
            "{flushes} flushes for {envelopes} envelopes: nothing combined"
        );
        // The writer waits for each transaction's flush before the next: what arrives
        // meanwhile is the next transaction, never one of its own between two flushes.
        assert!(
            transactions <= flushes,
            "{transactions} transactions between {flushes} flushes"
        );
        // The counters kept by the writer match a count of the stored state.
        let kept = store.queue_usage(&to).await?;
        assert_eq!(kept, store.count_queue(&to)?);
        assert_eq!(kept.items, envelopes);
        assert_eq!(store.relayed_usage(&"at".parse()?).await?, kept);
        // Completing half of them brings the counters down with the queue.
        let pending = store.pending(&to, 0, CALLERS * EACH / 2).await?;
        for item in &pending {
            store.complete(to.clone(), item.sequence, None).await?;
        }
        let kept = store.queue_usage(&to).await?;
        assert_eq!(kept, store.count_queue(&to)?);
        assert_eq!(kept.items, envelopes / 2);
        assert_eq!(store.relayed_usage(&"at".parse()?).await?, kept);
        Ok(())
    }

    #[tokio::test]
    async fn what_a_delivery_stream_has_in_flight_is_left_unread() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = EmbeddedStore::open(dir.path())?;
        let key = signing::generate_key();
        let to: NodeAddr = "astra@at".parse()?;
        for text in ["one", "two"] {
            let sealed = envelope(&key, &MessageId::random(), text.as_bytes())?;
            store.accept(admission(sealed, text)).await?;
        }
        let all: Vec<u64> = store
            .pending(&to, 0, 10)
            .await?
            .iter()
            .map(|item| item.sequence)
            .collect();
        let [first, second] = all.as_slice() else {
            return Err(format!("two items expected: {all:?}").into());
        };
        // A record that no longer decodes is no error while it is in flight.
        store
            .queue
            .insert(queue_key(&to, *first), b"\xff not a delivery".as_slice())?;
        assert!(store.pending(&to, 0, 10).await.is_err());
        let sent = std::collections::BTreeSet::from([*first]);
        let rest: Vec<u64> = store
            .pending_except(&to, &sent, 10)
            .await?
            .iter()
            .map(|item| item.sequence)
            .collect();
        assert_eq!(rest, [*second]);
        Ok(())
    }

    /// The expiry index holds one entry per waiting envelope: written with it, gone with its
    /// delivery, and an entry whose item left another way is removed by the sweep that reaches
    /// it. A store without the index (made before it) has it built when it opens.
    #[tokio::test]
    async fn the_expiry_sweep_reads_what_the_expiry_index_names() -> TestResult {
        let dir = tempfile::tempdir()?;
        let key = signing::generate_key();
        let to: NodeAddr = "astra@at".parse()?;
        let store = EmbeddedStore::open(dir.path())?;
        for expires_at_ms in [1_000, 2_000, 3_000] {
            let sealed = dated_envelope(&key, &MessageId::random(), b"x", 1, expires_at_ms)?;
            store.accept(admission(sealed, "r")).await?;
        }
        assert_eq!(store.expiry.len(), 3);
        let at = |lapsed: &[crate::store::Lapsed]| -> Vec<u64> {
            lapsed
                .iter()
                .filter_map(|l| UnverifiedEnvelope::parse(l.envelope.clone(), 1 << 20).ok())
                .map(|e| e.header().expires_at_ms)
                .collect()
        };
        assert_eq!(at(&store.lapsed(1_999, 10).await?), [1_000]);
        assert_eq!(at(&store.lapsed(2_000, 10).await?), [1_000, 2_000]);
        assert_eq!(at(&store.lapsed(u64::MAX, 1).await?), [1_000]);

        // Delivered: its entry goes with it.
        let pending = store.pending(&to, 0, 10).await?;
        let first = pending.first().ok_or("nothing queued")?.sequence;
        store.complete(to.clone(), first, None).await?;
        assert_eq!(store.expiry.len(), 2);
        assert_eq!(at(&store.lapsed(u64::MAX, 10).await?), [2_000, 3_000]);

        // Gone another way (here: straight from the tree): the sweep drops the entry.
        let second = pending.get(1).ok_or("two queued")?.sequence;
        store.queue.remove(queue_key(&to, second))?;
        assert_eq!(at(&store.lapsed(2_500, 10).await?), Vec::<u64>::new());
        assert_eq!(store.expiry.len(), 1);

        // A store from before the index: built when it opens.
        store.expiry.clear()?;
        store.db.remove(b"expiry-index")?;
        store.db.flush()?;
        drop(store);
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.expiry.len(), 1);
        assert_eq!(at(&store.lapsed(u64::MAX, 10).await?), [3_000]);
        Ok(())
    }

    #[tokio::test]
    async fn quota_usage_is_read_from_its_records_which_an_older_store_has_counted_at_open()
    -> TestResult {
        let dir = tempfile::tempdir()?;
        let key = signing::generate_key();
        let to: NodeAddr = "astra@at".parse()?;
        let from: BrokerName = "at".parse()?;
        let store = EmbeddedStore::open(dir.path())?;
        for _ in 0..3 {
            let sealed = envelope(&key, &MessageId::random(), b"x")?;
            store.accept(admission(sealed, "r")).await?;
        }
        let pending = store.pending(&to, 0, 10).await?;
        let first = pending.first().ok_or("nothing queued")?.sequence;
        store.complete(to.clone(), first, None).await?;
        let two = store.queue_usage(&to).await?;
        assert_eq!(two.items, 2);
        assert_eq!(store.relayed_usage(&from).await?, two);
        assert_eq!(
            store.usage.len(),
            2,
            "one record for the queue, one for the peer"
        );
        drop(store);

        // After a start, the usage is what the records say, not a count of the queue.
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.queue_usage(&to).await?, two);
        store.usage.clear()?;
        store.usage.flush()?;
        drop(store);
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.queue_usage(&to).await?, Usage::default());
        assert_eq!(store.relayed_usage(&from).await?, Usage::default());

        // A store from before the records: they are counted when it opens.
        store.db.remove(b"usage-records")?;
        store.db.flush()?;
        drop(store);
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.queue_usage(&to).await?, two);
        assert_eq!(store.relayed_usage(&from).await?, two);

        // A damaged record does not stop the queue: it is counted afresh from the next change.
        store.usage.insert(b"q\0astra@at", b"damaged")?;
        let sealed = envelope(&key, &MessageId::random(), b"x")?;
        store.accept(admission(sealed, "r")).await?;
        drop(store);
        let store = EmbeddedStore::open(dir.path())?;
        assert_eq!(store.queue_usage(&to).await?.items, 1);
        assert_eq!(store.relayed_usage(&from).await?.items, 3);
        Ok(())
    }

    /// The embedded engine in a temporary folder, for the store's suite.
    struct Embedded(tempfile::TempDir);

    impl crate::store::suite::Engine for Embedded {
        fn open(&self) -> StoreFuture<'_, Arc<dyn BrokerStore>> {
            Box::pin(async move {
                let store: Arc<dyn BrokerStore> = Arc::new(EmbeddedStore::open(self.0.path())?);
                Ok(store)
            })
        }
    }

    crate::store_suite!(Embedded(tempfile::tempdir()?));
}
