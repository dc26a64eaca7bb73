//! The relay task for one peer broker: it sends the oldest items of that peer's outbox as one
//! batch (one batch in flight per destination), applies the answer ([`answer`]), and drains the
//! outbox batch after batch, oldest first.
//!
//! When the peer cannot be reached, the task retries with exponential backoff, full jitter and
//! a cap: [`Failure::Silent`] (no connection, no answer) up to the configured ceiling,
//! [`Failure::AnsweredWithError`] (the peer is up and answered with an error) up to half of it. Every
//! attempt is bounded ([`ATTEMPT_TIMEOUT`] on top of the channel's own dial, handshake, call
//! and keepalive deadlines), so a link that goes silent costs bounded attempts, never a wait
//! for ever.
//!
//! Only a successful exchange (a batch answered) resets the backoff. A call from the peer does
//! not: two brokers whose calls fail would otherwise reset each other's backoff at every call
//! and hammer each other. Instead a contact from the peer brings the next attempt forward, to
//! no sooner than [`PROBE_SPACING`] after the previous one: a recovered link is noticed within
//! seconds, and a failing one is called at most once per spacing (counted from the end of the
//! previous attempt). For the same reason the first batch goes out even if it is empty, so that
//! peers that backed off from this broker while it was down hear from it at once, and so does
//! every attempt while the link is failing: an empty outbox does not leave the link marked
//! failing for ever.
//!
//! The link's state is logged once per change: a warning when it starts failing ("unreachable"
//! when nothing answered, "failing" when the peer answered with an error), a note when it works
//! again (with how long it was down); each attempt at debug level only. This broker's own store
//! failing is a separate state, logged once per change too.

pub mod answer;
pub mod aside;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};
use trm_proto::addr::BrokerName;
use trm_proto::directory::Directory;
use trm_proto::pb;
use trm_proto::pb::broker_peer_client::BrokerPeerClient;
use trm_storage::backoff::health::{Change, LinkHealth};
use trm_storage::{Backoff, Failure};

use crate::connect;
use crate::link::PeerLink;
use crate::state::{BrokerState, stopped};
use crate::store::StoreError;

/// Items in one relay batch, at most.
pub const BATCH_ITEMS: usize = 64;

/// Encoded bytes of items in one relay batch, at most; a single larger item goes alone (the
/// configuration keeps envelopes below half of this).
pub const BATCH_BYTES: usize = 32 * 1024 * 1024;

/// The shortest time between two attempts when a contact from the peer brings the next one
/// forward.
pub const PROBE_SPACING: Duration = Duration::from_secs(3);

/// The longest one attempt may take, however the channel's own deadlines play out: a call's
/// timeout plus a dial and a handshake.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(75);

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
    #[error("call to broker {peer} failed ({:?}): {}", status.code(), trm_proto::status::describe(status))]
    Call {
        /// The peer.
        peer: BrokerName,
        /// The call's status.
        status: tonic::Status,
    },
    /// The attempt passed [`ATTEMPT_TIMEOUT`].
    #[error("broker {peer} did not answer within {:?}", ATTEMPT_TIMEOUT)]
    TimedOut {
        /// The peer.
        peer: BrokerName,
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

impl RelayError {
    /// How the attempt failed, for the backoff: [`Failure::AnsweredWithError`] when the peer is up and
    /// answered, [`Failure::Silent`] otherwise.
    pub fn failure(&self) -> Failure {
        match self {
            Self::Call { status, .. } if !is_silence(status) => Failure::AnsweredWithError,
            Self::BadAnswer { .. } => Failure::AnsweredWithError,
            _ => Failure::Silent,
        }
    }

    /// A fixed word for how the attempt failed (the gRPC code's name for a failed call), for
    /// metric labels and status: never text the peer chose.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotInDirectory { .. } => "not_in_directory",
            Self::Endpoint { .. } => "endpoint",
            Self::Call { status, .. } => crate::metrics::code_name(status.code()),
            Self::TimedOut { .. } => "timed_out",
            Self::BadAnswer { .. } => "bad_answer",
            Self::Store(_) => "store",
        }
    }

    /// Whether the peer's link is to blame (a store error is this broker's own).
    fn blames_link(&self) -> bool {
        !matches!(self, Self::Store(_))
    }
}

