//! Applying a peer's answer to a relayed batch. Every outcome is checked first (a RELAYED
//! receipt must verify with the peer's directory key and describe the envelope sent); if any
//! is wrong, nothing changes and the batch is retried later. Then ONE durable write of the store
//! deletes the answered items from the outbox and queues, for each local sender, the peer's
//! RELAYED receipt, or, for an envelope the peer refused for good, a REJECTED receipt signed by
//! this broker that carries the peer's reason; only then are the senders' delivery streams
//! woken.

use tracing::warn;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::{self, Header};
use trm_proto::receipt::Attester;
use trm_proto::{pb, receipt, time};

use super::RelayError;
use crate::admit;
use crate::record::{self, About, Event};
use crate::state::BrokerState;
use crate::store::{Outgoing, RelayAnswer, StoreError};

/// What one answered item changes.
struct Effect {
    /// A receipt for a local sender, if any.
    receipt: Option<(NodeAddr, pb::SignedReceipt)>,
    /// The relay-log record.
    record: pb::RelayRecord,
}

/// Checks `result` against the items `sent` (RELAYED receipts with the keys `directory` lists)
/// and applies it durably.
pub async fn apply(
    state: &BrokerState,
    peer: &BrokerName,
    directory: &Directory,
    sent: Vec<Outgoing>,
    result: pb::RelayResult,
) -> Result<(), RelayError> {
    if result.outcomes.len() != sent.len() {
        return Err(RelayError::BadAnswer {
            peer: peer.clone(),
            sequence: 0,
            problem: format!(
                "{} outcomes for {} items",
                result.outcomes.len(),
                sent.len()
            ),
        });
    }
    let now = time::now_ms();
    let mut answer = RelayAnswer {
        sequences: Vec::with_capacity(sent.len()),
        receipts: Vec::new(),
        records: Vec::with_capacity(sent.len()),
    };
    for (item, outcome) in sent.into_iter().zip(result.outcomes) {
        answer.sequences.push(item.sequence);
        let effect = effect(state, peer, directory, &item, outcome.outcome, now)?;
        answer.receipts.extend(effect.receipt);
        answer.records.push(effect.record);
    }
    let senders: Vec<NodeAddr> = answer.receipts.iter().map(|(s, _)| s.clone()).collect();
    state.store.relayed(peer.clone(), answer).await?;
    for sender in &senders {
        state.wake(sender);
    }
    Ok(())
}

fn effect(
    state: &BrokerState,
    peer: &BrokerName,
    directory: &Directory,
    item: &Outgoing,
    outcome: Option<pb::relay_outcome::Outcome>,
    now: u64,
) -> Result<Effect, RelayError> {
    use pb::relay_item::Item;
    use pb::relay_outcome::Outcome;
    let bad = |problem: String| RelayError::BadAnswer {
        peer: peer.clone(),
        sequence: item.sequence,
        problem,
    };
    match (&item.item.item, outcome) {
        (Some(Item::Envelope(raw)), Some(Outcome::Relayed(signed))) => {
            let (header, digest) = stored_header(raw)?;
            let claimed = receipt::peek(&signed).map_err(|e| bad(e.to_string()))?;
            let kind =
                pb::ReceiptKind::try_from(claimed.kind).unwrap_or(pb::ReceiptKind::Unspecified);
            // Only the addressee's home broker, the peer, attests RELAYED.
            let attester = receipt::attester(kind, &claimed.signer, &header.from, &header.to)
                .map_err(|e| bad(e.to_string()))?;
            if kind != pb::ReceiptKind::Relayed || attester != Attester::Broker(peer.clone()) {
                return Err(bad(
                    "the RELAYED receipt does not describe the envelope sent".into(),
                ));
            }
            let keys = receipt::attester_keys(directory, &attester, now).ok_or_else(|| {
                bad(format!(
                    "broker {peer} is not in directory version {}",
                    directory.version()
                ))
            })?;
            let verified = receipt::verify(&signed, &keys).map_err(|e| bad(e.to_string()))?;
            let r = &verified.receipt;
            if r.message_id != header.message_id.as_str()
                || r.from != header.from.as_str()
                || r.to != header.to.as_str()
                || r.envelope_digest != digest
            {
                return Err(bad(
                    "the RELAYED receipt does not describe the envelope sent".into(),
                ));
            }
            Ok(Effect {
                record: record::record(
                    Event::Relayed,
                    About::Envelope(&header, &digest),
                    Some(peer),
                    now,
                ),
                receipt: Some((header.from, signed)),
            })
        }
        (Some(Item::Envelope(raw)), Some(Outcome::Refused(refused))) => {
            let (header, digest) = stored_header(raw)?;
            warn!(id = %header.message_id, from = %header.from, to = %header.to, peer = %peer, reason = %refused.reason, "peer refused relayed envelope for good; telling the sender");
            let reason = format!("broker {peer} refused to relay it: {}", refused.reason);
            let rejected = admit::broker_receipt(
                state,
                pb::ReceiptKind::Rejected,
                &header,
                &digest,
                reason,
                now,
            );
            Ok(Effect {
                record: record::record(
                    Event::RelayRefused,
                    About::Envelope(&header, &digest),
                    Some(peer),
                    now,
                ),
                receipt: Some((header.from, rejected)),
            })
        }
        (Some(Item::Receipt(signed)), Some(Outcome::Routed(_))) => Ok(Effect {
            record: receipt_record(Event::ReceiptRelayed, signed, peer, now),
            receipt: None,
        }),
        (Some(Item::Receipt(signed)), Some(Outcome::Refused(refused))) => {
            warn!(peer = %peer, reason = %refused.reason, "peer refused relayed receipt for good; dropped");
            Ok(Effect {
                record: receipt_record(Event::ReceiptRefused, signed, peer, now),
                receipt: None,
            })
        }
        (item, outcome) => Err(bad(format!(
            "outcome {} does not answer a {} item",
            outcome_name(outcome.as_ref()),
            match item {
                Some(Item::Envelope(_)) => "envelope",
                Some(Item::Receipt(_)) => "receipt",
                None => "empty",
            }
        ))),
    }
}

fn outcome_name(outcome: Option<&pb::relay_outcome::Outcome>) -> &'static str {
    match outcome {
        Some(pb::relay_outcome::Outcome::Relayed(_)) => "RELAYED",
        Some(pb::relay_outcome::Outcome::Routed(_)) => "routed",
        Some(pb::relay_outcome::Outcome::Refused(_)) => "refused",
        None => "(none)",
    }
}

/// The header and digest of an envelope this broker verified before storing it.
fn stored_header(raw: &pb::Envelope) -> Result<(Header, [u8; 32]), RelayError> {
    let header = Header::decode(&raw.header).map_err(|e| StoreError::Corrupt {
        tree: "outbox",
        message: e.to_string(),
    })?;
    Ok((header, envelope::digest(&raw.header)))
}

/// The relay-log record of a receipt handed to (or refused by) the sender's broker.
fn receipt_record(
    event: Event,
    signed: &pb::SignedReceipt,
    peer: &BrokerName,
    now: u64,
) -> pb::RelayRecord {
    let r = receipt::peek(signed).unwrap_or_default();
    record::record(event, About::Receipt(&r), Some(peer), now)
}
