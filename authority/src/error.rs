//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

use trm_proto::directory::DirectoryError;

/// Why a federation could not be described, generated or extended.
#[derive(Debug, thiserror::Error)]
pub enum CertsError {
    /// The spec is not valid TOML or does not have the expected fields.
    #[error("invalid federation spec: {0}")]
    Toml(#[from] toml::de::Error),
    /// One field of one entry of the spec is invalid; `entry` names the entry
    /// (`node "astra@rs"`, `broker "at"`, `spec`) and `field` the field.
    #[error("{entry}: {field} {problem}")]
    Invalid {
        /// Which entry, for example `node "astra@rs"`.
        entry: String,
        /// Which field of it, for example `home broker`.
        field: &'static str,
        /// What is wrong with the value.
        problem: String,
    },
    /// rcgen could not create a key pair or a certificate.
    #[error("cannot create the {what}: {source}")]
    Certificate {
        /// Which key or certificate, for example `certificate of node astra@rs`.
        what: String,
        /// rcgen's reason.
        source: rcgen::Error,
    },
    /// The CA certificate or key in a federation folder is unusable.
    #[error("cannot load the federation ca from {path}: {problem}")]
    Ca {
        /// The file that was read.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A file or folder could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done: `write`, `read`, `create folder`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Publishing was refused to keep version numbers unique: the reserved number is
    /// unreadable, or the version is already published.
    #[error("{}: {problem}", path.display())]
    Publish {
        /// The file that says so (`next-version`, or the copy in `published/`).
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Another process is changing the federation folder; two at once could sign directories
    /// that each leave out the other's change.
    #[error("{} is locked: another trm-authority is working on this federation; try again when it is done", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
    },
    /// The spec could not be written back as TOML.
    #[error("cannot serialise the federation spec: {0}")]
    SerializeSpec(#[from] toml::ser::Error),
    /// The directory just generated does not verify; this is a bug in this crate.
    #[error("the generated directory does not verify: {0}")]
    Directory(#[from] DirectoryError),
}

impl CertsError {
    /// Whether the error is about the spec itself (bad TOML or an invalid field), as opposed
    /// to a failure while generating or writing; the binary exits with 64 for these.
    pub fn is_spec_error(&self) -> bool {
        matches!(self, CertsError::Toml(_) | CertsError::Invalid { .. })
    }
}
