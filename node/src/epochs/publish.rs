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

/// How long one publication may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(3);

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

/// Looks after the keys once and publishes them unless `published` says the broker has
/// them; answers whether the broker has them now.
async fn once(node: &Node, published: bool) -> bool {
    let keys = node.content_keys();
    let now = time::now_ms();
    let mut published = published;
    match keys.maintain(now) {
        Ok(changed) => published &= !changed,
        Err(e) => warn!(cause = %e, "cannot look after the content keys"),
    }
    log_destroyed(node).await;
    if published {
        return true;
    }
    let Some(channel) = keys.channel() else {
        return false;
    };
    let set = keys.signed_set(now);
    let mut client = PrekeysClient::new(channel.clone());
    match tokio::time::timeout(PUBLISH_TIMEOUT, client.publish_prekeys(set)).await {
        Ok(Ok(answer)) => {
            info!(keys = answer.into_inner().stored, "content keys published");
            true
        }
        Ok(Err(status)) => {
            warn!(cause = %status.message(), "cannot publish the content keys; trying again");
            false
        }
        Err(_) => {
            warn!("the broker did not take the content keys in time; trying again");
            false
        }
    }
}

/// Publishes the keys before the node takes deliveries, so that a partner whose message this
/// node refuses for a retired key finds the current ones at once. Gives up after
/// [`PUBLISH_TIMEOUT`] (the task goes on trying).
pub async fn first(node: &Node) -> bool {
    once(node, false).await
}

/// Runs until `shutdown`; `published` says whether [`first`] succeeded.
pub async fn run(
    node: Arc<Node>,
    epoch_ms: u64,
    published: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut published = published;
    loop {
        tokio::select! {
            () = tokio::time::sleep(tick(epoch_ms)) => {}
            _ = shutdown.changed() => return,
        }
        published = once(&node, published).await;
    }
}
