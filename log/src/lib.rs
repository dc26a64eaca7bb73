//! The handover-log format of trm, without storage or network: what a node writes to its
//! append-only log and signs about it, and what an auditor reads back offline.
//!
//! The node keeps its log in its store and uses this crate to hash, chain, checkpoint and
//! prove; the auditor (`trm-audit`) uses the same code to check an exported bundle. Nothing
//! here opens a file, a database or a socket.
//!
//! # Layout
//! - [`deadlines`]: the default due times of open case items and the pure rules over them.
//! - [`entry`]: entry hashing (the `trm/log-entry/v1` domain), decoding, and verifying a chain
//!   of entry bytes ([`entry::verify_entries`]).
//! - [`merkle`]: RFC 6962 Merkle trees over the entries, with inclusion and consistency proofs.
//! - [`note`]: the one parser of C2SP signed notes: where the text ends and signatures begin.
//! - [`checkpoint`]: signed checkpoints of the tree, witness cosignatures, [`checkpoint::NoteVerifier`]
//!   and the [`checkpoint::CheckpointSigner`] that never signs two inconsistent checkpoints.
//! - [`pseudonym`]: keyed case tags in log entries and audience pseudonyms in exports.
//! - [`witness`]: a witness's decision about one checkpoint a partner presents: known, a proved
//!   extension to cosign, unprovable for now, or a fork.
//! - `fixtures` (tests, feature `fixtures`): made-up entries.
//! - [`BUNDLE_FORMAT`]: the version of the exported `trm.v1.LogBundle`.

#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod deadlines;
pub mod entry;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod merkle;
pub mod note;
pub mod pseudonym;
pub mod witness;

/// The version of the exported log bundle (`trm.v1.LogBundle.format`) that nodes write and
/// auditors read.
pub const BUNDLE_FORMAT: u32 = 1;
