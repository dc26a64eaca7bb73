//! `/cases`: the cases list with its filters as a GET form (open or closed, overdue, partner,
//! item kind) and paging, through the cases service's `CasesRequest` (the API's filters).
//! Also what the reading pages share: the view's words in the viewer's language, a case's
//! address, an item as words.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use trm_proto::pb;
use trm_proto::pb::node_cases_server::NodeCases;
use trm_view::{English, Fluent, Labeler};

use super::errors;
use super::layout;
use super::page::{self, Viewer};
use crate::http::{State as Api, request};

/// The cases pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/cases", axum::routing::get(list))
}

/// Cases per page.
pub const PAGE_SIZE: u32 = 25;

/// The view's words in the viewer's language (English for one the view does not have).
pub fn labeler(viewer: &Viewer) -> Box<dyn Labeler> {
    match Fluent::new(viewer.lang.code()) {
        Some(fluent) => Box::new(fluent),
        None => Box::new(English),
    }
}

/// A path segment, percent-encoded but for the unreserved characters.
pub fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The address of a case's page.
pub fn case_href(case_ref: &str, counterparty: &str) -> String {
    let query = serde_urlencoded::to_string([("counterparty", counterparty)]).unwrap_or_default();
    format!("/cases/{}?{query}", segment(case_ref))
}

/// An item as words: "referral: delivered to partner".
pub fn item_words(labeler: &dyn Labeler, item: &pb::CaseItem) -> String {
    format!(
        "{}: {}",
        labeler.item_kind(&item.kind),
        labeler.state(&item.state, &item.direction)
    )
}

/// What the list's GET form sends.
#[derive(Debug, Default, Deserialize)]
struct Query {
    state: Option<String>,
    overdue: Option<String>,
    partner: Option<String>,
    kind: Option<String>,
    page: Option<String>,
}

impl Query {
    fn request(&self) -> pb::CasesRequest {
        pb::CasesRequest {
            state: self.state.clone().unwrap_or_default(),
            overdue: self.overdue.as_deref().is_some_and(|v| !v.is_empty()),
            partner: self.partner.clone().unwrap_or_default().trim().to_owned(),
            kind: self.kind.clone().unwrap_or_default(),
            page_size: PAGE_SIZE,
            page_token: self.page.clone().unwrap_or_default(),
            only: Vec::new(),
        }
    }

    /// This query on the page that starts at `token`.
    fn at_page(&self, token: &str) -> String {
        let r = self.request();
        let overdue = if r.overdue { "1" } else { "" };
        let pairs = [
            ("state", r.state.as_str()),
            ("overdue", overdue),
            ("partner", r.partner.as_str()),
            ("kind", r.kind.as_str()),
            ("page", token),
        ];
        let kept: Vec<(&str, &str)> = pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/cases?{}",
            serde_urlencoded::to_string(kept).unwrap_or_default()
        )
    }
}

fn option(value: &str, chosen: &str, label: String) -> Markup {
    html! { option value=(value) selected[value == chosen] { (label) } }
}

fn filters(viewer: &Viewer, labeler: &dyn Labeler, r: &pb::CasesRequest) -> Markup {
    html! {
        form id="case-filters" class="filters" method="get" action="/cases" {
            div {
                label for="state" { (viewer.t("cases-filter-state")) }
                select id="state" name="state" {
                    (option("", &r.state, viewer.t("cases-filter-any")))
                    (option("open", &r.state, viewer.t("cases-filter-open")))
                    (option("closed", &r.state, viewer.t("cases-filter-closed")))
                }
            }
            div {
                label for="kind" { (viewer.t("cases-filter-kind")) }
                select id="kind" name="kind" {
                    (option("", &r.kind, viewer.t("cases-filter-any")))
                    @for kind in trm_view::states::ITEM_KINDS {
                        (option(kind, &r.kind, labeler.item_kind(kind)))
                    }
                }
            }
            div {
                label for="partner" { (viewer.t("cases-filter-partner")) }
                input id="partner" name="partner" type="text" value=(r.partner)
                    placeholder="astra@broker";
            }
            div class="check" {
                input id="overdue" name="overdue" type="checkbox" value="1" checked[r.overdue];
                label for="overdue" { (viewer.t("cases-filter-overdue")) }
            }
            button id="filter" type="submit" { (viewer.t("cases-filter-apply")) }
        }
    }
}

