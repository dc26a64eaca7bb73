//! What `trm-dev generate` returns: the federation's keys and certificates in
//! memory, beside the folder it wrote them to, so tests need not read the files back.
//!
//! `Debug` output leaves out every private key.

use std::fmt;
use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb;

/// A generated development federation.
#[derive(Clone)]
pub struct Federation {
    /// The folder it was written to.
    pub dir: PathBuf,
    /// The federation's name, as in the directory.
    pub federation: String,
    /// The CA certificate every broker and node trusts, PEM.
    pub ca_pem: String,
    /// The federation authority's key, which signs the directory; everyone pins its public key.
    pub authority: SigningKey,
    /// The signed directory (also written as `directory.pb`).
    pub signed_directory: pb::SignedDirectory,
    /// The brokers, in spec order.
    pub brokers: Vec<BrokerMaterial>,
    /// The nodes, in spec order.
    pub nodes: Vec<NodeMaterial>,
}

/// One broker's generated material.
#[derive(Clone)]
pub struct BrokerMaterial {
    /// Its name.
    pub name: BrokerName,
    /// Where it is reached, as in the directory, the preferred first.
    pub endpoints: Vec<String>,
    /// Its TLS certificate (server and client authentication), PEM.
    pub cert_pem: String,
    /// Its TLS private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The key that signs its receipts.
    pub signing_key: SigningKey,
    /// Its folder, `brokers/<name>`.
    pub dir: PathBuf,
}

/// One node's generated material.
#[derive(Clone)]
pub struct NodeMaterial {
    /// Its address.
    pub address: NodeAddr,
    /// Its TLS client certificate, PEM.
    pub cert_pem: String,
    /// Its TLS private key, PKCS#8 PEM.
    pub key_pem: String,
    /// The key that signs its envelopes, bodies and receipts.
    pub signing_key: SigningKey,
    /// Its age X25519 identity, `AGE-SECRET-KEY-1...`.
    pub age_identity: String,
    /// Its age X25519 recipient, `age1...`, as in the directory.
    pub age_recipient: String,
    /// Its folder, `nodes/<address>`.
    pub dir: PathBuf,
}

impl Federation {
    /// A broker by name.
    pub fn broker(&self, name: &str) -> Option<&BrokerMaterial> {
        self.brokers.iter().find(|b| b.name.as_str() == name)
    }

    /// A node by address.
    pub fn node(&self, address: &str) -> Option<&NodeMaterial> {
        self.nodes.iter().find(|n| n.address.as_str() == address)
    }
}

impl fmt::Debug for Federation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Federation")
            .field("dir", &self.dir)
            .field("federation", &self.federation)
            .field(
                "authority",
                &hex::encode(self.authority.verifying_key().as_bytes()),
            )
            .field("brokers", &self.brokers)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for BrokerMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerMaterial")
            .field("name", &self.name)
            .field("endpoints", &self.endpoints)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for NodeMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeMaterial")
            .field("address", &self.address)
            .field("age_recipient", &self.age_recipient)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}
