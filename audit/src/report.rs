//! The coordinator's report (`trm audit report`) over exported handover-log bundles, from their
//! metadata only (kinds, times, organisations, countries and yes/no flags; never names, never
//! content, which the bundles do not hold and the report does not add).
//!
//! The bundles are verified first with [`crate::verify`]; a report over bundles with
//! findings is still produced, says so at the top and lists every finding.
//!
//! Figures are counted to the moment the report is "as of" (a parameter: `trm audit report`
//! passes the present), so a referral sent minutes before is awaiting its answer, not
//! unanswered.
//!
//! # Layout
//! - [`orgs`]: each address's organisation name, country and type, from the signed directory.
//! - `answers`: where each referral and information request stands (answered, awaiting,
//!   past due, closed) and the timeliness of answers per organisation and country pair.
//! - [`figures`]: the pure computation over decoded entries (handovers, timings, unanswered
//!   requests, consent, returns, children, initiators, network).
//! - [`tables`]: the figures' rows, with stable field names.
//! - [`html`] (with `svg`), [`csv`]: the self-contained HTML page and the single CSV file; JSON is the
//!   [`Report`] serialised as it is.
//! - [`cases`]: how cases are named: one pseudonym per case across the nodes' bundles, never a
//!   case reference.
//! - [`build`]: each node's log from the bundles, the verification summary, the directory's
//!   organisations, the whole report, and rendering it as JSON, CSV or HTML.

mod answers;
pub mod build;
pub mod cases;
pub mod csv;
pub mod figures;
pub mod html;
pub mod orgs;
mod svg;
pub mod tables;

use std::collections::BTreeMap;

use serde::Serialize;
use trm_proto::pb;

pub use figures::Figures;
pub use orgs::{Org, Orgs};

/// What the log does not record yet, so the report cannot answer it; said in every format.
/// Empty now that the log records deadlines (OVERDUE entries), decisions and guardians.
pub const NOT_YET_AVAILABLE: [&str; 0] = [];

/// One node's handover log, decoded.
#[derive(Clone, Debug)]
pub struct NodeLog {
    /// The node's address.
    pub node: String,
    /// When the node exported it, by its clock.
    pub exported_at_ms: u64,
    /// Its entries, in log order.
    pub entries: Vec<pb::LogEntry>,
}

/// What verifying the bundles found, as the report shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verification {
    /// No findings.
    pub ok: bool,
    /// How many findings.
    pub findings: usize,
    /// How many of each kind, by `trm audit verify`'s names.
    pub by_kind: BTreeMap<String, usize>,
    /// Every finding.
    pub details: Vec<FindingRow>,
}

/// One finding of the verification, as the report lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// The kind, by `trm audit verify`'s name (`rewritten_entries`, ...).
    pub kind: String,
    /// The kind in plain words.
    pub what: String,
    /// The address of the organisation whose log shows it.
    pub node: String,
    /// Its name in the directory (the address when the directory gives none).
    pub organisation: String,
    /// The bundle file.
    pub bundle: String,
    /// The log entry concerned, when one can be named.
    pub entry: Option<u64>,
    /// The message concerned, when there is one.
    pub message_id: Option<String>,
    /// What is wrong, in detail.
    pub detail: String,
}

/// The whole report: stable field names, serialised as the JSON format.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The federation.
    pub federation: String,
    /// The nodes whose logs were read.
    pub nodes: Vec<String>,
    /// The moment the figures are counted to, RFC 3339: what is due by then is due.
    pub as_of: String,
    /// `trm audit verify` on the same bundles.
    pub verification: Verification,
    /// The figures.
    pub figures: Figures,
    /// What the log cannot answer yet.
    pub not_yet_available: Vec<String>,
}

impl Report {
    /// Computes the report over `logs` with `orgs` and the verification outcome, as of
    /// `as_of_ms`.
    pub fn new(
        federation: &str,
        logs: &[NodeLog],
        orgs: &Orgs,
        verification: Verification,
        as_of_ms: u64,
    ) -> Self {
        Self {
            federation: federation.to_owned(),
            nodes: logs.iter().map(|l| l.node.clone()).collect(),
            as_of: trm_proto::time::format_ms(as_of_ms),
            verification,
            figures: figures::compute(logs, orgs, as_of_ms),
            not_yet_available: NOT_YET_AVAILABLE.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
