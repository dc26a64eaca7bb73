//! The broker's durable state as a trait of typed operations: per-recipient delivery queues,
//! per-destination outboxes for peer brokers, the permanent duplicate table with the receipt
//! first given, and the metadata-only relay log.
//!
//! **Every write returns only once what it wrote is durable.** No caller waits for a flush
//! itself: an engine that batches flushes (group commit) does so inside its operations. A
//! caller may therefore acknowledge, answer or wake anyone as soon as a write returned `Ok`.
//!
//! The embedded engine is [`EmbeddedStore`] ([`embedded`]), the only code in this crate that knows
//! how the state is laid out on disk. The trait is shaped so that a replicated engine (a
//! message-streaming server reached over the network) can implement it without any change to
//! the broker's logic: every operation is asynchronous, arguments and results are owned
//! protocol types, nothing runs inside an engine's transaction, and [`StoreError`] says what
//! went wrong without naming an engine.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::envelope::VerifiedEnvelope;
use trm_proto::pb;

use crate::config::BrokerConfig;

mod counted;
pub mod embedded;
pub mod jetstream;
#[cfg(any(test, feature = "store-suite"))]
pub mod suite;

pub use embedded::{EmbeddedStore, RecoveringStore};
pub use jetstream::JetStreamStore;

/// What a store operation returns: a boxed future, so that [`BrokerStore`] can be used as a
/// trait object.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A boxed error from an engine.
pub type EngineError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A storage failure. Every variant leaves the state as it was before the failed operation
/// or with that operation fully applied; in either case nothing may be acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine could not be opened.
    #[error("broker store: {0}")]
    Open(#[source] EngineError),
    /// The engine failed to read or write (an I/O error, a lost connection).
    #[error("broker store: {0}")]
    Engine(#[source] EngineError),
    /// A write was made but could not be confirmed durable.
    #[error("broker store: {0}")]
    Durability(#[source] EngineError),
    /// The disk is full or failing: writes are refused until the store recovers by itself.
    #[error(transparent)]
    Refused(#[from] trm_storage::WriteRefused),
    /// Stored bytes did not decode: the store is damaged.
    #[error("broker store: corrupt record in {tree}: {message}")]
    Corrupt {
        /// Which part of the store.
        tree: &'static str,
        /// The decode error.
        message: String,
    },
}

/// Where a stored item goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The delivery queue of a node homed on this broker.
    Local(NodeAddr),
    /// The outbox for a peer broker, which relays it on.
    Peer(BrokerName),
}

/// An envelope to store unless its (sender, message id) was seen before.
#[derive(Debug, Clone)]
pub struct Admission {
    /// The verified envelope.
    pub envelope: VerifiedEnvelope,
    /// What this broker answers, now and for every duplicate.
    pub receipt: pb::SignedReceipt,
    /// What the relay log records.
    pub record: pb::RelayRecord,
    /// The recipient's queue, or the outbox for the recipient's home broker.
    pub destination: Destination,
}

/// A receipt a peer broker relayed for a local sender.
#[derive(Debug, Clone)]
pub struct RoutedReceipt {
    /// The local sender whose queue it goes to.
    pub sender: NodeAddr,
    /// The receipt as relayed.
    pub receipt: pb::SignedReceipt,
    /// What the relay log records.
    pub record: pb::RelayRecord,
}

/// One item a peer broker relayed, checked and ready to store.
#[derive(Debug, Clone)]
pub enum Intake {
    /// An envelope for a local node.
    Envelope(Box<Admission>),
    /// A receipt for a local sender.
    Receipt(Box<RoutedReceipt>),
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

/// What happened to one [`Intake`] item.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The envelope's outcome.
    Envelope(Accepted),
    /// The receipt was queued for its sender.
    Receipt,
}

/// One item waiting in a recipient's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// Its sequence number.
    pub sequence: u64,
    /// The item, with `sequence` set.
    pub delivery: pb::Delivery,
}

/// One item waiting in an outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Its sequence number in the outbox.
    pub sequence: u64,
    /// The envelope or receipt to relay.
    pub item: pb::RelayItem,
    /// Its encoded size.
    pub size: usize,
}

/// Where the receipt of an acknowledged envelope goes, and what the relay log records.
#[derive(Debug, Clone)]
pub struct Route {
    /// The sender's queue here, or the outbox for the sender's home broker.
    pub destination: Destination,
    /// The recipient's DELIVERED or REJECTED receipt.
    pub receipt: pb::SignedReceipt,
    /// What the relay log records.
    pub record: pb::RelayRecord,
}

