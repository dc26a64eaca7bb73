//! The delivery stream: everything queued for a node, sent in order, each item deleted only
//! when the node acknowledges it. For an envelope the acknowledgement carries the node's signed
//! DELIVERED or REJECTED receipt, which is checked and, in the same atomic write that deletes
//! the item, queued for the sender, or put in the outbox for the sender's home broker when the
//! sender is homed elsewhere. The stream ends when the broker shuts down.
//!
//! A stream that stops making progress is ended so that the node dials again: the server's
//! HTTP/2 keepalive drops a connection whose node answers no ping, and a node that leaves items
//! unacknowledged for [`ACK_DEADLINE`] has its stream ended (the items stay queued and go out
//! again on the next stream).
//!
//! The stream keeps what it sent and is waiting for ([`InFlight`]): each queued item is read
//! and decoded once, when it is sent, and an acknowledgement is checked against the envelope
//! header kept from then, not against the queue read again. The queue is read again only when
//! something new may be there (a wake-up, or a read that filled the window), and each
//! acknowledgement's completion starts at once, beside the others: the node's
//! acknowledgements are written together, and a stream that ends completes what was
//! acknowledged before it returns.
//!
//! With several broker processes on one store, a node may be served by any of them, and may
//! have a stream open on two (a reconnect to the other process while the old connection
//! lingers). Each stream sends what is queued and keeps its own `InFlight`; whichever
//! acknowledgement comes first completes the item and routes its receipt, and the other
//! process's completion of the same item finds it gone or its marker taken and routes nothing
//! (`complete` returns `None`, so no second DELIVERED reaches the sender and no second wake-up
//! goes out). An item completed elsewhere stays in this stream's `InFlight` until the node
//! acknowledges it here too or the stream ends (at the latest at [`ACK_DEADLINE`]); it is
//! never sent twice on one stream, since stream sequences only grow and are never reused.
//! Items queued by another process wake this stream through the store's wake-ups
//! ([`crate::wakeups`]).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tonic::{Status, Streaming};
use tracing::{debug, info, warn};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Peer;
use trm_proto::envelope::Header;
use trm_proto::receipt::Attester;
use trm_proto::{pb, receipt, time};

use crate::error::BrokerError;
use crate::record::{self, About, Event};
use crate::state::{BrokerState, stopped};
use crate::store::{Destination, Route, StoreError};

/// Items sent and not yet acknowledged, per stream.
pub const WINDOW: usize = 64;

/// How long a node may leave delivered items unacknowledged before its stream is ended; it
/// acknowledges each item as soon as it is on disk, a matter of seconds.
pub const ACK_DEADLINE: Duration = Duration::from_secs(120);

/// What a stream keeps of an item it sent, until the node acknowledges it.
#[derive(Debug)]
enum Sent {
    /// An envelope: its header bytes, to check the receipt the acknowledgement carries.
    Envelope(Vec<u8>),
    /// A receipt for the node, which needs no answer.
    Receipt,
}

/// The items a stream sent and has not completed, by sequence: those waiting for their
/// acknowledgement, and those acknowledged whose completion is being written.
#[derive(Debug, Default)]
struct InFlight {
    /// Waiting for their acknowledgement.
    sent: BTreeMap<u64, Sent>,
    /// Every item sent and not completed, as the store's reads want them (not to be sent
    /// again while their completion is written).
    sequences: BTreeSet<u64>,
}

impl InFlight {
    fn len(&self) -> usize {
        self.sequences.len()
    }

    fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// Keeps what the acknowledgement of `delivery` will be checked against.
    fn insert(&mut self, delivery: &pb::Delivery) {
        let sent = match &delivery.item {
            Some(pb::delivery::Item::Envelope(envelope)) => Sent::Envelope(envelope.header.clone()),
            _ => Sent::Receipt,
        };
        self.sent.insert(delivery.sequence, sent);
        self.sequences.insert(delivery.sequence);
    }

    /// What was kept of `sequence`, if it waits for its acknowledgement; it stays in flight
    /// until [`InFlight::completed`].
    fn acknowledged(&mut self, sequence: u64) -> Option<Sent> {
        self.sent.remove(&sequence)
    }

    /// The completion of `sequence` is written (or failed, ending the stream).
    fn completed(&mut self, sequence: u64) {
        self.sequences.remove(&sequence);
    }
}

/// The completions of acknowledged items being written, each answering with its sequence.
type Completions = FuturesUnordered<
    std::pin::Pin<Box<dyn Future<Output = (u64, Result<(), BrokerError>)> + Send>>,
>;

/// Who a delivery stream serves: the node, and the certificate (DER) its stream was opened with.
#[derive(Debug, Clone)]
pub struct Session {
    /// The node served.
    pub node: NodeAddr,
    /// Its leaf certificate as presented when the stream opened.
    pub certificate: Vec<u8>,
}

