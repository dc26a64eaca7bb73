//! The delivery task: keeps a delivery stream open to the home broker, handles each item
//! (envelopes are opened, stored and answered with a signed receipt; receipts are checked and
//! recorded) and acknowledges it only once the result is on disk.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tracing::{error, info, warn};
use trm_proto::envelope::Header;
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_storage::Backoff;

use crate::error::NodeError;
use crate::node::Node;

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, channel: Channel, mut shutdown: watch::Receiver<bool>) {
    let mut client = BrokerClient::new(channel.clone())
        .max_decoding_message_size(trm_proto::MAX_ENVELOPE_BYTES + 64 * 1024);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    while !*shutdown.borrow() {
        let (acks, ack_stream) = mpsc::channel(64);
        match client.deliver(ReceiverStream::new(ack_stream)).await {
            Ok(response) => {
                info!(node = %node.address(), "delivery stream connected");
                backoff.reset();
                // The broker is reachable again: let the outbox try at once.
                node.outbox_wake().notify_one();
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
                                match handle_batch(&node, &channel, batch).await {
                                    Ok(batch_acks) => {
                                        for ack in batch_acks {
                                            if acks.send(ack).await.is_err() {
                                                break;
                                            }
                                        }
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
                                warn!(cause = %status, "delivery stream broken");
                                break;
                            }
                        },
                        _ = shutdown.changed() => return,
                    }
                }
            }
            Err(status) => {
                warn!(cause = %status, "cannot open delivery stream");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(backoff.next_delay()) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Deliveries handled together before one flush.
const BATCH: usize = 64;

/// Handles delivered items and returns their acknowledgements once all their effects are on
/// disk (the items are handled concurrently, so their writes share the store's flushes).
async fn handle_batch(
    node: &Node,
    channel: &Channel,
    batch: Vec<pb::Delivery>,
) -> Result<Vec<pb::DeliveryAck>, NodeError> {
    refresh_if_a_sender_is_unknown(node, channel, &batch).await;
    // Polled in order, each item is checked and handed to the store's writer in batch order,
    // so the batch's changes share transactions and commit in the order they were delivered.
    let acks =
        futures_util::future::join_all(batch.into_iter().map(|delivery| handle(node, delivery)))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
    Ok(acks)
}

/// A sender the directory in use does not list may have been enrolled since the last refresh:
/// ask the broker for a newer directory once before refusing anything as from a stranger.
async fn refresh_if_a_sender_is_unknown(node: &Node, channel: &Channel, batch: &[pb::Delivery]) {
    let directory = node.directory().current();
    let stranger = batch.iter().any(|delivery| match &delivery.item {
        Some(pb::delivery::Item::Envelope(envelope)) => Header::decode(&envelope.header)
            .is_ok_and(|header| directory.node(&header.from).is_none()),
        _ => false,
    });
    if stranger {
        match crate::refresh::refresh_once(node, channel.clone()).await {
            Ok(adopted) => info!(adopted, "refreshed the directory for an unknown sender"),
            Err(e) => warn!(cause = %e, "directory refresh for an unknown sender failed"),
        }
    }
}

/// Handles one delivered item; its effects are on disk when this returns.
async fn handle(node: &Node, delivery: pb::Delivery) -> Result<pb::DeliveryAck, NodeError> {
    let sequence = delivery.sequence;
    match delivery.item {
        Some(pb::delivery::Item::Envelope(envelope)) => Ok(pb::DeliveryAck {
            sequence,
            receipt: Some(node.receive(envelope).await?),
        }),
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
