//! `/compose/referral`: a new case's referral as a form — the person, a child's guardian and
//! own view, exploitation, indicators, needs, the risk assessment, the consent record (or the
//! legal basis for disclosing without consent), the handling code and the language of the
//! free text — checked like `trm send referral` and sent by the node's rules.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde::Deserialize;

use super::csrf::Checked;
use super::forms::page::{self, Spec, Target};
use super::page::Viewer;
use crate::http::State as Api;

/// The referral's page.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/compose/referral", axum::routing::get(show).post(submit))
}

const SPEC: Spec = Spec {
    kind: "referral",
    title: "compose-referral-title",
    submit: "compose-referral-send",
    answers: None,
};

/// A partner chosen in the directory.
#[derive(Debug, Default, Deserialize)]
struct Chosen {
    #[serde(default)]
    to: String,
}

fn target() -> Target {
    Target {
        action: "/compose/referral".into(),
        fixed: Vec::new(),
    }
}

async fn show(viewer: Viewer, uri: Uri) -> Response {
    let chosen: Chosen = super::page::query(&uri);
    let initial = vec![
        ("to".to_owned(), chosen.to),
        ("priority".to_owned(), "routine".to_owned()),
        ("referral.person.literate".to_owned(), "true".to_owned()),
    ];
    page::show(&viewer, &SPEC, &target(), initial)
}

async fn submit(State(api): State<Api>, checked: Checked) -> Response {
    page::submit(&api, checked, &SPEC, &target()).await
}
