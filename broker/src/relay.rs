//! The relay task for one peer broker: it sends the oldest items of that peer's outbox as one
//! batch (one batch in flight per destination), applies the answer ([`answer`]), and drains the
//! outbox batch after batch, oldest first.
//!
//! When the peer cannot be reached, the task retries with exponential backoff, full jitter and
//! a cap. The ceiling goes back to its initial value as soon as the peer contacts us (any
//! incoming Relay call from it wakes this task), not only when one of our calls succeeds: a
//! broker that waits out a long backoff after its peer is back keeps messages from it for
//! no reason (Matrix servers that never reset were cut off for days). For the same reason the
//! first batch goes out even if it is empty, so that peers that backed off from this broker
//! while it was down retry at once.

pub mod answer;
pub mod aside;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, info, warn};
use trm_proto::addr::BrokerName;
use trm_proto::directory::Directory;
use trm_proto::pb;
use trm_proto::pb::broker_peer_client::BrokerPeerClient;
use trm_storage::Backoff;

use crate::connect;
use crate::link::PeerLink;
use crate::state::{BrokerState, stopped};
use crate::store::StoreError;

/// Items in one relay batch, at most.
pub const BATCH_ITEMS: usize = 64;

/// Encoded bytes of items in one relay batch, at most; a single larger item goes alone (the
/// configuration keeps envelopes below half of this).
pub const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// Why one relay attempt failed; the items stay in the outbox and the task backs off.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The peer is not (or no longer) in the directory in use.
    #[error("broker {peer} is not in federation directory version {version}")]
    NotInDirectory {
        /// The peer.
        peer: BrokerName,
        /// The directory version consulted.
        version: u64,
    },
    /// The peer's endpoint cannot be used.
    #[error("endpoint of broker {peer}: {source}")]
    Endpoint {
        /// The peer.
        peer: BrokerName,
        /// Why no channel could be set up.
        source: connect::ConnectError,
    },
    /// The call failed (unreachable, refused as a whole, timed out).
    #[error("broker {peer} answered {:?}: {}", status.code(), status.message())]
    Call {
        /// The peer.
        peer: BrokerName,
        /// The call's status.
        status: tonic::Status,
    },
    /// The peer's answer does not fit the batch: nothing is deleted.
    #[error("broker {peer} answered item {sequence} wrongly: {problem}")]
    BadAnswer {
        /// The peer.
        peer: BrokerName,
        /// The outbox item concerned (0 for the batch as a whole).
        sequence: u64,
        /// What is wrong.
        problem: String,
    },
    /// Reading or updating the outbox failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The other brokers `directory` lists, in name order.
pub fn peers(directory: &Directory, this: &BrokerName) -> Vec<BrokerName> {
    let mut names: Vec<BrokerName> = directory
        .brokers()
        .map(|b| b.name.clone())
        .filter(|name| name != this)
        .collect();
    names.sort();
    names
}

/// Starts a relay task for every peer in `directory` that has none yet.
pub fn ensure_tasks(state: &Arc<BrokerState>, directory: &Directory) {
    for peer in peers(directory, &state.name) {
        if state.link(&peer).claim_task() {
            info!(peer = %peer, "relay task started");
            state.spawn(run(state.clone(), peer));
        }
    }
}

/// Why a pause ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The backoff delay passed.
    Timer,
    /// Something new is in the outbox.
    Queued,
    /// The peer called us.
    Contacted,
    /// The broker is shutting down.
    Shutdown,
}

/// Waits before the next attempt. With a `delay` (after a failure), only the delay, a contact
/// from the peer or shutdown end the wait: new items must not make us hammer a peer that is
/// down. Without one (the outbox is empty), new items end it too.
pub async fn pause(
    link: &PeerLink,
    delay: Option<Duration>,
    shutdown: &mut watch::Receiver<bool>,
) -> Wake {
    match delay {
        Some(delay) => tokio::select! {
            () = tokio::time::sleep(delay) => Wake::Timer,
            () = link.contacted() => Wake::Contacted,
            () = stopped(shutdown) => Wake::Shutdown,
        },
        None => tokio::select! {
            () = link.queued() => Wake::Queued,
            () = link.contacted() => Wake::Contacted,
            () = stopped(shutdown) => Wake::Shutdown,
        },
    }
}

