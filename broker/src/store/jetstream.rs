//! The JetStream engine: the broker's state in one stream of a NATS JetStream cluster,
//! replicated over `replicas` servers, so that it outlives the machine the broker runs on.
//! The only module of this crate that names `async_nats`.
//!
//! Every piece of state is a subject of the one stream `<prefix>_<broker>` ([`layout`]), so a
//! write that touches several (an envelope's duplicate-table key, its queue item and its relay
//! record) is one atomic batch ([`batch`]): all of it is stored or none. The duplicate table
//! and the completion markers are create-only subjects: a second writer of the same key has
//! its whole batch refused, which is how an envelope is stored once and an item acknowledged
//! once, by any number of broker processes. Queue and outbox sequences are stream sequences,
//! assigned at commit, so they only grow.
//!
//! **Nothing returns `Ok` before JetStream acknowledged it**, and JetStream acknowledges once
//! the write is in the log of a quorum of the stream's replicas (2 of 3); the servers are run
//! with `sync_interval: always`, so that quorum has it on disk.
//!
//! Several broker processes of one broker name open the same stream: they tell each other what
//! they queued over core NATS (`wake`), and the one that relays to a peer holds that peer's
//! lease in a KV bucket (`lease`).
//!
//! Reads that must see every acknowledged write go to the stream leader (`STREAM.MSG.GET`),
//! one message per request; the walks over whole subjects (the quotas' counts, the expiry
//! sweep, listings) read in batches from any replica ([`direct`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};
use bytes::Bytes;
use prost::Message;
use tokio::sync::{mpsc, watch};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

use super::{
    BrokerStore, Intake, Lapsed, Outgoing, Queued, RelayAnswer, Route, SetAside, StoreError,
    StoreFuture, Stored, Usage, WakeUp, WakeUps,
};
use crate::config::store::JetStreamSettings;
use crate::store::counted::{self, Counters};

mod aside;
mod batch;
mod direct;
mod intake;
mod layout;
mod lease;
mod outbox;
mod queue;
mod scan;
mod wake;

pub use layout::Layout;
pub use scan::{QUEUE_COUNTED_FOR, RELAYED_COUNTED_FOR};
pub use wake::RESCAN_EVERY;

/// How long a request to JetStream may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the stream keeps a completion marker: past the longest envelope lifetime, an item
/// it names cannot come back.
const MARKER_TTL: &str = "744h";
/// How long opening waits for the cluster to take a write to the broker's stream.
const OPEN_WAIT: Duration = Duration::from_secs(30);
/// How often a store that does not take writes tries one.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How often a store that takes writes tries one anyway, so that a cluster that lost its
/// quorum (or a connection that went quiet) shows in health within this and
/// [`REQUEST_TIMEOUT`], even while nobody submits.
const HEALTHY_PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// How long the stream keeps the probe.
const PROBE_TTL: &str = "60s";
/// Largest message the stream takes: a 16 MiB envelope and its framing.
const MAX_MESSAGE_BYTES: i32 = 17 << 20;

/// How often a write starts again after another writer took one of its create-only subjects.
const ATTEMPTS: u32 = 8;

/// Waits before attempt `attempt` (from 1) of a write whose create-only subject was taken: the
/// other writer's batch may still be in flight, not yet readable. 5 ms, doubling: 1.3 s in all.
async fn back_off(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(5u64 << attempt.min(10))).await;
}

/// A failure of the JetStream client, as an engine error.
fn engine(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Engine(Box::new(e))
}

fn corrupt(tree: &'static str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree,
        message: e.to_string(),
    }
}

/// The broker's state on a JetStream cluster.
#[derive(Clone)]
pub struct JetStreamStore {
    client: async_nats::Client,
    stream: stream::Stream<()>,
    layout: Layout,
    writable: Arc<watch::Sender<bool>>,
    /// The broker's leases ([`lease`]).
    leases: kv::Store,
    /// Feeds the task that publishes wake-ups ([`wake`]).
    announce: mpsc::Sender<WakeUp>,
    /// The quotas' usage, kept in step with this process's writes and counted again from
    /// the stream when older than [`scan::QUEUE_COUNTED_FOR`] or [`scan::RELAYED_COUNTED_FOR`]
    /// (the broker's other processes write too).
    counters: Arc<Mutex<Counters>>,
    /// The usages being counted again in the background, each by one task.
    recounting: Arc<Mutex<std::collections::HashSet<counted::Counted>>>,
    /// Held while a usage not known yet is counted, so that concurrent submissions wait for
    /// one count instead of each reading the whole queue.
    first_count: Arc<tokio::sync::Mutex<()>>,
}

