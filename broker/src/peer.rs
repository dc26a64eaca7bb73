//! The `BrokerPeer/Relay` handler: a peer broker hands over envelopes from its own nodes to
//! nodes homed here, and receipts signed by its own nodes about messages sent from here.
//!
//! Every item is checked before anything is written. A bad item is refused for good with a
//! precise reason in its outcome (the peer drops it from its outbox and tells the sender);
//! the other items of the batch are still stored. Only what may pass unchanged later fails the
//! whole call: a storage failure, or an item this broker's directory refuses while the peer's
//! is newer (this broker then refreshes its directory first). Everything that passed is
//! stored in one durable write of the store before the answer leaves; the recipients are woken
//! after that.

use prost::Message;
use tonic::Request;
use tracing::{info, warn};
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::{UnverifiedEnvelope, VerifiedEnvelope};
use trm_proto::receipt::Attester;
use trm_proto::{clip, pb, receipt, time};

use crate::error::BrokerError;
use crate::quota::Tally;
use crate::record::{self, About, Event};
use crate::state::BrokerState;
use crate::store::{Accepted, Admission, Destination, Intake, RoutedReceipt, StoreError, Stored};
use crate::{admit, auth};

/// An item that passed every check and may be stored.
enum Checked {
    /// An envelope for a node homed here.
    Envelope(VerifiedEnvelope),
    /// A receipt for a sender homed here.
    Receipt(RoutedReceipt),
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
    // Any call shows the peer may be up: bring our next attempt to it forward (not the backoff).
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
    // The places reserved are kept until the batch is stored, so that no submission passes a
    // cap this batch fills.
    let mut tally = Tally::new(&state.quotas);
    let checked = within_quotas(state, &mut tally, &peer, checked).await?;
    // Everything that passed is stored in one durable write, in batch order; a duplicate's
    // original is durable too when it returns.
    let mut intake = Vec::new();
    let mut refusals = Vec::with_capacity(checked.len());
    for item in checked {
        match item {
            Ok(item) => {
                intake.push(prepare(state, &peer, item, now));
                refusals.push(None);
            }
            Err(e) => refusals.push(Some(e)),
        }
    }
    let summaries: Vec<Summary> = intake.iter().map(Summary::of).collect();
    let mut stored = state.store.intake(intake).await?.into_iter();
    drop(tally);
    let mut summaries = summaries.into_iter();
    let mut outcomes = Vec::with_capacity(refusals.len());
    let mut recipients = Vec::new();
    for refusal in refusals {
        let result = match refusal {
            Some(e) => Err(e),
            None => match (summaries.next(), stored.next()) {
                (Some(summary), Some(stored)) => outcome(&peer, summary, stored),
                _ => Err(BrokerError::Store(StoreError::Corrupt {
                    tree: "intake",
                    message: "the store did not answer every item".into(),
                })),
            },
        };
        let outcome = match result {
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
    for recipient in &recipients {
        state.wake(recipient);
    }
    Ok(pb::RelayResult { outcomes })
}

/// Refuses, item by item, the envelopes over the free-disk watermark or over a queue or relay
/// cap (counting what the batch itself adds); receipts always pass, since they free room.
async fn within_quotas(
    state: &BrokerState,
    tally: &mut Tally<'_>,
    peer: &BrokerName,
    checked: Vec<Result<Checked, BrokerError>>,
) -> Result<Vec<Result<Checked, BrokerError>>, BrokerError> {
    let mut within = Vec::with_capacity(checked.len());
    for item in checked {
        let item = match item {
            Ok(Checked::Envelope(envelope)) => {
                let size = envelope.raw().encoded_len() as u64;
                let admitted = match state.quotas.check_disk() {
                    Ok(()) => {
                        let to = &envelope.header().to;
                        tally
                            .admit(state.store.as_ref(), to, Some(peer), size)
                            .await
                    }
                    Err(e) => Err(e),
                };
                match admitted {
                    Ok(()) => Ok(Checked::Envelope(envelope)),
                    Err(e) if e.is_transient() => return Err(e),
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        within.push(item);
    }
    Ok(within)
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
        message_id: clip::quoted(&claimed.message_id),
        problem,
    };
    let kind = pb::ReceiptKind::try_from(claimed.kind).unwrap_or(pb::ReceiptKind::Unspecified);
    let sender: NodeAddr = claimed.from.parse().map_err(|_| {
        bad(format!(
            "sender {} is not a node address",
            clip::quoted(&claimed.from)
        ))
    })?;
    let addressee: NodeAddr = claimed.to.parse().map_err(|_| {
        bad(format!(
            "addressee {} is not a node address",
            clip::quoted(&claimed.to)
        ))
    })?;
    // A peer relays only what its own nodes attest: DELIVERED or REJECTED by the addressee.
    let attester = match receipt::attester(kind, &claimed.signer, &sender, &addressee) {
        Ok(Attester::Node(signer)) if &signer.broker() != peer => {
            return Err(bad(format!(
                "signer {signer} is not homed on the relaying broker {peer}"
            )));
        }
        Ok(Attester::Node(signer)) => Attester::Node(signer),
        // The peer's own EXPIRED: it held the envelope for its addressee when it expired.
        Ok(Attester::Broker(broker)) if kind == pb::ReceiptKind::Expired && &broker == peer => {
            Attester::Broker(broker)
        }
        Ok(Attester::Broker(broker)) => {
            return Err(bad(format!(
                "{kind:?} is attested by broker {broker}, not by a node homed on {peer}"
            )));
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    let keys =
        receipt::attester_keys(directory, &attester, now).ok_or_else(|| match &attester {
            Attester::Node(signer) => BrokerError::UnknownSigner(signer.clone()),
            Attester::Broker(broker) => bad(format!("broker {broker} is not in the directory")),
        })?;
    let verified = receipt::verify(&signed, &keys)?;
    if sender.broker() != state.name {
        return Err(bad(format!(
            "sender {sender} is not homed on this broker {}",
            state.name
        )));
    }
    if directory.node(&sender).is_none() {
        return Err(BrokerError::UnknownSender(sender));
    }
    let record = record::record(
        Event::ReceiptRouted,
        About::Receipt(&verified.receipt),
        Some(peer),
        now,
    );
    Ok(Checked::Receipt(RoutedReceipt {
        sender,
        receipt: signed,
        record,
    }))
}

/// What the log lines and the outcome need of an item after it went into the store.
enum Summary {
    /// An envelope, by its header.
    Envelope(trm_proto::envelope::Header),
    /// A receipt, by its sender and message id.
    Receipt {
        /// The local sender.
        sender: NodeAddr,
        /// The message it attests.
        message_id: String,
    },
}

impl Summary {
    fn of(item: &Intake) -> Summary {
        match item {
            Intake::Envelope(admission) => Summary::Envelope(admission.envelope.header().clone()),
            Intake::Receipt(routed) => Summary::Receipt {
                sender: routed.sender.clone(),
                message_id: routed.record.message_id.clone(),
            },
        }
    }
}

/// The store write of a checked item: a relayed envelope gets this broker's RELAYED receipt.
fn prepare(state: &BrokerState, peer: &BrokerName, item: Checked, now: u64) -> Intake {
    match item {
        Checked::Envelope(envelope) => {
            let header = envelope.header();
            let digest = envelope.digest();
            let receipt = admit::broker_receipt(
                state,
                pb::ReceiptKind::Relayed,
                header,
                digest,
                pb::RejectReason::Unspecified,
                now,
            );
            let record = record::record(
                Event::ReceivedFromPeer,
                About::Envelope(header, digest),
                Some(peer),
                now,
            );
            let destination = Destination::Local(header.to.clone());
            Intake::Envelope(Box::new(Admission {
                envelope,
                receipt,
                record,
                destination,
            }))
        }
        Checked::Receipt(routed) => Intake::Receipt(Box::new(routed)),
    }
}

/// The outcome of a stored item, and the node to wake.
fn outcome(
    peer: &BrokerName,
    summary: Summary,
    stored: Stored,
) -> Result<(pb::relay_outcome::Outcome, Option<NodeAddr>), BrokerError> {
    match (summary, stored) {
        (Summary::Envelope(header), Stored::Envelope(accepted)) => match accepted {
            Accepted::New(receipt) => {
                info!(id = %header.message_id, from = %header.from, to = %header.to, peer = %peer, "accepted relayed envelope");
                Ok((
                    pb::relay_outcome::Outcome::Relayed(receipt),
                    Some(header.to),
                ))
            }
            Accepted::Duplicate(original) => {
                info!(id = %header.message_id, from = %header.from, peer = %peer, "duplicate relayed envelope, original receipt returned");
                Ok((pb::relay_outcome::Outcome::Relayed(original), None))
            }
            Accepted::Conflict => Err(BrokerError::MessageIdReused(header.message_id.to_string())),
        },
        (Summary::Receipt { sender, message_id }, Stored::Receipt) => {
            info!(id = %message_id, sender = %sender, peer = %peer, "relayed receipt queued for sender");
            Ok((
                pb::relay_outcome::Outcome::Routed(pb::RelayRouted {}),
                Some(sender),
            ))
        }
        _ => Err(BrokerError::Store(StoreError::Corrupt {
            tree: "intake",
            message: "the store answered an item with another's outcome".into(),
        })),
    }
}
