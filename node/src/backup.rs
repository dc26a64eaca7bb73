//! Backing up a running node and restoring it elsewhere (`trm-node backup` and
//! `trm-node restore`; the operator's guide is `docs/backup.md`).
//!
//! A node's keys and per-case keys are its organisation's only way to read its cases, so a
//! backup holds everything a node needs to come back: its configuration (for reference), its
//! key and certificate files, the federation directory, the whole store (messages, cases,
//! outbox, the handover log, checkpoints, witness records) and the keys of its live cases.
//!
//! - [`service`]: the running node makes the snapshot itself when asked on its admin socket,
//!   pausing its store's one writer so that store, log and case keys are one point in time
//!   (see [`crate::store::snapshot`] for why that is consistent).
//! - [`take`]: `trm-node backup` asks for the snapshot, adds the configuration and key files,
//!   and writes the archive encrypted with age to a recovery recipient, atomically.
//! - [`archive`]: the archive's format: a manifest (node, time, log size and head, every
//!   file's size and SHA-256), then the files, all inside one age encryption.
//! - [`marker`]: the mark a restore leaves so the restored node does not start beside the
//!   original until the operator takes over with `--take-over`.
//! - [`restore`]: `trm-node restore` decrypts with the recovery identity, checks the manifest
//!   and every file, and writes a ready-to-run node folder (files 0600, folders 0700).
//!
//! The archive exists in plaintext only in memory: it is encrypted as it is written, so no
//! unencrypted byte of it ever reaches a disk. A case erased before the snapshot has its key
//! left out; backups taken before the erasure keep the old key until they are destroyed.

pub mod archive;
pub mod marker;
pub mod restore;
pub mod service;
pub mod take;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[backup]` table of the node's configuration.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSettings {
    /// The age recipient (`age1...`) that backups are encrypted to when `trm-node backup` is
    /// not given `--recipient`: the public half of the organisation's recovery key, whose
    /// private half is kept offline (see `docs/backup.md`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_recipient: Option<String>,
}

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No recipient on the command line nor in the configuration.
    #[error(
        "no recovery recipient: give --recipient age1... or set recovery_recipient in the \
         [backup] table of the configuration"
    )]
    NoRecipient,
    /// The recipient is not usable (what is wrong, never echoing a secret key).
    #[error("recovery recipient: {0}")]
    Recipient(String),
    /// The recipient is the node's own key, which the backup itself holds.
    #[error(
        "the recovery recipient is the node's own age key, which is inside the backup: \
         use a separate recovery key kept offline"
    )]
    OwnKey,
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The running node could not be reached on its admin socket.
    #[error("cannot reach the node at {path}: {message} (is trm-node running?)")]
    Connect {
        /// The socket.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The node refused or failed to make the snapshot.
    #[error("the node could not make a snapshot: {0}")]
    Snapshot(String),
    /// The identity file holds no age identity.
    #[error("{0} holds no age identity (a line AGE-SECRET-KEY-1...)")]
    Identity(PathBuf),
    /// The backup is not encrypted to the given identity.
    #[error(
        "{from} cannot be opened with the key in {identity}: the backup was encrypted to another recovery key"
    )]
    WrongKey {
        /// The backup.
        from: PathBuf,
        /// The identity file.
        identity: PathBuf,
    },
    /// The backup is not a trm backup, or it is damaged.
    #[error("{path} is not a readable trm backup: {problem}")]
    Damaged {
        /// The backup.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
    /// The folder to restore into holds files already.
    #[error("{0} is not empty: restore into a new or empty folder")]
    NotEmpty(PathBuf),
    /// The restored store could not be written or does not match the manifest.
    #[error("the restored store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The restored handover log does not match the manifest.
    #[error(
        "the restored handover log has {found} entries ending in {found_head}, but the \
         backup says {expected} ending in {expected_head}"
    )]
    LogMismatch {
        /// Entries the manifest names.
        expected: u64,
        /// Its head, hex.
        expected_head: String,
        /// Entries restored.
        found: u64,
        /// Their head, hex.
        found_head: String,
    },
}

/// What is wrong with `text` as the recovery recipient of a node whose own age recipient is
/// `own`, in words; `None` if it is a usable age recipient. A secret key given by mistake is
/// never echoed.
pub fn recipient_problem(text: &str, own: &str) -> Option<String> {
    let text = text.trim();
    if text.to_ascii_uppercase().starts_with("AGE-SECRET-KEY") {
        return Some(
            "this is a secret key (AGE-SECRET-KEY-...), not a recipient: give its public half \
             (age1...) and keep the secret key offline; if this secret key was shared, make a \
             new recovery key"
                .to_owned(),
        );
    }
    if text.parse::<age::x25519::Recipient>().is_err() {
        return Some(format!("{text:?} is not an age recipient (age1...)"));
    }
    (text == own).then(|| {
        "this is the node's own age key, which is inside the backup: use a separate recovery \
         key kept offline"
            .to_owned()
    })
}

/// An I/O error on `path`.
pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::recipient_problem;

    #[test]
    fn a_secret_key_given_as_recipient_is_refused_without_echoing_it() {
        let secret = age::x25519::Identity::generate();
        let own = age::x25519::Identity::generate().to_public().to_string();
        let text = {
            use age::secrecy::ExposeSecret as _;
            secret.to_string().expose_secret().to_owned()
        };
        let said = recipient_problem(&text, &own).unwrap_or_default();
        assert!(
            said.contains("secret key")
                && !said.contains(text.get(15..).unwrap_or("AGE-SECRET-KEY-1")),
            "{said}"
        );
        assert!(recipient_problem(&own, &own).is_some_and(|s| s.contains("own age key")));
        let public = secret.to_public().to_string();
        assert_eq!(recipient_problem(&public, &own), None);
        assert!(recipient_problem("age1nonsense", &own).is_some());
    }
}
