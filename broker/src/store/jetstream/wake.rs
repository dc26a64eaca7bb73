//! Wake-ups between the broker processes on one stream, over core NATS (not stored): a
//! process that queued something announces it on `trm.<prefix>.<broker>.w.q.<node>` or
//! `….w.o.<peer>` once the write was acknowledged, and every other process, subscribed to
//! `….w.>`, wakes the delivery stream or relay task it has for it. The connection is opened
//! with `no_echo`, so a process does not hear its own announcements.
//!
//! A wake-up is a hint: one lost (a dropped connection, a full buffer) costs at most the
//! broker's periodic rescan ([`RESCAN_EVERY`]), never an item.

use std::time::Duration;

use tokio::sync::mpsc;
use tracing::debug;

use super::JetStreamStore;
use super::layout::Layout;
use crate::store::{StoreError, WakeUp, WakeUps};

/// How often a broker on this store looks at every delivery queue and outbox again without a
/// wake-up.
pub const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// Wake-ups waiting to be published or handed to the broker, at most; more are dropped (the
/// rescan catches them).
const BUFFER: usize = 1024;

/// Starts the task that publishes announced wake-ups; the sender it returns feeds it. The task
/// ends when the store (every clone of it) is dropped.
pub(super) fn start_publisher(client: async_nats::Client, layout: Layout) -> mpsc::Sender<WakeUp> {
    let (sender, mut announced) = mpsc::channel::<WakeUp>(BUFFER);
    tokio::spawn(async move {
        while let Some(wake_up) = announced.recv().await {
            let subject = layout.wake_up(&wake_up);
            if let Err(e) = client.publish(subject, bytes::Bytes::new()).await {
                debug!(cause = %e, "wake-up not published");
            }
        }
    });
    sender
}

impl JetStreamStore {
    /// See [`crate::store::BrokerStore::announce`].
    pub(super) fn announce_now(&self, wake_up: WakeUp) {
        if self.announce.try_send(wake_up).is_err() {
            debug!("wake-up buffer full; the rescan will find it");
        }
    }

    /// See [`crate::store::BrokerStore::wake_ups`].
    pub(super) async fn wake_ups_now(&self) -> Result<WakeUps, StoreError> {
        use futures_util::StreamExt;
        let mut subscription = self
            .client
            .subscribe(self.layout.wake_ups())
            .await
            .map_err(super::engine)?;
        // The server has the interest once the flush returns (the cluster's other servers a
        // moment later).
        self.client.flush().await.map_err(super::engine)?;
        let layout = self.layout.clone();
        let (sender, receiver) = mpsc::channel(BUFFER);
        tokio::spawn(async move {
            while let Some(message) = subscription.next().await {
                let Some(wake_up) = layout.parse_wake_up(message.subject.as_str()) else {
                    debug!(subject = %message.subject, "not a wake-up subject; ignored");
                    continue;
                };
                match sender.try_send(wake_up) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        debug!("wake-up dropped: the broker is behind; the rescan will find it");
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
        });
        Ok(receiver)
    }
}
