//! `/cases/{ref}?counterparty=`: one case — its items and due times in the account's zone,
//! the handling-code banners of the case, the thread oldest first with every message whole
//! (see [`super::message`]), each sent message's evidence chain (see [`super::evidence`]), and
//! the next allowed actions as links to the forms. Printable: the print style sheet drops the
//! navigation and keeps the banners.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use trm_proto::pb::node_cases_server::NodeCases;
use trm_view::Labeler;

use crate::cases::table::{self, Move};
use crate::cases::{INFO_REQUEST, REFERRAL, RETURN};

use super::cases::{due_cell, item_words, labeler, segment};
use super::page::{self, Viewer};
use super::{errors, evidence, layout, message};
use crate::accounts::Role;
use crate::http::{State as Api, request};

/// The case page.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/cases/{case_ref}", axum::routing::get(case))
}

#[derive(Debug, Default, Deserialize)]
struct Query {
    counterparty: Option<String>,
}

/// A next step the case allows: the link's id, its words' id, its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The link's element id.
    pub id: String,
    /// The message id of its words.
    pub words: &'static str,
    /// Where it leads.
    pub href: String,
}

/// The steps an item allows its holder, from the lifecycle table: the step, whether the holder
/// must be the item's addressee (else its sender), the role that takes it, the link's name, its
/// words and its page.
const ITEM_STEPS: &[(&str, Move, bool, Role, &str, &str, &str)] = &[
    (
        REFERRAL,
        Move::Accept,
        true,
        Role::Caseworker,
        "respond",
        "cases-action-respond",
        "respond",
    ),
    (
        REFERRAL,
        Move::SupplyInformation,
        false,
        Role::Caseworker,
        "supply",
        "cases-action-supply",
        "supply",
    ),
    (
        INFO_REQUEST,
        Move::Answer,
        true,
        Role::LiaisonOfficer,
        "info-response",
        "cases-action-info-response",
        "info-response",
    ),
    (
        RETURN,
        Move::Confirm,
        true,
        Role::Caseworker,
        "return-confirmation",
        "cases-action-return-confirmation",
        "return-confirmation",
    ),
    (
        RETURN,
        Move::FollowUp,
        true,
        Role::Caseworker,
        "follow-up",
        "cases-action-follow-up",
        "follow-up",
    ),
];

/// The next steps a case allows, for someone with `caseworker` and `liaison` roles: each step
/// the lifecycle table allows this side on an item (answer a received referral, supply what a
/// partner asked for, answer an information request, confirm a return's reception, follow a
/// return up), then request a return, update the case, withdraw consent, ask for information.
/// None once the case has ended.
pub fn actions(summary: &pb::CaseSummary, caseworker: bool, liaison: bool) -> Vec<Action> {
    if crate::cases::ended(summary).is_some() {
        return Vec::new();
    }
    let holds = |role| match role {
        Role::Caseworker => caseworker,
        Role::LiaisonOfficer => liaison,
        _ => false,
    };
    let base = format!("/cases/{}", segment(&summary.case_ref));
    let query = serde_urlencoded::to_string([("counterparty", summary.counterparty.as_str())])
        .unwrap_or_default();
    let link = |id: String, words, path: String| Action {
        id,
        words,
        href: format!("{base}/{path}?{query}"),
    };
    let mut out = Vec::new();
    for item in &summary.items {
        let incoming = item.direction == crate::cases::INCOMING;
        let id = &item.message_id;
        for (kind, step, as_addressee, role, name, words, page) in ITEM_STEPS {
            if item.kind == *kind
                && incoming == *as_addressee
                && holds(*role)
                && table::next(kind, &item.state, *step).is_some()
            {
                out.push(link(
                    format!("action-{name}-{id}"),
                    words,
                    format!("{page}/{}", segment(id)),
                ));
            }
        }
    }
    if caseworker {
        out.push(link(
            "action-return-request".into(),
            "cases-action-return-request",
            "return-request".into(),
        ));
        out.push(link(
            "action-update".into(),
            "cases-action-update",
            "update".into(),
        ));
        out.push(link(
            "action-withdraw-consent".into(),
            "cases-action-withdraw",
            "withdraw-consent".into(),
        ));
    }
    if liaison {
        out.push(link(
            "action-info-request".into(),
            "cases-action-info-request",
            "info-request".into(),
        ));
    }
    out
}

