//! The signed federation directory: brokers and nodes with their certificates and keys.
//!
//! Everyone pins the federation authority's public key and trusts a directory because the
//! authority signed it, never because of who served it. [`Directory::verify`] is the only way
//! to obtain a [`Directory`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
    /// A directory older than the one in use was offered.
    #[error("directory version {offered} is older than version {current} in use")]
    Stale {
        /// The version offered.
        offered: u64,
        /// The version in use.
        current: u64,
    },
    /// A different directory with the version in use was offered.
    #[error("a different directory with version {0} (the version in use) was offered")]
    VersionConflict(u64),
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
    /// Where nodes and peers reach it, `https://host:port` each, the preferred first; never
    /// empty.
    pub endpoints: Vec<String>,
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
    /// The key before the last rotation and until when it is still accepted.
    pub previous_signing_key: Option<(VerifyingKey, u64)>,
    /// Accepts referrals of children.
    pub accepts_child_referrals: bool,
}

impl NodeInfo {
    /// The keys whose signatures are accepted from this node at `now_ms`: the current key,
    /// and the previous one during a rotation's overlap.
    pub fn signing_keys_at(&self, now_ms: u64) -> Vec<VerifyingKey> {
        let mut keys = vec![self.signing_key];
        if let Some((previous, until)) = self.previous_signing_key
            && now_ms < until
        {
            keys.push(previous);
        }
        keys
    }
}

/// A sharing agreement as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementInfo {
    /// The agreement's reference.
    pub reference: String,
    /// One party.
    pub party_a: NodeAddr,
    /// The other party.
    pub party_b: NodeAddr,
    /// The message kinds it covers.
    pub kinds: Vec<pb::MessageKind>,
    /// Valid from, Unix milliseconds.
    pub valid_from_ms: u64,
    /// Valid until, Unix milliseconds.
    pub valid_until_ms: u64,
    /// When it was terminated, if it was.
    pub terminated_at_ms: Option<u64>,
}

/// Why two organisations may not exchange a message kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// No agreement names both organisations.
    #[error("no sharing agreement between {from} and {to}")]
    None {
        /// The sender.
        from: NodeAddr,
        /// The addressee.
        to: NodeAddr,
    },
    /// The agreements between them do not cover this kind.
    #[error(
        "sharing agreement {reference} between {from} and {to} does not cover {kind:?} messages"
    )]
    KindNotCovered {
        /// The agreement consulted.
        reference: String,
        /// The sender.
        from: NodeAddr,
        /// The addressee.
        to: NodeAddr,
        /// The kind refused.
        kind: pb::MessageKind,
    },
    /// A checkpoint request from someone who is not the addressee's national coordinator.
    #[error(
        "only a national coordinator may ask the organisations of its own country for checkpoints; {from} may not ask {to}"
    )]
    NotCoordinator {
        /// The sender.
        from: NodeAddr,
        /// The addressee.
        to: NodeAddr,
    },
    /// The agreement is not in force at this time.
    #[error("sharing agreement {reference} is not in force: {why}")]
    NotInForce {
        /// The agreement.
        reference: String,
        /// Not yet valid, expired or terminated, with the date.
        why: String,
    },
}

impl AgreementInfo {
    fn check(
        &self,
        kind: pb::MessageKind,
        now_ms: u64,
        from: &NodeAddr,
        to: &NodeAddr,
    ) -> Result<(), AgreementError> {
        let not_in_force = |why: String| AgreementError::NotInForce {
            reference: self.reference.clone(),
            why,
        };
        if let Some(at) = self.terminated_at_ms
            && at <= now_ms
        {
            return Err(not_in_force(format!(
                "terminated {}",
                crate::time::format_ms(at)
            )));
        }
        if now_ms < self.valid_from_ms {
            return Err(not_in_force(format!(
                "valid from {}",
                crate::time::format_ms(self.valid_from_ms)
            )));
        }
        if now_ms >= self.valid_until_ms {
            return Err(not_in_force(format!(
                "expired {}",
                crate::time::format_ms(self.valid_until_ms)
            )));
        }
        if !self.kinds.contains(&kind) {
            return Err(AgreementError::KindNotCovered {
                reference: self.reference.clone(),
                from: from.clone(),
                to: to.clone(),
                kind,
            });
        }
        Ok(())
    }
}

