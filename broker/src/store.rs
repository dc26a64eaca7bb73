//! The broker's durable state in sled: per-recipient delivery queues, per-destination outboxes
//! for peer brokers ([`outbox`]), the duplicate table and the metadata-only relay log. sled
//! types do not leave this module; swapping the engine means rewriting this file and its
//! submodule only.
//!
//! Writes here are not yet durable: callers wait on [`BrokerStore::durable`] (group commit)
//! before acknowledging anything to anyone.

use std::path::Path;

use prost::Message;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::envelope::VerifiedEnvelope;
use trm_proto::pb;
use trm_storage::{GroupCommit, StorageError};

pub mod outbox;

pub use outbox::Outgoing;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("broker store: {0}")]
    Engine(#[from] sled::Error),
    /// Flushing to disk failed.
    #[error("broker store: {0}")]
    Durability(#[from] StorageError),
    /// Stored bytes did not decode: the database is damaged.
    #[error("broker store: corrupt record in {tree}: {message}")]
    Corrupt {
        /// Which tree.
        tree: &'static str,
        /// The decode error.
        message: String,
    },
}

impl From<TransactionError<StoreError>> for StoreError {
    fn from(e: TransactionError<StoreError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Engine(e),
        }
    }
}

/// Where a stored item goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    /// The delivery queue of a node homed on this broker.
    Local(&'a NodeAddr),
    /// The outbox for a peer broker, which relays it on.
    Peer(&'a BrokerName),
}

/// What happened to a submitted envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// Stored now; answer with this receipt.
    New(pb::SignedReceipt),
    /// Stored before; answer with the original receipt.
    Duplicate(pb::SignedReceipt),
    /// The sender reused a message id for a different envelope.
    Conflict,
}

/// One item waiting in a recipient's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Its sequence number.
    pub sequence: u64,
    /// The item, with `sequence` set.
    pub delivery: pb::Delivery,
}

