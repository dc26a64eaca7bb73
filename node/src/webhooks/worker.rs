//! The delivery task: POSTs every queued notification whose time has come (a few at once),
//! records a 2xx answer as delivered, and otherwise schedules the next attempt with exponential
//! backoff and jitter, until the notification has waited `give_up_after_hours`: then it is set
//! aside (counted, never retried). It wakes when something is queued, when the next retry is
//! due, and at least every minute. The queue is on disk: a restart picks up where it was.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::{debug, error, info, warn};
use trm_proto::{pb, time};

use super::client::{self, Client};
use super::sign;
use super::target::Target;
use super::{REMEMBER_DELIVERED_MS, WebhookConfig};
use crate::node::Node;
use crate::store::StoreError;

/// Notifications attempted at once.
const CONCURRENT: usize = 8;

/// How often delivered ids older than they are remembered are forgotten.
const FORGET_EVERY_MS: u64 = 3600 * 1000;

/// The longest sleep with nothing due.
const IDLE: Duration = Duration::from_secs(60);

/// The delay before attempt `attempts + 1` after `attempts` failed ones: the first retry
/// delay doubled per failure, at most the longest, half of it random (`jitter` in 0..=1).
pub fn retry_delay(config: &WebhookConfig, attempts: u32, jitter: f64) -> Duration {
    let doubled = config
        .retry_first
        .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let full = doubled.min(config.retry_max);
    full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// Runs until `shutdown` turns true.
pub async fn run(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let config = node.webhooks().config().clone();
    let ca = config
        .ca
        .as_ref()
        .map(|(path, pem)| (path.display().to_string(), pem.clone()));
    let client = client::roots(ca.as_ref().map(|(p, pem)| (p.as_str(), pem.as_str())))
        .map_err(|e| e.to_string())
        .and_then(|roots| {
            Client::new(roots, config.connect_timeout, config.answer_timeout)
                .map_err(|e| e.to_string())
        });
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            error!(cause = %e, "webhooks cannot be delivered: no TLS client");
            return;
        }
    };
    let mut forget_at = 0;
    loop {
        let now = time::now_ms();
        if now >= forget_at {
            forget_at = now.saturating_add(FORGET_EVERY_MS);
            if let Err(e) = node
                .store()
                .forget_delivered(now.saturating_sub(REMEMBER_DELIVERED_MS))
                .await
            {
                warn!(cause = %e, "cannot forget old webhook delivery ids; trying again later");
            }
        }
        let queued = match node.store().queued_notifications() {
            Ok(queued) => queued,
            Err(e) => {
                warn!(cause = %e, "cannot read the webhook queue; trying again");
                Vec::new()
            }
        };
        let mut next = now.saturating_add(IDLE.as_millis() as u64);
        let mut ready = Vec::new();
        for notification in queued {
            if notification.next_attempt_ms <= now {
                ready.push(notification);
            } else {
                next = next.min(notification.next_attempt_ms);
            }
        }
        if !ready.is_empty() {
            let attempts = futures_util::stream::iter(ready)
                .for_each_concurrent(CONCURRENT, |n| attempt(&node, &client, &config, n));
            tokio::select! {
                () = attempts => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        let sleep = Duration::from_millis(next.saturating_sub(now));
        tokio::select! {
            () = node.webhooks().wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One attempt at `notification`, and its outcome recorded.
async fn attempt(
    node: &Node,
    client: &Client,
    config: &WebhookConfig,
    mut notification: pb::StoredNotification,
) {
    let store = node.store();
    let outcome = match store.webhook(&notification.webhook_id) {
        Ok(Some(hook)) => post(client, &hook, &notification).await,
        Ok(None) => {
            // Its webhook was removed after it was queued.
            record(store.drop_notification(&notification.delivery).await);
            return;
        }
        Err(e) => Err(e.to_string()),
    };
    let now = time::now_ms();
    match outcome {
        Ok(status) => {
            debug!(delivery = %notification.delivery, status, "webhook notification delivered");
            record(
                store
                    .notification_delivered(&notification.delivery, now)
                    .await,
            );
        }
        Err(cause) => {
            notification.attempts = notification.attempts.saturating_add(1);
            notification.last_error = cause;
            let give_up_at = notification.queued_at_ms.saturating_add(
                u64::try_from(config.give_up_after.as_millis()).unwrap_or(u64::MAX),
            );
            let delay = retry_delay(config, notification.attempts, rand::random::<f64>());
            notification.next_attempt_ms =
                now.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            let set_aside = notification.next_attempt_ms > give_up_at;
            if set_aside {
                warn!(
                    delivery = %notification.delivery,
                    webhook = %notification.webhook_id,
                    attempts = notification.attempts,
                    cause = %notification.last_error,
                    "webhook notification set aside after retrying for {} h",
                    config.give_up_after.as_secs() / 3600
                );
            } else if notification.attempts == 1 {
                info!(
                    delivery = %notification.delivery,
                    cause = %notification.last_error,
                    "webhook notification not delivered; retrying with backoff"
                );
            }
            record(store.notification_failed(notification, set_aside).await);
        }
    }
}

/// Logs a store failure recording an attempt's outcome (the notification stays queued and is
/// tried again: its receiver deduplicates by `Trm-Delivery`).
fn record(result: Result<(), StoreError>) {
    if let Err(e) = result {
        warn!(cause = %e, "cannot record a webhook attempt; it will be made again");
    }
}

/// POSTs `notification` to `hook`, signed now.
async fn post(
    client: &Client,
    hook: &pb::StoredWebhook,
    notification: &pb::StoredNotification,
) -> Result<u16, String> {
    let url = hook
        .webhook
        .as_ref()
        .map(|w| w.url.as_str())
        .unwrap_or_default();
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let signature = sign::header(&hook.secret, time::now_ms() / 1000, &notification.body);
    let headers = [
        ("trm-event", notification.event.clone()),
        ("trm-delivery", notification.delivery.clone()),
        ("trm-signature", signature),
    ];
    client
        .post(&target, &headers, notification.body.clone())
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_longest() {
        let config = WebhookConfig {
            retry_first: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            ..WebhookConfig::default()
        };
        let secs = |attempts, jitter| retry_delay(&config, attempts, jitter).as_secs();
        assert_eq!((secs(1, 0.0), secs(1, 1.0)), (5, 10));
        assert_eq!((secs(2, 0.0), secs(2, 1.0)), (10, 20));
        assert_eq!((secs(3, 0.0), secs(3, 1.0)), (20, 40));
        assert_eq!((secs(20, 0.0), secs(20, 1.0)), (1800, 3600));
        assert_eq!(secs(u32::MAX, 1.0), 3600);
    }
}