/// A verified federation directory.
#[derive(Debug, Clone)]
pub struct Directory {
    signed: pb::SignedDirectory,
    decoded: pb::Directory,
    federation: String,
    version: u64,
    expires_at_ms: u64,
    brokers: HashMap<BrokerName, BrokerInfo>,
    nodes: HashMap<NodeAddr, NodeInfo>,
    by_certificate: HashMap<[u8; 32], Peer>,
    agreements: Vec<AgreementInfo>,
}

fn fingerprint(entry: &str, bytes: &[u8]) -> Result<[u8; 32], DirectoryError> {
    bytes.try_into().map_err(|_| DirectoryError::Entry {
        entry: entry.to_owned(),
        problem: "certificate fingerprint is not 32 bytes".into(),
    })
}

/// The entry's endpoints, refused when it lists none: a broker nobody can reach is a
/// publication mistake, not a broker.
fn endpoints(entry: &pb::BrokerEntry) -> Result<Vec<String>, DirectoryError> {
    if entry.endpoints.is_empty() {
        return Err(DirectoryError::Entry {
            entry: entry.name.clone(),
            problem: "lists no endpoint".into(),
        });
    }
    Ok(entry.endpoints.clone())
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

/// The SHA-256 of the first certificate in a PEM file, as the directory records it; `None`
/// when the file holds no readable certificate.
pub fn pem_leaf_fingerprint(pem: &str) -> Option<[u8; 32]> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()?
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
                endpoints: endpoints(entry)?,
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
                previous_signing_key: if entry.previous_signing_key.is_empty() {
                    None
                } else {
                    Some((
                        public_key(&entry.address, &entry.previous_signing_key)?,
                        entry.previous_signing_key_expires_at_ms,
                    ))
                },
                accepts_child_referrals: entry.accepts_child_referrals,
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
        let mut agreements = Vec::new();
        for entry in &directory.agreements {
            let party = |text: &str| -> Result<NodeAddr, DirectoryError> {
                let address: NodeAddr = text.parse()?;
                if nodes.contains_key(&address) {
                    Ok(address)
                } else {
                    Err(DirectoryError::Entry {
                        entry: entry.reference.clone(),
                        problem: format!("agreement party {address} is not in the directory"),
                    })
                }
            };
            agreements.push(AgreementInfo {
                reference: entry.reference.clone(),
                party_a: party(&entry.party_a)?,
                party_b: party(&entry.party_b)?,
                kinds: entry
                    .kinds
                    .iter()
                    .filter_map(|k| pb::MessageKind::try_from(*k).ok())
                    .collect(),
                valid_from_ms: entry.valid_from_ms,
                valid_until_ms: entry.valid_until_ms,
                terminated_at_ms: (entry.terminated_at_ms != 0).then_some(entry.terminated_at_ms),
            });
        }
        Ok(Self {
            agreements,
            decoded: directory.clone(),
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

    /// The directory as signed, field by field.
    pub fn entries(&self) -> &pb::Directory {
        &self.decoded
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

    /// All brokers, in no particular order.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerInfo> {
        self.brokers.values()
    }

    /// All nodes, in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.values()
    }

    /// The sharing agreements.
    pub fn agreements(&self) -> &[AgreementInfo] {
        &self.agreements
    }

    /// The agreement under which `from` may send `to` a `kind` message at `now_ms`; the
    /// error says why not. Agreements are bilateral and cover both directions.
    pub fn agreement(
        &self,
        from: &NodeAddr,
        to: &NodeAddr,
        kind: pb::MessageKind,
        now_ms: u64,
    ) -> Result<&AgreementInfo, AgreementError> {
        let mut refusal = AgreementError::None {
            from: from.clone(),
            to: to.clone(),
        };
        for agreement in &self.agreements {
            let between = (&agreement.party_a == from && &agreement.party_b == to)
                || (&agreement.party_a == to && &agreement.party_b == from);
            if !between {
                continue;
            }
            match agreement.check(kind, now_ms, from, to) {
                Ok(()) => return Ok(agreement),
                Err(e) => refusal = e,
            }
        }
        Err(refusal)
    }

    /// Whether `from` may send `to` a `kind` message at `now_ms`: under a sharing agreement, or,
    /// for a checkpoint request, as the addressee's national coordinator (same country, type
    /// coordinator), which needs no agreement.
    pub fn may_send(
        &self,
        from: &NodeAddr,
        to: &NodeAddr,
        kind: pb::MessageKind,
        now_ms: u64,
    ) -> Result<(), AgreementError> {
        if kind != pb::MessageKind::WitnessRequest {
            return self.agreement(from, to, kind, now_ms).map(drop);
        }
        let coordinator = match (self.node(from), self.node(to)) {
            (Some(sender), Some(addressee)) => {
                sender.organisation_type == pb::OrganisationType::Coordinator
                    && !sender.country.trim().is_empty()
                    && sender.country.eq_ignore_ascii_case(&addressee.country)
                    && from != to
            }
            _ => false,
        };
        if coordinator {
            Ok(())
        } else {
            Err(AgreementError::NotCoordinator {
                from: from.clone(),
                to: to.clone(),
            })
        }
    }

    /// Who presented the TLS certificate with this DER, if anyone in the directory.
    pub fn peer_by_certificate(&self, der: &[u8]) -> Option<&Peer> {
        self.by_certificate.get(&certificate_fingerprint(der))
    }
}

/// The directory in use, shared by a broker's or node's tasks, replaced only by a verified
/// newer version.
#[derive(Debug)]
pub struct DirectoryHandle {
    current: RwLock<Arc<Directory>>,
}

impl DirectoryHandle {
    /// Starts with `directory`.
    pub fn new(directory: Directory) -> Self {
        Self {
            current: RwLock::new(Arc::new(directory)),
        }
    }

    /// The directory in use now.
    pub fn current(&self) -> Arc<Directory> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Adopts `candidate` if it is newer; `Ok(false)` if it is the one in use. An older
    /// version, or different content under the version in use, is refused.
    pub fn offer(&self, candidate: Directory) -> Result<bool, DirectoryError> {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match candidate.version.cmp(&current.version) {
            std::cmp::Ordering::Less => Err(DirectoryError::Stale {
                offered: candidate.version,
                current: current.version,
            }),
            std::cmp::Ordering::Equal if candidate.signed == current.signed => Ok(false),
            std::cmp::Ordering::Equal => Err(DirectoryError::VersionConflict(current.version)),
            std::cmp::Ordering::Greater => {
                *current = Arc::new(candidate);
                Ok(true)
            }
        }
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
                endpoints: vec!["https://127.0.0.1:1".into()],
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
            agreements: Vec::new(),
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
    fn a_broker_lists_its_endpoints_in_order_and_at_least_one() {
        let authority = signing::generate_key();
        let node_key = signing::generate_key();
        let key = authority.verifying_key();
        let mut two = sample(&authority, &node_key);
        two.brokers[0].endpoints = vec!["https://a.example:1".into(), "https://b.example:2".into()];
        let directory =
            Directory::verify(sign(&two, &authority), &key, "test", 999).expect("valid");
        let at: BrokerName = "at".parse().expect("valid");
        assert_eq!(
            directory.broker(&at).map(|b| b.endpoints.clone()),
            Some(vec![
                "https://a.example:1".to_owned(),
                "https://b.example:2".to_owned()
            ])
        );

        let mut none = sample(&authority, &node_key);
        none.brokers[0].endpoints.clear();
        assert_eq!(
            Directory::verify(sign(&none, &authority), &key, "test", 999).expect_err("no endpoint"),
            DirectoryError::Entry {
                entry: "at".into(),
                problem: "lists no endpoint".into()
            }
        );
    }

    /// The field that held one endpoint has the encoding of a list of one, so a directory
    /// written before the list still reads.
    #[test]
    fn a_directory_with_the_single_endpoint_field_reads_as_a_list_of_one() {
        use prost::Message as _;
        /// The broker entry as it was, with `string endpoint = 2`.
        #[derive(Clone, PartialEq, prost::Message)]
        struct OldBrokerEntry {
            #[prost(string, tag = "1")]
            name: String,
            #[prost(string, tag = "2")]
            endpoint: String,
        }
        let old = OldBrokerEntry {
            name: "at".into(),
            endpoint: "https://127.0.0.1:7401".into(),
        };
        let read = pb::BrokerEntry::decode(old.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(read.endpoints, vec!["https://127.0.0.1:7401".to_owned()]);
    }

    #[test]
    fn the_handle_adopts_only_newer_versions() {
        let authority = signing::generate_key();
        let node_key = signing::generate_key();
        let key = authority.verifying_key();
        let v3 = Directory::verify(
            sign(&sample(&authority, &node_key), &authority),
            &key,
            "test",
            999,
        )
        .expect("valid");
        let handle = DirectoryHandle::new(v3.clone());
        assert!(!handle.offer(v3).expect("same"));

        let mut newer = sample(&authority, &node_key);
        newer.version = 4;
        let v4 = Directory::verify(sign(&newer, &authority), &key, "test", 999).expect("valid");
        assert!(handle.offer(v4).expect("newer"));
        assert_eq!(handle.current().version(), 4);

        let v3_again = Directory::verify(
            sign(&sample(&authority, &node_key), &authority),
            &key,
            "test",
            999,
        )
        .expect("valid");
        let refused = handle.offer(v3_again).expect_err("older");
        assert_eq!(
            refused,
            DirectoryError::Stale {
                offered: 3,
                current: 4
            }
        );
        assert_eq!(
            refused.to_string(),
            "directory version 3 is older than version 4 in use"
        );

        newer.nodes.clear();
        let rival = Directory::verify(sign(&newer, &authority), &key, "test", 999).expect("valid");
        assert_eq!(
            handle.offer(rival).expect_err("conflict"),
            DirectoryError::VersionConflict(4)
        );
        assert_eq!(handle.current().nodes().count(), 1);
    }

    #[test]
    fn rotated_keys_overlap_then_only_the_new_key_counts() {
        let authority = signing::generate_key();
        let old = signing::generate_key();
        let new = signing::generate_key();
        let mut rotated = sample(&authority, &new);
        rotated.nodes[0].previous_signing_key = old.verifying_key().to_bytes().to_vec();
        rotated.nodes[0].previous_signing_key_expires_at_ms = 500;
        let directory = Directory::verify(
            sign(&rotated, &authority),
            &authority.verifying_key(),
            "test",
            1,
        )
        .expect("valid");
        let node = directory
            .node(&"lefoe-ibf@at".parse().expect("valid"))
            .expect("listed");
        assert_eq!(
            node.signing_keys_at(499),
            [new.verifying_key(), old.verifying_key()]
        );
        assert_eq!(node.signing_keys_at(500), [new.verifying_key()]);
    }

    #[test]
    fn agreements_cover_listed_kinds_in_both_directions_while_in_force() {
        let authority = signing::generate_key();
        let node_key = signing::generate_key();
        let mut with_agreement = sample(&authority, &node_key);
        with_agreement.nodes.push(pb::NodeEntry {
            address: "astra@at".into(),
            certificate_sha256: vec![3; 32],
            signing_key: node_key.verifying_key().to_bytes().to_vec(),
            ..Default::default()
        });
        with_agreement.agreements.push(pb::SharingAgreement {
            reference: "MoU 1".into(),
            party_a: "lefoe-ibf@at".into(),
            party_b: "astra@at".into(),
            kinds: vec![pb::MessageKind::Referral.into()],
            valid_from_ms: 10,
            valid_until_ms: 900,
            terminated_at_ms: 0,
        });
        let directory = Directory::verify(
            sign(&with_agreement, &authority),
            &authority.verifying_key(),
            "test",
            1,
        )
        .expect("valid");
        let lefoe: NodeAddr = "lefoe-ibf@at".parse().expect("valid");
        let astra: NodeAddr = "astra@at".parse().expect("valid");
        assert!(
            directory
                .agreement(&lefoe, &astra, pb::MessageKind::Referral, 100)
                .is_ok()
        );
        assert!(
            directory
                .agreement(&astra, &lefoe, pb::MessageKind::Referral, 100)
                .is_ok()
        );
        assert!(matches!(
            directory.agreement(&lefoe, &astra, pb::MessageKind::InfoRequest, 100),
            Err(AgreementError::KindNotCovered { .. })
        ));
        assert!(matches!(
            directory.agreement(&lefoe, &astra, pb::MessageKind::Referral, 5),
            Err(AgreementError::NotInForce { .. })
        ));
        assert!(matches!(
            directory.agreement(&lefoe, &astra, pb::MessageKind::Referral, 900),
            Err(AgreementError::NotInForce { .. })
        ));
        assert!(matches!(
            directory.agreement(&lefoe, &lefoe, pb::MessageKind::Referral, 100),
            Err(AgreementError::None { .. })
        ));
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

    /// A self-signed Ed25519 certificate made with `openssl req -x509`, and its DER's SHA-256.
    const CERT_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBOjCB7aADAgECAhRdl9wfYNNQYFL6IX5mYAAghjjngDAFBgMrZXAwEzERMA8G
A1UEAwwIcGVtLXRlc3QwHhcNMjYxMjAxMTUwOTU2WhcNMjYxMjAyMTUwOTU2WjAT
MREwDwYDVQQDDAhwZW0tdGVzdDAqMAUGAytlcAMhABXyMvzZ28uKyqvBAvHvkmcm
5zJNGkhJGYrTIMsRL6mWo1MwUTAdBgNVHQ4EFgQUE7iHiXwkd08iM1QrRYGtlMKU
IqgwHwYDVR0jBBgwFoAUE7iHiXwkd08iM1QrRYGtlMKUIqgwDwYDVR0TAQH/BAUw
AwEB/zAFBgMrZXADQQBJaaf6Anj1HmEsN86aDxQGVYQyOwDtZn46TKZvYxHLDwbE
7nwTQoNhSmCpi4Yw1UuNKX1jPEuAFJgw70aZxgYF
-----END CERTIFICATE-----
";
    const CERT_SHA256: &str = "cede43b4c77ca8e71744c51dfcd014d647c5d389a098a6dc7b48b8aa9414561c";

    #[test]
    fn pem_leaf_fingerprint_hashes_the_first_certificate() {
        assert_eq!(
            pem_leaf_fingerprint(CERT_PEM).map(hex::encode).as_deref(),
            Some(CERT_SHA256)
        );
        // A key before the certificate and a second certificate after it change nothing.
        let key =
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        let chain = format!(
            "{key}{CERT_PEM}{}",
            CERT_PEM.replace("MIIBOjCB", "MIIBOjCC")
        );
        assert_eq!(
            pem_leaf_fingerprint(&chain).map(hex::encode).as_deref(),
            Some(CERT_SHA256)
        );
        assert_eq!(pem_leaf_fingerprint(""), None);
        assert_eq!(pem_leaf_fingerprint("not a pem file"), None);
        assert_eq!(
            pem_leaf_fingerprint("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"),
            None
        );
    }
}
