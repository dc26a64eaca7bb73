//! Partners' content keys: fetched through the home broker, checked here against the
//! directory (a broker is not trusted with them), and kept in memory so that sending goes on
//! while the broker cannot be reached. A partner's set is fetched again when its newest valid
//! key has less than half of its window left.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tonic::transport::Channel;
use tracing::{debug, warn};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;
use trm_proto::pb;
use trm_proto::pb::prekeys_client::PrekeysClient;
use trm_proto::prekey;

/// How long asking the home broker for a partner's keys may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why no content key of a partner is at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no current content key of {node} is known ({cause}); its node publishes them through its broker when it runs: try again once both brokers can be reached"
)]
pub struct NoContentKey {
    /// The partner.
    pub node: NodeAddr,
    /// What went wrong fetching them.
    pub cause: String,
}

/// Partners' checked keys, by partner.
#[derive(Debug, Default)]
pub struct Partners {
    sets: Mutex<HashMap<NodeAddr, Vec<pb::Prekey>>>,
    /// Partners of which a content key was ever kept: never sealed to their long-term key.
    seen: Mutex<HashSet<NodeAddr>>,
}

/// Whether `key` still has more than half of its window left at `now_ms`.
fn fresh(key: &pb::Prekey, now_ms: u64) -> bool {
    let half = key.valid_until_ms.saturating_sub(key.valid_from_ms) / 2;
    key.valid_until_ms.saturating_sub(now_ms) > half
}

impl Partners {
    fn cached(&self, node: &NodeAddr, now_ms: u64) -> Option<pb::Prekey> {
        let sets = self.sets.lock().unwrap_or_else(PoisonError::into_inner);
        sets.get(node)
            .and_then(|set| prekey::current(set, now_ms))
            .cloned()
    }

    /// Keeps `set` (already checked) for `node`.
    pub fn keep(&self, node: NodeAddr, set: Vec<pb::Prekey>) {
        if !set.is_empty() {
            self.seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(node.clone());
        }
        self.sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(node, set);
    }

    /// The key to seal to `node` at `now_ms`: the kept one while it has more than half its
    /// window left, otherwise fetched anew through `channel` and checked against `directory`;
    /// the kept one still valid when fetching fails. `None` only for a partner of which this
    /// node has never seen a content key and none can be had now (its node has never
    /// published one): the caller then seals to its long-term key, once. A partner whose keys
    /// were seen once is never sealed to otherwise: without a valid one, sending is refused.
    pub async fn key_for(
        &self,
        node: &NodeAddr,
        directory: &Directory,
        channel: Option<&Channel>,
        now_ms: u64,
    ) -> Result<Option<pb::Prekey>, NoContentKey> {
        let cached = self.cached(node, now_ms);
        if let Some(key) = &cached
            && fresh(key, now_ms)
        {
            return Ok(Some(key.clone()));
        }
        let fetched = match channel {
            Some(channel) => fetch(channel, node, directory, now_ms).await,
            None => Err("this node is not connected to its broker".to_owned()),
        };
        let cause = match fetched {
            Ok(set) if !set.is_empty() => {
                let current = prekey::current(&set, now_ms).cloned();
                debug!(node = %node, keys = set.len(), "partner's content keys fetched");
                self.keep(node.clone(), set);
                if current.is_some() {
                    return Ok(current);
                }
                "none of those its broker holds is valid now".to_owned()
            }
            Ok(_) => "its broker holds none".to_owned(),
            Err(cause) => cause,
        };
        if let Some(key) = cached {
            warn!(node = %node, %cause, "cannot fetch a partner's content keys; sealing to the one kept");
            return Ok(Some(key));
        }
        if self.seen(node) {
            return Err(NoContentKey {
                node: node.clone(),
                cause,
            });
        }
        warn!(node = %node, %cause, "the partner has published no content key; sealing to its long-term key");
        Ok(None)
    }

    /// Drops what is kept for `node`, so that the next use fetches its keys anew. It stays
    /// known as a partner with content keys.
    pub fn forget(&self, node: &NodeAddr) {
        self.sets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(node);
    }

    /// Whether a content key of `node` was ever kept.
    fn seen(&self, node: &NodeAddr) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(node)
    }
}

/// `node`'s set from the home broker, checked against `directory`.
async fn fetch(
    channel: &Channel,
    node: &NodeAddr,
    directory: &Directory,
    now_ms: u64,
) -> Result<Vec<pb::Prekey>, String> {
    let request = pb::FetchPrekeysRequest {
        node: node.to_string(),
    };
    let set = tokio::time::timeout(
        FETCH_TIMEOUT,
        PrekeysClient::new(channel.clone()).fetch_prekeys(request),
    )
    .await
    .map_err(|_| {
        format!(
            "the broker did not answer within {} s",
            FETCH_TIMEOUT.as_secs()
        )
    })?
    .map_err(|status| format!("the broker answered: {}", status.message()))?
    .into_inner();
    if set.node != node.as_str() {
        return Err("the broker answered the keys of another node".into());
    }
    let (_, prekeys) =
        prekey::verify_set(&set, directory, now_ms).map_err(|e| format!("refused: {e}"))?;
    Ok(prekeys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_fresh_while_more_than_half_its_window_is_left() {
        let key = pb::Prekey {
            valid_from_ms: 1_000,
            valid_until_ms: 2_000,
            ..Default::default()
        };
        assert!(fresh(&key, 1_400));
        assert!(!fresh(&key, 1_600));
    }
}
