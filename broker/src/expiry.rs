//! The expiry sweep: envelopes past their `expires_at_ms` leave the delivery queues and the
//! outboxes (and the outboxes' set-aside table), and each sender gets this broker's signed EXPIRED receipt (through its queue
//! here, or through the outbox for its home broker), removed and routed in one atomic write.
//! Hourly, the sweep also forgets old message ids and removes relay-log records older than
//! `relay_log_retention_days` (90 by default).

use std::sync::Arc;
use std::time::Duration;

use tracing::{error, info};
use trm_proto::envelope::{self, Header};
use trm_proto::{pb, time};

use crate::admit;
use crate::record::{self, About, Event};
use crate::state::BrokerState;
use crate::store::{Destination, FORGET_AFTER_MS, Lapsed, RelayAnswer, Route, StoreError, Waiting};

/// How many lapsed envelopes one pass removes; the next pass follows at once when it was full.
const PASS: usize = 256;

/// How often the duplicate table is scanned for ids old enough to forget: hourly, since an id
/// kept an hour longer than needed costs nothing but its bytes.
const FORGET_EVERY_MS: u64 = 3_600_000;

/// Sweeps every `quotas.expiry_sweep_secs` until the broker shuts down, and forgets old
/// message ids every [`FORGET_EVERY_MS`].
pub async fn run(state: Arc<BrokerState>) {
    let mut shutdown = state.shutdown_signal();
    let interval = Duration::from_secs(state.quotas.settings().expiry_sweep_secs);
    let mut forgotten_at = 0;
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.wait_for(|stopped| *stopped) => return,
        }
        let now = time::now_ms();
        if now.saturating_sub(forgotten_at) >= FORGET_EVERY_MS {
            forget(&state, now).await;
            forgotten_at = now;
        }
        loop {
            match sweep(&state, time::now_ms()).await {
                Ok(removed) if removed >= PASS => continue,
                Ok(_) => break,
                Err(e) => {
                    error!(cause = %e, "expiry sweep failed; retrying at the next one");
                    break;
                }
            }
        }
    }
}

/// Forgets the message ids accepted more than [`FORGET_AFTER_MS`] before `now_ms` (see there
/// why a replay cannot get past a forgotten id), and the relay-log records older than the
/// retention period.
async fn forget(state: &BrokerState, now_ms: u64) {
    forget_relay_records(state, now_ms).await;
    match state
        .store
        .forget_duplicates(now_ms.saturating_sub(FORGET_AFTER_MS))
        .await
    {
        Ok(0) => {}
        Ok(forgotten) => info!(
            forgotten,
            "forgot message ids older than the longest envelope lifetime"
        ),
        Err(e) => {
            error!(cause = %e, "forgetting old message ids failed; retrying at the next sweep")
        }
    }
}

/// Removes the relay-log records older than `relay_log_retention` at `now_ms`.
pub async fn forget_relay_records(state: &BrokerState, now_ms: u64) {
    let retention = u64::try_from(state.relay_log_retention.as_millis()).unwrap_or(u64::MAX);
    match state
        .store
        .forget_relay_records(now_ms.saturating_sub(retention))
        .await
    {
        Ok(0) => {}
        Ok(forgotten) => info!(forgotten, "removed relay-log records past their retention"),
        Err(e) => {
            error!(cause = %e, "removing old relay-log records failed; retrying at the next sweep")
        }
    }
}

/// Removes up to [`PASS`] envelopes that expired at or before `now_ms`, telling each sender;
/// returns how many it found.
pub async fn sweep(state: &BrokerState, now_ms: u64) -> Result<usize, StoreError> {
    let lapsed = state.store.lapsed(now_ms, PASS).await?;
    let found = lapsed.len();
    for item in lapsed {
        expire(state, item, now_ms).await?;
    }
    Ok(found)
}

async fn expire(state: &BrokerState, item: Lapsed, now_ms: u64) -> Result<(), StoreError> {
    let Lapsed {
        place,
        sequence,
        envelope: raw,
    } = item;
    let header = Header::decode(&raw.header).map_err(|e| StoreError::Corrupt {
        tree: "queue",
        message: e.to_string(),
    })?;
    let digest = envelope::digest(&raw.header);
    // A code only: the signer (this broker) and the envelope's expiry say where and when.
    let receipt = admit::broker_receipt(
        state,
        pb::ReceiptKind::Expired,
        &header,
        &digest,
        pb::RejectReason::Unspecified,
        now_ms,
    );
    let record = record::record(
        Event::Expired,
        About::Envelope(&header, &digest),
        None,
        now_ms,
    );
    let sender_home = header.from.broker();
    match place {
        Waiting::Queue(recipient) => {
            let destination = if sender_home == state.name {
                Destination::Local(header.from.clone())
            } else {
                Destination::Peer(sender_home.clone())
            };
            let routed = state
                .store
                .complete(
                    recipient,
                    sequence,
                    Some(Route {
                        destination,
                        receipt,
                        record,
                    }),
                )
                .await?;
            if routed.is_some() {
                wake_sender(state, &header);
            }
        }
        Waiting::Outbox(peer) => {
            state
                .store
                .relayed(
                    peer,
                    RelayAnswer {
                        sequences: vec![sequence],
                        receipts: vec![(header.from.clone(), receipt)],
                        records: vec![record],
                    },
                )
                .await?;
            wake_sender(state, &header);
        }
    }
    info!(id = %header.message_id, from = %header.from, to = %header.to, "expired envelope removed; sender told");
    Ok(())
}

fn wake_sender(state: &BrokerState, header: &Header) {
    let home = header.from.broker();
    if home == state.name {
        state.wake(&header.from);
    } else {
        state.wake_relay(&home);
    }
}
