//! A misbehaving broker: envelopes put straight into a broker's store for a local addressee,
//! past every check the broker makes, so that the receiving node's own checks are what stands;
//! or into its outbox for a peer broker, as a state an older broker could have left.

use trm_broker::BrokerState;
use trm_broker::record::{self, About, Event};
use trm_broker::store::{Admission, Destination};
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
        String::new(),
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
