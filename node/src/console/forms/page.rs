//! One page per message form: drawn with what is set first ([`show`]), and on a POST either
//! drawn again with one more row (an "add" button), drawn again with the errors and the values
//! typed (nothing sent), or sent and followed to the case's page ([`submit`]).

use std::collections::HashMap;

use axum::extract::{Path, State as Shared};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::parse::{self, Outcome};
use super::{ADD, Form, Shown};
use crate::console::csrf::{Checked, Fields};
use crate::console::errors::{self, Kind};
use crate::console::layout;
use crate::console::page::Viewer;
use crate::http::State;

/// What a message page sends.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The kind, as the message files name it.
    pub kind: &'static str,
    /// The page's title (a message id).
    pub title: &'static str,
    /// The submit button's words (a message id).
    pub submit: &'static str,
    /// The field naming the message answered, when the kind answers one.
    pub answers: Option<&'static str>,
}

/// Where a page's message goes.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The form's address.
    pub action: String,
    /// Fields the page sets: the partner, the case, the message answered.
    pub fixed: Vec<(String, String)>,
}

impl Target {
    /// A message in case `case_ref` with `counterparty`, answering `answered` for `spec`.
    pub fn in_case(
        spec: &Spec,
        action: String,
        case_ref: &str,
        counterparty: &str,
        answered: Option<&str>,
    ) -> Self {
        let mut fixed = vec![
            ("to".to_owned(), counterparty.to_owned()),
            ("case_ref".to_owned(), case_ref.to_owned()),
        ];
        if let (Some(field), Some(id)) = (spec.answers, answered) {
            fixed.push((field.to_owned(), id.to_owned()));
        }
        Self { action, fixed }
    }

    fn get(&self, path: &str) -> &str {
        self.fixed
            .iter()
            .find(|(p, _)| p == path)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The partner of a case page (`?counterparty=`), and a decision chosen on the case page.
#[derive(Debug, Default, Deserialize)]
pub struct CaseQuery {
    /// The partner organisation's address.
    #[serde(default)]
    pub counterparty: String,
    /// A first value for the form's decision (`accepted`), when the case page chose one.
    #[serde(default)]
    pub decision: String,
}

/// A page at `path` (with `{case}`, and `{id}` when `spec` answers a message) sending
/// `spec`'s kind in that case to `?counterparty=`.
pub fn case_route(path: &str, spec: &'static Spec) -> axum::Router<State> {
    let show_page = move |viewer: Viewer, uri: Uri, Path(params): Path<HashMap<String, String>>| async move {
        let query: CaseQuery = crate::console::page::query(&uri);
        let Some(target) = case_target(spec, &uri, &params, &query) else {
            return errors::for_viewer(&viewer, Kind::BadRequest);
        };
        let mut initial = Vec::new();
        if let Some(decision) = spec
            .answers
            .and_then(|_| trm_forms::form::codes("decision"))
            .filter(|codes| spec.kind == "referral_response" && codes.contains(&query.decision))
            .map(|_| query.decision.clone())
        {
            initial.push(("referral_response.decision".to_owned(), decision));
        }
        show(&viewer, spec, &target, initial)
    };
    let submit_page = move |Shared(api): Shared<State>,
                            uri: Uri,
                            Path(params): Path<HashMap<String, String>>,
                            checked: Checked| async move {
        let query: CaseQuery = crate::console::page::query(&uri);
        let Some(target) = case_target(spec, &uri, &params, &query) else {
            return errors::for_viewer(&checked.viewer, Kind::BadRequest);
        };
        submit(&api, checked, spec, &target).await
    };
    axum::Router::new().route(path, axum::routing::get(show_page).post(submit_page))
}

/// The target of a case page: `None` without a partner, or without the message answered
/// when the kind answers one.
pub fn case_target(
    spec: &Spec,
    uri: &Uri,
    params: &HashMap<String, String>,
    query: &CaseQuery,
) -> Option<Target> {
    let case_ref = params.get("case")?;
    if query.counterparty.is_empty() {
        return None;
    }
    let answered = params.get("id").map(String::as_str);
    if spec.answers.is_some() && answered.is_none() {
        return None;
    }
    let action = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), ToString::to_string);
    Some(Target::in_case(
        spec,
        action,
        case_ref,
        &query.counterparty,
        answered,
    ))
}

