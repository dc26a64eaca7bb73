//! The outbox task: submits queued messages to the home broker, oldest first, and records the
//! broker's signed ACCEPTED receipt. While the broker is unreachable it retries with backoff;
//! a refusal (forged, oversized, unknown recipient, ...) is recorded as the message's outcome
//! and ends its attempts. An envelope whose delivery window ended before any broker took it is
//! not tried again: it leaves the outbox, recorded as expired and not delivered.
//!
//! No message stops the ones behind it:
//! - an answer this node cannot accept (a receipt that does not verify, or that is about
//!   another message) means the broker took the message: it is never recorded as failed.
//!   The node asks for a newer directory (the broker's key may have changed), keeps the
//!   message queued and tries again with backoff; after [`ROTATE_AFTER`] such answers it is
//!   moved behind the other messages (and tried again after them), never dropped;
//! - a submission that runs out of time (its deadline grows with the envelope's size, see
//!   [`submit_deadline`]) is never charged: after [`ROTATE_AFTER`] timeouts the message is
//!   moved behind the others the same way, so a slow uplink delays only the large message;
//! - a call that fails with a status that is not about the broker's availability (INTERNAL,
//!   UNKNOWN, ABORTED) is charged only if the broker answers a directory fetch right after; an
//!   unreachable or overloaded broker charges nobody, and the order of messages is kept;
//! - a message charged [`MAX_ATTEMPTS`] times is set aside: it leaves the outbox with the
//!   evidence step `set_aside` ("set aside after N failed attempts: reason") and a
//!   SUBMIT_FAILED log entry, so `trm status` shows that it is no longer submitted and why;
//!   nothing submits it again (the caseworker sends it anew if it is still needed);
//! - an outbox record that cannot be read, or whose message cannot be updated, is moved to the
//!   store's set-aside table instead (logged at WARN).
//!
//! Attempts are counted in memory: a restart counts them from zero again.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::sync::watch;
use tonic::Code;
use tonic::transport::Channel;
use tracing::{debug, error, warn};
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_storage::Backoff;

use crate::error::NodeError;
use crate::node::Node;
use crate::refresh::Sources;
use crate::store::{Outgoing, StoreError};

/// Failed attempts charged to one message before it is set aside.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long the probe that tells a broken message from an unreachable broker may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Timeouts or unverifiable answers after which a message is moved behind the others.
pub const ROTATE_AFTER: u32 = 3;

/// The slowest uplink a submission is given time for, bytes per second.
const SLOWEST_UPLINK: u64 = 64 * 1024;

/// How long a submission of an envelope of `size` bytes may take: the usual call deadline
/// plus the time to send it at [`SLOWEST_UPLINK`].
pub fn submit_deadline(size: usize) -> Duration {
    let size = u64::try_from(size).unwrap_or(u64::MAX);
    crate::connect::CALL_TIMEOUT + Duration::from_secs(size.div_ceil(SLOWEST_UPLINK))
}

/// Whether a failed submit may succeed later unchanged. RESOURCE_EXHAUSTED is "not now": a
/// submission rate, a full queue at the broker or a full disk there; the message waits with
/// backoff (until its delivery window ends) rather than being given up. An envelope too large
/// for the broker is OUT_OF_RANGE, final.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::ResourceExhausted
            | Code::Unknown
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Aborted
            | Code::Internal
    )
}

/// Whether a transient failure may be the message's own: not a status that says the broker
/// is unreachable, overloaded or slow.
fn may_be_the_message(code: Code) -> bool {
    matches!(code, Code::Internal | Code::Unknown | Code::Aborted)
}

/// Whether a store failure concerns the one message (its record is missing or damaged), not
/// the store as a whole.
fn concerns_the_message(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::NotFound(_)
            | StoreError::Corrupt { .. }
            | StoreError::Case(_)
            | StoreError::NoCase(_)
    )
}

/// Which messages are moved behind the others: those that timed out or were answered with a
/// receipt that could not be verified [`ROTATE_AFTER`] times.
#[derive(Debug, Default)]
struct Rotation {
    /// Timeouts and unverifiable answers, by outbox sequence.
    strikes: HashMap<u64, u32>,
    /// The messages moved behind the others.
    behind: BTreeSet<u64>,
}

impl Rotation {
    /// Counts one against `sequence`; true when that moves it behind the others now.
    fn strike(&mut self, sequence: u64) -> bool {
        let strikes = self.strikes.entry(sequence).or_insert(0);
        *strikes = strikes.saturating_add(1);
        *strikes >= ROTATE_AFTER && self.behind.insert(sequence)
    }

    /// Forgets `sequence` (it left the outbox).
    fn forget(&mut self, sequence: u64) {
        self.strikes.remove(&sequence);
        self.behind.remove(&sequence);
    }
}

