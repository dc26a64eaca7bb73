//! Applying a peer's answer to a relayed batch. Every outcome is checked first (a RELAYED
//! receipt must verify with the peer's directory key and describe the envelope sent). Then ONE
//! durable write of the store deletes the items answered correctly from the outbox and queues,
//! for each local sender, the peer's RELAYED receipt, or, for an envelope the peer refused for
//! good, a REJECTED receipt signed by this broker with the code `REJECT_REASON_RELAY_REFUSED`
//! (never the peer's words, which stay out of receipts and logs here); only then are the
//! senders' delivery streams woken.
//!
//! An item answered wrongly stays in the outbox while the others leave; what becomes of it
//! (tried again, set aside, refused) is the triage's decision ([`super::aside`]). If no item
//! was answered correctly, nothing changes and the call counts as failed.

use tracing::warn;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::{self, Header};
use trm_proto::receipt::Attester;
use trm_proto::{pb, receipt, time};

use super::RelayError;
use super::aside::{self, triage::Judged};
use crate::admit;
use crate::record::{self, About, Event};
use crate::state::BrokerState;
use crate::store::{Outgoing, RelayAnswer};

/// What one answered item changes.
struct Effect {
    /// A receipt for a local sender, if any.
    receipt: Option<(NodeAddr, pb::SignedReceipt)>,
    /// The relay-log record.
    record: pb::RelayRecord,
}

/// Why one item's answer cannot be applied.
enum Fault {
    /// The peer answered it wrongly.
    Wrong(String),
    /// Its stored record cannot be read.
    Unreadable(String),
}

/// Checks `result` against the items `sent` (RELAYED receipts with the keys `directory` lists)
/// and applies what was answered correctly, durably.
pub async fn apply(
    state: &BrokerState,
    peer: &BrokerName,
    directory: &Directory,
    sent: Vec<Outgoing>,
    result: pb::RelayResult,
) -> Result<(), RelayError> {
    let link = state.link(peer);
    if result.outcomes.len() != sent.len() {
        let e = RelayError::BadAnswer {
            peer: peer.clone(),
            sequence: 0,
            problem: format!(
                "{} outcomes for {} items",
                result.outcomes.len(),
                sent.len()
            ),
        };
        link.triage()
            .call_failed(e.to_string(), aside::triage::Failure::Suspect);
        return Err(e);
    }
    let now = time::now_ms();
    let mut answer = RelayAnswer {
        sequences: Vec::with_capacity(sent.len()),
        receipts: Vec::new(),
        records: Vec::with_capacity(sent.len()),
    };
    let mut judged = Vec::with_capacity(sent.len());
    let mut wrong = None;
    for (item, outcome) in sent.into_iter().zip(result.outcomes) {
        match effect(state, peer, directory, &item, outcome.outcome, now) {
            Ok(effect) => {
                answer.sequences.push(item.sequence);
                answer.receipts.extend(effect.receipt);
                answer.records.push(effect.record);
                judged.push((item, Judged::Good));
            }
            Err(Fault::Wrong(problem)) => {
                let e = RelayError::BadAnswer {
                    peer: peer.clone(),
                    sequence: item.sequence,
                    problem,
                };
                warn!(peer = %peer, id = %aside::about(&item), cause = %e, "peer answered a relayed item wrongly; it stays in the outbox");
                judged.push((item, Judged::Wrong(e.to_string())));
                wrong.get_or_insert(e);
            }
            Err(Fault::Unreadable(reason)) => judged.push((item, Judged::Unreadable(reason))),
        }
    }
    let applied = !answer.sequences.is_empty();
    if applied {
        let senders: Vec<NodeAddr> = answer.receipts.iter().map(|(s, _)| s.clone()).collect();
        if let Err(e) = state.store.relayed(peer.clone(), answer).await {
            link.triage().abandon();
            return Err(e.into());
        }
        for sender in &senders {
            state.wake(sender);
        }
    }
    if wrong.is_some() {
        // A receipt signed with a key our directory does not know yet is the likeliest wrong
        // answer from an honest peer: read the directory again before the next try.
        state.refresh_now.notify_one();
    }
    let verdicts = link.triage().answered(judged, now);
    aside::carry_out(state, peer, verdicts).await?;
    match wrong {
        Some(e) if !applied => Err(e),
        _ => Ok(()),
    }
}

/// Refuses `items` for good on this broker's side, each with its reason, as if the peer had
/// refused them: a REJECTED receipt for an envelope's sender, the relay log for a receipt.
pub async fn refuse(
    state: &BrokerState,
    peer: &BrokerName,
    items: Vec<(Outgoing, String)>,
) -> Result<(), RelayError> {
    let directory = state.directory.current();
    let now = time::now_ms();
    let mut answer = RelayAnswer::default();
    let mut set_aside = Vec::new();
    for (item, reason) in items {
        let refused = pb::relay_outcome::Outcome::Refused(pb::RelayRefused { code: 0, reason });
        match effect(state, peer, &directory, &item, Some(refused), now) {
            Ok(effect) => {
                answer.sequences.push(item.sequence);
                answer.receipts.extend(effect.receipt);
                answer.records.push(effect.record);
            }
            Err(Fault::Wrong(reason) | Fault::Unreadable(reason)) => {
                set_aside.push(aside::triage::Verdict::SetAside {
                    item,
                    attempts: 1,
                    reason,
                });
            }
        }
    }
    let senders: Vec<NodeAddr> = answer.receipts.iter().map(|(s, _)| s.clone()).collect();
    state.store.relayed(peer.clone(), answer).await?;
    for sender in &senders {
        state.wake(sender);
    }
    if !set_aside.is_empty() {
        Box::pin(aside::carry_out(state, peer, set_aside)).await?;
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
) -> Result<Effect, Fault> {
    use pb::relay_item::Item;
    use pb::relay_outcome::Outcome;
    let bad = Fault::Wrong;
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
            // The peer's words are not logged: a status code says enough to look on its side.
            warn!(id = %header.message_id, from = %header.from, to = %header.to, peer = %peer, code = refused.code, "peer refused relayed envelope for good; telling the sender");
            let rejected = admit::broker_receipt(
                state,
                pb::ReceiptKind::Rejected,
                &header,
                &digest,
                pb::RejectReason::RelayRefused,
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
            warn!(peer = %peer, code = refused.code, "peer refused relayed receipt for good; dropped");
            Ok(Effect {
                record: receipt_record(Event::ReceiptRefused, signed, peer, now),
                receipt: None,
            })
        }
        (None, _) => Err(Fault::Unreadable(
            "the stored item holds neither an envelope nor a receipt".into(),
        )),
        (item, outcome) => Err(bad(format!(
            "outcome {} does not answer a{} item",
            outcome_name(outcome.as_ref()),
            match item {
                Some(Item::Envelope(_)) => "n envelope",
                _ => " receipt",
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
fn stored_header(raw: &pb::Envelope) -> Result<(Header, [u8; 32]), Fault> {
    let header = Header::decode(&raw.header).map_err(|e| {
        Fault::Unreadable(format!("its stored envelope header cannot be read: {e}"))
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
