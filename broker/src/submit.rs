//! Submit: authenticate the sender, verify the envelope, store it durably, answer with a
//! signed ACCEPTED receipt (the same receipt again for a duplicate).

use tonic::Request;
use tracing::{info, warn};
use trm_proto::envelope::UnverifiedEnvelope;
use trm_proto::{pb, receipt, time};

use crate::auth;
use crate::error::BrokerError;
use crate::state::BrokerState;
use crate::store::Accepted;

/// Handles one submitted envelope.
pub async fn submit(
    state: &BrokerState,
    request: Request<pb::Envelope>,
) -> Result<pb::SignedReceipt, BrokerError> {
    let peer = auth::node(&request, &state.directory)?;
    let result = accept(state, &peer, request.into_inner()).await;
    if let Err(e) = &result {
        warn!(peer = %peer, cause = %e, "refused envelope");
    }
    result
}

async fn accept(
    state: &BrokerState,
    peer: &trm_proto::addr::NodeAddr,
    raw: pb::Envelope,
) -> Result<pb::SignedReceipt, BrokerError> {
    let envelope = UnverifiedEnvelope::parse(raw, state.max_envelope_bytes)?;
    let header = envelope.header();
    if &header.from != peer {
        return Err(BrokerError::SenderMismatch {
            peer: peer.clone(),
            from: header.from.clone(),
        });
    }
    let to = header.to.clone();
    if state.directory.node(&to).is_none() {
        return Err(BrokerError::UnknownRecipient(to));
    }
    if to.broker() != state.name {
        return Err(BrokerError::Unroutable {
            broker: to.broker(),
            to,
        });
    }
    let sender = state
        .directory
        .node(peer)
        .ok_or(BrokerError::UnknownCertificate {
            version: state.directory.version(),
        })?;
    let envelope = envelope.verify(&sender.signing_keys_at(time::now_ms()))?;
    let header = envelope.header();
    let now = time::now_ms();
    if header.expires_at_ms <= now {
        return Err(BrokerError::Expired {
            message_id: header.message_id.to_string(),
            expired_at: time::format_ms(header.expires_at_ms),
        });
    }
    let receipt = receipt::sign(
        &pb::Receipt {
            kind: pb::ReceiptKind::Accepted.into(),
            message_id: header.message_id.to_string(),
            from: header.from.to_string(),
            to: header.to.to_string(),
            envelope_digest: envelope.digest().to_vec(),
            signer: state.name.to_string(),
            at_ms: now,
            ..Default::default()
        },
        &state.signing_key,
    );
    let record = pb::RelayRecord {
        at_ms: now,
        event: "accepted".into(),
        message_id: header.message_id.to_string(),
        from: header.from.to_string(),
        to: header.to.to_string(),
        kind: header.kind.into(),
        envelope_digest: envelope.digest().to_vec(),
    };
    let outcome = state.store.accept(&envelope, &receipt, &record)?;
    // Also for a duplicate: the original may have come in a moment ago and not be flushed yet.
    state.store.durable().await?;
    match outcome {
        Accepted::New(receipt) => {
            info!(id = %header.message_id, from = %header.from, to = %header.to, "accepted envelope");
            state.wake(&header.to);
            Ok(receipt)
        }
        Accepted::Duplicate(original) => {
            info!(id = %header.message_id, from = %header.from, "duplicate envelope, original receipt returned");
            Ok(original)
        }
        Accepted::Conflict => Err(BrokerError::MessageIdReused(header.message_id.to_string())),
    }
}
