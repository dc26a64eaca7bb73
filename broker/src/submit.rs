//! Submit: authenticate the sender, verify the envelope and the sharing agreement, store it
//! durably (in the recipient's queue, or in the outbox for the recipient's home broker), and
//! answer with a signed ACCEPTED receipt (the same receipt again for a duplicate). The
//! sender's submission rate, the free-disk watermark and the addressee's queue caps
//! ([`crate::quota`]) are checked before anything is stored.

use prost::Message;
use tonic::Request;
use tracing::{info, warn};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;
use trm_proto::envelope::UnverifiedEnvelope;
use trm_proto::{pb, time};

use crate::error::BrokerError;
use crate::quota::Tally;
use crate::record::{self, About, Event};
use crate::state::BrokerState;
use crate::store::{Accepted, Admission, Destination};
use crate::{admit, auth};

/// Handles one submitted envelope.
pub async fn submit(
    state: &BrokerState,
    request: Request<pb::Envelope>,
) -> Result<pb::SignedReceipt, BrokerError> {
    let directory = state.directory.current();
    let peer = auth::node(&request, &directory).inspect_err(|e| state.metrics.refused(e))?;
    let result = accept(state, &directory, &peer, request.into_inner()).await;
    match &result {
        Ok(_) => state.metrics.submitted(),
        // A storage fault is logged once by the store, not once per refused envelope.
        Err(e @ BrokerError::Store(crate::store::StoreError::Refused(_))) => {
            state.metrics.refused(e);
            tracing::debug!(peer = %peer, cause = %e, "refused envelope");
        }
        Err(e) => {
            state.metrics.refused(e);
            warn!(peer = %peer, cause = %e, "refused envelope");
        }
    }
    result
}

async fn accept(
    state: &BrokerState,
    directory: &Directory,
    peer: &NodeAddr,
    raw: pb::Envelope,
) -> Result<pb::SignedReceipt, BrokerError> {
    state.quotas.take_submission(peer)?;
    state.quotas.check_disk()?;
    let size = raw.encoded_len() as u64;
    let envelope = UnverifiedEnvelope::parse(raw, state.max_envelope_bytes)?;
    let header = envelope.header();
    if &header.from != peer {
        return Err(BrokerError::SenderMismatch {
            peer: peer.clone(),
            from: header.from.clone(),
        });
    }
    let now = time::now_ms();
    let envelope = admit::verify(directory, envelope, now)?;
    let header = envelope.header();
    let digest = envelope.digest();
    let home = header.to.broker();
    let receipt = admit::broker_receipt(
        state,
        pb::ReceiptKind::Accepted,
        header,
        digest,
        pb::RejectReason::Unspecified,
        now,
    );
    let record = record::record(Event::Accepted, About::Envelope(header, digest), None, now);
    let destination = if home == state.name {
        Destination::Local(header.to.clone())
    } else {
        Destination::Peer(home)
    };
    // Its place in the queue is reserved until the write is done, so that concurrent
    // submissions cannot pass the cap.
    let mut tally = Tally::new(&state.quotas);
    if let Destination::Local(to) = &destination {
        tally.admit(state.store.as_ref(), to, None, size).await?;
    }
    let header = header.clone();
    // Durable when it returns, also for a duplicate whose original came in a moment ago.
    let writing = std::time::Instant::now();
    let outcome = state
        .store
        .accept(Admission {
            envelope,
            receipt,
            record,
            destination: destination.clone(),
        })
        .await?;
    state.metrics.committed(writing.elapsed());
    drop(tally);
    match outcome {
        Accepted::New(receipt) => {
            info!(id = %header.message_id, from = %header.from, to = %header.to, "accepted envelope");
            match &destination {
                Destination::Local(to) => state.wake(to),
                Destination::Peer(broker) => state.wake_relay(broker),
            }
            Ok(receipt)
        }
        Accepted::Duplicate(original) => {
            info!(id = %header.message_id, from = %header.from, "duplicate envelope, original receipt returned");
            Ok(original)
        }
        Accepted::Conflict => Err(BrokerError::MessageIdReused(header.message_id.to_string())),
    }
}
