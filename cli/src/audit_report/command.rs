//! `trm audit report`: reads the bundles and the signed directory, verifies the bundles as
//! `trm audit verify` does, computes the report and writes it as JSON, CSV or HTML.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use prost::Message;
use trm_proto::directory::{self, Directory};
use trm_proto::pb;

use super::{NodeLog, Orgs, Report, Verification};
use crate::audit_verify::{self, Trust, TrustError};
use crate::commands::{CommandError, exit};

/// What `trm audit report` reads and writes.
#[derive(Clone, Debug)]
pub struct Request {
    /// The federation's signed directory (`directory.pb`).
    pub directory: PathBuf,
    /// The federation authority's public key, 64 hex digits.
    pub authority_key: String,
    /// The federation's name.
    pub federation: String,
    /// The bundles written by `trm log export`.
    pub bundles: Vec<PathBuf>,
    /// `json`, `csv` or `html`.
    pub format: String,
    /// Where to write it; standard output when absent.
    pub out: Option<PathBuf>,
}

fn trust_error(e: TrustError) -> CommandError {
    match e {
        TrustError::Read { .. } => CommandError::new(exit::NOT_FOUND, e.to_string()),
        TrustError::Directory { .. } => CommandError::new(exit::DATA, e.to_string()),
    }
}

/// The directory's organisations, verified as [`Trust::from_directory_file`] verifies it (an
/// expired directory as of its last valid moment).
fn organisations(request: &Request, now_ms: u64) -> Result<Orgs, CommandError> {
    let path = &request.directory;
    let data = |e: directory::DirectoryError| {
        CommandError::new(exit::DATA, format!("{}: {e}", path.display()))
    };
    let authority = directory::parse_authority_key(&request.authority_key).map_err(data)?;
    let bytes = std::fs::read(path).map_err(|e| {
        CommandError::new(
            exit::NOT_FOUND,
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let signed = pb::SignedDirectory::decode(bytes.as_slice())
        .map_err(|e| data(directory::DirectoryError::Malformed(e.to_string())))?;
    // As in `Trust`: the expiry only chooses the time to check at; the signature is then
    // checked over these same bytes.
    let expires_at_ms = pb::Directory::decode(signed.directory.as_slice())
        .map(|d| d.expires_at_ms)
        .unwrap_or(u64::MAX);
    let at_ms = now_ms.min(expires_at_ms.saturating_sub(1));
    let verified =
        Directory::verify(signed, &authority, &request.federation, at_ms).map_err(data)?;
    Ok(Orgs::from_directory(&verified))
}

/// Each node's log from the bundles that decode and belong to `federation`; of several bundles
/// of one node, the one with the most entries (a later export extends an earlier one; any
/// disagreement between them is a verification finding).
pub fn node_logs(bundles: &[(String, Vec<u8>)], federation: &str) -> Vec<NodeLog> {
    let mut by_node: BTreeMap<String, NodeLog> = BTreeMap::new();
    for (_, bytes) in bundles {
        let Ok(bundle) = pb::LogBundle::decode(bytes.as_slice()) else {
            continue;
        };
        if bundle.federation != federation || bundle.format != audit_verify::bundle::FORMAT {
            continue;
        }
        let entries: Vec<pb::LogEntry> = bundle
            .entries
            .iter()
            .filter_map(|e| pb::LogEntry::decode(e.as_slice()).ok())
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
    by_node.into_values().collect()
}

/// What `trm audit verify` says about the bundles, summarised.
pub fn verification(bundles: Vec<(String, Vec<u8>)>, trust: &Trust) -> Verification {
    let verified = audit_verify::verify(bundles, trust);
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for f in &verified.findings {
        let name = serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        *by_kind.entry(name).or_default() += 1;
    }
    Verification {
        ok: verified.ok,
        findings: verified.findings.len(),
        by_kind,
    }
}

/// The report in `format`.
pub fn render(report: &Report, format: &str) -> Result<String, CommandError> {
    match format {
        "json" => serde_json::to_string_pretty(report)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| CommandError::new(exit::REFUSED, e.to_string())),
        "csv" => Ok(super::csv::render(report)),
        "html" => Ok(super::html::render(report)),
        other => Err(CommandError::new(
            exit::USAGE,
            format!("unknown format {other:?}: json, csv or html"),
        )),
    }
}

/// `trm audit report`: writes the report, or prints it when no file is named. A report over
/// bundles with findings is still written, marked as such, and a warning goes to stderr.
pub fn run(request: &Request) -> Result<Report, CommandError> {
    let now_ms = trm_proto::time::now_ms();
    let trust = Trust::from_directory_file(
        &request.directory,
        &request.authority_key,
        &request.federation,
        now_ms,
    )
    .map_err(trust_error)?;
    let orgs = organisations(request, now_ms)?;
    let mut loaded = Vec::with_capacity(request.bundles.len());
    for path in &request.bundles {
        let bytes = std::fs::read(path).map_err(|e| {
            CommandError::new(
                exit::NOT_FOUND,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        loaded.push((path.display().to_string(), bytes));
    }
    let logs = node_logs(&loaded, &request.federation);
    let report = Report::new(
        &request.federation,
        &logs,
        &orgs,
        verification(loaded, &trust),
    );
    let text = render(&report, &request.format)?;
    match &request.out {
        Some(file) => write_file(file, &text)?,
        None => print!("{text}"),
    }
    if !report.verification.ok {
        eprintln!(
            "trm: warning: the bundles have {} verification finding(s); the report is marked so",
            report.verification.findings
        );
    }
    Ok(report)
}

/// Writes `text` to `file`, which appears complete or not at all.
fn write_file(file: &Path, text: &str) -> Result<(), CommandError> {
    let cannot_write =
        |e: std::io::Error| CommandError::new(exit::REFUSED, format!("{}: {e}", file.display()));
    let folder = match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut partial = tempfile::NamedTempFile::new_in(folder).map_err(cannot_write)?;
    partial.write_all(text.as_bytes()).map_err(cannot_write)?;
    partial.as_file().sync_all().map_err(cannot_write)?;
    partial.persist(file).map_err(|e| cannot_write(e.error))?;
    Ok(())
}