/// Runs one node's delivery session until the node hangs up or the broker shuts down.
pub async fn session(
    state: Arc<BrokerState>,
    Session { node, certificate }: Session,
    mut acks: Streaming<pb::DeliveryAck>,
    out: mpsc::Sender<Result<pb::Delivery, Status>>,
) {
    info!(node = %node, "delivery stream opened");
    let mut completions = Completions::new();
    serve(
        &state,
        &node,
        &certificate,
        &mut acks,
        &out,
        &mut completions,
    )
    .await;
    // What the node acknowledged before the stream ended is completed, not sent again.
    while completions.next().await.is_some() {}
}

/// The stream's loop: sends what is queued, within [`WINDOW`], and starts the completion of
/// each acknowledged item at once, so that the node's acknowledgements are written together
/// (the store commits concurrent writes as one) instead of one after the other. Returns when
/// the stream ends.
async fn serve(
    state: &Arc<BrokerState>,
    node: &NodeAddr,
    certificate: &[u8],
    acks: &mut Streaming<pb::DeliveryAck>,
    out: &mpsc::Sender<Result<pb::Delivery, Status>>,
    completions: &mut Completions,
) {
    let waker = state.waker(node);
    // Ending the stream at shutdown lets the server's graceful shutdown finish.
    let mut shutdown = state.shutdown_signal();
    let mut in_flight = InFlight::default();
    // The last acknowledgement, or when the oldest item in flight was sent.
    let mut progress = Instant::now();
    // Whether the queue may hold something not sent yet: at the start, after a wake-up, and
    // after a read that filled the room it was given.
    let mut unread = true;
    // One registration for wake-ups, kept from one turn of the loop to the next and renewed
    // only once it fired: a wake-up that comes at any moment (while a read or an
    // acknowledgement is handled too) is kept, not only one that finds the stream waiting.
    let mut notified = Box::pin(waker.notified());
    let mut armed = false;
    loop {
        // A node revoked while its stream is open, or whose certificate was replaced, gets
        // nothing more on the stream that certificate opened.
        let listed = state
            .directory
            .current()
            .peer_by_certificate(certificate)
            .cloned();
        if listed != Some(Peer::Node(node.clone())) {
            info!(node = %node, "node or its certificate no longer in the directory; ending its delivery stream");
            // Never waits: a node that stopped reading does not hold this task.
            let _ = out.try_send(Err(Status::permission_denied(format!(
                "{node} with this certificate is not in the federation directory"
            ))));
            return;
        }
        // Registered before reading, so an item queued during the read is not missed.
        if !armed {
            notified.set(waker.notified());
            notified.as_mut().enable();
            armed = true;
        }
        if unread && in_flight.len() < WINDOW {
            // Scan from the start of the queue each time, skipping (unread) what is in flight:
            // sequence numbers are taken before their writes commit, so an item can appear
            // behind one already sent, and a high-water mark would skip it until the next
            // connection. Its commit wakes this stream, which reads again.
            let room = WINDOW - in_flight.len();
            match state
                .store
                .pending_except(node, &in_flight.sequences, room)
                .await
            {
                Ok(fresh) => {
                    if in_flight.is_empty() {
                        progress = Instant::now();
                    }
                    unread = fresh.len() >= room;
                    for item in fresh {
                        in_flight.insert(&item.delivery);
                        // A node that stops reading fills the stream's buffer: it gets until
                        // the acknowledgement deadline, like a node that stops acknowledging.
                        match tokio::time::timeout_at(
                            progress + ACK_DEADLINE,
                            out.send(Ok(item.delivery)),
                        )
                        .await
                        {
                            Ok(Ok(())) => {}
                            Ok(Err(_)) => {
                                info!(node = %node, "delivery stream closed by node");
                                return;
                            }
                            Err(_) => {
                                warn!(
                                    node = %node,
                                    "node {node} read nothing for {} s; ending its delivery stream so that it reconnects",
                                    ACK_DEADLINE.as_secs()
                                );
                                return;
                            }
                        }
                    }
                }
                Err(e) => {
                    warn!(node = %node, cause = %e, "cannot read delivery queue");
                    let _ = out.try_send(Err(BrokerError::from(e).into()));
                    return;
                }
            }
        }
        tokio::select! {
            () = notified.as_mut() => {
                unread = true;
                armed = false;
            }
            Some((sequence, completed)) = completions.next(), if !completions.is_empty() => {
                in_flight.completed(sequence);
                if let Err(e) = completed {
                    // A store that refuses writes has said why once, at its fault; the node
                    // retries its acknowledgements with backoff meanwhile.
                    if matches!(e, BrokerError::Store(StoreError::Refused(_))) {
                        debug!(node = %node, sequence, cause = %e, "refused acknowledgement");
                    } else {
                        warn!(node = %node, sequence, cause = %e, "refused acknowledgement");
                    }
                    let _ = out.try_send(Err(e.into()));
                    return;
                }
            }
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    let sequence = ack.sequence;
                    let Some(sent) = in_flight.acknowledged(sequence) else {
                        // Not progress: acks for made-up sequence numbers must not hold off
                        // the deadline.
                        debug!(node = %node, sequence, "acknowledgement for an item not in flight");
                        continue;
                    };
                    progress = Instant::now();
                    let (state, node) = (state.clone(), node.clone());
                    completions.push(Box::pin(async move {
                        (sequence, acknowledge(&state, &node, ack, sent).await)
                    }));
                }
                Ok(None) => {
                    info!(node = %node, "delivery stream ended by node");
                    return;
                }
                Err(status) => {
                    info!(node = %node, cause = %status, "delivery stream broken");
                    return;
                }
            },
            () = out.closed() => {
                info!(node = %node, "delivery stream closed");
                return;
            }
            () = tokio::time::sleep_until(progress + ACK_DEADLINE), if !in_flight.is_empty() => {
                warn!(
                    node = %node,
                    "node {node} acknowledged nothing for {} s; ending its delivery stream so that it reconnects",
                    ACK_DEADLINE.as_secs()
                );
                let _ = out.try_send(Err(Status::deadline_exceeded(format!(
                    "nothing acknowledged for {} s",
                    ACK_DEADLINE.as_secs()
                ))));
                return;
            }
            () = stopped(&mut shutdown) => {
                info!(node = %node, "delivery stream ended: broker shutting down");
                return;
            }
        }
    }
}

