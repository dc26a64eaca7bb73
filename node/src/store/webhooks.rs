//! The webhooks' durable state, in five sled trees of the node's database: the registered
//! webhooks, the queue of notifications to deliver, the ones set aside after the retry limit,
//! the delivery ids already delivered (so a cause seen twice, as a redelivered message, is not
//! notified twice) and the node's key for case pseudonyms.
//!
//! Every write here returns once it is on disk (the store's group commit). Queueing is
//! idempotent: a delivery id already queued, set aside or delivered is not queued again, checked
//! and written in one transaction.

use prost::Message;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use trm_proto::pb;

use super::{NodeStore, StoreError, corrupt};

/// Registered webhooks: key the webhook id, value a `StoredWebhook`.
pub const WEBHOOKS_TREE: &str = "webhooks";
/// Notifications to deliver: key the delivery id, value a `StoredNotification`.
pub const QUEUE_TREE: &str = "webhook_queue";
/// Notifications given up on: key the delivery id, value a `StoredNotification`.
pub const SET_ASIDE_TREE: &str = "webhook_set_aside";
/// Notifications delivered: key the delivery id, value when (Unix ms, `u64` big-endian).
pub const DELIVERED_TREE: &str = "webhook_delivered";
/// The node's own keys for webhooks: `case-pseudonym` → 32 random bytes.
pub const KEYS_TREE: &str = "webhook_keys";

const PSEUDONYM_KEY: &[u8] = b"case-pseudonym";

/// The webhook trees of the store in use.
struct Trees {
    hooks: sled::Tree,
    queue: sled::Tree,
    set_aside: sled::Tree,
    delivered: sled::Tree,
    keys: sled::Tree,
}

fn decode_hook(bytes: &[u8]) -> Result<pb::StoredWebhook, StoreError> {
    pb::StoredWebhook::decode(bytes).map_err(|e| corrupt(WEBHOOKS_TREE, e))
}

fn decode_notification(
    tree: &'static str,
    bytes: &[u8],
) -> Result<pb::StoredNotification, StoreError> {
    pb::StoredNotification::decode(bytes).map_err(|e| corrupt(tree, e))
}

fn transaction_error(e: TransactionError<StoreError>) -> StoreError {
    match e {
        TransactionError::Abort(e) => e,
        TransactionError::Storage(e) => StoreError::Engine(e),
    }
}

impl NodeStore {
    /// The webhook trees of the engine in use (it is replaced after a storage fault).
    fn webhook_trees(&self) -> Result<Trees, StoreError> {
        let engine = self.engine()?;
        let db = &engine.db;
        Ok(Trees {
            hooks: db.open_tree(WEBHOOKS_TREE)?,
            queue: db.open_tree(QUEUE_TREE)?,
            set_aside: db.open_tree(SET_ASIDE_TREE)?,
            delivered: db.open_tree(DELIVERED_TREE)?,
            keys: db.open_tree(KEYS_TREE)?,
        })
    }

    /// Writes done outside the writer thread: refused while the store is faulted, and on
    /// disk when this returns.
    async fn webhook_write<R>(
        &self,
        write: impl FnOnce(&Trees) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        self.engine.health.check()?;
        let result = write(&self.webhook_trees()?).map_err(|e| self.engine.observe(e))?;
        self.durable().await?;
        Ok(result)
    }

    /// Every registered webhook, by id.
    pub fn webhooks(&self) -> Result<Vec<pb::StoredWebhook>, StoreError> {
        self.webhook_trees()?
            .hooks
            .iter()
            .map(|item| decode_hook(&item?.1))
            .collect()
    }

    /// The webhook with id `id`, if registered.
    pub fn webhook(&self, id: &str) -> Result<Option<pb::StoredWebhook>, StoreError> {
        self.webhook_trees()?
            .hooks
            .get(id.as_bytes())?
            .map(|bytes| decode_hook(&bytes))
            .transpose()
    }

    /// Stores a new webhook (its id is new: random).
    pub async fn add_webhook(&self, hook: pb::StoredWebhook) -> Result<(), StoreError> {
        let id = hook
            .webhook
            .as_ref()
            .map(|w| w.id.clone())
            .unwrap_or_default();
        self.webhook_write(|t| {
            t.hooks.insert(id.as_bytes(), hook.encode_to_vec())?;
            Ok(())
        })
        .await
    }

