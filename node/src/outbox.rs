//! The outbox task: submits queued messages to the home broker, oldest first, and records the
//! broker's signed ACCEPTED receipt. Up to a window of submissions wait for the broker's answer
//! at once (the `[outbox]` table's `window`), but never two of one case: a case's next message
//! is submitted only once the answer to the one before it was handled, so the broker queues a
//! case's messages in the order they were sent. A message leaves the outbox only when its
//! verified receipt is on disk, as with one submission at a time; answers are handled one by
//! one, each with the rules below. While the broker is unreachable it retries with backoff.
//! Only messages whose write is on disk are submitted: one whose flush failed (a full disk)
//! is gone once the store recovers, and must not have reached the broker.
//! A refusal without a signed receipt (a bare gRPC status: forged, oversized, unknown
//! recipient, ...) is not evidence of anything, so it never ends a message: it is charged as a
//! failed attempt and tried again with backoff. Only a signed receipt from the party entitled
//! to it decides (see `crate::store::NodeStore::record_receipt`). An envelope whose delivery window ended before any broker took it is
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
//!   store's set-aside table instead (logged at WARN);
//! - a message whose case is erased (a consent withdrawal, retention) is never submitted after
//!   the erasure: the store is asked before each submission ([`NodeStore::hand_over`]), under
//!   the lock the erasure takes. One already on its way stays queued and its receipt is
//!   recorded as usual; if that submission fails it is not tried again, recorded as
//!   `withheld` (the broker may hold it).
//!
//! Attempts are counted in memory: a restart counts them from zero again. After a failure no
//! new submission starts until the pause (with backoff) ends; those already on their way are
//! answered and handled.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tracing::{debug, error, warn};
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_storage::Backoff;

use crate::error::NodeError;
use crate::node::Node;
use crate::refresh::Sources;
use crate::store::{NodeStore, Outgoing, StoreError};

/// How many submissions may wait for the broker's answer at once, by default.
pub const DEFAULT_WINDOW: usize = 32;

/// The largest window the configuration accepts.
pub const MAX_WINDOW: usize = 256;

/// How many outbox records one look for messages to submit reads at most: messages further
/// back wait until those ahead of them left (a long queue of one case is submitted one message
/// at a time, and is not read whole for each).
const SCAN_LIMIT: usize = 4096;

/// How many envelope bytes may be on their way at once (unless one envelope alone is larger):
/// on the slowest uplink a submission is given time for ([`SLOWEST_UPLINK`]) they all go
/// within the usual call deadline, so a full window does not make its own submissions time
/// out.
const MAX_BYTES_IN_FLIGHT: usize = 1024 * 1024;

/// The `[outbox]` table of `node.toml`: how the outbox submits to the home broker.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    /// How many submissions may wait for the broker's answer at once, 1 to 256; messages of
    /// one case are submitted one after another whatever the window.
    #[serde(default = "default_window")]
    pub window: usize,
}

fn default_window() -> usize {
    DEFAULT_WINDOW
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            window: DEFAULT_WINDOW,
        }
    }
}

impl OutboxSettings {
    /// The window, when it is within bounds; the field and the problem otherwise.
    pub fn validate(&self) -> Result<usize, (&'static str, String)> {
        if (1..=MAX_WINDOW).contains(&self.window) {
            Ok(self.window)
        } else {
            Err((
                "outbox.window",
                format!(
                    "{} must be between 1 and {MAX_WINDOW} submissions at once",
                    self.window
                ),
            ))
        }
    }
}

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