/// The next due time of a case's items: when, what, and whether it has passed.
pub fn next_due(summary: &pb::CaseSummary) -> Option<&pb::CaseItem> {
    summary
        .items
        .iter()
        .filter(|i| i.due_at_ms != 0)
        .min_by_key(|i| i.due_at_ms)
}

/// A due time, marked when it has passed.
pub fn due_cell(viewer: &Viewer, at_ms: u64, now_ms: u64) -> Markup {
    html! {
        @if at_ms != 0 {
            (viewer.date(at_ms))
            @if at_ms < now_ms {
                " " strong class="overdue" { (viewer.t("cases-overdue")) }
            }
        }
    }
}

async fn list(State(api): State<Api>, viewer: Viewer, uri: axum::http::Uri) -> Response {
    let query: Query = page::query(&uri);
    let r = query.request();
    let labeler = labeler(&viewer);
    let answer = match api.cases.cases(request(&viewer.principal, r.clone())).await {
        Ok(a) => a.into_inner(),
        Err(status) => return errors::from_status(&viewer, &status),
    };
    let now = trm_proto::time::now_ms();
    let body = html! {
        (filters(&viewer, labeler.as_ref(), &r))
        @if answer.cases.is_empty() {
            p id="cases-none" { (viewer.t("cases-none")) }
        } @else {
            table id="cases" {
                caption class="hint" { (viewer.t("cases-caption")) }
                thead { tr {
                    th scope="col" { (viewer.t("cases-col-case")) }
                    th scope="col" { (viewer.t("cases-col-partner")) }
                    th scope="col" { (viewer.t("cases-col-items")) }
                    th scope="col" { (viewer.t("cases-col-due")) }
                    th scope="col" { (viewer.t("cases-col-activity")) }
                } }
                tbody {
                    @for c in &answer.cases {
                        tr id=(format!("case-{}-{}", c.counterparty, c.case_ref)) {
                            td { a href=(case_href(&c.case_ref, &c.counterparty)) { (c.case_ref) } }
                            td { (c.counterparty) }
                            td {
                                @if c.consent_withdrawn_at_ms != 0 {
                                    p class="hint" { (viewer.t("cases-consent-withdrawn")) }
                                }
                                ul class="plain" {
                                    @for item in &c.items {
                                        li { (item_words(labeler.as_ref(), item)) }
                                    }
                                }
                            }
                            td {
                                @if let Some(item) = next_due(c) {
                                    (due_cell(&viewer, item.due_at_ms, now))
                                }
                            }
                            td { (viewer.date(c.last_activity_ms)) }
                        }
                    }
                }
            }
        }
        nav class="paging" aria-label=(viewer.t("cases-paging")) {
            @if !r.page_token.is_empty() {
                a id="first-page" href=(query.at_page("")) { (viewer.t("cases-first-page")) }
                " "
            }
            @if !answer.next_page_token.is_empty() {
                a id="next-page" href=(query.at_page(&answer.next_page_token)) { (viewer.t("cases-next-page")) }
            }
        }
    };
    layout::page(&viewer, &viewer.t("cases-title"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_address_escapes_what_a_path_cannot_hold() {
        assert_eq!(
            case_href("RS-2026/7 x", "astra@b"),
            "/cases/RS-2026%2F7%20x?counterparty=astra%40b"
        );
    }

    #[test]
    fn the_next_page_keeps_the_filters() {
        let q = Query {
            state: Some("open".into()),
            overdue: Some("1".into()),
            partner: Some(" astra@b ".into()),
            kind: Some(String::new()),
            page: None,
        };
        assert_eq!(
            q.at_page("5.61.62"),
            "/cases?state=open&overdue=1&partner=astra%40b&page=5.61.62"
        );
        assert_eq!(q.request().page_size, PAGE_SIZE);
    }
}
