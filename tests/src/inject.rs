//! A misbehaving broker: envelopes put straight into a broker's store for a local addressee,
//! past every check the broker makes, so that the receiving node's own checks are what stands;
//! or into its outbox for a peer broker, as a state an older broker could have left.

use trm_broker::BrokerState;
use trm_broker::record::{self, About, Event};
use trm_broker::store::{Admission, Destination, Intake, RoutedReceipt};
use trm_dev::local::LocalFederation;
use trm_proto::envelope::UnverifiedEnvelope;
use trm_proto::pb;

/// Queues `envelope` (validly signed by its sender) for its addressee on `state`'s broker with
/// an ACCEPTED receipt, checking neither expiry nor agreement, and wakes the addressee.
pub async fn queue_unchecked(
    fed: &LocalFederation,
    state: &BrokerState,
    envelope: pb::Envelope,
) -> anyhow::Result<()> {
    let to = UnverifiedEnvelope::parse(envelope.clone(), state.max_envelope_bytes)?
        .header()
        .to
        .clone();
    store_unchecked(fed, state, envelope, Destination::Local(to)).await
}

/// Stores `envelope` (validly signed by its sender) on `state`'s broker with an ACCEPTED
/// receipt for `destination` (a local queue or a peer's outbox), checking neither expiry nor
/// agreement, and wakes whoever takes it from there.
pub async fn store_unchecked(
    fed: &LocalFederation,
    state: &BrokerState,
    envelope: pb::Envelope,
    destination: Destination,
) -> anyhow::Result<()> {
    let now = trm_proto::time::now_ms();
    let directory = crate::craft::directory(&fed.federation)?;
    let parsed = UnverifiedEnvelope::parse(envelope, state.max_envelope_bytes)?;
    let sender = directory
        .node(&parsed.header().from)
        .ok_or_else(|| anyhow::anyhow!("sender not listed"))?;
    let envelope = parsed.verify(&sender.signing_keys_at(now))?;
    let header = envelope.header().clone();
    let digest = *envelope.digest();
    let receipt = trm_broker::admit::broker_receipt(
        state,
        pb::ReceiptKind::Accepted,
        &header,
        &digest,
        pb::RejectReason::Unspecified,
        now,
    );
    let record = record::record(
        Event::Accepted,
        About::Envelope(&header, &digest),
        None,
        now,
    );
    state
        .store
        .accept(Admission {
            envelope,
            receipt,
            record,
            destination: destination.clone(),
        })
        .await?;
    match destination {
        Destination::Local(to) => state.wake(&to),
        Destination::Peer(peer) => state.wake_relay(&peer),
    }
    Ok(())
}

/// Queues `receipt` (signed by anyone) for the local node `sender` on `state`'s broker, as if a
/// peer broker had relayed it, and wakes the node: what a hostile broker can hand a sender.
pub async fn queue_receipt(
    state: &BrokerState,
    sender: &str,
    receipt: pb::SignedReceipt,
) -> anyhow::Result<()> {
    let sender: trm_proto::addr::NodeAddr = sender.parse()?;
    let claimed = trm_proto::receipt::peek(&receipt)?;
    let record = record::record(
        Event::ReceiptRouted,
        About::Receipt(&claimed),
        None,
        trm_proto::time::now_ms(),
    );
    state
        .store
        .intake(vec![Intake::Receipt(Box::new(RoutedReceipt {
            sender: sender.clone(),
            receipt,
            record,
        }))])
        .await?;
    state.wake(&sender);
    Ok(())
}
