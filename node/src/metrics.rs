//! The node's Prometheus metrics, served on the `[metrics] listen` loopback address of
//! `node.toml` (see [`trm_storage::exposition::settings`]; off by default). Every series is
//! metadata: counts and times, nothing about a message's content or case.
//!
//! | series | kind | meaning |
//! |---|---|---|
//! | `trm_node_outbox_items` | gauge | messages waiting to be handed to the broker |
//! | `trm_node_sent_total` | counter | messages sealed and queued since the node started |
//! | `trm_node_received_total` | counter | messages received and stored since the node started |
//! | `trm_node_refused_total` | counter | deliveries refused since the node started |
//! | `trm_node_log_entries` | gauge | entries in the handover log |
//! | `trm_node_directory_version` | gauge | the directory version in use |
//! | `trm_node_directory_expiry_timestamp_seconds` | gauge | when it expires (Unix time) |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;
use trm_storage::exposition::{self, Kind, Page};

use crate::node::Node;

/// What the node counts, read by the metrics page.
#[derive(Debug, Default)]
pub struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    refused: AtomicU64,
}

impl Counters {
    /// A message was sealed and queued.
    pub fn sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivered message was stored (not a duplicate).
    pub fn received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A delivery was refused.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// Serves the metrics page on `listener` until `shutdown` turns true, then removes the
/// address file.
pub async fn serve(
    node: Arc<Node>,
    listener: tokio::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let data_dir = node.data_dir().to_owned();
    exposition::serve(
        listener,
        move || {
            let node = node.clone();
            async move { page(&node) }
        },
        async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        },
    )
    .await;
    exposition::serve::forget(&data_dir);
}

/// The metrics page as it is now.
pub fn page(node: &Node) -> String {
    let mut page = Page::default();
    let counters = node.metrics();
    page.single(
        "trm_node_outbox_items",
        Kind::Gauge,
        "Messages waiting to be handed to the broker.",
        node.store().outbox_len().unwrap_or(0) as f64,
    );
    for (name, help, counter) in [
        (
            "trm_node_sent_total",
            "Messages sealed and queued since the node started.",
            &counters.sent,
        ),
        (
            "trm_node_received_total",
            "Messages received and stored since the node started.",
            &counters.received,
        ),
        (
            "trm_node_refused_total",
            "Deliveries refused since the node started.",
            &counters.refused,
        ),
    ] {
        page.single(
            name,
            Kind::Counter,
            help,
            counter.load(Ordering::Relaxed) as f64,
        );
    }
    if let Ok(entries) = node.store().log_len() {
        page.single(
            "trm_node_log_entries",
            Kind::Gauge,
            "Entries in the handover log.",
            entries as f64,
        );
    }
    let directory = node.directory().current();
    page.single(
        "trm_node_directory_version",
        Kind::Gauge,
        "The federation directory version in use.",
        directory.version() as f64,
    );
    page.single(
        "trm_node_directory_expiry_timestamp_seconds",
        Kind::Gauge,
        "When the directory in use expires, Unix time.",
        (directory.expires_at_ms() / 1000) as f64,
    );
    page.finish()
}