/// The fields of `kind`'s form, as the console shows them; `None` for an unknown kind.
pub fn fields_of(kind: &str) -> Option<Vec<trm_forms::form::Field>> {
    trm_forms::form::fields(kind)
}

/// The page with its form, the values set first: the author's language for the free text,
/// then `initial`.
pub fn show(
    viewer: &Viewer,
    spec: &Spec,
    target: &Target,
    initial: Vec<(String, String)>,
) -> Response {
    let mut values = vec![("language".to_owned(), viewer.lang.code().to_owned())];
    values.extend(initial);
    draw(
        viewer,
        spec,
        target,
        &Fields(values),
        &[],
        StatusCode::OK,
        None,
    )
}

/// A POST of the page's form: one more row, or the errors, or sent.
pub async fn submit(api: &State, checked: Checked, spec: &Spec, target: &Target) -> Response {
    let Checked {
        viewer,
        mut fields,
        files,
    } = checked;
    let Some(form_fields) = fields_of(spec.kind) else {
        return errors::for_viewer(&viewer, Kind::NotFound);
    };
    // The page's own fields win over anything sent under their names.
    fields
        .0
        .retain(|(name, _)| !target.fixed.iter().any(|(p, _)| p == name));
    fields.0.extend(target.fixed.iter().cloned());
    if fields.get(ADD).is_some() {
        return draw(&viewer, spec, target, &fields, &[], StatusCode::OK, None);
    }
    match parse::send(api, &viewer, spec.kind, &form_fields, &fields, &files).await {
        Outcome::Sent {
            to,
            case_ref,
            message_id,
        } => Redirect::to(&case_page(&case_ref, &to, Some(&message_id))).into_response(),
        Outcome::Refused(errors) => draw(
            &viewer,
            spec,
            target,
            &fields,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        ),
    }
}

/// The address of a case's page (`sent`: the message just sent, for the notice there).
pub fn case_page(case_ref: &str, counterparty: &str, sent: Option<&str>) -> String {
    let mut url = format!(
        "/cases/{}?counterparty={}",
        encode(case_ref),
        encode(counterparty)
    );
    if let Some(id) = sent {
        url.push_str("&sent=");
        url.push_str(&encode(id));
    }
    url
}

/// `text` percent-encoded for a path segment or a query value.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The page with its form, `values` typed and `errors` shown (answered with `status`).
pub fn draw(
    viewer: &Viewer,
    spec: &Spec,
    target: &Target,
    values: &Fields,
    errors: &[Shown],
    status: StatusCode,
    before: Option<Markup>,
) -> Response {
    let Some(fields) = fields_of(spec.kind) else {
        return errors::for_viewer(viewer, Kind::NotFound);
    };
    let form = Form {
        kind: spec.kind,
        action: target.action.clone(),
        fields,
        fixed: target.fixed.clone(),
        values,
        errors,
        submit: viewer.t(spec.submit),
        intro: Some(html! {
            @if let Some(intro) = intro(viewer, target) { (intro) }
            @if let Some(before) = before { (before) }
        }),
    };
    let body = super::render::form(viewer, &form);
    (status, layout::page(viewer, &viewer.t(spec.title), body)).into_response()
}

/// The case and the partner a page's message goes to, when the page sets them.
fn intro(viewer: &Viewer, target: &Target) -> Option<Markup> {
    let (to, case_ref) = (target.get("to"), target.get("case_ref"));
    if to.is_empty() && case_ref.is_empty() {
        return None;
    }
    Some(html! {
        dl class="facts" id="message-target" {
            dt { (viewer.t("compose-f-case_ref")) }
            dd id="target-case" { a href=(case_page(case_ref, to, None)) { (case_ref) } }
            dt { (viewer.t("compose-f-to")) }
            dd id="target-partner" { (to) }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_addresses_are_encoded() {
        assert_eq!(
            case_page("AT/LEFOE 1", "astra@rs", Some("ab")),
            "/cases/AT%2FLEFOE%201?counterparty=astra%40rs&sent=ab"
        );
    }
}