/// Whether a call's status means that no answer came from the peer: no connection, a
/// connection dropped, a deadline passed. Such a status is made on this side from a transport
/// error, which it keeps as its source; a status the peer sent (whatever its code, e.g.
/// UNAVAILABLE for a store it cannot use) has none, and is an answer.
fn is_silence(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some()
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

/// Starts a relay task for every peer in `directory` that has none yet; with a store several
/// processes share, it relays while it holds the peer's lease ([`crate::lease`]).
pub fn ensure_tasks(state: &Arc<BrokerState>, directory: &Directory) {
    for peer in peers(directory, &state.name) {
        if state.link(&peer).claim_task() {
            info!(peer = %peer, "relay task started");
            state.spawn(crate::lease::relay_while_held(state.clone(), peer));
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

/// Waits before the next attempt. With a `retry_at` (after a failure), only that instant, a
/// contact from the peer or shutdown end the wait: new items must not make us hammer a peer
/// that is down. Without one (the outbox is empty), new items end it too.
pub async fn pause(
    link: &PeerLink,
    retry_at: Option<Instant>,
    shutdown: &mut watch::Receiver<bool>,
) -> Wake {
    match retry_at {
        Some(at) => tokio::select! {
            () = tokio::time::sleep_until(at) => Wake::Timer,
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

/// When to retry after a contact from the peer, with the next attempt due at `retry_at` and
/// the previous one ended at `last_attempt`: now if the spacing has passed, otherwise at the
/// earlier of the due time and the end of the spacing.
pub fn probe_at(retry_at: Instant, last_attempt: Instant, now: Instant) -> Instant {
    retry_at.min(last_attempt + PROBE_SPACING).max(now)
}

/// The backoff of a relay task: the configured ceilings, half of the largest for a peer that
/// answers with errors.
pub fn backoff(settings: &crate::state::FederationSettings) -> Backoff {
    Backoff::new(settings.backoff_initial, settings.backoff_max)
        .with_answering_cap(settings.backoff_max / 2)
}

/// Relays to `peer` until the broker shuts down.
pub async fn run(state: Arc<BrokerState>, peer: BrokerName) {
    let link = state.link(&peer);
    let mut shutdown = state.shutdown_signal();
    let mut backoff = backoff(&state.federation);
    let mut health = LinkHealth::default();
    // This broker's own store, apart from the link: its trouble is logged once per change too.
    let mut store_health = LinkHealth::default();
    link.update(|s| s.ceiling = backoff.ceiling());
    let mut first = true;
    loop {
        if state.is_shutting_down() {
            return;
        }
        // The first batch, and every attempt while the link is failing, goes out even if it is
        // empty: a peer that recovered (or that backed off from us) hears from us, and the
        // link's state is known again without waiting for the next item.
        let announce = first || health.is_failing();
        // A call to a peer that does not answer may take until its timeout; shutdown does not
        // wait for it. Cancelling is safe: nothing is acknowledged to anyone before the outbox
        // update is durable, and a batch relayed again is recognised by the peer.
        let attempt = tokio::select! {
            attempt = tokio::time::timeout(ATTEMPT_TIMEOUT, relay_once(&state, &link, &peer, announce)) => {
                attempt.unwrap_or_else(|_| Err(RelayError::TimedOut { peer: peer.clone() }))
            }
            () = stopped(&mut shutdown) => return,
        };
        first = false;
        // The spacing of probes counts from the end of an attempt: one that took long (a dial
        // or handshake timing out) is not followed at once by another.
        let ended = Instant::now();
        if !matches!(attempt, Err(RelayError::Store(_)))
            && let Some(Change::Back(down)) = store_health.succeeded()
        {
            info!(peer = %peer, "the outbox for {peer} can be used again after {} s", down.as_secs());
        }
        let mut retry_at = match attempt {
            Ok(Some(items)) => {
                backoff.reset();
                if let Some(Change::Back(down)) = health.succeeded() {
                    info!(
                        peer = %peer,
                        "peer broker {peer} reachable again after {} s",
                        down.as_secs()
                    );
                }
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
                let failure = e.failure();
                let delay = backoff.after(failure);
                if !e.blames_link() {
                    if store_health.failed() == Some(Change::Lost) {
                        warn!(peer = %peer, "cannot relay to {peer}: {e}; retrying in the background");
                    } else {
                        debug!(peer = %peer, cause = %e, ?delay, "relay failed, will retry");
                    }
                } else if health.failed() == Some(Change::Lost) {
                    let state = match failure {
                        Failure::Silent => "unreachable",
                        Failure::AnsweredWithError => "failing",
                    };
                    warn!(
                        peer = %peer,
                        "peer broker {peer} {state}: {e}; retrying in the background"
                    );
                } else {
                    debug!(peer = %peer, cause = %e, ?delay, "relay failed, will retry");
                }
                link.update(|s| {
                    s.failures = backoff.failures();
                    s.ceiling = backoff.ceiling_for(failure);
                    s.last_error = Some(e.to_string());
                    s.last_error_kind = Some(e.kind());
                });
                Some(ended + delay)
            }
        };
        loop {
            match pause(&link, retry_at, &mut shutdown).await {
                Wake::Shutdown => return,
                Wake::Timer | Wake::Queued => break,
                Wake::Contacted => {
                    let Some(due) = retry_at else {
                        // Idle: look at the outbox again (cheap, no call if it is empty).
                        break;
                    };
                    let now = Instant::now();
                    let probe = probe_at(due, ended, now);
                    if probe <= now {
                        debug!(peer = %peer, "peer contacted us; probing now");
                        break;
                    }
                    retry_at = Some(probe);
                }
            }
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
        .channel(&info.endpoints, || {
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
                let started = Instant::now();
                let retry_at = started + Duration::from_secs(300);
                let wake = pause(&link, Some(retry_at), &mut shutdown).await;
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
    async fn a_contact_brings_the_next_attempt_forward_but_never_closer_than_the_spacing() {
        let last = Instant::now();
        let due = last + Duration::from_secs(60);
        // Right after an attempt: not before the spacing has passed.
        assert_eq!(
            probe_at(due, last, last + Duration::from_millis(10)),
            last + PROBE_SPACING
        );
        // Long after: now.
        let later = last + Duration::from_secs(20);
        assert_eq!(probe_at(due, last, later), later);
        // A retry due sooner than the spacing stays where it is.
        let soon = last + Duration::from_secs(1);
        assert_eq!(probe_at(soon, last, last), soon);
    }

    #[test]
    fn silence_and_answered_errors_are_told_apart() {
        let peer: BrokerName = "rs".parse().expect("name");
        let call = |status| RelayError::Call {
            peer: peer.clone(),
            status,
        };
        let transport = |words: &str| {
            tonic::Status::from_error(Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                words.to_owned(),
            )))
        };
        assert_eq!(
            call(transport("connection refused")).failure(),
            Failure::Silent
        );
        // The peer answered UNAVAILABLE (its store fails, its directory expired): an answer.
        assert_eq!(
            call(tonic::Status::unavailable("store unavailable")).failure(),
            Failure::AnsweredWithError
        );
        assert_eq!(
            call(tonic::Status::deadline_exceeded("timeout")).failure(),
            Failure::AnsweredWithError
        );
        assert_eq!(
            RelayError::TimedOut { peer: peer.clone() }.failure(),
            Failure::Silent
        );
        assert_eq!(
            call(tonic::Status::resource_exhausted("disk full")).failure(),
            Failure::AnsweredWithError
        );
        assert_eq!(
            call(tonic::Status::failed_precondition("directory behind")).failure(),
            Failure::AnsweredWithError
        );
    }

    #[tokio::test(start_paused = true)]
    async fn new_items_do_not_cut_a_backoff_pause_short_but_end_an_idle_wait() {
        let link = PeerLink::default();
        let (_stop, mut shutdown) = watch::channel(false);
        link.wake();
        let retry_at = Instant::now() + Duration::from_secs(10);
        let wake = pause(&link, Some(retry_at), &mut shutdown).await;
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
        let retry_at = Instant::now() + Duration::from_secs(300);
        assert_eq!(
            pause(&link, Some(retry_at), &mut shutdown).await,
            Wake::Shutdown
        );
        assert_eq!(pause(&link, None, &mut shutdown).await, Wake::Shutdown);
    }
}
