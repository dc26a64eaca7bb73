//! Set-aside outbox items on JetStream: each one moves out of the live outbox with one atomic
//! batch of its create-only departure marker (`od.<peer>.<seq>`) and its create-only set-aside
//! record (`a.<peer>.<seq>`), then the outbox message is deleted.
//!
//! A record's payload: attempts (u32 BE) ‖ set aside at, ms (u64 BE) ‖ reason length (u32 BE)
//! ‖ reason (UTF-8) ‖ the item's stored bytes.

use trm_proto::addr::BrokerName;

use super::batch::Outbound;
use super::layout::Layout;
use super::{ATTEMPTS, JetStreamStore, MARKER_TTL, WriteError, back_off, corrupt};
use crate::store::{SetAside, StoreError};

/// A set-aside record's payload.
pub(super) fn encode(attempts: u32, at_ms: u64, reason: &str, item: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + reason.len() + item.len());
    out.extend_from_slice(&attempts.to_be_bytes());
    out.extend_from_slice(&at_ms.to_be_bytes());
    let reason_len = u32::try_from(reason.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&reason_len.to_be_bytes());
    out.extend_from_slice(
        reason
            .as_bytes()
            .get(..reason_len as usize)
            .unwrap_or_default(),
    );
    out.extend_from_slice(item);
    out
}

/// The parts of a set-aside record's payload: attempts, at, reason, item.
pub(super) fn decode(value: &[u8]) -> Result<(u32, u64, String, Vec<u8>), StoreError> {
    let bad = || corrupt("set_aside", "record shorter than its framing");
    let attempts = value
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(bad)?;
    let at_ms = value
        .get(4..12)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(bad)?;
    let reason_len = value
        .get(12..16)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(bad)? as usize;
    let end = 16usize.checked_add(reason_len).ok_or_else(bad)?;
    let reason = value.get(16..end).ok_or_else(bad)?;
    let reason = String::from_utf8_lossy(reason).into_owned();
    let item = value.get(end..).ok_or_else(bad)?.to_vec();
    Ok((attempts, at_ms, reason, item))
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::set_aside`].
    pub(super) async fn set_aside_now(&self, items: Vec<SetAside>) -> Result<usize, StoreError> {
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let mut messages = Vec::new();
            let mut moved = Vec::new();
            for item in &items {
                let Some(message) = self
                    .message_at(item.sequence, &self.layout.outbox(&item.peer))
                    .await?
                else {
                    continue;
                };
                if self
                    .last(&self.layout.outbox_done(&item.peer, item.sequence))
                    .await?
                    .is_some()
                {
                    // It left the outbox already; only its deletion was still to come.
                    self.delete(item.sequence).await?;
                    continue;
                }
                messages.push(
                    Outbound::create_only(
                        self.layout.outbox_done(&item.peer, item.sequence),
                        Vec::new(),
                    )
                    .expiring(MARKER_TTL),
                );
                messages.push(Outbound::create_only(
                    self.layout.aside(&item.peer, item.sequence),
                    encode(item.attempts, item.at_ms, &item.reason, &message.payload),
                ));
                moved.push(item.sequence);
            }
            if messages.is_empty() {
                return Ok(0);
            }
            match self.write(messages).await {
                Ok(_) => {
                    for sequence in &moved {
                        self.delete(*sequence).await?;
                    }
                    return Ok(moved.len());
                }
                Err(WriteError::Taken) => continue,
                Err(WriteError::Store(e)) => return Err(e),
            }
        }
        Err(corrupt(
            "set_aside",
            "the items kept being moved by another writer",
        ))
    }

    /// See [`crate::store::BrokerStore::set_aside_items`].
    pub(super) async fn set_aside_items_now(
        &self,
        peer: Option<&BrokerName>,
    ) -> Result<Vec<SetAside>, StoreError> {
        let mut items = Vec::new();
        let layout = self.layout.clone();
        self.scan(&self.layout.asides(peer), |message| {
            let subject = message.subject.as_str();
            let (Some(peer), Some(sequence)) =
                (layout.token("a", subject), Layout::last_sequence(subject))
            else {
                return Err(corrupt("set_aside", format!("subject {subject}")));
            };
            let peer: BrokerName = peer
                .parse()
                .map_err(|e| corrupt("set_aside", format!("subject {subject}: {e}")))?;
            let (attempts, at_ms, reason, item) = decode(&message.payload)?;
            items.push(SetAside {
                peer,
                sequence,
                attempts,
                reason,
                at_ms,
                item,
            });
            Ok(true)
        })
        .await?;
        items.sort_by(|a, b| (a.peer.as_str(), a.sequence).cmp(&(b.peer.as_str(), b.sequence)));
        Ok(items)
    }
}
