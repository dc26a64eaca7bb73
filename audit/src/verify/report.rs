//! What `trm audit verify` found, for people and (with `--json`) for scripts.

use std::fmt::Write as _;

use serde::Serialize;
use trm_proto::time::format_ms;

use super::bundle::{Opened, Scan};
use super::cross::CrossSummary;
use super::{Finding, Trust};

/// One bundle, as verified.
#[derive(Clone, Debug, Serialize)]
pub struct BundleSummary {
    /// The file.
    pub file: String,
    /// The node whose log it is.
    pub node: String,
    /// How many entries it holds.
    pub entries: u64,
    /// How many checkpoint notes it carries.
    pub checkpoint_notes: usize,
    /// How many of them are validly signed by the node.
    pub valid_checkpoints: usize,
    /// The size of the largest valid checkpoint.
    pub latest_checkpoint: Option<u64>,
    /// Whether the hash chain is intact.
    pub chain_intact: bool,
    /// When the node says it exported it, RFC 3339.
    pub exported_at: String,
}

/// Everything `trm audit verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// No findings.
    pub ok: bool,
    /// The federation.
    pub federation: String,
    /// Said about the directory used (an expired one, say).
    pub directory_note: Option<String>,
    /// The bundles that could be read.
    pub bundles: Vec<BundleSummary>,
    /// The cross-check's matches.
    pub cross_check: CrossSummary,
    /// Every problem, by node and entry.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Assembles the report.
    pub fn new(
        trust: &Trust,
        bundles: &[Opened],
        scans: &[Scan],
        findings: Vec<Finding>,
        cross_check: CrossSummary,
    ) -> Self {
        let bundles = bundles
            .iter()
            .zip(scans)
            .map(|(bundle, scan)| BundleSummary {
                file: bundle.name.clone(),
                node: bundle.node.clone(),
                entries: bundle.entries.len() as u64,
                checkpoint_notes: bundle.notes,
                valid_checkpoints: bundle.checkpoints.len(),
                latest_checkpoint: bundle.checkpoints.iter().map(|c| c.checkpoint.size).max(),
                chain_intact: scan.chain.is_none(),
                exported_at: format_ms(bundle.exported_at_ms),
            })
            .collect();
        Self {
            ok: findings.is_empty(),
            federation: trust.federation().to_owned(),
            directory_note: trust.note().map(str::to_owned),
            bundles,
            cross_check,
            findings,
        }
    }

    /// The report for people.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let entries: u64 = self.bundles.iter().map(|b| b.entries).sum();
        let _ = writeln!(
            out,
            "audit of federation {}: {} bundles, {entries} entries",
            self.federation,
            self.bundles.len()
        );
        if let Some(note) = &self.directory_note {
            let _ = writeln!(out, "note: {note}");
        }
        for b in &self.bundles {
            let _ = writeln!(
                out,
                "  {}  {}: {} entries, {} of {} checkpoints valid{}, hash chain {}",
                b.node,
                b.file,
                b.entries,
                b.valid_checkpoints,
                b.checkpoint_notes,
                b.latest_checkpoint
                    .map(|size| format!(" (latest of size {size})"))
                    .unwrap_or_default(),
                if b.chain_intact { "intact" } else { "BROKEN" }
            );
        }
        let _ = writeln!(
            out,
            "cross-check: {} handovers logged alike on both sides, {} sent and not (yet) logged \
             by the receiver",
            self.cross_check.matched, self.cross_check.pending
        );
        if self.findings.is_empty() {
            let _ = writeln!(out, "OK: no findings");
            return out;
        }
        let count = self.findings.len();
        let _ = writeln!(
            out,
            "{count} {}:",
            if count == 1 { "FINDING" } else { "FINDINGS" }
        );
        for f in &self.findings {
            let mut place = f.node.clone();
            if let Some(entry) = f.entry {
                let _ = write!(place, " entry {entry}");
            }
            if let Some(message) = &f.message_id {
                let _ = write!(place, " (message {message})");
            }
            let _ = writeln!(
                out,
                "- {}: {place}: {} [{}]",
                f.kind.name(),
                f.detail,
                f.bundle
            );
            if let Some(c) = &f.counterpart {
                let _ = writeln!(out, "    compared with {} entry {}", c.node, c.entry);
            }
            for note in &f.evidence {
                let _ = writeln!(out, "    signed evidence:");
                for line in note.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
        }
        out
    }

    /// The report for scripts.
    pub fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
