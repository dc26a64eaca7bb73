//! The `BrokerPeer/Relay` handler: a peer broker hands over envelopes from its own nodes to
//! nodes homed here, and receipts signed by its own nodes about messages sent from here.
//!
//! Every item is checked before anything is written. A bad item is refused for good with a
//! precise reason in its outcome (the peer drops it from its outbox and tells the sender);
//! the other items of the batch are still stored. Only what may pass unchanged later fails the
//! whole call: a storage failure, or an item this broker's directory refuses while the peer's
//! is newer (this broker then refreshes its directory first). Everything stored is flushed
//! with one group commit before the answer leaves; the recipients are woken after that.

use tonic::Request;
use tracing::{info, warn};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::{UnverifiedEnvelope, VerifiedEnvelope};
use trm_proto::{pb, receipt, time};

use crate::error::BrokerError;
use crate::state::BrokerState;
use crate::store::{Accepted, Destination};
use crate::{admit, auth};

/// An item that passed every check and may be stored.
enum Checked {
    /// An envelope for a node homed here.
    Envelope(VerifiedEnvelope),
    /// A receipt for a sender homed here.
    Receipt {
        /// The sender to queue it for.
        sender: NodeAddr,
        /// The receipt as relayed.
        signed: pb::SignedReceipt,
        /// What the relay log records.
        record: pb::RelayRecord,
    },
}

/// Handles one relayed batch.
pub async fn relay(
    state: &BrokerState,
    request: Request<pb::RelayBatch>,
) -> Result<pb::RelayResult, BrokerError> {
    let result = handle(state, request).await;
    if let Err(e) = &result {
        warn!(cause = %e, "refused relay batch");
    }
    result
}

async fn handle(
    state: &BrokerState,
    request: Request<pb::RelayBatch>,
) -> Result<pb::RelayResult, BrokerError> {
    let directory = state.directory.current();
    let peer = auth::broker(&request, &directory)?;
    if peer == state.name {
        return Err(BrokerError::NotAPeer(peer));
    }
    // Any call shows the peer is up: retry what waits for it now, from the initial ceiling.
    state.link(&peer).contact();
    let batch = request.into_inner();
    let now = time::now_ms();
    let checked: Vec<Result<Checked, BrokerError>> = batch
        .items
        .into_iter()
        .map(|item| check(state, &directory, &peer, item, now))
        .collect();
    let behind = batch.directory_version > directory.version();
    if behind
        && checked
            .iter()
            .any(|c| matches!(c, Err(e) if e.depends_on_directory()))
    {
        state.refresh_now.notify_one();
        return Err(BrokerError::DirectoryBehind {
            peer,
            ours: directory.version(),
            theirs: batch.directory_version,
        });
    }
    let mut outcomes = Vec::with_capacity(checked.len());
    let mut recipients = Vec::new();
    for item in checked {
        let outcome = match item.and_then(|item| store(state, &peer, item, now)) {
            Ok((outcome, woken)) => {
                recipients.extend(woken);
                outcome
            }
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => {
                warn!(peer = %peer, cause = %e, "refused relayed item");
                pb::relay_outcome::Outcome::Refused(pb::RelayRefused {
                    code: e.code() as i32,
                    reason: e.to_string(),
                })
            }
        };
        outcomes.push(pb::RelayOutcome {
            outcome: Some(outcome),
        });
    }
    // Also when everything was a duplicate: the originals may not be flushed yet.
    state.store.durable().await?;
    for recipient in &recipients {
        state.wake(recipient);
    }
    Ok(pb::RelayResult { outcomes })
}

/// Checks one item against the directory in use, without writing anything.
fn check(
    state: &BrokerState,
    directory: &Directory,
    peer: &BrokerName,
    item: pb::RelayItem,
    now: u64,
) -> Result<Checked, BrokerError> {
    match item.item {
        Some(pb::relay_item::Item::Envelope(raw)) => {
            check_envelope(state, directory, peer, raw, now).map(Checked::Envelope)
        }
        Some(pb::relay_item::Item::Receipt(signed)) => {
            check_receipt(state, directory, peer, signed, now)
        }
        None => Err(BrokerError::EmptyRelayItem),
    }
}

