//! What reads the whole of a part of the stream: the relay log, the quotas' usage, the expiry
//! sweep's lapsed envelopes, and forgetting old duplicate-table keys and relay records. Each
//! walks the subjects it needs, oldest first, in batches ([`super::direct`]).
//!
//! The quotas ask for a usage on every submission, so a usage counted from the stream is kept,
//! with this process's own writes applied to it ([`crate::store::counted::Counters`]), and
//! counted again in the background now and then: a submission then costs about the same with
//! 10,000 items queued as with none.

use std::sync::PoisonError;
use std::time::Duration;

use prost::Message;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use super::layout::Layout;
use super::{JetStreamStore, corrupt, delivery};
use crate::store::counted::{Counted, Tree, header as queued_header};
use crate::store::{Lapsed, StoreError, Usage, Waiting};

/// How long a queue's usage counted from the stream is used, with this process's own writes
/// applied to it, before it is counted again: what the broker's other processes queued or
/// delivered meanwhile shows within this. With several processes, a queue's cap can be passed
/// by what the others let in during this time.
pub const QUEUE_COUNTED_FOR: Duration = Duration::from_secs(5);
/// The same for the envelopes a peer broker's nodes have waiting here; longer, since counting
/// them reads every queue.
pub const RELAYED_COUNTED_FOR: Duration = Duration::from_secs(30);

/// When the broker accepted the envelope of a duplicate-table value (digest ‖ signed receipt).
fn accepted_at(value: &[u8]) -> Option<u64> {
    let signed = pb::SignedReceipt::decode(value.get(32..)?).ok()?;
    let receipt = pb::Receipt::decode(signed.receipt.as_slice()).ok()?;
    Some(receipt.at_ms)
}

