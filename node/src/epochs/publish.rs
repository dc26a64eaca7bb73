//! The task that keeps this node's content keys: at start and then every tick (a quarter of
//! an epoch, at most a minute) it destroys the keys whose time has come, logs each destruction
//! in the handover log (`key_retired`), makes the keys ahead, and publishes the set to the
//! home broker whenever it changed or was not accepted yet.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};
use trm_proto::pb::prekeys_client::PrekeysClient;
use trm_proto::time;

use crate::node::Node;

/// The longest wait between two ticks.
const MAX_TICK: Duration = Duration::from_secs(60);

/// The shortest wait between two ticks.
const MIN_TICK: Duration = Duration::from_millis(200);

/// How often the keys are looked after for an epoch of `epoch_ms`.
pub fn tick(epoch_ms: u64) -> Duration {
    Duration::from_millis(epoch_ms / 4).clamp(MIN_TICK, MAX_TICK)
}

/// Logs the destroyed keys not logged yet; gives them back when the log cannot be written.
async fn log_destroyed(node: &Node) {
    let keys = node.content_keys();
    let destroyed = keys.take_destroyed();
    for (done, id) in destroyed.iter().enumerate() {
        match node.store().record_key_retired(id, time::now_ms()).await {
            Ok(index) => info!(key = %id, log_index = index, "content key destroyed"),
            Err(e) => {
                warn!(cause = %e, "cannot log the destruction of content keys; trying again");
                keys.unlogged(destroyed.get(done..).unwrap_or_default().to_vec());
                return;
            }
        }
    }
}

/// Runs until `shutdown`.
pub async fn run(node: Arc<Node>, epoch_ms: u64, mut shutdown: watch::Receiver<bool>) {
    let mut published = false;
    loop {
        let now = time::now_ms();
        match node.content_keys().maintain(now) {
            Ok(changed) => published &= !changed,
            Err(e) => warn!(cause = %e, "cannot look after the content keys"),
        }
        log_destroyed(&node).await;
        if !published && let Some(channel) = node.content_keys().channel() {
            let set = node.content_keys().signed_set(now);
            match PrekeysClient::new(channel.clone())
                .publish_prekeys(set)
                .await
            {
                Ok(answer) => {
                    published = true;
                    info!(keys = answer.into_inner().stored, "content keys published");
                }
                Err(status) => {
                    warn!(cause = %status.message(), "cannot publish the content keys; trying again");
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(tick(epoch_ms)) => {}
            _ = shutdown.changed() => return,
        }
    }
}