impl JetStreamStore {
    /// Connects to the cluster `settings` names and creates (or updates) `broker`'s stream.
    pub async fn open(
        settings: &JetStreamSettings,
        broker: &BrokerName,
    ) -> Result<JetStreamStore, StoreError> {
        let (writable, _) = watch::channel(true);
        let writable = Arc::new(writable);
        let events = writable.clone();
        let mut options = async_nats::ConnectOptions::new()
            .name(format!("trm-broker {broker} {}", std::process::id()))
            .max_reconnects(None)
            // A process does not hear its own wake-ups.
            .no_echo()
            .request_timeout(Some(REQUEST_TIMEOUT))
            .event_callback(move |event| {
                let events = events.clone();
                async move {
                    // A connection back is not a cluster that takes writes (it may have lost
                    // its quorum): the probe says when writes are taken again.
                    match event {
                        async_nats::Event::Disconnected | async_nats::Event::Closed => {
                            events.send_replace(false);
                        }
                        _ => {}
                    }
                }
            });
        if let Some(ca) = &settings.tls_ca {
            options = options.require_tls(true).add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &settings.tls_client {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if let Some(credentials) = &settings.credentials {
            options = options
                .credentials_file(credentials)
                .await
                .map_err(|e| StoreError::Open(Box::new(e)))?;
        }
        let client = options
            .connect(settings.servers.as_slice())
            .await
            .map_err(|e| StoreError::Open(Box::new(e)))?;
        let layout = Layout::new(&settings.stream_prefix, broker);
        let mut context = jetstream::new(client.clone());
        context.set_timeout(REQUEST_TIMEOUT);
        let config = stream::Config {
            name: layout.stream.clone(),
            subjects: vec![layout.all()],
            storage: stream::StorageType::File,
            num_replicas: settings.replicas,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::New,
            max_message_size: MAX_MESSAGE_BYTES,
            allow_atomic_publish: true,
            allow_message_ttl: true,
            allow_direct: true,
            allow_rollup: true,
            ..Default::default()
        };
        // A cluster that has just started (or lost a server) may time out or have no stream
        // leader yet: keep trying for a while, and open only once a write was acknowledged
        // and the lease bucket answers a read.
        let deadline = tokio::time::Instant::now() + OPEN_WAIT;
        let (stream, leases) = loop {
            let ready = async {
                context
                    .create_or_update_stream(config.clone())
                    .await
                    .map_err(|e| StoreError::Open(Box::new(e)))?;
                let stream = context
                    .get_stream_no_info(&layout.stream)
                    .await
                    .map_err(|e| StoreError::Open(Box::new(e)))?;
                let probe = batch::Outbound::new(layout.probe(), Vec::new())
                    .rolling_up()
                    .expiring(PROBE_TTL);
                let id = format!("{:032x}", rand::random::<u128>());
                batch::publish(&client, &id, vec![probe])
                    .await
                    .map_err(|e| StoreError::Open(Box::new(e)))?;
                let leases = context
                    .create_or_update_key_value(lease::bucket(layout.leases(), settings.replicas))
                    .await
                    .map_err(|e| StoreError::Open(Box::new(e)))?;
                // A bucket just made may not answer reads yet ("no responders" to a direct
                // get): open only once it does.
                leases
                    .entry(lease::READINESS_PROBE)
                    .await
                    .map_err(|e| StoreError::Open(Box::new(e)))?;
                Ok::<_, StoreError>((stream, leases))
            };
            match ready.await {
                Ok(opened) => break opened,
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(PROBE_INTERVAL / 4).await,
            }
        };
        let announce = wake::start_publisher(client.clone(), layout.clone());
        let store = JetStreamStore {
            client,
            stream,
            layout,
            writable,
            leases,
            announce,
            counters: Arc::default(),
            recounting: Arc::default(),
            first_count: Arc::default(),
        };
        store.spawn_probe();
        Ok(store)
    }

    /// Tries a write (the probe, one message rolled up) every [`HEALTHY_PROBE_INTERVAL`]
    /// while the store takes writes, and says it does not once one fails; while it does not,
    /// every [`PROBE_INTERVAL`], and says it takes them again once one is acknowledged. So the
    /// health service follows the cluster by itself, without waiting for a submission. Ends
    /// when the store is dropped.
    fn spawn_probe(&self) {
        let weak = Arc::downgrade(&self.writable);
        let mut watched = self.writable.subscribe();
        let client = self.client.clone();
        let probe = self.layout.probe();
        tokio::spawn(async move {
            loop {
                let takes_writes = *watched.borrow_and_update();
                if takes_writes {
                    // A change (a failed write, a lost connection) ends the wait early.
                    match tokio::time::timeout(HEALTHY_PROBE_INTERVAL, watched.changed()).await {
                        Ok(Err(_)) => return,
                        Ok(Ok(())) => continue,
                        Err(_) => {}
                    }
                } else {
                    tokio::time::sleep(PROBE_INTERVAL).await;
                }
                let Some(writable) = weak.upgrade() else {
                    return;
                };
                let message = batch::Outbound::new(probe.clone(), Vec::new())
                    .rolling_up()
                    .expiring(PROBE_TTL);
                let id = format!("{:032x}", rand::random::<u128>());
                match batch::publish(&client, &id, vec![message]).await {
                    Ok(_) => {
                        writable.send_replace(true);
                    }
                    Err(e) => {
                        if takes_writes {
                            tracing::warn!(cause = %e, "the store does not take writes: submissions are refused until it does");
                        }
                        writable.send_replace(false);
                    }
                }
            }
        });
    }

    /// The stream's name.
    pub fn stream_name(&self) -> &str {
        &self.layout.stream
    }

    /// Stores `messages` as one atomic batch, and follows whether the cluster takes writes
    /// and what the batch adds to the queues.
    async fn write(&self, messages: Vec<batch::Outbound>) -> Result<batch::Stored, WriteError> {
        let mut deltas = Vec::new();
        for message in &messages {
            if let Some(node) = self
                .layout
                .token("q", &message.subject)
                .and_then(|node| node.parse::<NodeAddr>().ok())
            {
                counted::queued(&mut deltas, &node, &message.payload, true);
            }
        }
        let id = format!("{:032x}", rand::random::<u128>());
        match batch::publish(&self.client, &id, messages).await {
            Ok(stored) => {
                self.writable.send_replace(true);
                self.counters_apply(&deltas);
                Ok(stored)
            }
            Err(batch::BatchError::Refused(batch::Refusal::Taken)) => Err(WriteError::Taken),
            Err(e) => {
                if matches!(
                    e,
                    batch::BatchError::Request(_) | batch::BatchError::Publish(_)
                ) {
                    self.writable.send_replace(false);
                }
                Err(WriteError::Store(engine(e)))
            }
        }
    }

    /// Applies changes to the queues to the usage this process knows.
    fn counters_apply(&self, deltas: &[counted::Delta]) {
        self.counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(deltas);
    }

    /// The message at `sequence` if it is still there and its subject is `subject`.
    async fn message_at(
        &self,
        sequence: u64,
        subject: &str,
    ) -> Result<Option<jetstream::message::StreamMessage>, StoreError> {
        match self.stream.get_raw_message(sequence).await {
            Ok(message) if message.subject.as_str() == subject => Ok(Some(message)),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(engine(e)),
        }
    }

    /// The first message at or after `sequence` on `filter` (wildcards allowed).
    async fn next(
        &self,
        filter: &str,
        sequence: u64,
    ) -> Result<Option<jetstream::message::StreamMessage>, StoreError> {
        match self
            .stream
            .raw_message_builder()
            .sequence(sequence.max(1))
            .next_by_subject(filter)
            .send()
            .await
        {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(engine(e)),
        }
    }

    /// Every message on `filter`, oldest first, while `each` asks for more ([`Self::walk`]).
    async fn scan(
        &self,
        filter: &str,
        each: impl FnMut(jetstream::message::StreamMessage) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        self.walk(filter, 1, direct::BATCH, each).await
    }

    /// The messages on `filter` from sequence `from` on, oldest first, while `each` asks for
    /// more: read in batches of up to `batch` from any replica ([`direct`]), then from the
    /// stream leader once those end (or fail), so that nothing acknowledged before the call is
    /// missed.
    async fn walk(
        &self,
        filter: &str,
        mut from: u64,
        batch: usize,
        mut each: impl FnMut(jetstream::message::StreamMessage) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        loop {
            let messages = match direct::batch(
                &self.client,
                &self.layout.stream,
                filter,
                from,
                batch,
                REQUEST_TIMEOUT,
            )
            .await
            {
                Ok(messages) => messages,
                // The leader's reads below take over, one message per request.
                Err(e) => {
                    tracing::debug!(cause = %e, filter, "batched read failed, reading from the stream leader");
                    break;
                }
            };
            let Some(last) = messages.last() else {
                break;
            };
            from = last.sequence.saturating_add(1);
            for message in messages {
                if !each(message)? {
                    return Ok(());
                }
            }
        }
        // What the replica that answered did not have yet.
        while let Some(message) = self.next(filter, from).await? {
            from = message.sequence.saturating_add(1);
            if !each(message)? {
                break;
            }
        }
        Ok(())
    }

    /// The last message on `subject`, if any.
    async fn last(
        &self,
        subject: &str,
    ) -> Result<Option<jetstream::message::StreamMessage>, StoreError> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(message) => Ok(Some(message)),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(engine(e)),
        }
    }

