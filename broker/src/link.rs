//! What this broker knows about its link to one peer broker: the signals that wake the relay
//! task, the channel it reuses, and the relay status that operators and tests can read.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tonic::transport::Channel;

use crate::relay::aside::triage::Triage;

/// The state of relaying to one peer, as last updated by its relay task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayStatus {
    /// Failed attempts since the last successful exchange.
    pub failures: u32,
    /// The current retry ceiling (the next delay is drawn below it).
    pub ceiling: Duration,
    /// Batches the peer accepted since this broker started.
    pub batches: u64,
    /// Items the peer answered (stored or refused) since this broker started.
    pub items: u64,
    /// Calls the peer made to us since this broker started.
    pub contacts: u64,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// What kind of failure the last one was, a fixed word ([`crate::relay::RelayError::kind`]).
    pub last_error_kind: Option<&'static str>,
    /// Items for this peer set aside because they kept failing (see [`crate::relay::aside`]).
    pub set_aside: u64,
}

/// One peer broker's link.
#[derive(Debug, Default)]
pub struct PeerLink {
    /// Something new is in the outbox for this peer.
    queued: Notify,
    /// The peer called us: bring the next attempt forward (see [`crate::relay::PROBE_SPACING`]).
    contacted: Notify,
    /// The relay status.
    status: Mutex<RelayStatus>,
    /// The channel to the peer and the endpoints it was made for.
    channel: Mutex<Option<(Vec<String>, Channel)>>,
    /// Whether a relay task runs for this peer.
    task_started: AtomicBool,
    /// Which outbox item is to blame when calls fail.
    triage: Mutex<Triage>,
}

impl PeerLink {
    /// Claims the right to run this peer's relay task: true exactly once.
    pub fn claim_task(&self) -> bool {
        !self.task_started.swap(true, Ordering::SeqCst)
    }

    /// Signals that something new is in the outbox.
    pub fn wake(&self) {
        self.queued.notify_one();
    }

    /// Signals that the peer called us.
    pub fn contact(&self) {
        self.update(|status| status.contacts += 1);
        self.contacted.notify_one();
    }

    /// Completes when something new is queued. `notify_one` keeps a permit when nobody
    /// waits, so a wake-up between two outbox scans is not lost.
    pub async fn queued(&self) {
        self.queued.notified().await;
    }

    /// Completes when the peer calls us (or has called since the last wait).
    pub async fn contacted(&self) {
        self.contacted.notified().await;
    }

    /// The triage of this peer's outbox (held briefly, never across an await).
    pub fn triage(&self) -> MutexGuard<'_, Triage> {
        self.triage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the relay status.
    pub fn status(&self) -> RelayStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes the relay status.
    pub fn update(&self, change: impl FnOnce(&mut RelayStatus)) {
        change(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The channel for `endpoints`: the cached one if it was made for the same list,
    /// otherwise a new one from `make` (the directory may move a broker or change its list).
    pub fn channel<E>(
        &self,
        endpoints: &[String],
        make: impl FnOnce() -> Result<Channel, E>,
    ) -> Result<Channel, E> {
        let mut cached = self.channel.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((made_for, channel)) = cached.as_ref()
            && made_for.as_slice() == endpoints
        {
            return Ok(channel.clone());
        }
        let channel = make()?;
        *cached = Some((endpoints.to_vec(), channel.clone()));
        Ok(channel)
    }
}
