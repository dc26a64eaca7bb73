//! Forward-secret content keys. Partners seal envelopes to this node's short-lived content
//! keys (one age X25519 identity per epoch) instead of its long-term age key, and each key is
//! destroyed on schedule: once it is gone, no copy of an envelope sealed to it (in a broker's
//! files, a backup, a disk image) can be decrypted by anyone, this node included.
//!
//! - [`ring`]: this node's keys on disk, made ahead and destroyed at their time.
//! - [`partners`]: partners' keys, fetched through the home broker and checked here.
//! - [`publish`]: the task that keeps the ring, logs each destruction and publishes the keys.
//! - [`reseal`]: a message a partner refused because its key was retired is sealed again.
//!
//! A key is valid for one epoch (`[content_keys] epoch_secs`, 7 days by default) and kept
//! `keep_after_secs` longer (30 days by default: the longest an envelope may be deliverable),
//! then destroyed. A sender caps every envelope's expiry at the destruction time of the key it
//! seals to, so no envelope that can still be delivered needs a destroyed key. A copy of an
//! envelope thus stays decryptable (given the addressee's keys) at most `epoch_secs +
//! keep_after_secs` after it was sealed: 37 days by default.

pub mod partners;
pub mod publish;
pub mod reseal;
pub mod ring;

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;
use tracing::warn;
use trm_proto::addr::NodeAddr;
use trm_proto::{pb, prekey};

/// Seven days.
pub const DEFAULT_EPOCH_SECS: u64 = 7 * 24 * 3600;

/// The longest an envelope may be deliverable, in seconds (30 days).
pub const DEFAULT_KEEP_AFTER_SECS: u64 = trm_proto::time::MAX_ENVELOPE_LIFETIME_MS / 1000;

/// The `[content_keys]` table of `node.toml`: how long partners seal to one content key, and
/// how long its private half is kept after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContentKeySettings {
    /// How long one content key is used by partners, in seconds (default 7 days). A new key
    /// is made and published ahead of each epoch.
    #[serde(default = "default_epoch")]
    pub epoch_secs: u64,
    /// How long a content key's private half is kept after its epoch ends, in seconds
    /// (default 30 days, the longest an envelope may be deliverable); then it is destroyed.
    /// Partners let no envelope sealed to it be deliverable after that.
    #[serde(default = "default_keep_after")]
    pub keep_after_secs: u64,
}

fn default_epoch() -> u64 {
    DEFAULT_EPOCH_SECS
}

fn default_keep_after() -> u64 {
    DEFAULT_KEEP_AFTER_SECS
}

impl Default for ContentKeySettings {
    fn default() -> Self {
        Self {
            epoch_secs: DEFAULT_EPOCH_SECS,
            keep_after_secs: DEFAULT_KEEP_AFTER_SECS,
        }
    }
}

impl ContentKeySettings {
    /// The settings, when within bounds; the field and the problem otherwise.
    pub fn validate(self) -> Result<Self, (&'static str, String)> {
        let year = 365 * 24 * 3600;
        if !(1..=year).contains(&self.epoch_secs) {
            return Err((
                "content_keys.epoch_secs",
                format!("{} must be between 1 and {year} (a year)", self.epoch_secs),
            ));
        }
        if !(1..=DEFAULT_KEEP_AFTER_SECS).contains(&self.keep_after_secs) {
            return Err((
                "content_keys.keep_after_secs",
                format!(
                    "{} must be between 1 and {DEFAULT_KEEP_AFTER_SECS} (30 days, the longest an envelope may be deliverable)",
                    self.keep_after_secs
                ),
            ));
        }
        Ok(self)
    }

    /// The epoch in milliseconds.
    pub fn epoch_ms(self) -> u64 {
        self.epoch_secs.saturating_mul(1000)
    }

    /// The time kept after the epoch, in milliseconds.
    pub fn keep_after_ms(self) -> u64 {
        self.keep_after_secs.saturating_mul(1000)
    }
}

