//! The delivery task: keeps a delivery stream open to the home broker, handles each item
//! (envelopes are opened, stored and answered with a signed receipt; receipts are checked and
//! recorded) and acknowledges it only once the result is on disk. While the directory in use
//! has expired nothing is received: deliveries stay queued on the broker, unacknowledged,
//! until a newer directory is adopted.
//!
//! Opening the stream has a deadline ([`OPEN_TIMEOUT`]); once open, the channel's HTTP/2
//! keepalive drops a stream whose broker answers no ping (see [`crate::connect`]), and the task
//! dials again with backoff. The link's state is logged once per change: a warning when the
//! broker becomes unreachable, a note when it is reachable again and after how long.
//!
//! A stream that merely opens proves little (a broker whose store fails opens it and ends it
//! at once), so the link counts as working again, and the backoff starts over, only once a
//! batch went through or the stream stayed up for [`STEADY`].

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, error, info, warn};
use trm_proto::addr::BrokerName;
use trm_proto::envelope::Header;
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_storage::Backoff;
use trm_storage::backoff::health::{Change, LinkHealth};

use crate::error::NodeError;
use crate::node::Node;
use crate::refresh::Sources;

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, sources: Sources, mut shutdown: watch::Receiver<bool>) {
    let mut client = BrokerClient::new(sources.home().clone())
        .max_decoding_message_size(trm_proto::MAX_ENVELOPE_BYTES + 64 * 1024);
    let mut link = Link::new(node.address().broker());
    while !*shutdown.borrow() {
        // Set when the directory in use has expired: retry at a slower pace than a reconnect.
        let mut pause = None;
        let (acks, ack_stream) = mpsc::channel(64);
        let opening = client.deliver(ReceiverStream::new(ack_stream));
        match crate::connect::within(OPEN_TIMEOUT, opening).await {
            Ok(response) => {
                debug!(node = %node.address(), "delivery stream opened");
                let steady_at = Instant::now() + STEADY;
                let mut confirmed = false;
                let mut deliveries = response.into_inner();
                loop {
                    tokio::select! {
                        item = deliveries.message() => match item {
                            Ok(Some(first)) => {
                                // Everything already arrived is handled as one batch with one flush.
                                let mut batch = vec![first];
                                while batch.len() < BATCH {
                                    match deliveries.message().now_or_never() {
                                        Some(Ok(Some(delivery))) => batch.push(delivery),
                                        _ => break,
                                    }
                                }
                                match handle_batch(&node, &sources, batch).await {
                                    Ok(batch_acks) => {
                                        for ack in batch_acks {
                                            if acks.send(ack).await.is_err() {
                                                break;
                                            }
                                        }
                                        if !confirmed {
                                            confirmed = true;
                                            link.worked(&node);
                                        }
                                    }
                                    Err(e @ NodeError::DirectoryExpired { .. }) => {
                                        error!(cause = %e, "not receiving under an expired directory; deliveries stay queued on the broker");
                                        pause = Some(EXPIRED_RETRY);
                                        break;
                                    }
                                    Err(e) => {
                                        error!(cause = %e, "cannot handle delivery; reconnecting");
                                        break;
                                    }
                                }
                            }
                            Ok(None) => {
                                info!("delivery stream ended by broker");
                                break;
                            }
                            Err(status) => {
                                link.failed("delivery stream broken", &status);
                                break;
                            }
                        },
                        () = tokio::time::sleep_until(steady_at), if !confirmed => {
                            confirmed = true;
                            link.worked(&node);
                        }
                        _ = shutdown.changed() => return,
                    }
                }
            }
            Err(status) => link.failed("cannot open the delivery stream", &status),
        }
        tokio::select! {
            () = tokio::time::sleep(pause.unwrap_or_else(|| link.backoff.next_delay())) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// The link to the home broker as the delivery task sees it: its backoff and its state.
struct Link {
    /// The home broker.
    broker: BrokerName,
    /// Delays between dials; reset only when the link worked.
    backoff: Backoff,
    /// Whether the link works, for logging each change once.
    health: LinkHealth,
}

impl Link {
    fn new(broker: BrokerName) -> Self {
        Self {
            broker,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
            health: LinkHealth::default(),
        }
    }

    /// A batch went through, or the stream stayed up for [`STEADY`]: the link works. The
    /// backoff starts over and the outbox may try at once.
    fn worked(&mut self, node: &Node) {
        let broker = &self.broker;
        match self.health.succeeded() {
            Some(Change::Back(down)) => info!(
                node = %node.address(),
                "broker {broker} reachable again after {} s",
                down.as_secs()
            ),
            _ => info!(node = %node.address(), "delivery stream connected"),
        }
        self.backoff.reset();
        node.outbox_wake().notify_one();
    }

    /// The stream could not be opened or broke (`what`, with the call's `status`): a warning if
    /// the link worked until now, a debug line otherwise. A status the broker sent is an answer
    /// (the broker is failing); one made here from a transport error means it is unreachable.
    fn failed(&mut self, what: &str, status: &tonic::Status) {
        let broker = &self.broker;
        let cause = format!("{what}: {}", trm_proto::status::describe(status));
        if self.health.failed() == Some(Change::Lost) {
            // A status with a transport error behind it, or the open's own deadline, is
            // silence; one the broker sent is an answer.
            let silent = std::error::Error::source(status).is_some()
                || status.code() == tonic::Code::DeadlineExceeded;
            let state = if silent { "unreachable" } else { "failing" };
            warn!("broker {broker} {state}: {cause}; retrying in the background");
        } else {
            debug!(cause, "broker still not working");
        }
    }
}

/// How long a delivery stream must stay up, with nothing going through, before the link counts
/// as working again.
pub const STEADY: Duration = Duration::from_secs(10);

/// How long opening the delivery stream may take, until the broker's first answer.
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait before asking again for a newer directory when the one in use has expired.
const EXPIRED_RETRY: Duration = Duration::from_secs(5);

/// Deliveries handled together before one flush.
const BATCH: usize = 64;

/// Handles delivered items and returns their acknowledgements once all their effects are on
/// disk (the items are handled concurrently, so their writes share the store's flushes).
async fn handle_batch(
    node: &Node,
    sources: &Sources,
    batch: Vec<pb::Delivery>,
) -> Result<Vec<pb::DeliveryAck>, NodeError> {
    directory_in_force(node, sources).await?;
    refresh_if_the_directory_may_be_behind(node, sources, &batch).await;
    // Polled in order: the items' writes share the store's transactions, and the steps of one
    // case take the case's lock in the order they were delivered (see `Node::receive`), so
    // they are stored in that order whatever each one waits for.
    let acks =
        futures_util::future::join_all(batch.into_iter().map(|delivery| handle(node, delivery)))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
    Ok(acks)
}

/// Fails closed when the directory in use has expired (it may list partners revoked since):
/// one refresh is tried first; if no broker offers a newer directory, nothing of the batch is
/// handled or acknowledged, so it stays queued on the broker.
async fn directory_in_force(node: &Node, sources: &Sources) -> Result<(), NodeError> {
    let now = trm_proto::time::now_ms();
    if crate::open::check_directory(&node.directory().current(), now).is_ok() {
        return Ok(());
    }
    if let Err(e) = crate::refresh::refresh_once(node, sources).await {
        warn!(cause = %e, "directory refresh for an expired directory failed");
    }
    let directory = node.directory().current();
    match crate::open::check_directory(&directory, now) {
        Ok(()) => Ok(()),
        Err(_) => Err(NodeError::DirectoryExpired {
            version: directory.version(),
            expired_at: trm_proto::time::format_ms(directory.expires_at_ms()),
        }),
    }
}

/// A sender the directory in use does not list may have been enrolled since the last refresh,
/// and an agreement it does not list may have been signed since: ask the brokers for a newer
/// directory once before refusing anything as from a stranger or as not agreed (at most once
/// per [`crate::refresh::ON_DEMAND_INTERVAL`]: the sender's name is not authenticated yet).
async fn refresh_if_the_directory_may_be_behind(
    node: &Node,
    sources: &Sources,
    batch: &[pb::Delivery],
) {
    let directory = node.directory().current();
    let now = trm_proto::time::now_ms();
    let behind = batch.iter().any(|delivery| match &delivery.item {
        Some(pb::delivery::Item::Envelope(envelope)) => {
            Header::decode(&envelope.header).is_ok_and(|header| {
                directory.node(&header.from).is_none()
                    || directory
                        .may_send(&header.from, &header.to, header.kind, now)
                        .is_err()
            })
        }
        _ => false,
    });
    if behind && sources.may_refresh_on_demand(std::time::Instant::now()) {
        match crate::refresh::refresh_once(node, sources).await {
            Ok(adopted) => info!(
                adopted,
                "refreshed the directory for an unknown sender or agreement"
            ),
            Err(e) => {
                warn!(cause = %e, "directory refresh for an unknown sender or agreement failed")
            }
        }
    }
}

/// Handles one delivered item; its effects are on disk when this returns.
async fn handle(node: &Node, delivery: pb::Delivery) -> Result<pb::DeliveryAck, NodeError> {
    let sequence = delivery.sequence;
    match delivery.item {
        Some(pb::delivery::Item::Envelope(envelope)) => {
            let receipt = node.receive(envelope).await?;
            // Queued before the acknowledgement: a crash in between gets the envelope
            // delivered again, and its notification queued then (once: see crate::webhooks).
            crate::webhooks::causes::message_arrived(node, &receipt).await?;
            Ok(pb::DeliveryAck {
                sequence,
                receipt: Some(receipt),
            })
        }
        Some(pb::delivery::Item::Receipt(receipt)) => {
            match node.accept_receipt(&receipt, None).await {
                Ok(_) => {}
                // A receipt that does not verify is dropped: keeping it would block the queue.
                Err(NodeError::InvalidRequest(problem)) => warn!(%problem, "dropped receipt"),
                Err(NodeError::Store(crate::store::StoreError::NotFound(id))) => {
                    warn!(%id, "dropped receipt for an unknown message");
                }
                Err(e) => return Err(e),
            }
            Ok(pb::DeliveryAck {
                sequence,
                receipt: None,
            })
        }
        None => Ok(pb::DeliveryAck {
            sequence,
            receipt: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_that_open_and_fail_at_once_keep_backing_off_and_warn_once() {
        let mut link = Link::new("at".parse().expect("name"));
        let refused = tonic::Status::unavailable("store unavailable");
        let mut delays = Vec::new();
        for _ in 0..12 {
            // The stream opened (nothing to record) and broke at once.
            link.failed("delivery stream broken", &refused);
            delays.push(link.backoff.next_delay());
        }
        assert!(link.health.is_failing());
        assert_eq!(link.backoff.failures(), 12);
        assert_eq!(link.backoff.ceiling(), Duration::from_secs(5));
        // Redialling at the initial pace would put 12 dials within 1.2 s.
        let total: Duration = delays.iter().sum();
        assert!(total > Duration::from_millis(1200), "{total:?}");
    }
}
