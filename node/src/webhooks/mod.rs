//! Webhooks: the organisation's systems are told, by a signed HTTPS POST, when a message
//! arrives, a referral is answered (accepted, declined, needs information), an open item
//! becomes overdue or the federation directory is about to expire. A notification carries ids
//! and kinds only, never content and never a case reference ([`event`]).
//!
//! # Durability
//! A notification is queued in the node's store ([`crate::store`], its `webhook_*` trees) and
//! on disk before its cause is acknowledged, and each has a delivery id derived from its cause,
//! so queueing the same cause again queues nothing:
//! - a message that arrived is queued after it is stored and before the broker is told (the
//!   delivery acknowledgement): a crash in between leaves the delivery unacknowledged, the
//!   broker delivers it again, and the same notification is queued then;
//! - an overdue item is queued before the sweep records it as overdue: a crash in between
//!   finds it still unrecorded on the next sweep;
//! - an expiring directory is queued on every refresh while it expires soon.
//!
//! # Delivery
//! [`worker`] POSTs each queued notification ([`client`]: `Trm-Event`, `Trm-Delivery` and
//! `Trm-Signature` ([`sign`]) headers), retries failures with exponential backoff and jitter,
//! and sets a notification aside once it was retried for `give_up_after_hours`. A 2xx answer
//! is success; redirects are not followed.
//!
//! # Management
//! [`Webhooks`] is the plain API (add, list, remove, test) that the admin socket's
//! `NodeWebhooks` service ([`service`]) calls, and that an HTTP handler can call the same way.

pub mod causes;
pub mod client;
pub mod event;
pub mod service;
pub mod settings;
pub mod sign;
pub mod target;
pub mod worker;

use tokio::sync::Notify;
use trm_proto::{pb, time};

use crate::store::{NodeStore, StoreError};
pub use event::{Event, Facts};
pub use settings::{WebhookConfig, WebhookSettings};
pub use target::{Target, TargetError};

/// The most webhooks one node keeps.
pub const MAX_WEBHOOKS: usize = 32;

/// How long a delivered notification's id is remembered, so its cause seen again (a message
/// redelivered within its lifetime) is not notified twice.
const REMEMBER_DELIVERED_MS: u64 = 31 * 24 * 3600 * 1000;

/// Why a webhook request was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL was refused.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An event name is not known.
    #[error("unknown event {0:?}; the events are: {known}", known = known_events())]
    UnknownEvent(String),
    /// No webhook has that id.
    #[error("no webhook with id {0:?} (trm webhooks list shows them)")]
    NotFound(String),
    /// As many webhooks as allowed are registered.
    #[error(
        "{MAX_WEBHOOKS} webhooks are registered already, the most a node keeps; remove one first"
    )]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WebhookError> for tonic::Status {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Target(_) | WebhookError::UnknownEvent(_) => {
                tonic::Status::invalid_argument(e.to_string())
            }
            WebhookError::NotFound(_) => tonic::Status::not_found(e.to_string()),
            WebhookError::TooMany => tonic::Status::failed_precondition(e.to_string()),
            WebhookError::Store(e) => crate::error::NodeError::Store(e).into(),
        }
    }
}

