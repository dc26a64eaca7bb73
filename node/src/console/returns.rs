//! The case's life after acceptance: the return request with its pre-return risk
//! assessment, the origin's confirmation of reception, follow-ups after the return, case
//! updates (court travel, travelled, closing), and for a liaison officer a request for case
//! information and its answer with evaluation codes.

use super::forms::page::{Spec, case_route};
use crate::http::State as Api;

const RETURN_REQUEST: Spec = Spec {
    kind: "return_request",
    title: "compose-return-request-title",
    submit: "compose-return-request-send",
    answers: None,
};

const RETURN_CONFIRMATION: Spec = Spec {
    kind: "return_confirmation",
    title: "compose-return-confirmation-title",
    submit: "compose-return-confirmation-send",
    answers: Some("return_confirmation.return_request_message_id"),
};

const FOLLOW_UP: Spec = Spec {
    kind: "follow_up",
    title: "compose-follow-up-title",
    submit: "compose-follow-up-send",
    answers: Some("follow_up.return_request_message_id"),
};

const UPDATE: Spec = Spec {
    kind: "case_update",
    title: "compose-update-title",
    submit: "compose-update-send",
    answers: None,
};

const INFO_REQUEST: Spec = Spec {
    kind: "info_request",
    title: "compose-info-request-title",
    submit: "compose-info-request-send",
    answers: None,
};

const INFO_RESPONSE: Spec = Spec {
    kind: "info_response",
    title: "compose-info-response-title",
    submit: "compose-info-response-send",
    answers: Some("info_response.request_message_id"),
};

/// The return, follow-up, update and information pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new()
        .merge(case_route("/cases/{case}/return-request", &RETURN_REQUEST))
        .merge(case_route(
            "/cases/{case}/return-confirmation/{id}",
            &RETURN_CONFIRMATION,
        ))
        .merge(case_route("/cases/{case}/follow-up/{id}", &FOLLOW_UP))
        .merge(case_route("/cases/{case}/update", &UPDATE))
        .merge(case_route("/cases/{case}/info-request", &INFO_REQUEST))
        .merge(case_route(
            "/cases/{case}/info-response/{id}",
            &INFO_RESPONSE,
        ))
}