fn header(envelope: &pb::Envelope, tree: &'static str) -> Result<pb::EnvelopeHeader, StoreError> {
    pb::EnvelopeHeader::decode(envelope.header.as_slice()).map_err(|e| corrupt(tree, e))
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::relay_log`].
    pub(super) async fn relay_log_now(&self) -> Result<Vec<pb::RelayRecord>, StoreError> {
        let mut records = Vec::new();
        self.scan(&self.layout.log(), |message| {
            records.push(
                pb::RelayRecord::decode(message.payload.as_ref())
                    .map_err(|e| corrupt("relay_log", e))?,
            );
            Ok(true)
        })
        .await?;
        Ok(records)
    }

    /// See [`crate::store::BrokerStore::queue_usage`] ([`JetStreamStore::usage`]).
    pub(super) async fn queue_usage_now(&self, recipient: &NodeAddr) -> Result<Usage, StoreError> {
        self.usage(Counted::Queue(recipient.clone())).await
    }

    /// See [`crate::store::BrokerStore::relayed_usage`] ([`JetStreamStore::usage`]).
    pub(super) async fn relayed_usage_now(&self, peer: &BrokerName) -> Result<Usage, StoreError> {
        self.usage(Counted::Peer(peer.clone())).await
    }

    /// The usage of `counted`: counted from the stream the first time (one count at a time;
    /// concurrent callers wait for it), then kept in step with this process's writes and, once
    /// older than [`QUEUE_COUNTED_FOR`] ([`RELAYED_COUNTED_FOR`] for a peer's share), counted
    /// again by one background task while callers go on with the usage known.
    async fn usage(&self, counted: Counted) -> Result<Usage, StoreError> {
        if let Some(usage) = self.known_refreshing(&counted) {
            return Ok(usage);
        }
        let _counting = self.first_count.lock().await;
        if let Some(usage) = self.known_refreshing(&counted) {
            return Ok(usage);
        }
        let usage = self.count_usage(&counted).await?;
        self.counted(counted, usage);
        Ok(usage)
    }

    /// The usage of `counted` if known; when it is older than its period, a task counts it
    /// again (unless one does already).
    fn known_refreshing(&self, counted: &Counted) -> Option<Usage> {
        let (usage, age) = self
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(counted)?;
        let period = match counted {
            Counted::Queue(_) => QUEUE_COUNTED_FOR,
            Counted::Peer(_) => RELAYED_COUNTED_FOR,
        };
        if age >= period
            && self
                .recounting
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(counted.clone())
        {
            let store = self.clone();
            let counted = counted.clone();
            tokio::spawn(async move {
                match store.count_usage(&counted).await {
                    Ok(usage) => store.counted(counted.clone(), usage),
                    Err(e) => {
                        tracing::warn!(cause = %e, ?counted, "counting a quota's usage again failed: the last count is used")
                    }
                }
                store
                    .recounting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&counted);
            });
        }
        Some(usage)
    }

    /// Counts the usage of `counted` from the stream.
    async fn count_usage(&self, counted: &Counted) -> Result<Usage, StoreError> {
        let mut usage = Usage::default();
        match counted {
            Counted::Queue(recipient) => {
                self.scan(&self.layout.queue(recipient), |message| {
                    usage = usage.plus(message.payload.len() as u64);
                    Ok(true)
                })
                .await?;
            }
            Counted::Peer(peer) => {
                self.scan(&self.layout.queues(), |message| {
                    let from = queued_header(Tree::Queue, &message.payload)?
                        .and_then(|header| header.from.parse::<NodeAddr>().ok());
                    if from.is_some_and(|from| &from.broker() == peer) {
                        usage = usage.plus(message.payload.len() as u64);
                    }
                    Ok(true)
                })
                .await?;
            }
        }
        Ok(usage)
    }

    /// Records a usage just counted from the stream.
    fn counted(&self, counted: Counted, usage: Usage) {
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(counted, usage);
    }

    /// See [`crate::store::BrokerStore::lapsed`]: queues, then outboxes, then set-aside items.
    pub(super) async fn lapsed_now(
        &self,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<Lapsed>, StoreError> {
        let mut lapsed = Vec::new();
        let layout = self.layout.clone();
        if limit == 0 {
            return Ok(lapsed);
        }
        self.scan(&self.layout.queues(), |message| {
            let delivery = delivery(&message)?;
            if let Some(pb::delivery::Item::Envelope(envelope)) = delivery.item
                && header(&envelope, "queue")?.expires_at_ms <= now_ms
            {
                let node = layout
                    .token("q", message.subject.as_str())
                    .and_then(|n| n.parse::<NodeAddr>().ok())
                    .ok_or_else(|| corrupt("queue", format!("subject {}", message.subject)))?;
                lapsed.push(Lapsed {
                    place: Waiting::Queue(node),
                    sequence: message.sequence,
                    envelope,
                });
            }
            Ok(lapsed.len() < limit)
        })
        .await?;
        for (filter, kind) in [
            (self.layout.outboxes(), "o"),
            (self.layout.asides(None), "a"),
        ] {
            if lapsed.len() >= limit {
                break;
            }
            self.scan(&filter, |message| {
                let subject = message.subject.as_str();
                let (sequence, bytes) = if kind == "a" {
                    let sequence = Layout::last_sequence(subject)
                        .ok_or_else(|| corrupt("set_aside", format!("subject {subject}")))?;
                    (sequence, super::aside::decode(&message.payload)?.3)
                } else {
                    (message.sequence, message.payload.to_vec())
                };
                // An unreadable item is set aside by the relay, not expired here.
                let Ok(item) = pb::RelayItem::decode(bytes.as_slice()) else {
                    return Ok(true);
                };
                if let Some(pb::relay_item::Item::Envelope(envelope)) = item.item
                    && header(&envelope, "outbox")?.expires_at_ms <= now_ms
                {
                    let peer = layout
                        .token(kind, subject)
                        .and_then(|p| p.parse::<BrokerName>().ok())
                        .ok_or_else(|| corrupt("outbox", format!("subject {subject}")))?;
                    lapsed.push(Lapsed {
                        place: Waiting::Outbox(peer),
                        sequence,
                        envelope,
                    });
                }
                Ok(lapsed.len() < limit)
            })
            .await?;
        }
        Ok(lapsed)
    }

    /// See [`crate::store::BrokerStore::forget_duplicates`].
    pub(super) async fn forget_duplicates_now(
        &self,
        accepted_before_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        self.scan(&self.layout.dedups(), |message| {
            if accepted_at(&message.payload).is_some_and(|at| at < accepted_before_ms) {
                old.push(message.sequence);
            }
            Ok(true)
        })
        .await?;
        for sequence in &old {
            self.delete(*sequence).await?;
        }
        Ok(old.len())
    }

    /// See [`crate::store::BrokerStore::forget_relay_records`].
    pub(super) async fn forget_relay_records_now(
        &self,
        before_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        self.scan(&self.layout.log(), |message| {
            let record = pb::RelayRecord::decode(message.payload.as_ref())
                .map_err(|e| corrupt("relay_log", e))?;
            if record.at_ms < before_ms {
                old.push(message.sequence);
            }
            Ok(true)
        })
        .await?;
        for sequence in &old {
            self.delete(*sequence).await?;
        }
        Ok(old.len())
    }
}
