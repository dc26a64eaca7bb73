//! `/coordinator/report`: the coordinator's report over this node's own handover log, as of
//! now — the same report `trm audit report` writes from exported bundles (verified first, then
//! the figures, tables and charts of `trm-audit`), built in the node from a fresh export of its
//! own log for the audience `audit`, after signing a checkpoint over it. Metadata only: the report holds no case reference, name or
//! content, as the bundles hold none. A report over several organisations' logs is made offline
//! from their bundles with `trm audit report`.
//!
//! The page is `trm-audit`'s own HTML (its words in English), with its style sheet linked from
//! `/static/report.css` so that the console's Content-Security-Policy holds; its charts are
//! inline SVG without script.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use trm_audit::report::{Orgs, build, html};
use trm_audit::verify::Trust;

use super::errors::{self, Kind};
use super::page::Viewer;
use crate::accounts::Action;
use crate::checkpointer::CheckpointerError;
use crate::error::NodeError;
use crate::export::{BundlePieces, DEFAULT_AUDIENCE};
use crate::http::State as Api;
use crate::node::Node;
use crate::store::StoreError;

/// The report's page.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/coordinator/report", axum::routing::get(report))
}

async fn report(State(api): State<Api>, viewer: Viewer) -> Response {
    if viewer.principal.may(Action::AuditReport).is_err() {
        return errors::for_viewer(&viewer, Kind::Forbidden);
    }
    let node = api.node.clone();
    // A checkpoint first, as `trm log export --checkpoint` signs one, so that the report's
    // verification finds every entry vouched for. An empty log has none to sign.
    match node.checkpoint().await {
        Ok(_) | Err(NodeError::Checkpoint(CheckpointerError::Empty)) => {}
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint for the coordinator's report");
            return errors::for_viewer(&viewer, Kind::Unavailable);
        }
    }
    // Reading the whole log is blocking storage work: keep it off the runtime's threads.
    match tokio::task::spawn_blocking(move || own_report(&node)).await {
        Ok(Ok(page)) => Html(page).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the coordinator's report could not be built");
            errors::for_viewer(&viewer, Kind::Unavailable)
        }
        Err(e) => {
            tracing::error!(error = %e, "building the coordinator's report failed");
            errors::for_viewer(&viewer, Kind::Internal)
        }
    }
}

/// The report over the node's own log as of now, as an HTML page.
fn own_report(node: &Node) -> Result<String, StoreError> {
    let now_ms = trm_proto::time::now_ms();
    let mut pieces = BundlePieces::new(
        node.store(),
        node.federation(),
        node.address(),
        DEFAULT_AUDIENCE,
        now_ms,
    )?;
    let mut bundle = Vec::new();
    while let Some(piece) = pieces.next_piece()? {
        bundle.extend_from_slice(&piece);
    }
    let directory = node.directory().current();
    let keys = directory
        .nodes()
        .map(|n| (n.address.to_string(), n.signing_keys_at(now_ms)))
        .collect();
    let trust = Trust::new(node.federation(), keys);
    let orgs = Orgs::from_directory(&directory);
    let report = build::build(
        node.federation(),
        vec![(format!("the log of {}", node.address()), bundle)],
        &orgs,
        &trust,
        now_ms,
    );
    Ok(html::render_linked(&report, "/static/report.css"))
}
