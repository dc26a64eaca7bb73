//! `trm webhooks add|list|remove|test`: the organisation's webhooks, over the node's socket.
//! The node POSTs a signed notification (ids and kinds only, never content) to each webhook
//! subscribed to an event; see the README's "Webhooks" section for how a receiver checks the
//! signature.

use std::fmt::Write as _;
use std::path::Path;

use trm_proto::pb;

use crate::client;
use crate::commands::{CommandError, Output};

/// `trm webhooks ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Register a webhook; prints its signing secret, shown this once only.
    Add {
        /// Where to POST: https://..., or http:// to a loopback address (127.0.0.1, ::1,
        /// localhost) only.
        url: String,
        /// An event to notify (repeat for more; none: every event): message.arrived,
        /// referral.accepted, referral.declined, referral.needs_information, item.overdue,
        /// directory.expiring.
        #[arg(long = "event", value_name = "EVENT")]
        events: Vec<String>,
        /// Register it inactive: nothing is queued for it.
        #[arg(long)]
        inactive: bool,
    },
    /// The registered webhooks (never their secrets) and the notification queue.
    List,
    /// Remove a webhook; its queued notifications are dropped.
    Remove {
        /// The webhook id, as `list` shows it.
        id: String,
    },
    /// Queue a `webhook.test` notification to one webhook.
    Test {
        /// The webhook id.
        id: String,
    },
}

fn webhook_json(w: &pb::Webhook) -> serde_json::Value {
    serde_json::json!({
        "id": w.id,
        "url": w.url,
        "events": w.events,
        "active": w.active,
        "created_at": trm_proto::time::format_ms(w.created_at_ms),
    })
}

fn events_text(w: &pb::Webhook) -> String {
    if w.events.is_empty() {
        "every event".to_owned()
    } else {
        w.events.join(", ")
    }
}

/// Runs `trm webhooks ...`.
pub async fn run(socket: &Path, action: Action, out: Output) -> Result<(), CommandError> {
    let mut node = client::connect_webhooks(socket).await?;
    match action {
        Action::Add {
            url,
            events,
            inactive,
        } => {
            let added = node
                .add_webhook(pb::AddWebhookRequest {
                    url,
                    events,
                    inactive,
                })
                .await?
                .into_inner();
            let webhook = added.webhook.unwrap_or_default();
            let mut human = format!(
                "Added webhook {} for {} ({}) to {}.\n",
                webhook.id,
                events_text(&webhook),
                if webhook.active { "active" } else { "inactive" },
                webhook.url
            );
            let _ = writeln!(
                human,
                "Signing secret (shown this once only; keep it where the receiver can read it):\n  {}",
                added.secret
            );
            out.print(
                human,
                || serde_json::json!({"webhook": webhook_json(&webhook), "secret": added.secret}),
            );
        }
        Action::List => {
            let list = node
                .list_webhooks(pb::ListWebhooksRequest {})
                .await?
                .into_inner();
            let mut human = String::new();
            if list.webhooks.is_empty() {
                human.push_str("No webhooks registered (trm webhooks add URL registers one).\n");
            }
            for w in &list.webhooks {
                let _ = writeln!(
                    human,
                    "{}  {}  {}  {}",
                    w.id,
                    if w.active { "active  " } else { "inactive" },
                    w.url,
                    events_text(w)
                );
            }
            let _ = writeln!(
                human,
                "{} notifications waiting, {} set aside after retrying too long.",
                list.queued, list.set_aside
            );
            out.print(human, || {
                serde_json::json!({
                    "webhooks": list.webhooks.iter().map(webhook_json).collect::<Vec<_>>(),
                    "queued": list.queued,
                    "set_aside": list.set_aside,
                })
            });
        }
        Action::Remove { id } => {
            let removed = node
                .remove_webhook(pb::RemoveWebhookRequest { id: id.clone() })
                .await?
                .into_inner();
            out.print(
                format!(
                    "Removed webhook {id}; {} queued notifications dropped.\n",
                    removed.dropped
                ),
                || serde_json::json!({"removed": id, "dropped": removed.dropped}),
            );
        }
        Action::Test { id } => {
            let queued = node
                .test_webhook(pb::TestWebhookRequest { id: id.clone() })
                .await?
                .into_inner();
            out.print(
                format!(
                    "Queued a webhook.test notification to {id} (Trm-Delivery {}); trm webhooks list shows whether it is still waiting.\n",
                    queued.delivery
                ),
                || serde_json::json!({"webhook": id, "delivery": queued.delivery}),
            );
        }
    }
    Ok(())
}
