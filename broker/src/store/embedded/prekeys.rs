//! The `prekeys` tree: the latest signed prekey set of each node, keyed by its address (the
//! broker's own nodes' sets, and the sets of other brokers' nodes fetched for its nodes). The
//! caller checks a set against the directory before storing it; a set replaces the one before.

use prost::Message;
use trm_proto::addr::NodeAddr;
use trm_proto::pb;

use super::{EmbeddedStore, corrupt};
use crate::store::StoreError;

/// The tree's name.
const TREE: &str = "prekeys";

impl EmbeddedStore {
    fn prekeys_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree(TREE)?)
    }

    /// Replaces `node`'s set; on disk when this returns.
    pub(super) async fn put_prekeys_now(
        &self,
        node: &NodeAddr,
        set: &pb::PrekeySet,
    ) -> Result<(), StoreError> {
        self.prekeys_tree()?
            .insert(node.as_str().as_bytes(), set.encode_to_vec())?;
        self.durable().await
    }

    /// `node`'s stored set.
    pub(super) fn prekeys_now(&self, node: &NodeAddr) -> Result<Option<pb::PrekeySet>, StoreError> {
        self.prekeys_tree()?
            .get(node.as_str().as_bytes())?
            .map(|bytes| pb::PrekeySet::decode(bytes.as_ref()).map_err(|e| corrupt(TREE, e)))
            .transpose()
    }
}