    /// Removes the message at `sequence`; one already gone is no error.
    ///
    /// The server is asked not to overwrite the message's bytes first (`no_erase`): what it
    /// holds is sealed to its addressee, and an overwrite is a read and a rewrite of the
    /// message's block on every replica (`async_nats`'s `delete_message` asks for one).
    async fn delete(&self, sequence: u64) -> Result<(), StoreError> {
        #[derive(serde::Serialize)]
        struct Request {
            seq: u64,
            no_erase: bool,
        }
        let request = serde_json::to_vec(&Request {
            seq: sequence,
            no_erase: true,
        })
        .map_err(engine)?;
        let answer = self
            .client
            .request(
                format!("$JS.API.STREAM.MSG.DELETE.{}", self.layout.stream),
                request.into(),
            )
            .await
            .map_err(engine)?;
        match serde_json::from_slice::<jetstream::response::Response<stream::DeleteStatus>>(
            &answer.payload,
        )
        .map_err(engine)?
        {
            jetstream::response::Response::Ok(_) => Ok(()),
            jetstream::response::Response::Err { error }
                if error.error_code() == jetstream::ErrorCode::NO_MESSAGE_FOUND
                    || error.error_code() == jetstream::ErrorCode::SEQUENCE_NOT_FOUND =>
            {
                Ok(())
            }
            jetstream::response::Response::Err { error } => Err(engine(error)),
        }
    }

