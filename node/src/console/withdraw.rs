//! The person's withdrawal of consent, in two steps: `/cases/{case}/withdraw-consent` first
//! says what will be erased where (this node's content of the case; the partner's copy of
//! what this organisation disclosed, once its node receives the withdrawal; the handover logs
//! keep who sent what kind and when, never content) and takes the withdrawal's details; the
//! second step shows them and asks to confirm. Only the confirmed POST sends.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::csrf::{Checked, Fields};
use super::errors::{self, Kind};
use super::forms::page::{self, CaseQuery, Spec, case_target};
use super::forms::parse;
use super::layout::{self, csrf_field};
use super::page::Viewer;
use crate::http::State as Api;

const SPEC: Spec = Spec {
    kind: "consent_withdrawal",
    title: "compose-withdraw-title",
    submit: "compose-withdraw-continue",
    answers: None,
};

/// The field that says the second step was confirmed.
const CONFIRM: &str = "_confirm";

/// The withdrawal's pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route(
        "/cases/{case}/withdraw-consent",
        axum::routing::get(show).post(submit),
    )
}

fn explanation(viewer: &Viewer, partner: &str) -> maud::Markup {
    html! {
        section id="what-is-erased" class="warning" {
            h2 { (viewer.t("compose-withdraw-what")) }
            ul {
                li id="erased-here" { (viewer.t("compose-withdraw-here")) }
                li id="erased-there" { (viewer.t_args("compose-withdraw-there", &[("partner", partner.into())])) }
                li id="kept-in-logs" { (viewer.t("compose-withdraw-logs")) }
            }
        }
    }
}

async fn show(viewer: Viewer, uri: Uri, Path(params): Path<HashMap<String, String>>) -> Response {
    let query: CaseQuery = super::page::query(&uri);
    let Some(target) = case_target(&SPEC, &uri, &params, &query) else {
        return errors::for_viewer(&viewer, Kind::BadRequest);
    };
    let today = jiff::Timestamp::now()
        .to_zoned(viewer.time_zone.clone())
        .strftime("%Y-%m-%d")
        .to_string();
    let values = Fields(vec![
        ("language".to_owned(), viewer.lang.code().to_owned()),
        ("consent_withdrawal.withdrawn_at".to_owned(), today),
    ]);
    let before = explanation(&viewer, &query.counterparty);
    page::draw(
        &viewer,
        &SPEC,
        &target,
        &values,
        &[],
        StatusCode::OK,
        Some(before),
    )
}

async fn submit(
    State(api): State<Api>,
    uri: Uri,
    Path(params): Path<HashMap<String, String>>,
    checked: Checked,
) -> Response {
    let query: CaseQuery = super::page::query(&uri);
    let Some(target) = case_target(&SPEC, &uri, &params, &query) else {
        return errors::for_viewer(&checked.viewer, Kind::BadRequest);
    };
    if checked.fields.get(CONFIRM).is_some() {
        return page::submit(&api, checked, &SPEC, &target).await;
    }
    let Checked {
        viewer, mut fields, ..
    } = checked;
    fields
        .0
        .retain(|(name, _)| !target.fixed.iter().any(|(p, _)| p == name));
    fields.0.extend(target.fixed.iter().cloned());
    let Some(form_fields) = page::fields_of(SPEC.kind) else {
        return errors::for_viewer(&viewer, Kind::NotFound);
    };
    let json = trm_forms::form::to_json(&form_fields, fields.0.as_slice());
    if let Err(e) = trm_forms::message_file::send_request(SPEC.kind, &json.to_string(), true) {
        let shown = vec![parse::field_error(&viewer, &e)];
        let before = explanation(&viewer, &query.counterparty);
        return page::draw(
            &viewer,
            &SPEC,
            &target,
            &fields,
            &shown,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(before),
        );
    }
    let keep: Vec<&(String, String)> = fields
        .0
        .iter()
        .filter(|(name, _)| name != super::csrf::FIELD && !name.starts_with("_"))
        .collect();
    let shown: Vec<(String, String)> = keep
        .iter()
        .filter(|(name, _)| name.starts_with("consent_withdrawal."))
        .map(|(name, value)| {
            let label =
                super::forms::render::label(&viewer, name.rsplit('.').next().unwrap_or_default());
            (label, value.clone())
        })
        .collect();
    let body = html! {
        (explanation(&viewer, &query.counterparty))
        h2 { (viewer.t("compose-withdraw-confirm-title")) }
        dl class="facts" id="withdrawal-details" {
            @for (label, value) in &shown {
                dt { (label) }
                dd { (value) }
            }
        }
        form id="form-confirm-withdrawal" method="post" action=(target.action) {
            (csrf_field(&viewer))
            @for (name, value) in &keep {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name=(CONFIRM) value="1";
            div class="actions" {
                button id="confirm-withdrawal" type="submit" { (viewer.t("compose-withdraw-confirm")) }
            }
        }
    };
    layout::page(&viewer, &viewer.t("compose-withdraw-confirm-title"), body).into_response()
}
