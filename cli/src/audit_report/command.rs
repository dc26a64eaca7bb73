//! `trm audit report`: reads the bundles and the signed directory, verifies the bundles as
//! `trm audit verify` does, computes the report with [`trm_audit::report`] as of now and
//! writes it as JSON, CSV or HTML. Over bundles with findings it still writes the report (which
//! lists them) and then fails as `trm audit verify` does.

use std::path::{Path, PathBuf};

use trm_audit::report::Report;
use trm_audit::report::build::{self, OrgsError, RenderError};
use trm_audit::verify::{Trust, TrustError};

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
    /// `json`, `csv` or `html`; HTML when absent (JSON with `json`).
    pub format: Option<String>,
    /// `--json`: the JSON report; a usage error together with a `format`.
    pub json: bool,
    /// Where to write it; standard output when absent.
    pub out: Option<PathBuf>,
}

fn trust_error(e: TrustError) -> CommandError {
    match e {
        TrustError::Read { .. } => CommandError::new(exit::NOT_FOUND, e.to_string()),
        TrustError::Directory { .. } => CommandError::new(exit::DATA, e.to_string()),
    }
}

fn orgs_error(e: OrgsError) -> CommandError {
    match e {
        OrgsError::Read { .. } => CommandError::new(exit::NOT_FOUND, e.to_string()),
        OrgsError::Directory { .. } => CommandError::new(exit::DATA, e.to_string()),
    }
}

fn render_error(e: RenderError) -> CommandError {
    match e {
        RenderError::UnknownFormat(_) => CommandError::new(exit::USAGE, e.to_string()),
        RenderError::Json(_) => CommandError::new(exit::REFUSED, e.to_string()),
    }
}

/// The format asked for: `--json` means JSON, and may not be combined with `--format`.
pub fn format(request: &Request) -> Result<&str, CommandError> {
    match (&request.format, request.json) {
        (Some(format), true) => Err(CommandError::new(
            exit::USAGE,
            format!(
                "--json asks for the JSON report and --format for the {format} one: give one of them"
            ),
        )),
        (None, true) => Ok("json"),
        (Some(format), false) => Ok(format),
        (None, false) => Ok("html"),
    }
}

/// `trm audit report` for the command line: [`run`], then exits with
/// [`exit::CHECK_FAILED`] (as `trm audit verify` does) when the bundles have findings.
pub fn run_and_judge(request: &Request) -> Result<(), CommandError> {
    let report = run(request)?;
    if report.verification.ok {
        return Ok(());
    }
    let count = report.verification.findings;
    Err(CommandError::new(
        exit::CHECK_FAILED,
        format!(
            "checking the logs found {count} {}; the report lists {} and was written all the same",
            if count == 1 { "problem" } else { "problems" },
            if count == 1 { "it" } else { "them" }
        ),
    ))
}

/// `trm audit report`: writes the report as of now, or prints it when no file is named. A
/// report over bundles with findings is still written, and lists them.
pub fn run(request: &Request) -> Result<Report, CommandError> {
    let format = format(request)?;
    let now_ms = trm_proto::time::now_ms();
    let trust = Trust::from_directory_file(
        &request.directory,
        &request.authority_key,
        &request.federation,
        now_ms,
    )
    .map_err(trust_error)?;
    let orgs = build::organisations(
        &request.directory,
        &request.authority_key,
        &request.federation,
        now_ms,
    )
    .map_err(orgs_error)?;
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
    let report = build::build(&request.federation, loaded, &orgs, &trust, now_ms);
    let text = build::render(&report, format).map_err(render_error)?;
    match &request.out {
        Some(file) => write_file(file, &text)?,
        None => print!("{text}"),
    }
    Ok(report)
}

/// Writes `text` to `file` (mode 0600), which appears complete or not at all.
fn write_file(file: &Path, text: &str) -> Result<(), CommandError> {
    trm_storage::fs::write_atomically(file, text.as_bytes(), trm_storage::fs::PRIVATE)
        .map_err(|e| CommandError::new(exit::REFUSED, e.to_string()))
}
