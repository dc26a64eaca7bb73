//! Relaying to a peer broker in one process at a time. When several broker processes of one
//! broker name share a store ([`BrokerStore::shared`]), each would otherwise run a relay task
//! for every peer: the one that relays to a peer holds that peer's lease in the store
//! (`relay.<peer>`), renews it every [`RENEW_EVERY`], and stops relaying as soon as it cannot
//! be sure it still holds it. The others try to take it every [`TRY_EVERY`]; a lease not
//! renewed lapses [`LEASE_TTL`] after its last renewal, so a holder that dies (kill -9) is
//! replaced within [`TAKEOVER`]. A holder that shuts down gives its leases up, and another
//! process takes them within [`TRY_EVERY`]; a holder restarted on the same machine and data
//! folder takes its own leases back at once ([`holder`]).
//!
//! A relay call still in flight when the lease is lost is abandoned mid-way (the task is
//! dropped). That is safe for the same reason as at shutdown: nothing is acknowledged to
//! anyone before the store's `relayed` write returned, the peer recognises a batch relayed
//! twice (its duplicate table answers envelopes with their first receipt), and `relayed` is
//! idempotent per outbox item (an item answered by two processes is removed once, and its
//! sender's receipt queued once).
//!
//! With a store only one process opens, every lease is held: the relay task simply runs.
//!
//! [`BrokerStore::shared`]: crate::store::BrokerStore::shared

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};
use trm_proto::addr::BrokerName;

use crate::relay;
use crate::state::{BrokerState, stopped};

/// How long a lease lasts after its last renewal (the lease bucket's `max_age`).
pub const LEASE_TTL: Duration = Duration::from_secs(10);

/// How often the holder renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(3);

/// How often a process that does not hold a lease tries to take it.
pub const TRY_EVERY: Duration = Duration::from_secs(1);

/// How long before a lease could lapse on the server its holder stops relaying, when its
/// renewals fail: slack for a renewal stored late.
const MARGIN: Duration = Duration::from_secs(2);

/// The longest time from a holder's death to another process relaying in its place: the lease
/// lapses [`LEASE_TTL`] after the last renewal (made before the death) and is taken at the
/// next try, [`TRY_EVERY`] later, plus a second for the server's expiry sweep.
pub const TAKEOVER: Duration = Duration::from_secs(12);

/// The lease key for relaying to `peer`.
pub fn relay_key(peer: &BrokerName) -> String {
    format!("relay.{peer}")
}

/// Who holds a lease: this broker process, named by its machine and its data folder, which
/// no two live processes share. The same process restarted (kill -9, then started again) has
/// the same name, and takes its leases back at once instead of waiting for them to lapse.
pub fn holder(state: &BrokerState) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let data_dir = state
        .federation
        .kept_directory
        .parent()
        .map(|dir| dir.display().to_string())
        .unwrap_or_default();
    format!("{} on {} in {data_dir}", state.name, host.trim())
}

/// Runs the relay task for `peer` while this process holds its lease, until shutdown.
pub async fn relay_while_held(state: Arc<BrokerState>, peer: BrokerName) {
    if !state.store.shared() {
        relay::run(state, peer).await;
        return;
    }
    let key = relay_key(&peer);
    let holder = holder(&state);
    let mut shutdown = state.shutdown_signal();
    loop {
        // Take the lease.
        let (mut revision, taken) = loop {
            let asked = Instant::now();
            match state.store.lease(&key, &holder, 0).await {
                Ok(Some(revision)) => break (revision, asked),
                Ok(None) => debug!(peer = %peer, "relay lease for {peer} held by another process"),
                Err(e) => {
                    debug!(peer = %peer, cause = %e, "cannot take the relay lease for {peer}")
                }
            }
            tokio::select! {
                () = tokio::time::sleep_until(asked + TRY_EVERY) => {}
                () = stopped(&mut shutdown) => return,
            }
        };
        info!(peer = %peer, holder = %holder, "relay lease for {peer} taken: relaying to it from this process");
        state.metrics.lease_held(&peer, true);
        // Sure to hold it until then, counted from when the last renewal was asked for.
        let mut held_until = taken + LEASE_TTL - MARGIN;
        let mut renew_at = taken + RENEW_EVERY;
        let relaying = relay::run(state.clone(), peer.clone());
        tokio::pin!(relaying);
        let lost = loop {
            tokio::select! {
                () = &mut relaying => {
                    state.metrics.lease_held(&peer, false);
                    // Shutdown: give the lease up so another process takes over at once.
                    if let Err(e) = state.store.release(&key, revision).await {
                        debug!(peer = %peer, cause = %e, "relay lease not given up; it lapses");
                    }
                    return;
                }
                () = tokio::time::sleep_until(renew_at) => {
                    let asked = Instant::now();
                    match tokio::time::timeout_at(held_until, state.store.lease(&key, &holder, revision)).await {
                        Ok(Ok(Some(renewed))) => {
                            revision = renewed;
                            held_until = asked + LEASE_TTL - MARGIN;
                            renew_at = asked + RENEW_EVERY;
                        }
                        Ok(Ok(None)) => break "another process took it",
                        Ok(Err(e)) => {
                            debug!(peer = %peer, cause = %e, "relay lease not renewed; trying again");
                            renew_at = Instant::now() + TRY_EVERY;
                        }
                        Err(_) => break "it could not be renewed in time",
                    }
                }
                () = tokio::time::sleep_until(held_until) => break "it could not be renewed in time",
            }
        };
        // Dropping the relay task abandons an attempt in flight (see the module's docs).
        warn!(peer = %peer, "relay lease for {peer} lost ({lost}): relaying to it stops in this process");
        state.metrics.lease_held(&peer, false);
    }
}
