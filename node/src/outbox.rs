//! The outbox task: submits queued messages to the home broker, oldest first, and records the
//! broker's signed ACCEPTED receipt. While the broker is unreachable it retries with backoff;
//! a refusal (forged, oversized, unknown recipient, ...) ends the attempt and is logged. An
//! envelope whose delivery window ended before any broker took it is not tried again: it leaves
//! the outbox, recorded as expired and not delivered.

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

use crate::node::Node;

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

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, channel: Channel, mut shutdown: watch::Receiver<bool>) {
    let mut client = BrokerClient::new(channel).max_decoding_message_size(1024 * 1024);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    while !*shutdown.borrow() {
        let next = match node.store().next_outgoing() {
            Ok(next) => next,
            Err(e) => {
                error!(cause = %e, "cannot read outbox");
                None
            }
        };
        let Some(item) = next else {
            tokio::select! {
                () = node.outbox_wake().notified() => {}
                _ = shutdown.changed() => {}
            }
            continue;
        };
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
                attested_by: node.address().to_string(),
                detail: format!("expired, not delivered: {reason}"),
                receipt: None,
            };
            let recorded = node
                .store()
                .record_outcome(
                    Some(item.sequence),
                    &item.key,
                    evidence,
                    pb::LogEvent::SubmitFailed,
                    None,
                    &reason,
                )
                .await;
            if let Err(e) = recorded {
                error!(message = %id, cause = %e, "cannot record expiry");
                pause(&node, &mut backoff, &mut shutdown).await;
            }
            continue;
        }
        let submitted = client.submit(item.envelope.clone());
        match crate::connect::within(crate::connect::CALL_TIMEOUT, submitted).await {
            Ok(response) => {
                backoff.reset();
                if let Err(e) = node
                    .accept_receipt(response.get_ref(), Some(item.sequence))
                    .await
                {
                    // A broker answering with a bad receipt is misbehaving: keep the message and retry.
                    error!(message = %id, cause = %e, "broker receipt refused");
                    pause(&node, &mut backoff, &mut shutdown).await;
                }
            }
            Err(status) if is_transient(status.code()) => {
                debug!(message = %id, cause = %status, "broker unreachable, will retry");
                pause(&node, &mut backoff, &mut shutdown).await;
            }
            Err(status) => {
                warn!(message = %id, cause = %status, "broker refused message");
                let evidence = pb::Evidence {
                    step: "submit_failed".into(),
                    at_ms: trm_proto::time::now_ms(),
                    attested_by: node.address().broker().to_string(),
                    detail: format!("{:?}: {}", status.code(), status.message()),
                    receipt: None,
                };
                let recorded = node
                    .store()
                    .record_outcome(
                        Some(item.sequence),
                        &item.key,
                        evidence,
                        pb::LogEvent::SubmitFailed,
                        None,
                        status.message(),
                    )
                    .await;
                if let Err(e) = recorded {
                    error!(message = %id, cause = %e, "cannot record refusal");
                    pause(&node, &mut backoff, &mut shutdown).await;
                }
            }
        }
    }
}

/// When `envelope`'s delivery window ended at or before `now_ms`, its end.
fn expired(envelope: &pb::Envelope, now_ms: u64) -> Option<u64> {
    let header = pb::EnvelopeHeader::decode(envelope.header.as_slice()).ok()?;
    (header.expires_at_ms <= now_ms).then_some(header.expires_at_ms)
}

/// Waits before the next attempt; cut short when the delivery stream reconnects (the broker
/// is back) or a new message is queued.
async fn pause(node: &Node, backoff: &mut Backoff, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(backoff.next_delay()) => {}
        () = node.outbox_wake().notified() => {}
        _ = shutdown.changed() => {}
    }
}
