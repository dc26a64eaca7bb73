//! The offline verification behind `trm audit verify`: checks exported handover-log bundles, each on its own and
//! against each other, with nothing but the federation's signed directory.
//!
//! Each bundle: it decodes, its hash chain is intact ([`trm_log::entry::verify_entries`]),
//! its checkpoints are signed by its node's key from the directory, and its entries hash (as an
//! RFC 6962 tree, [`trm_log::merkle`]) to the root of every checkpoint that covers them; a
//! checkpoint larger than the bundle means entries were removed, one with another root means
//! entries were rewritten. Bundles of the same node: every two checkpoints it signed must be
//! consistent, or it showed two histories (a fork, with both signed notes as evidence).
//! Bundles of partners: a handover both logged carries the same envelope digest on both sides;
//! a message the sender holds a signed DELIVERED receipt for is in the receiver's log, and a
//! message the receiver logged is in the sender's log.
//!
//! Witnessing: each partner checkpoint a bundle's node cosigned must be signed by the partner and
//! cosigned by the node, fit every other checkpoint of the partner (one root per size) and be
//! reproduced by the partner's own bundle; fork evidence a node recorded is re-checked and
//! reported. So a node that showed two partners two histories is named, with the size and, where
//! the bundles allow, the entry where they part.
//!
//! Every finding names the node and, where there is one, the entry and the message id.
//!
//! # Layout
//! - [`trust`]: the directory's node keys.
//! - [`bundle`]: decoding a bundle, opening its checkpoints, and one pass over its entries
//!   (chain, tree roots, the records the cross-check needs).
//! - [`history`]: each node's entries against every checkpoint it signed: removed, rewritten,
//!   forked.
//! - [`cross`]: the bilateral cross-check between partners.
//! - [`witnessed`]: partners' checkpoints the nodes cosigned, and the forks they recorded.
//! - [`report`]: output for people and for scripts.
//! - `progress`: a progress line on a terminal.

pub mod bundle;
pub mod cross;
pub mod history;
mod progress;
pub mod report;
pub mod trust;
pub mod witnessed;

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

pub use report::Report;
pub use trust::{Trust, TrustError};

/// What kind of problem a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The bundle cannot be decoded, or is of another format or federation.
    Unreadable,
    /// The bundle's node is not in the directory, so its signatures cannot be checked.
    UnknownNode,
    /// A checkpoint note is malformed, of another log, or not validly signed by the node.
    BadCheckpoint,
    /// The bundle has entries but no valid checkpoint: nothing the node signed vouches for them.
    Unsigned,
    /// The hash chain is broken at an entry.
    BrokenChain,
    /// A checkpoint the node signed covers entries the bundle does not hold.
    MissingEntries,
    /// The entries do not hash to the root of a checkpoint the node signed over them.
    RewrittenEntries,
    /// The node signed two checkpoints that are not consistent: it showed two histories.
    Fork,
    /// A handover one side logged is missing from the other side's log.
    MissingCounterpart,
    /// Both sides logged a handover, with different envelope digests.
    DigestMismatch,
    /// A witnessed checkpoint or fork evidence in a bundle is not validly signed by the partner
    /// and cosigned by the bundle's node, or does not show what it claims.
    BadWitnessRecord,
}

impl FindingKind {
    /// Its name, as `trm audit verify --json` writes it (`rewritten_entries`, ...).
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// What it means, in plain words.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Unreadable => "the log file cannot be read, or is of another federation",
            Self::UnknownNode => {
                "the log is of an organisation the directory does not list, so it cannot be checked"
            }
            Self::BadCheckpoint => "a signed summary of the log is damaged or not validly signed",
            Self::Unsigned => "the log has entries but no valid signed summary vouches for them",
            Self::BrokenChain => "the log's entries no longer link up: one was changed or removed",
            Self::MissingEntries => "entries the organisation signed for are missing from the log",
            Self::RewrittenEntries => "entries were changed after the organisation signed for them",
            Self::Fork => "the organisation signed two different histories of its log",
            Self::MissingCounterpart => {
                "a message one side logged is missing from the other side's log"
            }
            Self::DigestMismatch => "both sides logged a message, but not the same message",
            Self::BadWitnessRecord => {
                "a record of a partner's countersignature is not validly signed"
            }
        }
    }
}

/// An entry of another node's log that a finding refers to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Counterpart {
    /// The other node.
    pub node: String,
    /// Its entry.
    pub entry: u64,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem.
    pub kind: FindingKind,
    /// The node whose log shows it (for an unreadable bundle, what the bundle claims, if
    /// anything).
    pub node: String,
    /// The bundle file it was found in.
    pub bundle: String,
    /// The entry of the node's log concerned, when one can be named.
    pub entry: Option<u64>,
    /// The message concerned, when there is one.
    pub message_id: Option<String>,
    /// The other node's entry it was compared with, for cross-checks.
    pub counterpart: Option<Counterpart>,
    /// What is wrong.
    pub detail: String,
    /// Signed checkpoint notes that prove it (for forks: both).
    pub evidence: Vec<String>,
}

impl Finding {
    /// A finding about `node`'s bundle `bundle`, without entry, message or evidence.
    pub fn new(kind: FindingKind, node: &str, bundle: &str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            node: node.to_owned(),
            bundle: bundle.to_owned(),
            entry: None,
            message_id: None,
            counterpart: None,
            detail: detail.into(),
            evidence: Vec::new(),
        }
    }

    /// The same finding, naming `entry`.
    pub fn at(mut self, entry: u64) -> Self {
        self.entry = Some(entry);
        self
    }

    /// The same finding, naming the message.
    pub fn message(mut self, message_id: Option<&str>) -> Self {
        self.message_id = message_id.filter(|m| !m.is_empty()).map(str::to_owned);
        self
    }
}

/// Verifies `bundles` (file name, bytes) offline with the keys in `trust`.
pub fn verify(bundles: Vec<(String, Vec<u8>)>, trust: &Trust) -> Report {
    let mut findings = Vec::new();
    let mut opened = Vec::new();
    for (name, bytes) in bundles {
        match bundle::open(&name, &bytes, trust) {
            Ok((bundle, problems)) => {
                findings.extend(problems);
                opened.push(bundle);
            }
            Err(finding) => findings.push(*finding),
        }
    }
    let present: HashSet<String> = opened.iter().map(|b| b.node.clone()).collect();
    let total: u64 = opened.iter().map(|b| b.entries.len() as u64).sum();
    let scans = progress::run(total, |progress| {
        opened
            .iter()
            .map(|b| {
                let sizes: BTreeSet<u64> = opened
                    .iter()
                    .filter(|other| other.node == b.node)
                    .flat_map(|other| other.checkpoints.iter().map(|c| c.checkpoint.size))
                    .chain(witnessed::sizes(&opened, &b.node))
                    .collect();
                bundle::scan(b, &sizes, &present, progress)
            })
            .collect::<Vec<_>>()
    });
    findings.extend(history::check(&opened, &scans));
    findings.extend(witnessed::check(&opened, &scans));
    let (cross_findings, cross) = cross::check(&opened, &scans);
    findings.extend(cross_findings);
    findings.sort_by(|a, b| {
        (&a.node, a.entry, a.kind, &a.bundle).cmp(&(&b.node, b.entry, b.kind, &b.bundle))
    });
    findings.dedup();
    Report::new(trust, &opened, &scans, findings, cross)
}

#[cfg(test)]
mod tests;
