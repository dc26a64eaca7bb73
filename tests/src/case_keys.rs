//! A node's case keys as a test sees them from outside the node: each look opens the node's
//! vault again, so what the node has made or erased since is read from its disk.

use std::path::Path;

use age::secrecy::ExposeSecret as _;
use anyhow::Context as _;
use trm_node::vault::Vault;

/// A case key as it is on disk: the text its file holds (or would hold, as a backup holds it)
/// and, for a key of the present kind, its 32 bytes as its slot holds them.
#[derive(Debug, Clone)]
pub struct KeyOnDisk {
    /// `TRM-CASE-KEY-1 <hex>`, or an earlier version's age identity.
    pub text: String,
    /// The key's bytes (empty for an age identity).
    pub bytes: Vec<u8>,
}

impl KeyOnDisk {
    /// Whether any file under `dir` holds the key, as text or as bytes.
    pub fn found_in(&self, dir: &Path) -> anyhow::Result<bool> {
        Ok(
            trm_dev::wait::tree_contains(dir, self.text.trim().as_bytes())?
                || (!self.bytes.is_empty() && trm_dev::wait::tree_contains(dir, &self.bytes)?),
        )
    }
}

/// Whether the node whose data folder is `data_dir` holds a key for `id` (a case's store key,
/// or [`trm_node::vault::authored`] of it).
pub fn has_case_key(data_dir: &Path, id: &[u8]) -> anyhow::Result<bool> {
    Ok(Vault::open(data_dir)?.has_key(id))
}

/// The node's key for `id`, as it is on disk; an error when it has none.
pub fn case_key_on_disk(data_dir: &Path, id: &[u8]) -> anyhow::Result<KeyOnDisk> {
    let text = Vault::open(data_dir)?
        .key_text(id)?
        .context("the case has no key")?
        .expose_secret()
        .to_owned();
    let bytes = text
        .trim()
        .strip_prefix("TRM-CASE-KEY-1 ")
        .map(hex::decode)
        .transpose()?
        .unwrap_or_default();
    Ok(KeyOnDisk { text, bytes })
}