    /// How many messages the subjects matching `filter` hold.
    async fn count(&self, filter: &str) -> Result<usize, StoreError> {
        use futures_util::TryStreamExt;
        let mut subjects = self
            .stream
            .info_with_subjects(filter)
            .await
            .map_err(engine)?;
        let mut total = 0usize;
        while let Some((_, count)) = subjects.try_next().await.map_err(engine)? {
            total = total.saturating_add(count);
        }
        Ok(total)
    }
}

/// Why a write was not stored.
enum WriteError {
    /// A create-only subject was taken: nothing of the batch is stored.
    Taken,
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// The message's payload as a `Delivery` whose sequence is the stream sequence.
fn delivery(message: &jetstream::message::StreamMessage) -> Result<pb::Delivery, StoreError> {
    let mut delivery =
        pb::Delivery::decode(message.payload.as_ref()).map_err(|e| corrupt("queue", e))?;
    delivery.sequence = message.sequence;
    Ok(delivery)
}

/// A `Delivery` to store (sequence 0: the stream assigns it).
fn stored_delivery(item: pb::delivery::Item) -> Bytes {
    pb::Delivery {
        sequence: 0,
        item: Some(item),
    }
    .encode_to_vec()
    .into()
}

impl BrokerStore for JetStreamStore {
    fn intake(&self, items: Vec<Intake>) -> StoreFuture<'_, Vec<Stored>> {
        Box::pin(self.intake_now(items))
    }