/// A peer's answer to a relayed batch, checked and ready to apply.
#[derive(Debug, Clone, Default)]
pub struct RelayAnswer {
    /// The answered outbox items, to delete.
    pub sequences: Vec<u64>,
    /// Receipts to queue for local senders.
    pub receipts: Vec<(NodeAddr, pb::SignedReceipt)>,
    /// What the relay log records.
    pub records: Vec<pb::RelayRecord>,
}

/// An outbox item taken out of the live outbox because it kept failing or could not be read
/// (see [`BrokerStore::set_aside`]), so that the items behind it flow.
///
/// What an operator does with one: read it with [`BrokerStore::set_aside_items`] (the relay
/// status counts them per peer) and look for the reason on both brokers. Do not ask the
/// sender to send the message again before the peer's operator has looked for its message id
/// in the peer's relay log: an item is also set aside when the peer took it but its answer
/// could not be checked, and a second sending would then be a second referral for the same
/// case. If the peer never took it, tell the sender's organisation, which can send it again.
/// Nothing re-queues a set-aside item by itself and there is no command for it yet: it stays
/// in the store as it was stored, until its delivery window ends: then the expiry sweep
/// removes a set-aside envelope and its sender gets this broker's signed EXPIRED receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// The peer broker it was for.
    pub peer: BrokerName,
    /// Its sequence in that peer's outbox.
    pub sequence: u64,
    /// The failed attempts counted against it.
    pub attempts: u32,
    /// Why it was set aside, in words (never content).
    pub reason: String,
    /// When it was set aside, ms since the Unix epoch.
    pub at_ms: u64,
    /// The item's stored bytes (a `RelayItem`; kept as bytes, since an item that could not be
    /// decoded is set aside too).
    pub item: Vec<u8>,
}

/// How much waits in a queue or comes from a peer: items and their encoded bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// How many items.
    pub items: u64,
    /// Their encoded size together.
    pub bytes: u64,
}

impl Usage {
    /// This usage with one more item of `size` bytes.
    pub fn plus(self, size: u64) -> Usage {
        Usage {
            items: self.items.saturating_add(1),
            bytes: self.bytes.saturating_add(size),
        }
    }

    /// This usage and `other` together.
    pub fn and(self, other: Usage) -> Usage {
        Usage {
            items: self.items.saturating_add(other.items),
            bytes: self.bytes.saturating_add(other.bytes),
        }
    }

    /// This usage with one item of `size` bytes fewer.
    pub fn minus(self, size: u64) -> Usage {
        Usage {
            items: self.items.saturating_sub(1),
            bytes: self.bytes.saturating_sub(size),
        }
    }
}

/// Where a stored envelope waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Waiting {
    /// In the delivery queue of this node, homed here.
    Queue(NodeAddr),
    /// In the outbox for this peer broker.
    Outbox(BrokerName),
}

/// A stored envelope whose delivery window has ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Lapsed {
    /// Where it waits.
    pub place: Waiting,
    /// Its sequence there.
    pub sequence: u64,
    /// The envelope as stored.
    pub envelope: pb::Envelope,
}

/// The broker's durable state. Writes return once durable; each write operation is atomic
/// (all of it or none of it is applied): `intake` a whole batch, `complete` the deletion with
/// its routed receipt and record, `relayed` the deletions with their receipts and records. The
/// broker's logic relies on it: a failed call is retried whole by whoever sent it, and only
/// envelopes have a duplicate check. An engine without multi-key transactions (a replicated
/// message stream) must give the same guarantee another way, e.g. by making each effect
/// idempotent under a stable key (the outbox or queue sequence it answers), and say so.
///
/// The broker holds it as `Arc<dyn BrokerStore>` (boxed futures) rather than as a generic
/// parameter or an enum of engines: the engine is chosen at run time from configuration
/// ([`open`]), an engine can live in a crate of its own (so that the embedded build does not
/// link a network client), and tests can hand in their own. One allocation per operation is
/// nothing next to a flush or a network round trip.
pub trait BrokerStore: Send + Sync {
    /// Stores the checked items of one batch in order (envelopes unless seen before, receipts
    /// for local senders), each with its relay-log record, durably and as one atomic write. A
    /// duplicate's original is durable too when this returns.
    fn intake(&self, items: Vec<Intake>) -> StoreFuture<'_, Vec<Stored>>;