fn known_events() -> String {
    event::ALL
        .iter()
        .filter(|e| **e != Event::Test)
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A webhook just added, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct Added {
    /// The webhook.
    pub webhook: pb::Webhook,
    /// Its signing secret.
    pub secret: String,
}

/// The organisation's webhooks: registration and queueing. One per node.
pub struct Webhooks {
    store: NodeStore,
    /// This node's address, in every body.
    node: String,
    config: WebhookConfig,
    /// Wakes the worker when something is queued.
    wake: Notify,
}

impl Webhooks {
    /// The webhooks of the node `node` (its address) kept in `store`.
    pub fn new(store: NodeStore, node: String, config: WebhookConfig) -> Self {
        Self {
            store,
            node,
            config,
            wake: Notify::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// Registers a webhook to `url` for `events` (names; empty: all), active unless `inactive`.
    /// Nothing is stored unless everything is valid.
    pub async fn add(
        &self,
        url: &str,
        events: &[String],
        inactive: bool,
    ) -> Result<Added, WebhookError> {
        Target::parse(url)?;
        let mut names = Vec::new();
        for name in events {
            let event = Event::from_name(name.trim())
                .filter(|e| *e != Event::Test)
                .ok_or_else(|| WebhookError::UnknownEvent(name.clone()))?;
            if !names.contains(&event.name().to_owned()) {
                names.push(event.name().to_owned());
            }
        }
        if self.store.webhooks()?.len() >= MAX_WEBHOOKS {
            return Err(WebhookError::TooMany);
        }
        let webhook = pb::Webhook {
            id: format!("wh-{}", hex::encode(rand::random::<[u8; 8]>())),
            url: url.to_owned(),
            events: names,
            active: !inactive,
            created_at_ms: time::now_ms(),
        };
        let secret = format!("trmwh_{}", hex::encode(rand::random::<[u8; 32]>()));
        self.store
            .add_webhook(pb::StoredWebhook {
                webhook: Some(webhook.clone()),
                secret: secret.clone(),
            })
            .await?;
        Ok(Added { webhook, secret })
    }

    /// Every webhook (no secrets).
    pub fn list(&self) -> Result<Vec<pb::Webhook>, WebhookError> {
        Ok(self
            .store
            .webhooks()?
            .into_iter()
            .filter_map(|h| h.webhook)
            .collect())
    }

    /// How many notifications are queued and how many were set aside.
    pub fn counts(&self) -> Result<(u64, u64), WebhookError> {
        Ok(self.store.notification_counts()?)
    }

    /// Removes webhook `id` with its queued notifications; returns how many were dropped.
    pub async fn remove(&self, id: &str) -> Result<u64, WebhookError> {
        self.store
            .remove_webhook(id)
            .await?
            .ok_or_else(|| WebhookError::NotFound(id.to_owned()))
    }

    /// Queues a `webhook.test` notification to webhook `id` (active or not); returns its
    /// delivery id.
    pub async fn test(&self, id: &str) -> Result<String, WebhookError> {
        let hook = self
            .store
            .webhook(id)?
            .and_then(|h| h.webhook)
            .ok_or_else(|| WebhookError::NotFound(id.to_owned()))?;
        let subject: [u8; 16] = rand::random();
        let notification = self.notification(
            &hook,
            Event::Test,
            &subject,
            &Facts::default(),
            time::now_ms(),
        );
        let delivery = notification.delivery.clone();
        self.store.queue_notifications(vec![notification]).await?;
        self.wake.notify_one();
        Ok(delivery)
    }

    /// The notification of `event` about `subject` (what makes its delivery id) for `hook`.
    fn notification(
        &self,
        hook: &pb::Webhook,
        event: Event,
        subject: &[u8],
        facts: &Facts,
        at_ms: u64,
    ) -> pb::StoredNotification {
        let delivery = event::delivery_id(&hook.id, event, subject);
        let body = event::Body {
            event: event.name(),
            delivery: &delivery,
            webhook: &hook.id,
            node: &self.node,
            at: time::format_ms(at_ms),
            facts,
        };
        pb::StoredNotification {
            body: serde_json::to_vec(&body).unwrap_or_default(),
            delivery,
            webhook_id: hook.id.clone(),
            event: event.name().to_owned(),
            attempts: 0,
            queued_at_ms: time::now_ms(),
            next_attempt_ms: 0,
            last_error: String::new(),
        }
    }

    /// Queues `event` about `subject` for every active webhook that subscribed to it; on disk
    /// when this returns. Returns how many were queued now (none for a cause seen before).
    pub async fn notify(
        &self,
        event: Event,
        subject: &[u8],
        facts: &Facts,
        at_ms: u64,
    ) -> Result<usize, StoreError> {
        let notifications: Vec<_> = self
            .subscribers(event)?
            .iter()
            .map(|hook| self.notification(hook, event, subject, facts, at_ms))
            .collect();
        let queued = self.store.queue_notifications(notifications).await?;
        if queued > 0 {
            self.wake.notify_one();
        }
        Ok(queued)
    }

    /// The active webhooks subscribed to `event`.
    pub fn subscribers(&self, event: Event) -> Result<Vec<pb::Webhook>, StoreError> {
        Ok(self
            .store
            .webhooks()?
            .into_iter()
            .filter_map(|h| h.webhook)
            .filter(|h| {
                h.active && (h.events.is_empty() || h.events.iter().any(|e| e == event.name()))
            })
            .collect())
    }

    /// The pseudonym of the case with `counterparty` and reference `case_ref`.
    pub async fn case_pseudonym(
        &self,
        counterparty: &str,
        case_ref: &str,
    ) -> Result<Option<String>, StoreError> {
        if case_ref.is_empty() {
            return Ok(None);
        }
        let key = self.store.case_pseudonym_key().await?;
        Ok(Some(event::case_pseudonym(
            &key,
            &crate::cases::case_key(counterparty, case_ref),
        )))
    }
}