/// Whether a submission that ended with `answer` may have reached the broker although its
/// receipt was not recorded: it ran out of time, failed with a status that does not say the
/// broker was unreachable or refused it, or was answered with a receipt that could not be
/// recorded.
fn may_have_reached(answer: &Answer) -> bool {
    match answer {
        Answer::Recorded => false,
        Answer::Unrecorded(_) => true,
        Answer::Failed(status) => matches!(
            status.code(),
            Code::DeadlineExceeded
                | Code::Cancelled
                | Code::Internal
                | Code::Unknown
                | Code::Aborted
        ),
    }
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

/// What became of one submission.
enum Answer {
    /// The broker's receipt was verified and is on disk.
    Recorded,
    /// The broker answered, but its receipt could not be verified or recorded.
    Unrecorded(NodeError),
    /// The call failed.
    Failed(Status),
}

/// One submission on its way: the message and what became of it.
type Attempt = Pin<Box<dyn Future<Output = (Outgoing, Answer)> + Send>>;

/// The submissions waiting for the broker's answer.
#[derive(Default)]
struct InFlight {
    /// Their outbox sequences, with the size of each record.
    sequences: HashMap<u64, usize>,
    /// Those sizes added up.
    bytes: usize,
    /// Their cases: none of them has a second message on its way.
    cases: HashSet<Vec<u8>>,
    /// The calls.
    attempts: FuturesUnordered<Attempt>,
}

impl InFlight {
    fn len(&self) -> usize {
        self.sequences.len()
    }

    fn is_empty(&self) -> bool {
        self.sequences.is_empty()
    }

    /// Whether `sequence`, or another message of `case`, is on its way.
    fn holds(&self, sequence: u64, case: &[u8]) -> bool {
        self.sequences.contains_key(&sequence) || self.cases.contains(case)
    }

    /// Counts `item` as on its way, with its case and size.
    fn claim(&mut self, item: &Outgoing) {
        let size = item.envelope.encoded_len();
        if self.sequences.insert(item.sequence, size).is_none() {
            self.bytes = self.bytes.saturating_add(size);
        }
        self.cases.insert(item.case_key.clone());
    }

    /// `item` was answered (or failed): its case may submit its next message.
    fn land(&mut self, item: &Outgoing) {
        if let Some(size) = self.sequences.remove(&item.sequence) {
            self.bytes = self.bytes.saturating_sub(size);
        }
        self.cases.remove(&item.case_key);
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

/// Runs until `shutdown` turns true, with up to `window` submissions on their way at once.
pub async fn run(
    node: Arc<Node>,
    channel: Channel,
    sources: Sources,
    window: usize,
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
    let mut flight = InFlight::default();
    // While set, no new submission starts before then (a failure's backoff).
    let mut paused_until: Option<Instant> = None;
    while !*shutdown.borrow() {
        if paused_until.is_none_or(|until| until <= Instant::now()) {
            paused_until = None;
            let filled = outbox.fill(&mut flight, window.max(1)).await;
            if !filled {
                paused_until = Some(Instant::now() + outbox.backoff.next_delay());
            }
        }
        let until = paused_until;
        tokio::select! {
            Some((item, answer)) = flight.attempts.next(), if !flight.attempts.is_empty() => {
                flight.land(&item);
                if !outbox.settle(&item, answer).await && paused_until.is_none() {
                    paused_until = Some(Instant::now() + outbox.backoff.next_delay());
                }
            }
            // A new message, or the delivery stream reconnected (the broker is back).
            () = outbox.node.outbox_wake().notified() => paused_until = None,
            () = sleep_until(until) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Waits until `until`, or for ever without one.
async fn sleep_until(until: Option<Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}

impl Outbox {
    /// Starts submitting the oldest waiting messages the window has room for, leaving out
    /// those whose case has a message on its way; the messages moved behind the others only
    /// when nothing else waits or is on its way. False when the task should pause.
    async fn fill(&mut self, flight: &mut InFlight, window: usize) -> bool {
        let room = window.saturating_sub(flight.len());
        if room == 0 {
            return true;
        }
        let items = match choose(self.node.store(), flight, &self.rotation.behind, room) {
            Ok(items) => items,
            Err(e) => {
                error!(cause = %e, "cannot read outbox");
                return false;
            }
        };
        // The read sees a message as soon as its write committed, before its flush: one whose
        // flush then fails is gone after the store recovers (and its case's step number is
        // taken again), so it must not reach the broker. Everything read is on disk once this
        // returns.
        if !items.is_empty()
            && let Err(e) = self.node.store().durable().await
        {
            error!(cause = %e, "outbox messages not on disk yet; not submitted");
            return false;
        }
        for item in items {
            // An erasure of its case took it out of the outbox since it was read: not sent,
            // and already recorded so.
            if !self.node.store().hand_over(item.sequence) {
                continue;
            }
            let now = trm_proto::time::now_ms();
            if let Some(expired_at) = expired(&item.envelope, now) {
                // Not given to the broker after all.
                self.node.store().landed(item.sequence, false);
                if !self.expire(&item, expired_at, now).await {
                    return false;
                }
                continue;
            }
            flight.claim(&item);
            flight.attempts.push(self.attempt(item));
        }
        true
    }

    /// Takes `item`, whose delivery window ended at `expired_at`, out of the outbox.
    async fn expire(&mut self, item: &Outgoing, expired_at: u64, now: u64) -> bool {
        let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
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
        self.finish(item, evidence, &reason).await
    }

    /// Submits `item` and records the broker's receipt: the call and the durable write run
    /// alongside the other submissions on their way.
    fn attempt(&self, mut item: Outgoing) -> Attempt {
        let mut client = self.client.clone();
        let node = self.node.clone();
        Box::pin(async move {
            let deadline = submit_deadline(item.envelope.encoded_len());
            // The envelope is not needed once sent: what follows goes by sequence and key.
            let envelope = std::mem::take(&mut item.envelope);
            let answer = match crate::connect::within(deadline, client.submit(envelope)).await {
                Ok(response) => match node
                    .accept_receipt(response.get_ref(), Some(item.sequence))
                    .await
                {
                    Ok(_) => Answer::Recorded,
                    Err(e) => Answer::Unrecorded(e),
                },
                Err(status) => Answer::Failed(status),
            };
            (item, answer)
        })
    }

    /// Handles what became of one submission of `item`; false when the task should pause
    /// before starting the next.
    async fn settle(&mut self, item: &Outgoing, answer: Answer) -> bool {
        let id = String::from_utf8_lossy(&item.key).replace('\0', "/");
        let erased = self
            .node
            .store()
            .landed(item.sequence, may_have_reached(&answer));
        let retried = match &answer {
            Answer::Recorded => false,
            Answer::Unrecorded(_) => true,
            Answer::Failed(status) => is_transient(status.code()),
        };
        if erased && retried {
            return self.withhold(item, &answer).await;
        }
        match answer {
            Answer::Recorded => {
                self.backoff.reset();
                self.forget(item.sequence);
                true
            }
            Answer::Unrecorded(NodeError::Store(e)) if concerns_the_message(&e) => {
                error!(message = %id, cause = %e, "broker receipt cannot be recorded");
                self.set_aside(item, &format!("its receipt cannot be recorded: {e}"))
                    .await
            }
            Answer::Unrecorded(NodeError::Store(e)) => {
                error!(message = %id, cause = %e, "cannot record the broker receipt");
                false
            }
            Answer::Unrecorded(e) => {
                // The broker took the message, but its receipt cannot be checked: most
                // likely its key changed and this node's directory is older. Keep the
                // message (the broker answers a second submission as the first).
                error!(message = %id, cause = %e, "the broker accepted the message but its receipt could not be verified; asking for a newer directory, the message stays queued");
                self.refresh_directory().await;
                self.strike(item, "its receipt from the broker could not be verified");
                false
            }
            Answer::Failed(status) if status.code() == Code::DeadlineExceeded => {
                debug!(message = %id, cause = %status, "submission ran out of time, will retry");
                self.strike(item, "its submission kept running out of time");
                false
            }
            Answer::Failed(status) if is_transient(status.code()) => {
                debug!(message = %id, cause = %status, "broker unreachable, will retry");
                if may_be_the_message(status.code()) && self.broker_answers().await {
                    warn!(message = %id, cause = %status, "the broker is up but failed this message");
                    let reason = format!("{:?}: {}", status.code(), status.message());
                    self.charge(item, &reason).await;
                }
                false
            }
            Answer::Failed(status) => {
                // An unsigned status is no evidence: anyone on the path could have said it.
                // Only a signed REJECTED from the party entitled to refuse ends a message, so
                // this one is charged and tried again with backoff (set aside, by this node's
                // own decision, after MAX_ATTEMPTS), never recorded as refused.
                warn!(message = %id, code = ?status.code(), "broker refused the message without a signed receipt; it stays queued and is tried again");
                let reason = format!("{:?}: {}", status.code(), status.message());
                self.charge(item, &reason).await;
                false
            }
        }
    }

    /// Takes `item`, whose case's content was erased while its submission was on its way and
    /// whose submission then failed, out of the outbox: it is not submitted again, and a
    /// receipt that comes for it is recorded as usual.
    async fn withhold(&mut self, item: &Outgoing, answer: &Answer) -> bool {
        let how = match answer {
            Answer::Recorded => "its receipt was recorded".to_owned(),
            Answer::Unrecorded(e) => format!("the broker's answer could not be recorded: {e}"),
            Answer::Failed(status) => format!("{:?}: {}", status.code(), status.message()),
        };
        let reason = format!(
            "its case's content was erased while its submission was on its way, which then \
             failed ({how})"
        );
        let evidence = pb::Evidence {
            step: "withheld".into(),
            at_ms: trm_proto::time::now_ms(),
            attested_by: self.node.address().to_string(),
            detail: format!(
                "not submitted again: {reason}; the broker may hold it, and a receipt that comes \
                 is recorded"
            ),
            receipt: None,
        };
        self.finish(item, evidence, &reason).await
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
}

/// The next messages to submit, at most `room`, oldest first: one per case, none of a case
/// with a message in `flight`, within [`MAX_BYTES_IN_FLIGHT`]; those in `behind` only when nothing else waits or is on its way
/// (then the oldest of them alone).
fn choose(
    store: &NodeStore,
    flight: &InFlight,
    behind: &BTreeSet<u64>,
    room: usize,
) -> Result<Vec<Outgoing>, StoreError> {
    let mut cases = HashSet::new();
    let mut bytes = flight.bytes;
    let mut next = |sequence: u64, case: &[u8], size: usize| {
        if behind.contains(&sequence) || flight.holds(sequence, case) {
            return true;
        }
        // Its case is taken either way: a later message of it must not pass it.
        if !cases.insert(case.to_vec()) {
            return true;
        }
        // Within the byte budget, unless it is the first on its way (it then goes alone).
        let first = bytes == 0;
        bytes = bytes.saturating_add(size);
        !first && bytes > MAX_BYTES_IN_FLIGHT
    };
    let items = store.waiting_outgoing(&mut next, room, SCAN_LIMIT)?;
    if !items.is_empty() || !flight.is_empty() {
        return Ok(items);
    }
    store.waiting_outgoing(
        &mut |sequence, _, _| !behind.contains(&sequence),
        1.min(room),
        SCAN_LIMIT,
    )
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

    /// An outbox with messages 1 to 6 of cases A A B C B D, and what [`choose`] picks.
    struct Queue {
        _dir: tempfile::TempDir,
        store: NodeStore,
    }

    const CASES: [(u64, &str); 6] = [(1, "A"), (2, "A"), (3, "B"), (4, "C"), (5, "B"), (6, "D")];

    fn item(sequence: u64, case: &str) -> Outgoing {
        Outgoing {
            sequence,
            key: format!("lefoe-ibf@at\0{sequence}").into_bytes(),
            envelope: pb::Envelope::default(),
            case_key: case.as_bytes().to_vec(),
        }
    }

    impl Queue {
        fn new() -> Result<Self, Box<dyn std::error::Error>> {
            let dir = tempfile::tempdir()?;
            let store = NodeStore::open(dir.path())?;
            for (sequence, case) in CASES {
                let queued = item(sequence, case);
                store.put_outgoing(
                    sequence,
                    &pb::OutboxItem {
                        message_key: queued.key,
                        envelope: Some(queued.envelope),
                        case_key: queued.case_key,
                        envelope_place: None,
                    },
                )?;
            }
            Ok(Self { _dir: dir, store })
        }

        fn choose(
            &self,
            flight: &InFlight,
            behind: &[u64],
            room: usize,
        ) -> Result<Vec<u64>, StoreError> {
            let behind = behind.iter().copied().collect();
            Ok(choose(&self.store, flight, &behind, room)?
                .iter()
                .map(|item| item.sequence)
                .collect())
        }
    }

    #[test]
    fn the_window_takes_the_oldest_message_of_each_case_and_never_two_of_one_case()
    -> Result<(), Box<dyn std::error::Error>> {
        let queue = Queue::new()?;
        let mut flight = InFlight::default();
        assert_eq!(queue.choose(&flight, &[], 32)?, [1, 3, 4, 6]);
        assert_eq!(queue.choose(&flight, &[], 2)?, [1, 3]);
        // 1 and 3 on their way: their cases' next messages (2 and 5) wait for their answers.
        flight.claim(&item(1, "A"));
        flight.claim(&item(3, "B"));
        assert_eq!(queue.choose(&flight, &[], 32)?, [4, 6]);
        // 1 failed and is still queued: it goes again before 2, its case's next message.
        flight.land(&item(1, "A"));
        assert_eq!(queue.choose(&flight, &[], 32)?, [1, 4, 6]);
        flight.land(&item(3, "B"));
        assert_eq!(queue.choose(&flight, &[], 32)?, [1, 3, 4, 6]);
        Ok(())
    }

    #[test]
    fn messages_moved_behind_go_only_when_nothing_else_waits_or_is_on_its_way()
    -> Result<(), Box<dyn std::error::Error>> {
        let queue = Queue::new()?;
        let mut flight = InFlight::default();
        // 1 moved behind: the others pass it, its case's next message too.
        assert_eq!(queue.choose(&flight, &[1], 32)?, [2, 3, 4, 6]);
        let all = [1, 2, 3, 4, 5, 6];
        assert_eq!(queue.choose(&flight, &all, 32)?, [1], "the oldest, alone");
        flight.claim(&item(1, "A"));
        assert_eq!(queue.choose(&flight, &all, 32)?, Vec::<u64>::new());
        Ok(())
    }

    #[test]
    fn large_envelopes_share_a_byte_budget_and_one_larger_than_it_goes_alone()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        let large = |sequence: u64, case: &str, size: usize| Outgoing {
            envelope: pb::Envelope {
                ciphertext: vec![0; size],
                ..Default::default()
            },
            ..item(sequence, case)
        };
        let queued = [
            large(1, "X", 600 * 1024),
            large(2, "Y", 600 * 1024),
            large(3, "Z", 10),
            large(4, "W", 3 * 1024 * 1024),
        ];
        for item in &queued {
            store.put_outgoing(
                item.sequence,
                &pb::OutboxItem {
                    message_key: item.key.clone(),
                    envelope: Some(item.envelope.clone()),
                    case_key: item.case_key.clone(),
                    envelope_place: None,
                },
            )?;
        }
        let chosen = |flight: &InFlight| -> Result<Vec<u64>, StoreError> {
            Ok(choose(&store, flight, &BTreeSet::new(), 32)?
                .iter()
                .map(|item| item.sequence)
                .collect())
        };
        let [x, _, _, w] = &queued;
        let mut flight = InFlight::default();
        // 2 would pass the budget, and nothing passes it: 3 waits behind it.
        assert_eq!(chosen(&flight)?, [1]);
        flight.claim(x);
        assert_eq!(chosen(&flight)?, Vec::<u64>::new());
        flight.land(x);
        assert_eq!(flight.bytes, 0);
        assert_eq!(chosen(&flight)?, [1]);
        // Larger than the budget alone, it is counted whole while on its way.
        flight.claim(w);
        assert!(flight.bytes > MAX_BYTES_IN_FLIGHT);
        assert_eq!(chosen(&flight)?, Vec::<u64>::new());
        flight.land(w);
        assert_eq!(flight.bytes, 0);
        Ok(())
    }

    #[test]
    fn the_window_is_bounded_in_the_configuration() {
        let window = |window| OutboxSettings { window }.validate();
        assert_eq!(OutboxSettings::default().validate(), Ok(DEFAULT_WINDOW));
        assert_eq!(window(1), Ok(1));
        assert_eq!(window(MAX_WINDOW), Ok(MAX_WINDOW));
        let refused = window(0).expect_err("zero");
        assert_eq!(refused.0, "outbox.window");
        assert!(refused.1.contains("between 1 and 256"), "{}", refused.1);
        assert!(window(MAX_WINDOW + 1).is_err());
    }

    #[test]
    fn only_a_submission_that_may_have_reached_the_broker_is_remembered_as_such() {
        let failed = |code| Answer::Failed(Status::new(code, "x"));
        assert!(may_have_reached(&failed(Code::DeadlineExceeded)));
        assert!(may_have_reached(&failed(Code::Internal)));
        assert!(may_have_reached(&Answer::Unrecorded(
            NodeError::InvalidRequest("receipt".into())
        )));
        // Unreachable, overloaded or refused: the broker did not keep it.
        assert!(!may_have_reached(&failed(Code::Unavailable)));
        assert!(!may_have_reached(&failed(Code::ResourceExhausted)));
        assert!(!may_have_reached(&failed(Code::InvalidArgument)));
        assert!(!may_have_reached(&Answer::Recorded));
    }

    #[test]
    fn a_deadline_is_not_a_status_that_charges_the_message() {
        assert!(!may_be_the_message(Code::DeadlineExceeded));
        assert!(!may_be_the_message(Code::Unavailable));
    }
}