fn check_envelope(
    state: &BrokerState,
    directory: &Directory,
    peer: &BrokerName,
    raw: pb::Envelope,
    now: u64,
) -> Result<VerifiedEnvelope, BrokerError> {
    let envelope = UnverifiedEnvelope::parse(raw, state.max_envelope_bytes)?;
    let header = envelope.header();
    // A broker relays only what its own nodes sent (it authenticated them); anything else
    // would let one broker speak for another's nodes.
    let home = header.from.broker();
    if &home != peer {
        return Err(BrokerError::NotTheSendersBroker {
            peer: peer.clone(),
            from: header.from.clone(),
            home,
        });
    }
    if header.to.broker() != state.name {
        return Err(BrokerError::Misrouted {
            home: header.to.broker(),
            to: header.to.clone(),
            here: state.name.clone(),
        });
    }
    admit::verify(directory, envelope, now)
}

fn check_receipt(
    state: &BrokerState,
    directory: &Directory,
    peer: &BrokerName,
    signed: pb::SignedReceipt,
    now: u64,
) -> Result<Checked, BrokerError> {
    let claimed = receipt::peek(&signed)?;
    let bad = |problem: String| BrokerError::BadRelayedReceipt {
        message_id: claimed.message_id.clone(),
        problem,
    };
    let kind = pb::ReceiptKind::try_from(claimed.kind).unwrap_or(pb::ReceiptKind::Unspecified);
    if kind != pb::ReceiptKind::Delivered && kind != pb::ReceiptKind::Rejected {
        return Err(bad(format!("kind {kind:?} is not DELIVERED or REJECTED")));
    }
    let signer: NodeAddr = claimed
        .signer
        .parse()
        .map_err(|_| bad(format!("signer {:?} is not a node address", claimed.signer)))?;
    if signer.as_str() != claimed.to {
        return Err(bad(format!(
            "signed by {signer}, not by the addressee {:?}",
            claimed.to
        )));
    }
    if &signer.broker() != peer {
        return Err(bad(format!(
            "signer {signer} is not homed on the relaying broker {peer}"
        )));
    }
    let keys = directory
        .node(&signer)
        .ok_or_else(|| BrokerError::UnknownSigner(signer.clone()))?
        .signing_keys_at(now);
    let verified = receipt::verify(&signed, &keys)?;
    let sender: NodeAddr = verified
        .receipt
        .from
        .parse()
        .map_err(|_| bad(format!("sender {:?} is not a node address", claimed.from)))?;
    if sender.broker() != state.name {
        return Err(bad(format!(
            "sender {sender} is not homed on this broker {}",
            state.name
        )));
    }
    if directory.node(&sender).is_none() {
        return Err(BrokerError::UnknownSender(sender));
    }
    let record = pb::RelayRecord {
        at_ms: now,
        event: "receipt_routed".into(),
        message_id: claimed.message_id.clone(),
        from: claimed.from.clone(),
        to: claimed.to.clone(),
        kind: pb::MessageKind::Unspecified.into(),
        envelope_digest: claimed.envelope_digest.clone(),
        peer: peer.to_string(),
    };
    Ok(Checked::Receipt {
        sender,
        signed,
        record,
    })
}

/// Stores a checked item (not yet flushed); returns its outcome and the node to wake.
fn store(
    state: &BrokerState,
    peer: &BrokerName,
    item: Checked,
    now: u64,
) -> Result<(pb::relay_outcome::Outcome, Option<NodeAddr>), BrokerError> {
    match item {
        Checked::Envelope(envelope) => {
            let header = envelope.header();
            let digest = envelope.digest();
            let receipt = admit::broker_receipt(
                state,
                pb::ReceiptKind::Relayed,
                header,
                digest,
                String::new(),
                now,
            );
            let record = admit::record("received_from_peer", header, digest, Some(peer), now);
            let stored =
                state
                    .store
                    .accept(&envelope, &receipt, &record, Destination::Local(&header.to))?;
            match stored {
                Accepted::New(receipt) => {
                    info!(id = %header.message_id, from = %header.from, to = %header.to, peer = %peer, "accepted relayed envelope");
                    Ok((
                        pb::relay_outcome::Outcome::Relayed(receipt),
                        Some(header.to.clone()),
                    ))
                }
                Accepted::Duplicate(original) => {
                    info!(id = %header.message_id, from = %header.from, peer = %peer, "duplicate relayed envelope, original receipt returned");
                    Ok((pb::relay_outcome::Outcome::Relayed(original), None))
                }
                Accepted::Conflict => {
                    Err(BrokerError::MessageIdReused(header.message_id.to_string()))
                }
            }
        }
        Checked::Receipt {
            sender,
            signed,
            record,
        } => {
            state.store.route_receipt(&sender, &signed, &record)?;
            info!(id = %record.message_id, sender = %sender, peer = %peer, "relayed receipt queued for sender");
            Ok((
                pb::relay_outcome::Outcome::Routed(pb::RelayRouted {}),
                Some(sender),
            ))
        }
    }
}