/// Why content keys could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum EpochError {
    /// A key file or its folder could not be read or written.
    #[error("content key file {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// This node's content keys and its partners', as the node uses them.
pub struct ContentKeys {
    node: NodeAddr,
    signing: SigningKey,
    ring: Mutex<Option<ring::Ring>>,
    /// The data folder, whose `content_keys` folder holds the key files.
    data_dir: PathBuf,
    settings: ContentKeySettings,
    /// Keys destroyed but not logged yet.
    unlogged: Mutex<Vec<String>>,
    partners: partners::Partners,
    /// The channel to the home broker, once the daemon has one.
    channel: OnceLock<Channel>,
}

impl std::fmt::Debug for ContentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentKeys")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl ContentKeys {
    /// Loads the node's keys from `data_dir`, destroying at once those whose time has passed
    /// (a node restored from an old backup brings back no destroyed key) and making the
    /// current and next ones when missing. A failure is logged and tried again by
    /// [`ContentKeys::maintain`]; meanwhile nothing sealed to a content key can be opened.
    pub fn open(
        data_dir: &std::path::Path,
        node: NodeAddr,
        signing: SigningKey,
        settings: ContentKeySettings,
    ) -> Self {
        let keys = Self {
            partners: partners::Partners::default(),
            node,
            signing,
            ring: Mutex::new(None),
            data_dir: data_dir.to_owned(),
            settings,
            unlogged: Mutex::new(Vec::new()),
            channel: OnceLock::new(),
        };
        if let Err(e) = keys.maintain(trm_proto::time::now_ms()) {
            warn!(cause = %e, "content keys not ready; trying again");
        }
        keys
    }

    /// Destroys the keys whose time has come and makes those missing; answers whether the
    /// published set changed.
    pub fn maintain(&self, now_ms: u64) -> Result<bool, EpochError> {
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        if ring.is_none() {
            *ring = Some(ring::Ring::load(
                &self.data_dir,
                self.node.clone(),
                self.settings,
            )?);
        }
        let Some(ring) = ring.as_mut() else {
            return Ok(false);
        };
        let done = ring.maintain(now_ms)?;
        let changed = done.generated > 0 || !done.destroyed.is_empty();
        self.unlogged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(done.destroyed);
        Ok(changed)
    }

    /// The ids of keys destroyed since the last call, for the handover log.
    pub fn take_destroyed(&self) -> Vec<String> {
        std::mem::take(&mut *self.unlogged.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Gives back destroyed key ids that could not be logged, to try again.
    pub fn unlogged(&self, ids: Vec<String>) {
        self.unlogged
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(ids);
    }

    /// The identity of this node's key `key_id`, while it is kept.
    pub fn identity(&self, key_id: &str) -> Option<age::x25519::Identity> {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .and_then(|ring| ring.identity(key_id))
    }

    /// This node's keys that partners may seal to from `now_ms` on, signed.
    pub fn signed_set(&self, now_ms: u64) -> pb::PrekeySet {
        let prekeys = self
            .ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|ring| ring.publishable(now_ms))
            .unwrap_or_default();
        pb::PrekeySet {
            node: self.node.to_string(),
            prekeys: prekeys
                .iter()
                .map(|p| prekey::sign(p, &self.signing))
                .collect(),
        }
    }

    /// Every key this node still holds, with its window.
    pub fn kept(&self) -> Vec<pb::Prekey> {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(ring::Ring::kept)
            .unwrap_or_default()
    }

    /// Uses `channel` to reach the home broker (set once, by the daemon).
    pub fn connect(&self, channel: Channel) {
        let _ = self.channel.set(channel);
    }

    /// The channel to the home broker, if the daemon set one.
    pub fn channel(&self) -> Option<&Channel> {
        self.channel.get()
    }

    /// Partners' keys.
    pub fn partners(&self) -> &partners::Partners {
        &self.partners
    }
}