    /// Stores one envelope (see [`BrokerStore::intake`]).
    fn accept(&self, admission: Admission) -> StoreFuture<'_, Accepted> {
        Box::pin(async move {
            let mut stored = self
                .intake(vec![Intake::Envelope(Box::new(admission))])
                .await?;
            match stored.pop() {
                Some(Stored::Envelope(accepted)) if stored.is_empty() => Ok(accepted),
                _ => Err(StoreError::Corrupt {
                    tree: "dedup",
                    message: "the store answered one envelope with something else".into(),
                }),
            }
        })
    }

    /// Up to `limit` items for `recipient` with a sequence above `after`, oldest first.
    fn pending<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        after: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>>;

    /// Up to `limit` items for `recipient`, oldest first, leaving out those whose sequence is
    /// in `skip` without reading them: what a delivery stream has not sent yet, each item read
    /// once however often the stream asks.
    fn pending_except<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        skip: &'a std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(async move {
            let items = self
                .pending(recipient, 0, skip.len().saturating_add(limit))
                .await?;
            Ok(items
                .into_iter()
                .filter(|item| !skip.contains(&item.sequence))
                .take(limit)
                .collect())
        })
    }

    /// The queued item `sequence` for `recipient`, if still queued.
    fn item<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        sequence: u64,
    ) -> StoreFuture<'a, Option<pb::Delivery>>;

    /// Removes an acknowledged item and, with a `route` (for an envelope), atomically routes
    /// the recipient's receipt towards the sender and records the outcome. Returns the
    /// receipt's new sequence, or `None` when the item was already gone (acknowledged twice:
    /// the first completion counts) or there was no route.
    fn complete(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> StoreFuture<'_, Option<u64>>;

    /// The oldest items for `peer`: at most `max_items`, and at most `max_bytes` together
    /// unless the first alone is larger (it is then sent alone).
    fn outgoing<'a>(
        &'a self,
        peer: &'a BrokerName,
        max_items: usize,
        max_bytes: usize,
    ) -> StoreFuture<'a, Vec<Outgoing>> {
        self.outgoing_skipping(peer, &[], max_items, max_bytes)
    }

    /// As [`BrokerStore::outgoing`], leaving out the items whose sequence is in `skip`. An
    /// item that cannot be read is set aside (see [`BrokerStore::set_aside`]) with the reason
    /// instead of failing the call: one damaged record must not stop the outbox.
    fn outgoing_skipping<'a>(
        &'a self,
        peer: &'a BrokerName,
        skip: &'a [u64],
        max_items: usize,
        max_bytes: usize,
    ) -> StoreFuture<'a, Vec<Outgoing>>;

    /// Moves the outbox items `items` name (by peer and sequence) out of the live outbox into
    /// the durable set-aside table, with their attempts and reason, in one atomic write; the
    /// stored bytes are kept as they were (`item` is ignored). Returns how many were still in
    /// the outbox and moved.
    fn set_aside(&self, items: Vec<SetAside>) -> StoreFuture<'_, usize>;

    /// How many items are set aside for `peer`.
    fn set_aside_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize>;

    /// The set-aside items, by peer and then oldest first: all of them, or those for `peer`.
    fn set_aside_items<'a>(
        &'a self,
        peer: Option<&'a BrokerName>,
    ) -> StoreFuture<'a, Vec<SetAside>>;

    /// After `peer` answered a batch: removes the answered items from its outbox and, in the
    /// same atomic write, queues the receipts for local senders and appends the records.
    fn relayed(&self, peer: BrokerName, answer: RelayAnswer) -> StoreFuture<'_, ()>;

    /// The relay log, oldest first.
    fn relay_log(&self) -> StoreFuture<'_, Vec<pb::RelayRecord>>;

    /// How many items wait for `recipient`.
    fn queue_len<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, usize>;

    /// How many items wait for `peer`.
    fn outbox_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize>;

    /// The items (envelopes and receipts) waiting for `recipient`, and their bytes: what the
    /// per-node queue caps count. Read from the stored state, so it holds across restarts.
    fn queue_usage<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, Usage>;

    /// The envelopes from nodes homed on `peer` waiting in this broker's queues, and their
    /// bytes: what the per-peer relay caps count.
    fn relayed_usage<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, Usage>;

    /// Up to `limit` envelopes in queues and outboxes whose expiry is at or before `now_ms`.
    /// They are removed with [`BrokerStore::complete`] (a queue) or [`BrokerStore::relayed`]
    /// (an outbox), each with the EXPIRED receipt for its sender.
    fn lapsed(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<Lapsed>>;

    /// Removes the duplicate-table entries of envelopes accepted before `accepted_before_ms`
    /// and returns how many. Safe when the cut-off is at least [`FORGET_AFTER_MS`] ago: see
    /// there.
    fn forget_duplicates(&self, accepted_before_ms: u64) -> StoreFuture<'_, usize>;

    /// Removes the relay-log records written before `before_ms` (the retention period,
    /// `relay_log_retention_days`) and returns how many.
    fn forget_relay_records(&self, before_ms: u64) -> StoreFuture<'_, usize>;
    /// Replaces the signed prekey set kept for `node` (checked against the directory by the
    /// caller); on disk when this returns.
    fn put_prekeys<'a>(&'a self, node: &'a NodeAddr, set: &'a pb::PrekeySet)
    -> StoreFuture<'a, ()>;

    /// The signed prekey set kept for `node`, if any.
    fn prekeys<'a>(&'a self, node: &'a NodeAddr) -> StoreFuture<'a, Option<pb::PrekeySet>>;

    /// Follows whether the store takes writes (`true`) or refuses them after a storage fault
    /// until it recovers (`false`); `None` for an engine that does not tell.
    fn writable(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        None
    }

    /// Tells the other broker processes on this store that something new waits for `wake_up`,
    /// after the write that queued it returned. Never waits and never fails: a wake-up that
    /// cannot be sent is caught by the periodic rescan ([`BrokerStore::rescan_every`]). Nothing
    /// to do for an engine that only one process opens (the embedded one).
    fn announce(&self, _wake_up: WakeUp) {}

    /// The wake-ups the other broker processes on this store announce, for as long as the
    /// store is open; `None` for an engine that only one process opens.
    fn wake_ups(&self) -> StoreFuture<'_, Option<WakeUps>> {
        Box::pin(async { Ok(None) })
    }

    /// How often a broker on this store looks at every delivery queue and outbox again
    /// without a wake-up, in case one was lost; `None` for an engine only one process opens.
    fn rescan_every(&self) -> Option<std::time::Duration> {
        None
    }

    /// Takes (with `revision` 0) or renews (with the revision the last take or renewal
    /// returned) the lease `key` for `holder`, which lapses [`crate::lease::LEASE_TTL`] after
    /// its last renewal. Returns the lease's new revision, or `None` when another holder has it
    /// (or took it after it lapsed). A lease held under the same `holder` (the same process,
    /// restarted) is taken back at once. An engine that only one process opens grants every
    /// lease.
    fn lease<'a>(
        &'a self,
        _key: &'a str,
        _holder: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<u64>> {
        Box::pin(async move { Ok(Some(revision.saturating_add(1))) })
    }

    /// Gives up the lease `key` held at `revision`, so that another process can take it at
    /// once; one already lost is no error.
    fn release<'a>(&'a self, _key: &'a str, _revision: u64) -> StoreFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }

    /// Whether several broker processes can open this store at once, so that a lease must be
    /// held to relay to a peer ([`crate::lease`]).
    fn shared(&self) -> bool {
        false
    }
}

