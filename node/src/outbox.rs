//! The outbox task: submits queued messages to the home broker, oldest first, and records the
//! broker's signed ACCEPTED receipt. While the broker is unreachable it retries with backoff;
//! a refusal (forged, oversized, unknown recipient, ...) is recorded as the message's outcome
//! and ends its attempts. An envelope whose delivery window ended before any broker took it is
//! not tried again: it leaves the outbox, recorded as expired and not delivered.
//!
//! No message stops the ones behind it:
//! - an answer this node cannot accept (a receipt that does not verify) is charged to the
//!   message at once: the broker is up, so the fault is the message's;
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

use std::collections::HashMap;
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
use crate::store::{Outgoing, StoreError};

/// Failed attempts charged to one message before it is set aside.
pub const MAX_ATTEMPTS: u32 = 10;

/// How long the probe that tells a broken message from an unreachable broker may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a failed submit may succeed later unchanged.
pub fn is_transient(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
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

/// The outbox task's state.
struct Outbox {
    node: Arc<Node>,
    client: BrokerClient<Channel>,
    backoff: Backoff,
    /// Attempts charged, by outbox sequence.
    attempts: HashMap<u64, u32>,
}

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, channel: Channel, mut shutdown: watch::Receiver<bool>) {
    let mut outbox = Outbox {
        node,
        client: BrokerClient::new(channel).max_decoding_message_size(1024 * 1024),
        backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(5)),
        attempts: HashMap::new(),
    };
    while !*shutdown.borrow() {
        let item = match outbox.node.store().next_outgoing() {
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
        match crate::connect::within(crate::connect::CALL_TIMEOUT, submitted).await {
            Ok(response) => {
                self.backoff.reset();
                match self
                    .node
                    .accept_receipt(response.get_ref(), Some(item.sequence))
                    .await
                {
                    Ok(_) => {
                        self.attempts.remove(&item.sequence);
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
                        // A broker answering with a bad receipt is misbehaving: keep the
                        // message and retry, a bounded number of times.
                        error!(message = %id, cause = %e, "broker receipt refused");
                        let reason = format!("the broker's receipt was refused: {e}");
                        self.charge(item, &reason).await;
                        false
                    }
                }
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
        if self.finish(item, evidence, &reason).await {
            self.attempts.remove(&item.sequence);
        }
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
            Ok(_) => true,
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
        self.attempts.remove(&item.sequence);
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