/// Checks `ack` of the item this stream sent as `sent` and removes the item from the queue,
/// routing an envelope's receipt to its sender. An item that left the queue meanwhile (its
/// envelope expired, say) is not routed twice: the store's removal answers for it.
async fn acknowledge(
    state: &BrokerState,
    node: &NodeAddr,
    ack: pb::DeliveryAck,
    sent: Sent,
) -> Result<(), BrokerError> {
    let sequence = ack.sequence;
    let bad = |problem: String| BrokerError::BadAck { sequence, problem };
    let header_bytes = match sent {
        Sent::Envelope(header) => header,
        // A receipt needs no answer.
        Sent::Receipt => {
            state.store.complete(node.clone(), sequence, None).await?;
            return Ok(());
        }
    };
    let signed = ack
        .receipt
        .ok_or_else(|| bad("an envelope must be acknowledged with a signed receipt".into()))?;
    let header = Header::decode(&header_bytes)?;
    let directory = state.directory.current();
    let claimed = receipt::peek(&signed)?;
    let kind = pb::ReceiptKind::try_from(claimed.kind).unwrap_or(pb::ReceiptKind::Unspecified);
    // The acknowledging node answers for itself: DELIVERED or REJECTED by the addressee.
    match receipt::attester(kind, &claimed.signer, &header.from, node) {
        Ok(Attester::Node(signer)) if signer == *node => {}
        Ok(_) => {
            return Err(bad(format!(
                "receipt kind {kind:?} is not DELIVERED or REJECTED"
            )));
        }
        Err(e) => return Err(bad(e.to_string())),
    }
    let keys = receipt::attester_keys(&directory, &Attester::Node(node.clone()), time::now_ms())
        .ok_or(BrokerError::UnknownCertificate {
            version: directory.version(),
        })?;
    let verified = receipt::verify(&signed, &keys)?;
    let r = &verified.receipt;
    let digest = trm_proto::envelope::digest(&header_bytes);
    if r.message_id != header.message_id.as_str()
        || r.from != header.from.as_str()
        || r.to != node.as_str()
        || r.envelope_digest != digest
    {
        return Err(bad(
            "receipt does not describe the delivered envelope".into()
        ));
    }
    let event = if verified.kind() == pb::ReceiptKind::Delivered {
        Event::Delivered
    } else {
        Event::Rejected
    };
    // A sender homed on another broker gets the receipt through the outbox for that broker.
    let home = header.from.broker();
    let (destination, peer) = if home == state.name {
        (Destination::Local(header.from.clone()), None)
    } else {
        (Destination::Peer(home.clone()), Some(&home))
    };
    let record = record::record(
        event,
        About::Envelope(&header, &digest),
        peer,
        time::now_ms(),
    );
    let routed = state
        .store
        .complete(
            node.clone(),
            sequence,
            Some(Route {
                destination: destination.clone(),
                receipt: signed,
                record,
            }),
        )
        .await?;
    if routed.is_some() {
        state.metrics.delivered();
        info!(id = %header.message_id, to = %node, event = event.as_str(), "receipt queued for sender");
        match &destination {
            Destination::Local(sender) => state.wake(sender),
            Destination::Peer(broker) => state.wake_relay(broker),
        }
    }
    Ok(())
}
