//! The signed federation directory: brokers and nodes with their certificates and keys.
//!
//! Everyone pins the federation authority's public key and trusts a directory because the
//! authority signed it, never because of who served it. [`Directory::verify`] is the only way
//! to obtain a [`Directory`].

use std::collections::HashMap;

use ed25519_dalek::{SigningKey, VerifyingKey};
use prost::Message;
use sha2::{Digest, Sha256};

use crate::addr::{AddrError, BrokerName, NodeAddr};
use crate::pb;
use crate::signing::{self, Purpose, SignatureError};

/// Why a directory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The bytes are not a `Directory`.
    #[error("malformed directory: {0}")]
    Malformed(String),
    /// The authority's signature does not verify.
    #[error("directory signature does not verify with the pinned federation authority key: {0}")]
    BadSignature(SignatureError),
    /// The directory belongs to another federation.
    #[error("directory is for federation {found:?}, expected {expected:?}")]
    WrongFederation {
        /// The federation we belong to.
        expected: String,
        /// The one named in the directory.
        found: String,
    },
    /// The directory's validity has ended.
    #[error("directory version {version} expired at {expired_at}")]
    Expired {
        /// Its version.
        version: u64,
        /// When it expired, RFC 3339.
        expired_at: String,
    },
    /// An entry names a malformed address.
    #[error("directory entry: {0}")]
    Address(#[from] AddrError),
    /// The directory file could not be read.
    #[error("cannot read directory {path}: {message}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The pinned authority key is not an Ed25519 public key in hex.
    #[error("federation authority key: expected 64 hex digits of an Ed25519 public key")]
    AuthorityKey,
    /// An entry is inconsistent.
    #[error("directory entry {entry}: {problem}")]
    Entry {
        /// The address or broker name.
        entry: String,
        /// What is wrong.
        problem: String,
    },
}

/// Who a TLS certificate belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// A node, by address.
    Node(NodeAddr),
    /// A broker, by name.
    Broker(BrokerName),
}

/// A broker as the directory lists it.
#[derive(Debug, Clone)]
pub struct BrokerInfo {
    /// Its name.
    pub name: BrokerName,
    /// Where peers reach it.
    pub endpoint: String,
    /// SHA-256 of its certificate's DER.
    pub certificate_sha256: [u8; 32],
    /// The key that signs its receipts.
    pub signing_key: VerifyingKey,
    /// Its country or region.
    pub country: String,
}

/// A node as the directory lists it.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// Its address.
    pub address: NodeAddr,
    /// The organisation's display name.
    pub organisation: String,
    /// The kind of organisation.
    pub organisation_type: pb::OrganisationType,
    /// Its country.
    pub country: String,
    /// SHA-256 of its client certificate's DER.
    pub certificate_sha256: [u8; 32],
    /// The key that signs its envelopes, bodies and receipts.
    pub signing_key: VerifyingKey,
    /// Its age X25519 recipient, `age1...`.
    pub age_recipient: String,
    /// Services offered.
    pub services: Vec<String>,
    /// Working languages.
    pub languages: Vec<String>,
}

/// A verified federation directory.
#[derive(Debug, Clone)]
pub struct Directory {
    signed: pb::SignedDirectory,
    federation: String,
    version: u64,
    expires_at_ms: u64,
    brokers: HashMap<BrokerName, BrokerInfo>,
    nodes: HashMap<NodeAddr, NodeInfo>,
    by_certificate: HashMap<[u8; 32], Peer>,
}

fn fingerprint(entry: &str, bytes: &[u8]) -> Result<[u8; 32], DirectoryError> {
    bytes.try_into().map_err(|_| DirectoryError::Entry {
        entry: entry.to_owned(),
        problem: "certificate fingerprint is not 32 bytes".into(),
    })
}

fn public_key(entry: &str, bytes: &[u8]) -> Result<VerifyingKey, DirectoryError> {
    signing::verifying_key(bytes).map_err(|_| DirectoryError::Entry {
        entry: entry.to_owned(),
        problem: "signing key is not a valid Ed25519 public key".into(),
    })
}