/// Something new that a delivery stream or a relay task should look at, told to every broker
/// process on the same store ([`BrokerStore::announce`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WakeUp {
    /// Something new waits in this node's delivery queue.
    Node(NodeAddr),
    /// Something new waits in the outbox for this peer broker.
    Peer(BrokerName),
}

/// Wake-ups announced by the other broker processes on the same store, as they come.
pub type WakeUps = tokio::sync::mpsc::Receiver<WakeUp>;

/// How long a message id stays in the duplicate table after its envelope was accepted: the
/// longest envelope lifetime plus the clock-skew allowance.
///
/// Why forgetting it then is safe: every broker refuses an envelope created more than
/// `MAX_CLOCK_SKEW_MS` after its own clock, or expiring more than `MAX_ENVELOPE_LIFETIME_MS`
/// after its creation ([`crate::admit::check_window`]). So an envelope accepted at `t`
/// expires by `t + MAX_CLOCK_SKEW_MS + MAX_ENVELOPE_LIFETIME_MS` at the latest, and a replay
/// of it (same signed header, so the same dates) arriving after that is refused as expired
/// before the duplicate table is consulted. The table only has to remember what could still
/// be admitted.
pub const FORGET_AFTER_MS: u64 =
    trm_proto::time::MAX_ENVELOPE_LIFETIME_MS + trm_proto::time::MAX_CLOCK_SKEW_MS;

/// Opens the store `config` names (`[store]`): the embedded engine in `data_dir`, with the
/// page cache `cache_mib` sets, or the broker's stream on a JetStream cluster.
pub async fn open(config: &BrokerConfig) -> Result<Arc<dyn BrokerStore>, StoreError> {
    match &config.store {
        crate::config::store::Store::Embedded => {
            Ok(RecoveringStore::open_with(&config.data_dir, config.engine)?)
        }
        crate::config::store::Store::JetStream(settings) => {
            // The broker's other files (the kept directory, the metrics address) stay there.
            std::fs::create_dir_all(&config.data_dir).map_err(|e| StoreError::Open(Box::new(e)))?;
            Ok(Arc::new(
                JetStreamStore::open(settings, &config.name).await?,
            ))
        }
    }
}
