//! What every request handler shares: identity, keys, the directory, the store, and the
//! wake-up signals of connected nodes' delivery streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ed25519_dalek::SigningKey;
use tokio::sync::Notify;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::directory::Directory;

use crate::store::BrokerStore;

/// The broker's shared state.
pub struct BrokerState {
    /// This broker's name.
    pub name: BrokerName,
    /// Signs ACCEPTED receipts.
    pub signing_key: SigningKey,
    /// The verified federation directory.
    pub directory: Arc<Directory>,
    /// Durable queues.
    pub store: BrokerStore,
    /// Largest accepted envelope.
    pub max_envelope_bytes: usize,
    wakers: Mutex<HashMap<NodeAddr, Arc<Notify>>>,
}

impl BrokerState {
    /// Assembles the state.
    pub fn new(
        name: BrokerName,
        signing_key: SigningKey,
        directory: Directory,
        store: BrokerStore,
        max_envelope_bytes: usize,
    ) -> Self {
        Self {
            name,
            signing_key,
            directory: Arc::new(directory),
            store,
            max_envelope_bytes,
            wakers: Mutex::new(HashMap::new()),
        }
    }

    /// The signal a delivery stream for `node` waits on.
    pub fn waker(&self, node: &NodeAddr) -> Arc<Notify> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.entry(node.clone()).or_default().clone()
    }

    /// Tells `node`'s delivery stream, if any, that something new is queued. `notify_one`
    /// keeps a permit when nobody is waiting, so a wake-up between two scans is not lost.
    pub fn wake(&self, node: &NodeAddr) {
        self.waker(node).notify_one();
    }
}
