//! The certificates the directory in use lists, by SHA-256 of their DER, with whom each
//! belongs to. The verifiers read the pins at every handshake; whoever adopts a newer
//! directory swaps them, so a revocation takes effect at the next handshake.

use std::sync::{Arc, RwLock};

use trm_proto::addr::BrokerName;
use trm_proto::directory::{Directory, Peer, certificate_fingerprint};

/// The pinned certificates: those of the newest directory offered.
#[derive(Debug)]
pub struct Pins {
    current: RwLock<Arc<Directory>>,
}

impl Pins {
    /// Pins the certificates `directory` lists.
    pub fn new(directory: Arc<Directory>) -> Self {
        Self {
            current: RwLock::new(directory),
        }
    }

    /// Pins the certificates of `directory` if its version is newer than the pinned one;
    /// returns whether it did. An older or equal version changes nothing.
    pub fn update(&self, directory: Arc<Directory>) -> bool {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if directory.version() <= current.version() {
            return false;
        }
        *current = directory;
        true
    }

    fn current(&self) -> Arc<Directory> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The version of the directory whose certificates are pinned.
    pub fn version(&self) -> u64 {
        self.current().version()
    }

    /// Whom the certificate with this DER belongs to, if it is pinned.
    pub fn peer(&self, der: &[u8]) -> Option<Peer> {
        self.current().peer_by_certificate(der).cloned()
    }

    /// Whether the certificate with this DER is the one pinned for broker `name`.
    pub fn is_broker(&self, name: &BrokerName, der: &[u8]) -> bool {
        self.current()
            .broker(name)
            .is_some_and(|info| info.certificate_sha256 == certificate_fingerprint(der))
    }
}