/// Relays to `peer` until the broker shuts down.
pub async fn run(state: Arc<BrokerState>, peer: BrokerName) {
    let link = state.link(&peer);
    let mut shutdown = state.shutdown_signal();
    let settings = &state.federation;
    let mut backoff = Backoff::new(settings.backoff_initial, settings.backoff_max);
    link.update(|s| s.ceiling = backoff.ceiling());
    let mut announce = true;
    loop {
        if state.is_shutting_down() {
            return;
        }
        // A call to a peer that does not answer may take until its timeout; shutdown does not
        // wait for it. Cancelling is safe: nothing is acknowledged to anyone before the outbox
        // update is durable, and a batch relayed again is recognised by the peer.
        let attempt = tokio::select! {
            attempt = relay_once(&state, &link, &peer, announce) => attempt,
            () = stopped(&mut shutdown) => return,
        };
        announce = false;
        let delay = match attempt {
            Ok(Some(items)) => {
                backoff.reset();
                link.update(|s| {
                    s.failures = 0;
                    s.ceiling = backoff.ceiling();
                    s.batches += 1;
                    s.items += items as u64;
                    s.last_error = None;
                });
                // Drain: the next batch at once.
                continue;
            }
            Ok(None) => None,
            Err(e) => {
                let delay = backoff.next_delay();
                match &e {
                    RelayError::Call { .. } | RelayError::NotInDirectory { .. } => {
                        debug!(peer = %peer, cause = %e, ?delay, "relay failed, will retry");
                    }
                    _ => warn!(peer = %peer, cause = %e, ?delay, "relay failed, will retry"),
                }
                link.update(|s| {
                    s.failures = backoff.failures();
                    s.ceiling = backoff.ceiling();
                    s.last_error = Some(e.to_string());
                });
                Some(delay)
            }
        };
        match pause(&link, delay, &mut shutdown).await {
            Wake::Shutdown => return,
            Wake::Contacted => {
                debug!(peer = %peer, "peer contacted us; retrying from the initial backoff");
                backoff.reset();
                link.update(|s| {
                    s.failures = 0;
                    s.ceiling = backoff.ceiling();
                });
            }
            Wake::Timer | Wake::Queued => {}
        }
    }
}

/// Sends one batch (or, when `announce`, possibly an empty one) and applies the answer.
/// `Ok(None)` when there was nothing to send; otherwise how many items the peer answered.
async fn relay_once(
    state: &BrokerState,
    link: &PeerLink,
    peer: &BrokerName,
    announce: bool,
) -> Result<Option<usize>, RelayError> {
    let (items, probe) = aside::outgoing(state, peer).await?;
    if items.is_empty() && !announce && !probe {
        return Ok(None);
    }
    let directory = state.directory.current();
    let info = directory
        .broker(peer)
        .ok_or_else(|| RelayError::NotInDirectory {
            peer: peer.clone(),
            version: directory.version(),
        })?;
    let channel = link
        .channel(&info.endpoint, || {
            connect::channel(&state.federation.tls, info)
        })
        .map_err(|source| RelayError::Endpoint {
            peer: peer.clone(),
            source,
        })?;
    let batch = pb::RelayBatch {
        items: items.iter().map(|o| o.item.clone()).collect(),
        directory_version: directory.version(),
    };
    let result = BrokerPeerClient::new(channel)
        .relay(batch)
        .await
        .map_err(|status| {
            aside::call_failed(link, &status);
            RelayError::Call {
                peer: peer.clone(),
                status,
            }
        })?
        .into_inner();
    let count = items.len();
    answer::apply(state, peer, &directory, items, result).await?;
    if count > 0 {
        info!(peer = %peer, items = count, "relayed batch");
    }
    Ok(Some(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_contact_from_the_peer_cuts_a_backoff_pause_short() {
        let link = Arc::new(PeerLink::default());
        let (stop, mut shutdown) = watch::channel(false);
        let waiting = tokio::spawn({
            let link = link.clone();
            async move {
                let started = tokio::time::Instant::now();
                let wake = pause(&link, Some(Duration::from_secs(300)), &mut shutdown).await;
                (wake, started.elapsed())
            }
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        link.contact();
        let (wake, waited) = waiting.await.expect("pause task");
        assert_eq!(wake, Wake::Contacted);
        assert!(waited < Duration::from_secs(3), "{waited:?}");
        assert_eq!(link.status().contacts, 1);
        drop(stop);
    }

    #[tokio::test(start_paused = true)]
    async fn new_items_do_not_cut_a_backoff_pause_short_but_end_an_idle_wait() {
        let link = PeerLink::default();
        let (_stop, mut shutdown) = watch::channel(false);
        link.wake();
        let wake = pause(&link, Some(Duration::from_secs(10)), &mut shutdown).await;
        assert_eq!(wake, Wake::Timer);
        // The permit left by `wake` ends the next idle wait at once.
        let wake = pause(&link, None, &mut shutdown).await;
        assert_eq!(wake, Wake::Queued);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_any_pause() {
        let link = PeerLink::default();
        let (stop, mut shutdown) = watch::channel(false);
        stop.send_replace(true);
        assert_eq!(
            pause(&link, Some(Duration::from_secs(300)), &mut shutdown).await,
            Wake::Shutdown
        );
        assert_eq!(pause(&link, None, &mut shutdown).await, Wake::Shutdown);
    }
}
