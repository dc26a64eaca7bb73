//! `/`: the inbox — received messages, those past their due time first, then those still
//! waiting for this organisation's answer, then the rest, each with its kind, partner, case,
//! when it arrived and when an answer is due.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use maud::html;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use trm_proto::pb::node_cases_server::NodeCases;

use super::cases::{case_href, due_cell, labeler};
use super::errors;
use super::layout;
use super::page::Viewer;
use crate::http::{State as Api, request};

/// The inbox page.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new().route("/", axum::routing::get(inbox))
}

/// How many received messages the inbox shows.
const LIMIT: u32 = 200;

/// Where a received message stands in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    /// It opened an item whose answer is past due.
    Overdue,
    /// It opened an item still waiting for this organisation's answer.
    New,
    /// Anything else.
    Other,
}

impl Group {
    fn id(self) -> &'static str {
        match self {
            Group::Overdue => "overdue",
            Group::New => "new",
            Group::Other => "other",
        }
    }
}

/// The cases of received `messages`, each named once.
fn cases_of(messages: &[pb::MessageSummary]) -> Vec<pb::CaseName> {
    let names: std::collections::BTreeSet<(&str, &str)> = messages
        .iter()
        .map(|m| (m.from.as_str(), m.case_ref.as_str()))
        .collect();
    names
        .into_iter()
        .map(|(counterparty, case_ref)| pb::CaseName {
            counterparty: counterparty.to_owned(),
            case_ref: case_ref.to_owned(),
        })
        .collect()
}

/// The due time of each item a received message opened, by message id.
fn due_times(cases: &[pb::CaseSummary]) -> HashMap<&str, u64> {
    cases
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| i.direction == crate::cases::INCOMING && i.due_at_ms != 0)
        .map(|i| (i.message_id.as_str(), i.due_at_ms))
        .collect()
}

/// The inbox's order: overdue (soonest due first), then waiting (soonest due first), then the
/// rest (newest first).
pub fn order(
    messages: Vec<pb::MessageSummary>,
    due: &HashMap<&str, u64>,
    now_ms: u64,
) -> Vec<(Group, u64, pb::MessageSummary)> {
    let mut rows: Vec<(Group, u64, pb::MessageSummary)> = messages
        .into_iter()
        .map(|m| {
            let at = due.get(m.message_id.as_str()).copied().unwrap_or(0);
            let group = match at {
                0 => Group::Other,
                at if at < now_ms => Group::Overdue,
                _ => Group::New,
            };
            (group, at, m)
        })
        .collect();
    rows.sort_by(|a, b| {
        a.0.cmp(&b.0).then(if a.0 == Group::Other {
            b.2.received_at_ms.cmp(&a.2.received_at_ms)
        } else {
            a.1.cmp(&b.1)
        })
    });
    rows
}

async fn inbox(State(api): State<Api>, viewer: Viewer) -> Response {
    let messages = match api
        .admin
        .inbox(request(
            &viewer.principal,
            pb::InboxRequest { limit: LIMIT },
        ))
        .await
    {
        Ok(a) => a.into_inner().messages,
        Err(status) => return errors::from_status(&viewer, &status),
    };
    // The due times come from the cases of the messages shown, looked up by name: the page
    // costs what it shows, however many cases the node holds.
    let cases = if messages.is_empty() {
        Vec::new()
    } else {
        match api
            .cases
            .cases(request(
                &viewer.principal,
                pb::CasesRequest {
                    only: cases_of(&messages),
                    ..Default::default()
                },
            ))
            .await
        {
            Ok(a) => a.into_inner().cases,
            Err(status) => return errors::from_status(&viewer, &status),
        }
    };
    let labeler = labeler(&viewer);
    let now = trm_proto::time::now_ms();
    let rows = order(messages, &due_times(&cases), now);
    let body = html! {
        @if rows.is_empty() {
            p id="inbox-empty" { (viewer.t("cases-inbox-empty")) }
        } @else {
            table id="inbox" {
                caption class="hint" { (viewer.t("cases-inbox-caption")) }
                thead { tr {
                    th scope="col" { (viewer.t("cases-col-kind")) }
                    th scope="col" { (viewer.t("cases-col-partner")) }
                    th scope="col" { (viewer.t("cases-col-case")) }
                    th scope="col" { (viewer.t("cases-col-received")) }
                    th scope="col" { (viewer.t("cases-col-due")) }
                } }
                tbody {
                    @for (group, due, m) in &rows {
                        tr id=(format!("inbox-{}", m.message_id)) class=(group.id()) data-group=(group.id()) {
                            td {
                                @if *group == Group::New {
                                    strong class="new" { (viewer.t("cases-new")) } " "
                                }
                                (labeler.kind(trm_proto::kinds::of_wire(m.kind).map_or("", |k| k.name))
                                    .unwrap_or_else(|| trm_proto::kinds::label(m.kind).to_owned()))
                            }
                            td { (m.from) }
                            td { a href=(case_href(&m.case_ref, &m.from)) { (m.case_ref) } }
                            td { (viewer.date(m.received_at_ms)) }
                            td { (due_cell(&viewer, *due, now)) }
                        }
                    }
                }
            }
        }
    };
    layout::page(&viewer, &viewer.t("cases-inbox-title"), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, received: u64) -> pb::MessageSummary {
        pb::MessageSummary {
            message_id: id.into(),
            received_at_ms: received,
            ..Default::default()
        }
    }

    #[test]
    fn overdue_first_then_waiting_then_the_newest_of_the_rest() {
        let due = HashMap::from([("late", 50), ("later", 80), ("soon", 500), ("sooner", 200)]);
        let rows = order(
            vec![
                message("old", 1),
                message("soon", 2),
                message("later", 3),
                message("fresh", 9),
                message("late", 4),
                message("sooner", 5),
            ],
            &due,
            100,
        );
        let seen: Vec<(&str, Group)> = rows
            .iter()
            .map(|(g, _, m)| (m.message_id.as_str(), *g))
            .collect();
        assert_eq!(
            seen,
            [
                ("late", Group::Overdue),
                ("later", Group::Overdue),
                ("sooner", Group::New),
                ("soon", Group::New),
                ("fresh", Group::Other),
                ("old", Group::Other),
            ]
        );
    }
}