/// The banners of the whole case: each handling code H1 or H2 a message of it carries, once
/// per provider.
fn case_banners(labeler: &dyn Labeler, thread: &[pb::CaseThreadEntry]) -> Markup {
    let mut seen: Vec<(i32, &str)> = Vec::new();
    let mut banners = Vec::new();
    for body in thread.iter().filter_map(|e| e.body.as_ref()) {
        if let Some((code, _)) = trm_proto::kinds::handling(body)
            && matches!(
                pb::HandlingCode::try_from(code),
                Ok(pb::HandlingCode::H1 | pb::HandlingCode::H2)
            )
            && !seen.contains(&(code, body.from.as_str()))
        {
            seen.push((code, body.from.as_str()));
            let id = format!("case-banner-{}", seen.len());
            banners.push(message::banner(labeler, body, &id));
        }
    }
    html! { @for b in banners { (b) } }
}

async fn case(
    State(api): State<Api>,
    viewer: Viewer,
    Path(case_ref): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let q: Query = page::query(&uri);
    let answer = match api
        .cases
        .case(request(
            &viewer.principal,
            pb::CaseRequest {
                case_ref: case_ref.clone(),
                counterparty: q.counterparty.unwrap_or_default(),
                content: true,
            },
        ))
        .await
    {
        Ok(a) => a.into_inner(),
        Err(status) => return errors::from_status(&viewer, &status),
    };
    let summary = answer.summary.unwrap_or_default();
    let labeler = labeler(&viewer);
    let labeler = labeler.as_ref();
    let now = trm_proto::time::now_ms();
    // Each sent message's evidence, through the same service `trm status` uses.
    let mut chains = Vec::new();
    for entry in &answer.thread {
        let Some(m) = &entry.message else { continue };
        if m.direction != crate::cases::OUTGOING {
            continue;
        }
        let status = api
            .admin
            .status(request(
                &viewer.principal,
                pb::StatusRequest {
                    message_id: m.message_id.clone(),
                },
            ))
            .await;
        match status {
            Ok(s) => chains.push((m.message_id.clone(), s.into_inner())),
            Err(status) => return errors::from_status(&viewer, &status),
        }
    }
    let actions = actions(
        &summary,
        viewer.principal.holds(Role::Caseworker),
        viewer.principal.holds(Role::LiaisonOfficer),
    );
    let priority_of = |id: &str| {
        summary
            .items
            .iter()
            .find(|i| i.message_id == id)
            .map_or(0, |i| i.priority)
    };
    let body = html! {
        (case_banners(labeler, &answer.thread))
        dl class="facts" id="case-facts" {
            dt { (viewer.t("cases-col-partner")) } dd id="case-partner" { (summary.counterparty) }
            dt { (viewer.t("cases-col-activity")) } dd { (viewer.date(summary.last_activity_ms)) }
            @if summary.consent_withdrawn_at_ms != 0 {
                dt { (viewer.t("cases-consent-withdrawn")) }
                dd id="case-withdrawn" { (viewer.date(summary.consent_withdrawn_at_ms)) }
            }
            @if summary.erased_at_ms != 0 {
                dt { (viewer.t("cases-erased")) }
                dd id="case-erased" { (viewer.date(summary.erased_at_ms)) " " span lang="en" { (summary.erased_reason) } }
            }
        }
        h2 { (viewer.t("cases-items")) }
        table id="case-items" {
            thead { tr {
                th scope="col" { (viewer.t("cases-col-items")) }
                th scope="col" { (viewer.t("cases-col-due")) }
            } }
            tbody {
                @for item in &summary.items {
                    tr id=(format!("item-{}", item.message_id)) data-state=(item.state) {
                        td { (item_words(labeler, item)) }
                        td { (due_cell(&viewer, item.due_at_ms, now)) }
                    }
                }
            }
        }
        @if !actions.is_empty() {
            nav class="actions" aria-label=(viewer.t("cases-actions")) {
                h2 { (viewer.t("cases-actions")) }
                ul class="plain" {
                    @for a in &actions {
                        li { a id=(a.id) href=(a.href) { (viewer.t(a.words)) } }
                    }
                }
            }
        }
        h2 { (viewer.t("cases-thread")) }
        ol id="thread" class="thread" {
            @for entry in &answer.thread {
                @if let Some(m) = &entry.message {
                    li id=(format!("thread-{}", m.message_id)) data-direction=(m.direction) class=(m.direction) {
                        p class="meta" {
                            strong { (viewer.t(if m.direction == crate::cases::OUTGOING { "cases-sent" } else { "cases-received" })) }
                            " · " (viewer.date(m.at_ms))
                        }
                        @match &entry.body {
                            Some(body) => (message::whole(&viewer, labeler, body, priority_of(&m.message_id))),
                            None => p class="hint" { (viewer.t("cases-no-content")) },
                        }
                        @if let Some((_, status)) = chains.iter().find(|(id, _)| *id == m.message_id) {
                            (evidence::chain(&viewer, labeler, &format!("evidence-{}", m.message_id), status,
                                evidence::answered_at(&m.message_id, &summary.items)))
                        }
                    }
                }
            }
        }
    };
    let title = viewer.t_args(
        "cases-case-title",
        &[("case", summary.case_ref.clone().into())],
    );
    layout::page(&viewer, &title, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(items: &[(&str, &str, &str)]) -> pb::CaseSummary {
        pb::CaseSummary {
            case_ref: "AT-1".into(),
            counterparty: "astra@b".into(),
            items: items
                .iter()
                .map(|(kind, state, direction)| pb::CaseItem {
                    kind: (*kind).into(),
                    state: (*state).into(),
                    direction: (*direction).into(),
                    message_id: "m1".into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn ids(actions: &[Action]) -> Vec<&str> {
        actions.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn a_received_referral_can_be_answered_and_an_ended_case_allows_nothing() {
        let open = summary(&[("referral", "delivered", "incoming")]);
        let a = actions(&open, true, false);
        assert_eq!(
            ids(&a),
            [
                "action-respond-m1",
                "action-return-request",
                "action-update",
                "action-withdraw-consent"
            ]
        );
        assert_eq!(a[0].href, "/cases/AT-1/respond/m1?counterparty=astra%40b");
        assert_eq!(ids(&actions(&open, false, true)), ["action-info-request"]);
        let sent = summary(&[("referral", "delivered", "outgoing")]);
        assert!(!ids(&actions(&sent, true, false)).contains(&"action-respond-m1"));
        let mut ended = open.clone();
        ended.consent_withdrawn_at_ms = 5;
        assert!(actions(&ended, true, true).is_empty());
    }

    #[test]
    fn each_item_offers_the_steps_the_lifecycle_allows_its_holder() {
        let asked = summary(&[("referral", "needs_information", "outgoing")]);
        assert!(ids(&actions(&asked, true, false)).contains(&"action-supply-m1"));
        let requested = summary(&[("return", "requested", "incoming")]);
        let a = actions(&requested, true, false);
        assert!(ids(&a).contains(&"action-return-confirmation-m1"));
        assert!(
            !ids(&a).contains(&"action-follow-up-m1"),
            "not travelled yet"
        );
        let travelled = summary(&[("return", "travelled", "incoming")]);
        assert!(ids(&actions(&travelled, true, false)).contains(&"action-follow-up-m1"));
        let question = summary(&[(INFO_REQUEST, "open", "incoming")]);
        assert!(ids(&actions(&question, false, true)).contains(&"action-info-response-m1"));
        assert!(!ids(&actions(&question, true, false)).contains(&"action-info-response-m1"));
        let answered = summary(&[(INFO_REQUEST, "answered", "incoming")]);
        assert!(!ids(&actions(&answered, false, true)).contains(&"action-info-response-m1"));
    }
}
