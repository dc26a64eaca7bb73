//! The federation authority's operations on a federation folder: enrol a node, revoke a node
//! or broker, rotate a node's signing key with an overlap, make and terminate sharing
//! agreements. Each change is published as a new directory version, signed with the
//! authority key under a version number reserved beforehand, and written atomically and
//! durably; brokers and nodes pick it up on their next refresh.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use prost::Message;
use trm_proto::addr::NodeAddr;
use trm_proto::directory::{self, Directory};
use trm_proto::{pb, signing, time};

use crate::enrollment::EnrollmentRequest;
use crate::enrollment::organisation_type;
use crate::files::{self, Access};
use crate::{CertsError, crash, pki, publish};

const DAY_MS: u64 = 86_400_000;

fn invalid(entry: &str, field: &'static str, problem: impl Into<String>) -> CertsError {
    CertsError::Invalid {
        entry: entry.to_owned(),
        field,
        problem: problem.into(),
    }
}

/// A federation folder opened with its authority key.
pub struct Authority {
    dir: PathBuf,
    key: SigningKey,
    directory: pb::Directory,
    /// The folder's lock, held from loading the directory to the last publish, so that two
    /// processes never both change the version they loaded.
    _lock: std::fs::File,
}

/// Takes the federation folder's lock, refusing (not waiting) when another holds it.
fn lock(dir: &Path) -> Result<std::fs::File, CertsError> {
    let path = dir.join(files::LOCK);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| CertsError::Io {
            action: "open",
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(CertsError::Busy { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(CertsError::Io {
            action: "lock",
            path,
            source,
        }),
    }
}

impl Authority {
    /// Opens a federation folder (as `trm-dev generate` writes one): its authority key and the
    /// current directory, whose signature must verify with that key.
    pub fn open(dir: &Path) -> Result<Self, CertsError> {
        let lock = lock(dir)?;
        let key_path = dir.join(files::AUTHORITY_KEY);
        let key = signing::decode_secret(&files::read(&key_path)?).ok_or_else(|| {
            invalid(
                "authority",
                "key",
                format!("{} is not a signing key", key_path.display()),
            )
        })?;
        let path = dir.join(files::DIRECTORY);
        let bytes = std::fs::read(&path).map_err(|source| CertsError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let signed = pb::SignedDirectory::decode(bytes.as_slice())
            .map_err(|e| invalid("directory", "file", e.to_string()))?;
        signing::verify(
            &key.verifying_key(),
            signing::Purpose::Directory,
            &signed.directory,
            &signed.signature,
        )
        .map_err(|e| invalid("directory", "signature", e.to_string()))?;
        let directory = pb::Directory::decode(signed.directory.as_slice())
            .map_err(|e| invalid("directory", "file", e.to_string()))?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            directory,
            _lock: lock,
        })
    }

    /// The directory as it will be published.
    pub fn directory(&self) -> &pb::Directory {
        &self.directory
    }

    /// The authority's public key, which everyone pins to verify the directory.
    pub fn verifying_key(&self) -> ed25519_dalek::VerifyingKey {
        self.key.verifying_key()
    }

    fn node_mut(&mut self, address: &str) -> Result<&mut pb::NodeEntry, CertsError> {
        self.directory
            .nodes
            .iter_mut()
            .find(|n| n.address == address)
            .ok_or_else(|| {
                invalid(
                    &format!("node {address:?}"),
                    "address",
                    "is not in the directory",
                )
            })
    }

    /// Adds the requesting node, issuing its TLS certificate (written to
    /// `nodes/<address>/tls.pem` and returned).
    pub fn enroll(
        &mut self,
        request: &EnrollmentRequest,
        validity_days: u32,
    ) -> Result<String, CertsError> {
        let entry = format!("enrollment {:?}", request.address);
        let address: NodeAddr = request
            .address
            .parse()
            .map_err(|e: trm_proto::addr::AddrError| invalid(&entry, "address", e.to_string()))?;
        if self
            .directory
            .nodes
            .iter()
            .any(|n| n.address == request.address)
        {
            return Err(invalid(&entry, "address", "is already in the directory"));
        }
        if !self
            .directory
            .brokers
            .iter()
            .any(|b| b.name == address.broker().as_str())
        {
            return Err(invalid(
                &entry,
                "address",
                format!("home broker {} is not in the directory", address.broker()),
            ));
        }
        let organisation_type = organisation_type(&request.organisation_type).ok_or_else(|| {
            invalid(
                &entry,
                "organisation_type",
                format!("{:?} is not known", request.organisation_type),
            )
        })?;
        let signing_key = hex::decode(&request.signing_key)
            .ok()
            .filter(|k| signing::verifying_key(k).is_ok())
            .ok_or_else(|| invalid(&entry, "signing_key", "is not an Ed25519 public key in hex"))?;
        request
            .age_recipient
            .parse::<age::x25519::Recipient>()
            .map_err(|_| invalid(&entry, "age_recipient", "is not an age1... recipient"))?;
        let (cert_pem, der) = pki::sign_node_request(
            &self.dir,
            &address,
            &request.certificate_request,
            validity_days,
        )?;
        self.directory.nodes.push(pb::NodeEntry {
            address: request.address.clone(),
            organisation: request.organisation.clone(),
            organisation_type: organisation_type.into(),
            country: request.country.clone(),
            certificate_sha256: directory::certificate_fingerprint(&der).to_vec(),
            signing_key,
            age_recipient: request.age_recipient.clone(),
            services: request.services.clone(),
            languages: request.languages.clone(),
            accepts_child_referrals: request.accepts_child_referrals,
            ..Default::default()
        });
        let node_dir = files::create_dir(&self.dir.join(files::NODES).join(address.as_str()))?;
        files::write(
            &node_dir.join(files::TLS_CERT),
            cert_pem.as_bytes(),
            Access::Public,
        )?;
        Ok(cert_pem)
    }

    /// Removes a node (and the agreements naming it) or a broker (and its nodes).
    pub fn revoke(&mut self, name: &str) -> Result<(), CertsError> {
        let nodes_before = self.directory.nodes.len();
        let brokers_before = self.directory.brokers.len();
        let broker_suffix = format!("@{name}");
        self.directory.brokers.retain(|b| b.name != name);
        let revoked_broker = self.directory.brokers.len() != brokers_before;
        self.directory.nodes.retain(|n| {
            n.address != name && !(revoked_broker && n.address.ends_with(&broker_suffix))
        });
        if self.directory.nodes.len() == nodes_before && !revoked_broker {
            return Err(invalid(
                &format!("{name:?}"),
                "name",
                "is neither a node nor a broker in the directory",
            ));
        }
        let remaining: Vec<String> = self
            .directory
            .nodes
            .iter()
            .map(|n| n.address.clone())
            .collect();
        self.directory
            .agreements
            .retain(|a| remaining.contains(&a.party_a) && remaining.contains(&a.party_b));
        Ok(())
    }

    /// Makes `new_key` (hex) the node's signing key; the old one stays accepted for
    /// `overlap_ms` so that messages already signed with it still verify.
    pub fn rotate_key(
        &mut self,
        address: &str,
        new_key: &str,
        overlap_ms: u64,
    ) -> Result<(), CertsError> {
        let entry = format!("node {address:?}");
        let new_key = hex::decode(new_key)
            .ok()
            .filter(|k| signing::verifying_key(k).is_ok())
            .ok_or_else(|| invalid(&entry, "signing_key", "is not an Ed25519 public key in hex"))?;
        let node = self.node_mut(address)?;
        if node.signing_key == new_key {
            return Err(invalid(&entry, "signing_key", "is already the current key"));
        }
        node.previous_signing_key = std::mem::replace(&mut node.signing_key, new_key);
        node.previous_signing_key_expires_at_ms = time::now_ms() + overlap_ms;
        Ok(())
    }

    /// Ends a rotation's overlap now, so the previous key is refused from the next version on
    /// (for example when the old key may have been compromised).
    pub fn end_overlap(&mut self, address: &str) -> Result<(), CertsError> {
        let node = self.node_mut(address)?;
        if node.previous_signing_key.is_empty() {
            return Err(invalid(
                &format!("node {address:?}"),
                "previous_signing_key",
                "there is no rotation in progress",
            ));
        }
        node.previous_signing_key_expires_at_ms = time::now_ms();
        Ok(())
    }

    /// Adds a bilateral sharing agreement.
    pub fn agree(
        &mut self,
        reference: &str,
        parties: [&str; 2],
        kinds: &[pb::MessageKind],
        valid_days: u32,
    ) -> Result<(), CertsError> {
        let entry = format!("agreement {reference:?}");
        if self
            .directory
            .agreements
            .iter()
            .any(|a| a.reference == reference)
        {
            return Err(invalid(&entry, "reference", "is already used"));
        }
        for party in parties {
            if !self.directory.nodes.iter().any(|n| n.address == party) {
                return Err(invalid(
                    &entry,
                    "parties",
                    format!("{party:?} is not in the directory"),
                ));
            }
        }
        let now = time::now_ms();
        self.directory.agreements.push(pb::SharingAgreement {
            reference: reference.to_owned(),
            party_a: parties[0].to_owned(),
            party_b: parties[1].to_owned(),
            kinds: kinds.iter().map(|k| i32::from(*k)).collect(),
            valid_from_ms: now,
            valid_until_ms: now + u64::from(valid_days) * DAY_MS,
            terminated_at_ms: 0,
        });
        Ok(())
    }

    /// Terminates an agreement now.
    pub fn terminate(&mut self, reference: &str) -> Result<(), CertsError> {
        let agreement = self
            .directory
            .agreements
            .iter_mut()
            .find(|a| a.reference == reference)
            .ok_or_else(|| {
                invalid(
                    &format!("agreement {reference:?}"),
                    "reference",
                    "is not in the directory",
                )
            })?;
        agreement.terminated_at_ms = time::now_ms();
        Ok(())
    }

    /// Signs the changes as the next version, valid for `validity_days`, checks it verifies,
    /// and writes it to `published/<version>.pb` and `directory.pb` (each atomically and
    /// durably). The version number is reserved on disk before signing ([`crate::publish`]), so a
    /// publish stopped at any step and run again never signs two directories with one number.
    /// On an error the directory in use is unchanged. Returns the new version.
    pub fn publish(&mut self, validity_days: u32) -> Result<pb::SignedDirectory, CertsError> {
        let now = time::now_ms();
        let version = publish::reserve(&self.dir, self.directory.version)?;
        crash::point(crash::AFTER_RESERVE);
        let mut next = self.directory.clone();
        next.version = version;
        next.issued_at_ms = now;
        next.expires_at_ms = now + u64::from(validity_days) * DAY_MS;
        let signed = directory::sign(&next, &self.key);
        Directory::verify(
            signed.clone(),
            &self.key.verifying_key(),
            &next.federation,
            now,
        )?;
        crash::point(crash::AFTER_SIGN);
        let bytes = signed.encode_to_vec();
        publish::archive(&self.dir, version, &bytes)?;
        crash::point(crash::AFTER_ARCHIVE);
        files::write(&self.dir.join(files::DIRECTORY), &bytes, Access::Public)?;
        crash::point(crash::AFTER_WRITE);
        self.directory = next;
        Ok(signed)
    }
}