/// The outbox task's state.
struct Outbox {
    node: Arc<Node>,
    client: BrokerClient<Channel>,
    backoff: Backoff,
    /// Attempts charged, by outbox sequence.
    attempts: HashMap<u64, u32>,
    /// The messages moved behind the others, and those on their way there.
    rotation: Rotation,
    /// Where a newer directory comes from.
    sources: Sources,
}

/// Runs until `shutdown` turns true.
pub async fn run(
    node: Arc<Node>,
    channel: Channel,
    sources: Sources,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut outbox = Outbox {
        node,
        client: BrokerClient::new(channel).max_decoding_message_size(1024 * 1024),
        backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
        attempts: HashMap::new(),
        rotation: Rotation::default(),
        sources,
    };
    while !*shutdown.borrow() {
        let item = match outbox
            .node
            .store()
            .next_outgoing_except(&outbox.rotation.behind)
        {
            Ok(Some(item)) => item,
            Ok(None) => {
                tokio::select! {
                    () = outbox.node.outbox_wake().notified() => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            Err(e) => {
                error!(cause = %e, "cannot read outbox");
                outbox.pause(&mut shutdown).await;
                continue;
            }
        };
        if !outbox.submit(&item).await {
            outbox.pause(&mut shutdown).await;
        }
    }
}

impl Outbox {
    /// One attempt at `item`; false when the task should pause before the next.
    async fn submit(&mut self, item: &Outgoing) -> bool {
        let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
        let now = trm_proto::time::now_ms();
        if let Some(expired_at) = expired(&item.envelope, now) {
            warn!(message = %id, "envelope expired before its broker took it; not sent");
            let reason = format!(
                "its delivery window ended at {} before the broker took it",
                trm_proto::time::format_ms(expired_at)
            );
            let evidence = pb::Evidence {
                step: "expired".into(),
                at_ms: now,
                attested_by: self.node.address().to_string(),
                detail: format!("expired, not delivered: {reason}"),
                receipt: None,
            };
            return self.finish(item, evidence, &reason).await;
        }
        let submitted = self.client.submit(item.envelope.clone());
        let deadline = submit_deadline(item.envelope.encoded_len());
        match crate::connect::within(deadline, submitted).await {
            Ok(response) => {
                match self
                    .node
                    .accept_receipt(response.get_ref(), Some(item.sequence))
                    .await
                {
                    Ok(_) => {
                        self.backoff.reset();
                        self.forget(item.sequence);
                        true
                    }
                    Err(NodeError::Store(e)) if concerns_the_message(&e) => {
                        error!(message = %id, cause = %e, "broker receipt cannot be recorded");
                        self.set_aside(item, &format!("its receipt cannot be recorded: {e}"))
                            .await
                    }
                    Err(NodeError::Store(e)) => {
                        error!(message = %id, cause = %e, "cannot record the broker receipt");
                        false
                    }
                    Err(e) => {
                        // The broker took the message, but its receipt cannot be checked: most
                        // likely its key changed and this node's directory is older. Keep the
                        // message (the broker answers a second submission as the first).
                        error!(message = %id, cause = %e, "the broker accepted the message but its receipt could not be verified; asking for a newer directory, the message stays queued");
                        self.refresh_directory().await;
                        self.strike(item, "its receipt from the broker could not be verified");
                        false
                    }
                }
            }
            Err(status) if status.code() == Code::DeadlineExceeded => {
                debug!(message = %id, cause = %status, "submission ran out of time, will retry");
                self.strike(item, "its submission kept running out of time");
                false
            }
            Err(status) if is_transient(status.code()) => {
                debug!(message = %id, cause = %status, "broker unreachable, will retry");
                if may_be_the_message(status.code()) && self.broker_answers().await {
                    warn!(message = %id, cause = %status, "the broker is up but failed this message");
                    let reason = format!("{:?}: {}", status.code(), status.message());
                    self.charge(item, &reason).await;
                }
                false
            }
            Err(status) => {
                warn!(message = %id, cause = %status, "broker refused message");
                let evidence = pb::Evidence {
                    step: "submit_failed".into(),
                    at_ms: trm_proto::time::now_ms(),
                    attested_by: self.node.address().broker().to_string(),
                    detail: format!("{:?}: {}", status.code(), status.message()),
                    receipt: None,
                };
                self.finish(item, evidence, status.message()).await
            }
        }
    }

    /// Counts a timeout or an unverifiable answer against `item`; at [`ROTATE_AFTER`], moves
    /// it behind the other messages (it is still submitted, after them).
    fn strike(&mut self, item: &Outgoing, why: &str) {
        if self.rotation.strike(item.sequence) {
            let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
            warn!(message = %id, reason = %why, "message moved behind the others: it is still submitted, after them");
        }
    }

    /// Forgets what was counted against `sequence` (it left the outbox).
    fn forget(&mut self, sequence: u64) {
        self.attempts.remove(&sequence);
        self.rotation.forget(sequence);
    }

    /// Asks the brokers for a newer directory, at most once per
    /// [`crate::refresh::ON_DEMAND_INTERVAL`].
    async fn refresh_directory(&self) {
        if !self
            .sources
            .may_refresh_on_demand(std::time::Instant::now())
        {
            return;
        }
        if let Err(e) = crate::refresh::refresh_once(&self.node, &self.sources).await {
            warn!(cause = %e, "directory refresh failed; keeping the directory in use");
        }
    }

    /// Whether the broker answers a directory fetch now (it is up and this node may call it).
    async fn broker_answers(&mut self) -> bool {
        let fetch = self
            .client
            .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 });
        matches!(tokio::time::timeout(PROBE_TIMEOUT, fetch).await, Ok(Ok(_)))
    }

    /// Charges `item` one failed attempt; sets it aside at [`MAX_ATTEMPTS`].
    async fn charge(&mut self, item: &Outgoing, reason: &str) {
        let attempts = self.attempts.entry(item.sequence).or_insert(0);
        *attempts = attempts.saturating_add(1);
        let attempts = *attempts;
        if attempts < MAX_ATTEMPTS {
            return;
        }
        let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
        warn!(message = %id, attempts, reason = %reason, "message set aside: it is no longer submitted, so the messages behind it are");
        let evidence = pb::Evidence {
            step: "set_aside".into(),
            at_ms: trm_proto::time::now_ms(),
            attested_by: self.node.address().to_string(),
            detail: format!(
                "set aside after {attempts} failed attempts, no longer submitted: {reason}"
            ),
            receipt: None,
        };
        let reason = format!("set aside after {attempts} failed attempts: {reason}");
        self.finish(item, evidence, &reason).await;
    }

    /// Records `evidence` as `item`'s outcome (SUBMIT_FAILED in the log) and takes it out of
    /// the outbox; when its message cannot be updated, the record is set aside instead. False
    /// when nothing could be written (the task pauses and tries again).
    async fn finish(&mut self, item: &Outgoing, evidence: pb::Evidence, reason: &str) -> bool {
        let recorded = self
            .node
            .store()
            .record_outcome(
                Some(item.sequence),
                &item.key,
                evidence,
                pb::LogEvent::SubmitFailed,
                None,
                reason,
            )
            .await;
        match recorded {
            Ok(_) => {
                self.forget(item.sequence);
                true
            }
            Err(e) if concerns_the_message(&e) => {
                self.set_aside(
                    item,
                    &format!("{reason}; its message cannot be updated: {e}"),
                )
                .await
            }
            Err(e) => {
                let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
                error!(message = %id, cause = %e, "cannot record the outcome");
                false
            }
        }
    }

    /// Moves `item`'s record to the store's set-aside table.
    async fn set_aside(&mut self, item: &Outgoing, reason: &str) -> bool {
        let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
        warn!(message = %id, reason = %reason, "outbox record set aside: it is no longer submitted");
        self.forget(item.sequence);
        match self
            .node
            .store()
            .set_aside_outgoing(item.sequence, reason)
            .await
        {
            Ok(_) => true,
            Err(e) => {
                error!(message = %id, cause = %e, "cannot set the outbox record aside");
                false
            }
        }
    }

    /// Waits before the next attempt; cut short when the delivery stream reconnects (the
    /// broker is back) or a new message is queued.
    async fn pause(&mut self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            () = tokio::time::sleep(self.backoff.next_delay()) => {}
            () = self.node.outbox_wake().notified() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// When `envelope`'s delivery window ended at or before `now_ms`, its end.
fn expired(envelope: &pb::Envelope, now_ms: u64) -> Option<u64> {
    let header = pb::EnvelopeHeader::decode(envelope.header.as_slice()).ok()?;
    (header.expires_at_ms <= now_ms).then_some(header.expires_at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_envelope_is_given_time_for_a_slow_uplink() {
        assert_eq!(submit_deadline(0), crate::connect::CALL_TIMEOUT);
        // 4 MiB at 64 KiB/s: 64 s more.
        assert_eq!(
            submit_deadline(4 * 1024 * 1024),
            crate::connect::CALL_TIMEOUT + Duration::from_secs(64)
        );
        assert_eq!(
            submit_deadline(1),
            crate::connect::CALL_TIMEOUT + Duration::from_secs(1)
        );
    }

    #[test]
    fn a_message_that_keeps_timing_out_or_getting_bad_receipts_moves_behind_and_is_never_charged() {
        let mut rotation = Rotation::default();
        for _ in 1..ROTATE_AFTER {
            assert!(!rotation.strike(7));
        }
        assert!(rotation.strike(7), "moved behind at the last strike");
        assert!(!rotation.strike(7), "once");
        assert!(rotation.behind.contains(&7));
        rotation.forget(7);
        assert!(rotation.behind.is_empty() && rotation.strikes.is_empty());
    }

    #[test]
    fn a_deadline_is_not_a_status_that_charges_the_message() {
        assert!(!may_be_the_message(Code::DeadlineExceeded));
        assert!(!may_be_the_message(Code::Unavailable));
    }
}