    /// Removes webhook `id` and its queued and set-aside notifications, in one transaction.
    /// Returns how many queued notifications were dropped, or `None` if no webhook has that id.
    pub async fn remove_webhook(&self, id: &str) -> Result<Option<u64>, StoreError> {
        self.webhook_write(|t| {
            // Read outside: the queue is small, and a notification queued meanwhile for a
            // removed webhook is dropped by the worker.
            let mut doomed = Vec::new();
            for tree in [&t.queue, &t.set_aside] {
                for item in tree.iter() {
                    let (key, value) = item?;
                    let n = decode_notification(QUEUE_TREE, &value)?;
                    if n.webhook_id == id {
                        doomed.push(key);
                    }
                }
            }
            (&t.hooks, &t.queue, &t.set_aside)
                .transaction(|(hooks, queue, set_aside)| {
                    if hooks.remove(id.as_bytes())?.is_none() {
                        return Ok(None);
                    }
                    let mut dropped = 0u64;
                    for key in &doomed {
                        if queue.remove(key)?.is_some() {
                            dropped += 1;
                        }
                        set_aside.remove(key)?;
                    }
                    Ok(Some(dropped))
                })
                .map_err(transaction_error)
        })
        .await
    }

    /// Queues `notifications` unless their delivery id was queued, set aside or delivered
    /// before; returns how many were queued now. On disk when this returns.
    pub async fn queue_notifications(
        &self,
        notifications: Vec<pb::StoredNotification>,
    ) -> Result<usize, StoreError> {
        if notifications.is_empty() {
            return Ok(0);
        }
        self.webhook_write(|t| {
            (&t.queue, &t.set_aside, &t.delivered)
                .transaction(|(queue, set_aside, delivered)| {
                    let mut queued = 0;
                    for n in &notifications {
                        let key = n.delivery.as_bytes();
                        if queue.get(key)?.is_some()
                            || set_aside.get(key)?.is_some()
                            || delivered.get(key)?.is_some()
                        {
                            continue;
                        }
                        queue.insert(key, n.encode_to_vec())?;
                        queued += 1;
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(queued)
                })
                .map_err(transaction_error)
        })
        .await
    }

    /// Every queued notification.
    pub fn queued_notifications(&self) -> Result<Vec<pb::StoredNotification>, StoreError> {
        self.webhook_trees()?
            .queue
            .iter()
            .map(|item| decode_notification(QUEUE_TREE, &item?.1))
            .collect()
    }

    /// How many notifications are queued and how many set aside.
    pub fn notification_counts(&self) -> Result<(u64, u64), StoreError> {
        let t = self.webhook_trees()?;
        Ok((t.queue.len() as u64, t.set_aside.len() as u64))
    }

    /// Records that `delivery` was delivered at `at_ms`: out of the queue, into the delivered
    /// ids, in one transaction.
    pub async fn notification_delivered(
        &self,
        delivery: &str,
        at_ms: u64,
    ) -> Result<(), StoreError> {
        self.webhook_write(|t| {
            (&t.queue, &t.delivered)
                .transaction(|(queue, delivered)| {
                    queue.remove(delivery.as_bytes())?;
                    delivered.insert(delivery.as_bytes(), at_ms.to_be_bytes().to_vec())?;
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                })
                .map_err(transaction_error)
        })
        .await
    }

    /// Forgets the ids of notifications delivered before `before_ms`; returns how many.
    pub async fn forget_delivered(&self, before_ms: u64) -> Result<usize, StoreError> {
        self.webhook_write(|t| {
            let mut forgotten = 0;
            for item in t.delivered.iter() {
                let (key, value) = item?;
                let at = <[u8; 8]>::try_from(value.as_ref())
                    .map(u64::from_be_bytes)
                    .map_err(|_| corrupt(DELIVERED_TREE, "a time is not 8 bytes"))?;
                if at < before_ms {
                    t.delivered.remove(key)?;
                    forgotten += 1;
                }
            }
            Ok(forgotten)
        })
        .await
    }

    /// Records a failed attempt: the notification stays queued as `retry`, or, when
    /// `set_aside`, moves to the set-aside tree.
    pub async fn notification_failed(
        &self,
        retry: pb::StoredNotification,
        set_aside: bool,
    ) -> Result<(), StoreError> {
        self.webhook_write(|t| {
            let key = retry.delivery.as_bytes();
            (&t.queue, &t.set_aside)
                .transaction(|(queue, aside)| {
                    // Removed meanwhile (its webhook was): nothing to keep.
                    if queue.get(key)?.is_none() {
                        return Ok(());
                    }
                    if set_aside {
                        queue.remove(key)?;
                        aside.insert(key, retry.encode_to_vec())?;
                    } else {
                        queue.insert(key, retry.encode_to_vec())?;
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                })
                .map_err(transaction_error)
        })
        .await
    }

    /// Drops a queued notification (its webhook is gone).
    pub async fn drop_notification(&self, delivery: &str) -> Result<(), StoreError> {
        self.webhook_write(|t| {
            t.queue.remove(delivery.as_bytes())?;
            Ok(())
        })
        .await
    }

    /// The node's key for case pseudonyms, made (32 random bytes) and stored the first time.
    pub async fn case_pseudonym_key(&self) -> Result<[u8; 32], StoreError> {
        let read = |bytes: &[u8]| {
            <[u8; 32]>::try_from(bytes).map_err(|_| corrupt(KEYS_TREE, "a key is not 32 bytes"))
        };
        if let Some(bytes) = self.webhook_trees()?.keys.get(PSEUDONYM_KEY)? {
            return read(&bytes);
        }
        let fresh: [u8; 32] = rand::random();
        self.webhook_write(|t| {
            // Another caller may have made it first: keep theirs.
            match t.keys.compare_and_swap(
                PSEUDONYM_KEY,
                None as Option<&[u8]>,
                Some(fresh.as_slice()),
            )? {
                Ok(()) => Ok(fresh),
                Err(current) => read(current.current.as_deref().unwrap_or_default()),
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification(delivery: &str, hook: &str) -> pb::StoredNotification {
        pb::StoredNotification {
            delivery: delivery.into(),
            webhook_id: hook.into(),
            event: "message.arrived".into(),
            body: b"{}".to_vec(),
            ..Default::default()
        }
    }

    fn hook(id: &str) -> pb::StoredWebhook {
        pb::StoredWebhook {
            webhook: Some(pb::Webhook {
                id: id.into(),
                url: "http://127.0.0.1:1/".into(),
                active: true,
                ..Default::default()
            }),
            secret: "s".into(),
        }
    }

    #[tokio::test]
    async fn a_cause_seen_twice_is_queued_once_even_after_delivery_and_a_reopen()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let store = NodeStore::open(dir.path())?;
            store.add_webhook(hook("h1")).await?;
            let n = notification("d1", "h1");
            assert_eq!(store.queue_notifications(vec![n.clone()]).await?, 1);
            assert_eq!(store.queue_notifications(vec![n.clone()]).await?, 0);
            store.notification_delivered("d1", 10).await?;
            assert_eq!(store.forget_delivered(5).await?, 0);
            assert_eq!(store.queue_notifications(vec![n]).await?, 0);
            assert_eq!(
                store
                    .queue_notifications(vec![notification("d2", "h1")])
                    .await?,
                1
            );
        }
        let store = NodeStore::open(dir.path())?;
        let queued = store.queued_notifications()?;
        assert_eq!(
            queued
                .iter()
                .map(|n| n.delivery.as_str())
                .collect::<Vec<_>>(),
            ["d2"]
        );
        assert_eq!(store.remove_webhook("h1").await?, Some(1));
        assert_eq!(store.remove_webhook("h1").await?, None);
        assert_eq!(store.notification_counts()?, (0, 0));
        Ok(())
    }

    #[tokio::test]
    async fn a_failure_past_the_limit_is_set_aside_and_the_pseudonym_key_stays()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = NodeStore::open(dir.path())?;
        store
            .queue_notifications(vec![notification("d1", "h1")])
            .await?;
        let mut retry = notification("d1", "h1");
        retry.attempts = 1;
        store.notification_failed(retry.clone(), false).await?;
        assert_eq!(store.queued_notifications()?, vec![retry.clone()]);
        store.notification_failed(retry, true).await?;
        assert_eq!(store.notification_counts()?, (0, 1));
        let key = store.case_pseudonym_key().await?;
        assert_eq!(store.case_pseudonym_key().await?, key);
        Ok(())
    }
}