/// The broker's database.
#[derive(Clone)]
pub struct BrokerStore {
    db: sled::Db,
    dedup: sled::Tree,
    queue: sled::Tree,
    outbox: sled::Tree,
    relay_log: sled::Tree,
    commit: GroupCommit,
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

impl BrokerStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = trm_storage::open_db(dir)?;
        Ok(Self {
            dedup: db.open_tree("dedup")?,
            queue: db.open_tree("queue")?,
            outbox: db.open_tree("outbox")?,
            relay_log: db.open_tree("relay_log")?,
            commit: GroupCommit::start(db.clone()),
            db,
        })
    }

    /// Waits until every write made before this call is on disk.
    pub async fn durable(&self) -> Result<(), StoreError> {
        Ok(self.commit.durable().await?)
    }

    /// Flushes performed so far (group commit batches many writes into one).
    pub fn flushes(&self) -> u64 {
        self.commit.flushes()
    }

    fn next_sequence(&self) -> Result<u64, StoreError> {
        // sled's ids are monotonic across restarts, so queues stay in arrival order.
        Ok(self.db.generate_id()? + 1)
    }

    /// Stores a verified envelope for `destination` (its recipient's queue, or the outbox for
    /// the recipient's home broker) unless its (sender, id) was seen before. `receipt` is what
    /// this broker answers, now and for every duplicate.
    pub fn accept(
        &self,
        envelope: &VerifiedEnvelope,
        receipt: &pb::SignedReceipt,
        record: &pb::RelayRecord,
        destination: Destination<'_>,
    ) -> Result<Accepted, StoreError> {
        let header = envelope.header();
        let key = dedup_key(&header.from, header.message_id.as_str());
        let sequence = self.next_sequence()?;
        let mut dedup_value = envelope.digest().to_vec();
        dedup_value.extend_from_slice(&receipt.encode_to_vec());
        let (item_key, item) = match destination {
            Destination::Local(recipient) => (
                queue_key(recipient, sequence),
                pb::Delivery {
                    sequence,
                    item: Some(pb::delivery::Item::Envelope(envelope.raw().clone())),
                }
                .encode_to_vec(),
            ),
            Destination::Peer(broker) => (
                outbox::key(broker, sequence),
                outbox::envelope_item(envelope.raw()),
            ),
        };
        let log_key = self.next_sequence()?.to_be_bytes();
        let record = record.encode_to_vec();
        let outcome = (&self.dedup, &self.queue, &self.outbox, &self.relay_log).transaction(
            |(dedup, queue, outbox, relay_log)| {
                if let Some(existing) = dedup.get(&key)? {
                    if existing.len() < 32 || existing[..32] != envelope.digest()[..] {
                        return Ok(Accepted::Conflict);
                    }
                    let original = pb::SignedReceipt::decode(&existing[32..])
                        .map_err(|e| ConflictableTransactionError::Abort(corrupt("dedup", e)))?;
                    return Ok(Accepted::Duplicate(original));
                }
                dedup.insert(key.as_slice(), dedup_value.as_slice())?;
                match destination {
                    Destination::Local(_) => queue.insert(item_key.as_slice(), item.as_slice())?,
                    Destination::Peer(_) => outbox.insert(item_key.as_slice(), item.as_slice())?,
                };
                relay_log.insert(&log_key, record.as_slice())?;
                Ok(Accepted::New(receipt.clone()))
            },
        )?;
        Ok(outcome)
    }

    /// Queues a receipt that a peer broker relayed for the local node that sent the envelope
    /// it attests, and records that in the relay log, in one transaction.
    pub fn route_receipt(
        &self,
        sender: &NodeAddr,
        receipt: &pb::SignedReceipt,
        record: &pb::RelayRecord,
    ) -> Result<u64, StoreError> {
        let sequence = self.next_sequence()?;
        let item = pb::Delivery {
            sequence,
            item: Some(pb::delivery::Item::Receipt(receipt.clone())),
        }
        .encode_to_vec();
        let log_key = self.next_sequence()?.to_be_bytes();
        let record = record.encode_to_vec();
        (&self.queue, &self.relay_log)
            .transaction(|(queue, relay_log)| {
                queue.insert(queue_key(sender, sequence), item.as_slice())?;
                relay_log.insert(&log_key, record.as_slice())?;
                Ok(())
            })
            .map_err(|e: TransactionError<StoreError>| StoreError::from(e))?;
        Ok(sequence)
    }

    /// Up to `limit` items for `recipient` with a sequence above `after`, oldest first.
    pub fn pending(
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

    /// The queued item `sequence` for `recipient`, if still queued.
    pub fn item(
        &self,
        recipient: &NodeAddr,
        sequence: u64,
    ) -> Result<Option<pb::Delivery>, StoreError> {
        self.queue
            .get(queue_key(recipient, sequence))?
            .map(|v| pb::Delivery::decode(v.as_ref()).map_err(|e| corrupt("queue", e)))
            .transpose()
    }

    /// Removes an acknowledged item and, for an envelope, atomically routes the recipient's
    /// receipt towards the sender (its queue here, or the outbox for its home broker) and
    /// records the outcome. Returns the receipt's new sequence.
    pub fn complete(
        &self,
        recipient: &NodeAddr,
        sequence: u64,
        route: Option<(Destination<'_>, &pb::SignedReceipt, &pb::RelayRecord)>,
    ) -> Result<Option<u64>, StoreError> {
        let Some((destination, receipt, record)) = route else {
            self.queue.remove(queue_key(recipient, sequence))?;
            return Ok(None);
        };
        let receipt_sequence = self.next_sequence()?;
        let log_key = self.next_sequence()?.to_be_bytes();
        let (receipt_key, item) = match destination {
            Destination::Local(sender) => (
                queue_key(sender, receipt_sequence),
                pb::Delivery {
                    sequence: receipt_sequence,
                    item: Some(pb::delivery::Item::Receipt(receipt.clone())),
                }
                .encode_to_vec(),
            ),
            Destination::Peer(broker) => (
                outbox::key(broker, receipt_sequence),
                outbox::receipt_item(receipt),
            ),
        };
        let record = record.encode_to_vec();
        let done = (&self.queue, &self.outbox, &self.relay_log).transaction(
            |(queue, outbox, relay_log)| {
                if queue.remove(queue_key(recipient, sequence))?.is_none() {
                    // Acknowledged twice (a reconnecting node): the first completion counts.
                    return Ok(None);
                }
                match destination {
                    Destination::Local(_) => {
                        queue.insert(receipt_key.as_slice(), item.as_slice())?
                    }
                    Destination::Peer(_) => {
                        outbox.insert(receipt_key.as_slice(), item.as_slice())?
                    }
                };
                relay_log.insert(&log_key, record.as_slice())?;
                Ok(Some(receipt_sequence))
            },
        );
        done.map_err(|e: TransactionError<StoreError>| StoreError::from(e))
    }

    /// The relay log, oldest first.
    pub fn relay_log(&self) -> Result<Vec<pb::RelayRecord>, StoreError> {
        self.relay_log
            .iter()
            .values()
            .map(|v| {
                let v = v?;
                pb::RelayRecord::decode(v.as_ref()).map_err(|e| corrupt("relay_log", e))
            })
            .collect()
    }

    /// How many items wait for `recipient`.
    pub fn queue_len(&self, recipient: &NodeAddr) -> usize {
        self.queue.scan_prefix(queue_prefix(recipient)).count()
    }
}