    fn pending<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        after: u64,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        Box::pin(self.pending_now(recipient, after, limit))
    }

    /// Reads only after the last item in flight: a stream sequence is assigned at commit, so
    /// nothing can appear behind an item already read.
    fn pending_except<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        skip: &'a std::collections::BTreeSet<u64>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<Queued>> {
        let after = skip.last().copied().unwrap_or(0);
        Box::pin(self.pending_now(recipient, after, limit))
    }

    fn item<'a>(
        &'a self,
        recipient: &'a NodeAddr,
        sequence: u64,
    ) -> StoreFuture<'a, Option<pb::Delivery>> {
        Box::pin(self.item_now(recipient, sequence))
    }

    fn complete(
        &self,
        recipient: NodeAddr,
        sequence: u64,
        route: Option<Route>,
    ) -> StoreFuture<'_, Option<u64>> {
        Box::pin(self.complete_now(recipient, sequence, route))
    }

    fn outgoing_skipping<'a>(
        &'a self,
        peer: &'a BrokerName,
        skip: &'a [u64],
        max_items: usize,
        max_bytes: usize,
    ) -> StoreFuture<'a, Vec<Outgoing>> {
        Box::pin(self.outgoing_now(peer, skip, max_items, max_bytes))
    }

    fn set_aside(&self, items: Vec<SetAside>) -> StoreFuture<'_, usize> {
        Box::pin(self.set_aside_now(items))
    }

    fn set_aside_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move { self.count(&self.layout.asides(Some(peer))).await })
    }

    fn set_aside_items<'a>(
        &'a self,
        peer: Option<&'a BrokerName>,
    ) -> StoreFuture<'a, Vec<SetAside>> {
        Box::pin(self.set_aside_items_now(peer))
    }

    fn relayed(&self, peer: BrokerName, answer: RelayAnswer) -> StoreFuture<'_, ()> {
        Box::pin(self.relayed_now(peer, answer))
    }

    fn relay_log(&self) -> StoreFuture<'_, Vec<pb::RelayRecord>> {
        Box::pin(self.relay_log_now())
    }

    fn queue_len<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, usize> {
        Box::pin(async move { self.count(&self.layout.queue(recipient)).await })
    }

    fn outbox_len<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, usize> {
        Box::pin(async move { self.count(&self.layout.outbox(peer)).await })
    }

    fn queue_usage<'a>(&'a self, recipient: &'a NodeAddr) -> StoreFuture<'a, Usage> {
        Box::pin(self.queue_usage_now(recipient))
    }

    fn relayed_usage<'a>(&'a self, peer: &'a BrokerName) -> StoreFuture<'a, Usage> {
        Box::pin(self.relayed_usage_now(peer))
    }

    fn lapsed(&self, now_ms: u64, limit: usize) -> StoreFuture<'_, Vec<Lapsed>> {
        Box::pin(self.lapsed_now(now_ms, limit))
    }

    fn forget_duplicates(&self, accepted_before_ms: u64) -> StoreFuture<'_, usize> {
        Box::pin(self.forget_duplicates_now(accepted_before_ms))
    }

    fn forget_relay_records(&self, before_ms: u64) -> StoreFuture<'_, usize> {
        Box::pin(self.forget_relay_records_now(before_ms))
    }

    fn put_prekeys<'a>(
        &'a self,
        node: &'a NodeAddr,
        set: &'a pb::PrekeySet,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let message =
                batch::Outbound::new(self.layout.prekeys(node), set.encode_to_vec()).rolling_up();
            match self.write(vec![message]).await {
                Ok(_) => Ok(()),
                Err(WriteError::Taken) => Err(corrupt("prekeys", "a prekey set was refused")),
                Err(WriteError::Store(e)) => Err(e),
            }
        })
    }

    fn prekeys<'a>(&'a self, node: &'a NodeAddr) -> StoreFuture<'a, Option<pb::PrekeySet>> {
        Box::pin(async move {
            self.last(&self.layout.prekeys(node))
                .await?
                .map(|m| {
                    pb::PrekeySet::decode(m.payload.as_ref()).map_err(|e| corrupt("prekeys", e))
                })
                .transpose()
        })
    }

    fn writable(&self) -> Option<watch::Receiver<bool>> {
        Some(self.writable.subscribe())
    }

    fn announce(&self, wake_up: WakeUp) {
        self.announce_now(wake_up);
    }

    fn wake_ups(&self) -> StoreFuture<'_, Option<WakeUps>> {
        Box::pin(async move { self.wake_ups_now().await.map(Some) })
    }

    fn rescan_every(&self) -> Option<Duration> {
        Some(RESCAN_EVERY)
    }

    fn lease<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        revision: u64,
    ) -> StoreFuture<'a, Option<u64>> {
        Box::pin(self.lease_now(key, holder, revision))
    }

    fn release<'a>(&'a self, key: &'a str, revision: u64) -> StoreFuture<'a, ()> {
        Box::pin(self.release_now(key, revision))
    }

    fn shared(&self) -> bool {
        true
    }
}
