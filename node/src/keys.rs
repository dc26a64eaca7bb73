//! The organisation's private keys: the Ed25519 key that signs what it sends and the age
//! X25519 identity that decrypts what it receives. They never leave the node.

use std::path::Path;

use ed25519_dalek::SigningKey;
use trm_proto::addr::NodeAddr;
use trm_proto::signing;

/// Why keys could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file does not hold a key of the expected kind.
    #[error("{path} is not {expected}")]
    Format {
        /// The file.
        path: std::path::PathBuf,
        /// What it should contain.
        expected: &'static str,
    },
}

/// A node's identity and private keys.
#[derive(Clone)]
pub struct NodeKeys {
    /// The node's address.
    pub address: NodeAddr,
    /// Signs envelopes, bodies and receipts.
    pub signing: SigningKey,
    /// Decrypts envelopes addressed to this node (and its own sent copies).
    pub age: age::x25519::Identity,
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKeys")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })
}

impl NodeKeys {
    /// Loads the key files written by `trm-dev generate` (or `trm-authority keys generate`).
    pub fn load(address: NodeAddr, signing_key: &Path, age_key: &Path) -> Result<Self, KeyError> {
        let signing = signing::decode_secret(&read(signing_key)?).ok_or(KeyError::Format {
            path: signing_key.to_owned(),
            expected: "an `ed25519:` signing key",
        })?;
        let age = read(age_key)?
            .trim()
            .parse::<age::x25519::Identity>()
            .map_err(|_| KeyError::Format {
                path: age_key.to_owned(),
                expected: "an AGE-SECRET-KEY identity",
            })?;
        Ok(Self {
            address,
            signing,
            age,
        })
    }

    /// This node's age recipient, `age1...`.
    pub fn age_recipient(&self) -> String {
        self.age.to_public().to_string()
    }
}
