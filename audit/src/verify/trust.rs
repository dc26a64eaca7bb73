//! Whose signatures `trm audit verify` accepts: each node's signing keys as the federation's
//! signed directory lists them, read offline from `directory.pb` and the pinned authority key.

use std::collections::HashMap;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use prost::Message;
use trm_proto::directory::{self, Directory, DirectoryError};
use trm_proto::pb;

/// Why the directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a signed directory, or it does not verify.
    #[error("{path}: {source}")]
    Directory {
        /// The file.
        path: std::path::PathBuf,
        /// Why it was refused.
        source: DirectoryError,
    },
}

/// The federation and its nodes' signing keys.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The federation's name: checkpoint origins are `trm/<federation>/<node>`.
    federation: String,
    /// Each node's accepted signing keys, by address.
    keys: HashMap<String, Vec<VerifyingKey>>,
    /// Said about the directory when it was loaded (an expired directory, say).
    note: Option<String>,
}

impl Trust {
    /// Trust in `keys` (node address → accepted signing keys) for `federation`.
    pub fn new(federation: &str, keys: HashMap<String, Vec<VerifyingKey>>) -> Self {
        Self {
            federation: federation.to_owned(),
            keys,
            note: None,
        }
    }

    /// Reads a signed directory file and verifies it with the pinned authority key (64 hex
    /// digits) for `federation`. An audit looks at the past, so an expired directory is
    /// accepted, as of its last valid moment, and said so in [`Trust::note`]. Each node's keys
    /// are its current key and, during a rotation's overlap, the previous one.
    pub fn from_directory_file(
        path: &Path,
        authority_key: &str,
        federation: &str,
        now_ms: u64,
    ) -> Result<Self, TrustError> {
        let refused = |source| TrustError::Directory {
            path: path.to_owned(),
            source,
        };
        let authority = directory::parse_authority_key(authority_key).map_err(refused)?;
        let bytes = std::fs::read(path).map_err(|source| TrustError::Read {
            path: path.to_owned(),
            source,
        })?;
        let signed = pb::SignedDirectory::decode(bytes.as_slice())
            .map_err(|e| refused(DirectoryError::Malformed(e.to_string())))?;
        // The expiry is read before the signature is checked only to choose the time to check
        // at; `Directory::verify` then checks the signature over these same bytes.
        let expires_at_ms = pb::Directory::decode(signed.directory.as_slice())
            .map(|d| d.expires_at_ms)
            .unwrap_or(u64::MAX);
        let at_ms = now_ms.min(expires_at_ms.saturating_sub(1));
        let verified = Directory::verify(signed, &authority, federation, at_ms).map_err(refused)?;
        let note = (at_ms < now_ms).then(|| {
            format!(
                "directory version {} expired at {}; its keys are used as they were then",
                verified.version(),
                trm_proto::time::format_ms(verified.expires_at_ms())
            )
        });
        let keys = verified
            .nodes()
            .map(|node| (node.address.to_string(), node.signing_keys_at(at_ms)))
            .collect();
        Ok(Self {
            federation: federation.to_owned(),
            keys,
            note,
        })
    }

    /// The federation's name.
    pub fn federation(&self) -> &str {
        &self.federation
    }

    /// The keys accepted from node `address`, if the directory lists it.
    pub fn keys(&self, address: &str) -> Option<&[VerifyingKey]> {
        self.keys.get(address).map(Vec::as_slice)
    }

    /// What to tell the auditor about the directory, if anything.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}