/// SHA-256 of a certificate's DER, as the directory records it.
pub fn certificate_fingerprint(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// Signs a directory with the federation authority's key.
pub fn sign(directory: &pb::Directory, authority: &SigningKey) -> pb::SignedDirectory {
    let bytes = directory.encode_to_vec();
    pb::SignedDirectory {
        signature: signing::sign(authority, Purpose::Directory, &bytes),
        directory: bytes,
    }
}

/// Parses the federation authority's public key from 64 hex digits.
pub fn parse_authority_key(text: &str) -> Result<VerifyingKey, DirectoryError> {
    let bytes = hex::decode(text.trim()).map_err(|_| DirectoryError::AuthorityKey)?;
    signing::verifying_key(&bytes).map_err(|_| DirectoryError::AuthorityKey)
}

/// Reads a signed directory file (`directory.pb`) and verifies it at the current time.
pub fn load(
    path: &std::path::Path,
    authority: &VerifyingKey,
    federation: &str,
) -> Result<Directory, DirectoryError> {
    let read_error = |message: String| DirectoryError::Read {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
    let signed =
        pb::SignedDirectory::decode(bytes.as_slice()).map_err(|e| read_error(e.to_string()))?;
    Directory::verify(signed, authority, federation, crate::time::now_ms())
}

/// The SHA-256 of the first certificate in a PEM file, as the directory records it.
pub fn pem_leaf_fingerprint(pem: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    Some(certificate_fingerprint(&der))
}

impl Directory {
    /// Verifies a signed directory against the pinned authority key, the federation name and
    /// the current time, and checks every entry.
    pub fn verify(
        signed: pb::SignedDirectory,
        authority: &VerifyingKey,
        federation: &str,
        now_ms: u64,
    ) -> Result<Self, DirectoryError> {
        signing::verify(
            authority,
            Purpose::Directory,
            &signed.directory,
            &signed.signature,
        )
        .map_err(DirectoryError::BadSignature)?;
        let directory = pb::Directory::decode(signed.directory.as_slice())
            .map_err(|e| DirectoryError::Malformed(e.to_string()))?;
        if directory.federation != federation {
            return Err(DirectoryError::WrongFederation {
                expected: federation.to_owned(),
                found: directory.federation,
            });
        }
        if directory.expires_at_ms <= now_ms {
            return Err(DirectoryError::Expired {
                version: directory.version,
                expired_at: crate::time::format_ms(directory.expires_at_ms),
            });
        }
        let mut brokers = HashMap::new();
        let mut by_certificate = HashMap::new();
        let duplicate = |entry: &str, what: &str| DirectoryError::Entry {
            entry: entry.to_owned(),
            problem: format!("{what} appears twice"),
        };
        for entry in &directory.brokers {
            let name: BrokerName = entry.name.parse()?;
            let info = BrokerInfo {
                certificate_sha256: fingerprint(&entry.name, &entry.certificate_sha256)?,
                signing_key: public_key(&entry.name, &entry.signing_key)?,
                endpoint: entry.endpoint.clone(),
                country: entry.country.clone(),
                name: name.clone(),
            };
            if by_certificate
                .insert(info.certificate_sha256, Peer::Broker(name.clone()))
                .is_some()
            {
                return Err(duplicate(&entry.name, "certificate"));
            }
            if brokers.insert(name, info).is_some() {
                return Err(duplicate(&entry.name, "broker"));
            }
        }
        let mut nodes = HashMap::new();
        for entry in &directory.nodes {
            let address: NodeAddr = entry.address.parse()?;
            if !brokers.contains_key(&address.broker()) {
                return Err(DirectoryError::Entry {
                    entry: entry.address.clone(),
                    problem: format!("home broker {} is not in the directory", address.broker()),
                });
            }
            let info = NodeInfo {
                certificate_sha256: fingerprint(&entry.address, &entry.certificate_sha256)?,
                signing_key: public_key(&entry.address, &entry.signing_key)?,
                organisation: entry.organisation.clone(),
                organisation_type: pb::OrganisationType::try_from(entry.organisation_type)
                    .unwrap_or(pb::OrganisationType::Unspecified),
                country: entry.country.clone(),
                age_recipient: entry.age_recipient.clone(),
                services: entry.services.clone(),
                languages: entry.languages.clone(),
                address: address.clone(),
            };
            if by_certificate
                .insert(info.certificate_sha256, Peer::Node(address.clone()))
                .is_some()
            {
                return Err(duplicate(&entry.address, "certificate"));
            }
            if nodes.insert(address, info).is_some() {
                return Err(duplicate(&entry.address, "node"));
            }
        }
        Ok(Self {
            federation: directory.federation,
            version: directory.version,
            expires_at_ms: directory.expires_at_ms,
            signed,
            brokers,
            nodes,
            by_certificate,
        })
    }

    /// The federation's name.
    pub fn federation(&self) -> &str {
        &self.federation
    }

    /// The version number.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When it expires, Unix milliseconds.
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// The signed form, to serve to others.
    pub fn signed(&self) -> &pb::SignedDirectory {
        &self.signed
    }

    /// A node by address.
    pub fn node(&self, address: &NodeAddr) -> Option<&NodeInfo> {
        self.nodes.get(address)
    }

    /// A broker by name.
    pub fn broker(&self, name: &BrokerName) -> Option<&BrokerInfo> {
        self.brokers.get(name)
    }

    /// All nodes, in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values()
    }

    /// Who presented the TLS certificate with this DER, if anyone in the directory.
    pub fn peer_by_certificate(&self, der: &[u8]) -> Option<&Peer> {
        self.by_certificate.get(&certificate_fingerprint(der))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(authority: &SigningKey, node_key: &SigningKey) -> pb::Directory {
        pb::Directory {
            federation: "test".into(),
            version: 3,
            issued_at_ms: 1,
            expires_at_ms: 1_000,
            brokers: vec![pb::BrokerEntry {
                name: "at".into(),
                endpoint: "https://127.0.0.1:1".into(),
                certificate_sha256: vec![1; 32],
                signing_key: authority.verifying_key().to_bytes().to_vec(),
                country: "AT".into(),
            }],
            nodes: vec![pb::NodeEntry {
                address: "lefoe-ibf@at".into(),
                certificate_sha256: vec![2; 32],
                signing_key: node_key.verifying_key().to_bytes().to_vec(),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn a_signed_directory_verifies_and_answers_lookups() {
        let authority = signing::generate_key();
        let node_key = signing::generate_key();
        let signed = sign(&sample(&authority, &node_key), &authority);
        let directory =
            Directory::verify(signed, &authority.verifying_key(), "test", 999).expect("valid");
        assert_eq!(directory.version(), 3);
        let addr: NodeAddr = "lefoe-ibf@at".parse().expect("valid");
        assert_eq!(
            directory.node(&addr).map(|n| n.signing_key),
            Some(node_key.verifying_key())
        );
        assert_eq!(
            directory.by_certificate.get(&[2; 32]),
            Some(&Peer::Node(addr))
        );
    }

    #[test]
    fn forged_expired_foreign_and_inconsistent_directories_are_refused() {
        let authority = signing::generate_key();
        let node_key = signing::generate_key();
        let signed = sign(&sample(&authority, &node_key), &authority);
        let key = authority.verifying_key();

        let forged = sign(&sample(&authority, &node_key), &node_key);
        assert!(matches!(
            Directory::verify(forged, &key, "test", 999),
            Err(DirectoryError::BadSignature(_))
        ));
        assert!(matches!(
            Directory::verify(signed.clone(), &key, "test", 1_000),
            Err(DirectoryError::Expired { version: 3, .. })
        ));
        assert!(matches!(
            Directory::verify(signed, &key, "other", 999),
            Err(DirectoryError::WrongFederation { .. })
        ));

        let mut orphan = sample(&authority, &node_key);
        orphan.nodes[0].address = "lefoe-ibf@de".into();
        assert!(matches!(
            Directory::verify(sign(&orphan, &authority), &key, "test", 999),
            Err(DirectoryError::Entry { .. })
        ));
    }
}
