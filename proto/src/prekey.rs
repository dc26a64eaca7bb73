//! Content keys published as signed prekeys: a node's short-lived age recipient with its
//! validity window and the time its private half is destroyed, signed by the node's
//! directory-listed Ed25519 key under its own label (`trm/prekey/v1`). Brokers check a set
//! before they store it and the sealing node checks it again: neither trusts who served it.

use ed25519_dalek::SigningKey;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::addr::NodeAddr;
use crate::directory::Directory;
use crate::pb;
use crate::signing::{self, Purpose, SignatureError};

/// The most prekeys one node's set may hold (it publishes the current one and the next).
pub const MAX_PREKEYS: usize = 8;

/// The largest encoded signed prekey accepted.
pub const MAX_PREKEY_BYTES: usize = 512;

/// Why a prekey set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrekeyError {
    /// The set's node is not a node address.
    #[error("prekey set names {0}, which is not a node address")]
    BadNode(String),
    /// The node is not in the directory in use.
    #[error("{0} is not in the federation directory")]
    UnknownNode(NodeAddr),
    /// More prekeys than [`MAX_PREKEYS`].
    #[error("prekey set holds {count} keys, at most {max} are accepted")]
    TooMany {
        /// How many it holds.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A prekey is larger than [`MAX_PREKEY_BYTES`].
    #[error("prekey {index} is {size} bytes, at most {max} are accepted")]
    TooLarge {
        /// Its position in the set.
        index: usize,
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A prekey does not decode.
    #[error("prekey {index} does not decode: {cause}")]
    Malformed {
        /// Its position in the set.
        index: usize,
        /// What the decoder said.
        cause: String,
    },
    /// A prekey's signature does not verify with the node's directory key.
    #[error("prekey {index} of {node}: {cause}")]
    BadSignature {
        /// Its position in the set.
        index: usize,
        /// The node.
        node: NodeAddr,
        /// What was wrong.
        cause: SignatureError,
    },
    /// A prekey's fields are inconsistent.
    #[error("prekey {index} of {node}: {problem}")]
    Invalid {
        /// Its position in the set.
        index: usize,
        /// The node.
        node: NodeAddr,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The key id of an age recipient: the first 8 bytes of its SHA-256, in hex.
pub fn key_id(age_recipient: &str) -> String {
    let digest = Sha256::digest(age_recipient.as_bytes());
    hex::encode(digest.get(..8).unwrap_or_default())
}

/// Signs `prekey` with the node's signing key.
pub fn sign(prekey: &pb::Prekey, key: &SigningKey) -> pb::SignedPrekey {
    let bytes = prekey.encode_to_vec();
    pb::SignedPrekey {
        signature: signing::sign(key, Purpose::Prekey, &bytes),
        prekey: bytes,
    }
}

/// Checks every prekey of `set` against the directory at `now_ms`: the node is listed, each
/// prekey is signed by one of its signing keys, names the node, has the id of its recipient
/// and a window that opens before it closes and closes before the key is destroyed. Answers
/// the node and its prekeys; the first bad one refuses the whole set.
pub fn verify_set(
    set: &pb::PrekeySet,
    directory: &Directory,
    now_ms: u64,
) -> Result<(NodeAddr, Vec<pb::Prekey>), PrekeyError> {
    let node: NodeAddr = set
        .node
        .parse()
        .map_err(|_| PrekeyError::BadNode(crate::clip::quoted(&set.node)))?;
    let info = directory
        .node(&node)
        .ok_or_else(|| PrekeyError::UnknownNode(node.clone()))?;
    if set.prekeys.len() > MAX_PREKEYS {
        return Err(PrekeyError::TooMany {
            count: set.prekeys.len(),
            max: MAX_PREKEYS,
        });
    }
    let keys = info.signing_keys_at(now_ms);
    let mut verified = Vec::with_capacity(set.prekeys.len());
    for (index, signed) in set.prekeys.iter().enumerate() {
        let size = signed.encoded_len();
        if size > MAX_PREKEY_BYTES {
            return Err(PrekeyError::TooLarge {
                index,
                size,
                max: MAX_PREKEY_BYTES,
            });
        }
        signing::verify_any(&keys, Purpose::Prekey, &signed.prekey, &signed.signature).map_err(
            |cause| PrekeyError::BadSignature {
                index,
                node: node.clone(),
                cause,
            },
        )?;
        let prekey =
            pb::Prekey::decode(signed.prekey.as_slice()).map_err(|e| PrekeyError::Malformed {
                index,
                cause: e.to_string(),
            })?;
        let invalid = |problem| PrekeyError::Invalid {
            index,
            node: node.clone(),
            problem,
        };
        if prekey.node != node.as_str() {
            return Err(invalid("it names another node"));
        }
        if !prekey.age_recipient.starts_with("age1") {
            return Err(invalid("its recipient is not an age X25519 recipient"));
        }
        if prekey.key_id != key_id(&prekey.age_recipient) {
            return Err(invalid("its key id is not the one of its recipient"));
        }
        if prekey.valid_from_ms >= prekey.valid_until_ms
            || prekey.valid_until_ms > prekey.destroy_at_ms
        {
            return Err(invalid(
                "its validity must open before it closes, and close before the key is destroyed",
            ));
        }
        verified.push(prekey);
    }
    Ok((node, verified))
}

/// The prekey to seal to at `now_ms`: of those valid now, the one that opened last.
pub fn current(prekeys: &[pb::Prekey], now_ms: u64) -> Option<&pb::Prekey> {
    prekeys
        .iter()
        .filter(|p| p.valid_from_ms <= now_ms && now_ms < p.valid_until_ms)
        .max_by_key(|p| p.valid_from_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_prekey_is_the_latest_opened_of_those_valid_now() {
        let key = |id: &str, from, until| pb::Prekey {
            key_id: id.into(),
            valid_from_ms: from,
            valid_until_ms: until,
            destroy_at_ms: until,
            ..Default::default()
        };
        let set = [
            key("old", 0, 100),
            key("new", 50, 200),
            key("next", 200, 300),
        ];
        assert_eq!(current(&set, 60).map(|p| p.key_id.as_str()), Some("new"));
        assert_eq!(current(&set, 10).map(|p| p.key_id.as_str()), Some("old"));
        assert_eq!(current(&set, 250).map(|p| p.key_id.as_str()), Some("next"));
        assert_eq!(current(&set, 300), None);
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const NODE: &str = "lefoe-ibf@at";

    fn directory(node_key: &SigningKey) -> Result<Directory, Box<dyn std::error::Error>> {
        let authority = signing::generate_key();
        let directory = pb::Directory {
            federation: "test".into(),
            version: 1,
            issued_at_ms: 1,
            expires_at_ms: 1_000_000,
            brokers: vec![pb::BrokerEntry {
                name: "at".into(),
                endpoints: vec!["https://127.0.0.1:1".into()],
                certificate_sha256: vec![1; 32],
                signing_key: authority.verifying_key().to_bytes().to_vec(),
                country: "AT".into(),
            }],
            nodes: vec![pb::NodeEntry {
                address: NODE.into(),
                certificate_sha256: vec![2; 32],
                signing_key: node_key.verifying_key().to_bytes().to_vec(),
                ..Default::default()
            }],
            agreements: Vec::new(),
        };
        let signed = crate::directory::sign(&directory, &authority);
        Ok(Directory::verify(
            signed,
            &authority.verifying_key(),
            "test",
            10,
        )?)
    }

    fn prekey(recipient: &str) -> pb::Prekey {
        pb::Prekey {
            node: NODE.into(),
            key_id: key_id(recipient),
            age_recipient: recipient.into(),
            valid_from_ms: 100,
            valid_until_ms: 200,
            destroy_at_ms: 300,
        }
    }

    fn set(prekeys: Vec<pb::SignedPrekey>) -> pb::PrekeySet {
        pb::PrekeySet {
            node: NODE.into(),
            prekeys,
        }
    }

    #[test]
    fn a_set_verifies_only_when_every_key_is_signed_by_its_node_and_consistent() -> TestResult {
        let node_key = signing::generate_key();
        let directory = directory(&node_key)?;
        let good = sign(&prekey("age1good"), &node_key);
        let (node, keys) = verify_set(&set(vec![good.clone()]), &directory, 50)?;
        assert_eq!((node.as_str(), keys.len()), (NODE, 1));

        // Signed by another key (a broker substituting its own recipient).
        let forged = sign(&prekey("age1forged"), &signing::generate_key());
        assert!(matches!(
            verify_set(&set(vec![good.clone(), forged]), &directory, 50),
            Err(PrekeyError::BadSignature { index: 1, .. })
        ));
        // A signed key moved into another node's set.
        let mut moved = set(vec![good.clone()]);
        moved.node = "astra@at".into();
        assert!(matches!(
            verify_set(&moved, &directory, 50),
            Err(PrekeyError::UnknownNode(_))
        ));
        // Signed, but inconsistent: a key id that is not its recipient's, a window that closes
        // after the key is destroyed, another node named inside.
        let mut wrong_id = prekey("age1good");
        wrong_id.key_id = key_id("age1other");
        let mut late = prekey("age1good");
        late.destroy_at_ms = 150;
        let mut other = prekey("age1good");
        other.node = "astra@at".into();
        for bad in [wrong_id, late, other] {
            assert!(matches!(
                verify_set(&set(vec![sign(&bad, &node_key)]), &directory, 50),
                Err(PrekeyError::Invalid { index: 0, .. })
            ));
        }
        // Too many.
        let many = set(vec![good; MAX_PREKEYS + 1]);
        assert!(matches!(
            verify_set(&many, &directory, 50),
            Err(PrekeyError::TooMany { .. })
        ));
        Ok(())
    }

    #[test]
    fn a_key_id_is_sixteen_hex_digits_of_the_recipient() {
        let id = key_id("age1example");
        assert_eq!(id.len(), 16);
        assert_ne!(id, key_id("age1other"));
    }
}
