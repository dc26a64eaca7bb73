//! Building the coordinator's report from bundle bytes: each node's log, the verification
//! summary, the directory's organisations, and the report rendered as JSON, CSV or HTML.

use std::collections::BTreeMap;
use std::path::Path;

use prost::Message;
use trm_proto::directory::{self, Directory, DirectoryError};
use trm_proto::pb;

use super::{FindingRow, NodeLog, Orgs, Report, Verification};
use crate::verify::{self, Trust};

/// Why the directory's organisations could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OrgsError {
    /// The directory file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The directory or the authority key does not verify.
    #[error("{path}: {source}")]
    Directory {
        /// The file.
        path: String,
        /// What is wrong with it.
        #[source]
        source: DirectoryError,
    },
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The format is not one of `json`, `csv` or `html`.
    #[error("unknown format {0:?}: json, csv or html")]
    UnknownFormat(String),
    /// The report could not be serialised.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

/// The directory's organisations, verified as [`Trust::from_directory_file`] verifies it (an
/// expired directory as of its last valid moment).
pub fn organisations(
    path: &Path,
    authority_key: &str,
    federation: &str,
    now_ms: u64,
) -> Result<Orgs, OrgsError> {
    let data = |source: DirectoryError| OrgsError::Directory {
        path: path.display().to_string(),
        source,
    };
    let authority = directory::parse_authority_key(authority_key).map_err(data)?;
    let bytes = std::fs::read(path).map_err(|source| OrgsError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let signed = pb::SignedDirectory::decode(bytes.as_slice())
        .map_err(|e| data(DirectoryError::Malformed(e.to_string())))?;
    // As in `Trust`: the expiry only chooses the time to check at; the signature is then
    // checked over these same bytes.
    let expires_at_ms = pb::Directory::decode(signed.directory.as_slice())
        .map(|d| d.expires_at_ms)
        .unwrap_or(u64::MAX);
    let at_ms = now_ms.min(expires_at_ms.saturating_sub(1));
    let verified = Directory::verify(signed, &authority, federation, at_ms).map_err(data)?;
    Ok(Orgs::from_directory(&verified))
}

/// Each node's log from the bundles that decode and belong to `federation`; of several bundles
/// of one node, the one with the most entries (a later export extends an earlier one; any
/// disagreement between them is a verification finding). Cases are named by the report's
/// pseudonyms ([`super::cases`]), in `case_ref`: no reference or tag is left in them.
pub fn node_logs(bundles: &[(String, Vec<u8>)], federation: &str) -> Vec<NodeLog> {
    let mut by_node: BTreeMap<String, NodeLog> = BTreeMap::new();
    for (_, bytes) in bundles {
        let Ok(bundle) = pb::LogBundle::decode(bytes.as_slice()) else {
            continue;
        };
        if bundle.federation != federation || bundle.format != verify::bundle::FORMAT {
            continue;
        }
        // Each entry's case by its local name (see `cases`), never shown as such.
        let entries: Vec<pb::LogEntry> = bundle
            .entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let mut entry = pb::LogEntry::decode(e.as_slice()).ok()?;
                entry.case_ref = super::cases::local_name(&entry, bundle.case_pseudonyms.get(i));
                Some(entry)
            })
            .collect();
        let longer = by_node
            .get(&bundle.node)
            .is_none_or(|known| known.entries.len() < entries.len());
        if longer {
            by_node.insert(
                bundle.node.clone(),
                NodeLog {
                    node: bundle.node,
                    exported_at_ms: bundle.exported_at_ms,
                    entries,
                },
            );
        }
    }
    let mut logs: Vec<NodeLog> = by_node.into_values().collect();
    super::cases::name(&mut logs);
    logs
}

/// What `trm audit verify` says about the bundles: counted by kind, and every finding with
/// the organisation's name from `orgs`.
pub fn verification(bundles: Vec<(String, Vec<u8>)>, trust: &Trust, orgs: &Orgs) -> Verification {
    let verified = verify::verify(bundles, trust);
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let details: Vec<FindingRow> = verified
        .findings
        .iter()
        .map(|f| FindingRow {
            kind: f.kind.name(),
            what: f.kind.summary().to_owned(),
            node: f.node.clone(),
            organisation: orgs.name(&f.node).to_owned(),
            bundle: f.bundle.clone(),
            entry: f.entry,
            message_id: f.message_id.clone(),
            detail: f.detail.clone(),
        })
        .collect();
    for f in &details {
        *by_kind.entry(f.kind.clone()).or_default() += 1;
    }
    Verification {
        ok: verified.ok,
        findings: details.len(),
        by_kind,
        details,
    }
}

/// The report over `bundles` (named bytes) as of `as_of_ms`: verified with `trust`, figures
/// computed with `orgs`. A report over bundles with findings is still built, and lists them.
pub fn build(
    federation: &str,
    bundles: Vec<(String, Vec<u8>)>,
    orgs: &Orgs,
    trust: &Trust,
    as_of_ms: u64,
) -> Report {
    let logs = node_logs(&bundles, federation);
    Report::new(
        federation,
        &logs,
        orgs,
        verification(bundles, trust, orgs),
        as_of_ms,
    )
}

/// The report in `format`: `json`, `csv` or `html`.
pub fn render(report: &Report, format: &str) -> Result<String, RenderError> {
    match format {
        "json" => {
            let mut text = serde_json::to_string_pretty(report)?;
            text.push('\n');
            Ok(text)
        }
        "csv" => Ok(super::csv::render(report)),
        "html" => Ok(super::html::render(report)),
        other => Err(RenderError::UnknownFormat(other.to_owned())),
    }
}
