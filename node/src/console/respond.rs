//! Answering a referral: `/cases/{case}/respond/{id}` (accept, decline or say what
//! information is needed) and, at the organisation that referred, `/cases/{case}/supply/{id}`
//! (the information the response asked for).

use super::forms::page::{Spec, case_route};
use crate::http::State as Api;

const RESPOND: Spec = Spec {
    kind: "referral_response",
    title: "compose-respond-title",
    submit: "compose-respond-send",
    answers: Some("referral_response.referral_message_id"),
};

const SUPPLY: Spec = Spec {
    kind: "information_supplied",
    title: "compose-supply-title",
    submit: "compose-supply-send",
    answers: Some("information_supplied.referral_message_id"),
};

/// The response and supply pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new()
        .merge(case_route("/cases/{case}/respond/{id}", &RESPOND))
        .merge(case_route("/cases/{case}/supply/{id}", &SUPPLY))
}
