//! The evidence chain of a sent message, in the reader's words and time zone: sealed, stored
//! by the broker, relayed, delivered (each step with who attests it and whether a signed
//! receipt backs it), then answered when the partner's answer arrived.

use maud::{Markup, html};
use trm_proto::pb;
use trm_view::Labeler;

use super::page::Viewer;

/// The states in which an item has had its answer.
const ANSWERED: [&str; 6] = [
    "accepted",
    "declined",
    "needs_information",
    "answered",
    "refused",
    "confirmed",
];

/// When the item a sent message opened was answered, if it was.
pub fn answered_at(message_id: &str, items: &[pb::CaseItem]) -> Option<u64> {
    items
        .iter()
        .find(|i| i.message_id == message_id && i.direction == crate::cases::OUTGOING)
        .filter(|i| ANSWERED.contains(&i.state.as_str()) || i.state == "closed")
        .map(|i| i.updated_at_ms)
}

/// The chain as an ordered list; `queued` says it still waits in the outbox.
pub fn chain(
    viewer: &Viewer,
    labeler: &dyn Labeler,
    id: &str,
    status: &pb::StatusResponse,
    answered: Option<u64>,
) -> Markup {
    html! {
        section class="evidence" aria-label=(viewer.t("cases-evidence")) {
            h4 { (viewer.t("cases-evidence")) }
            ol id=(id) class="steps" {
                @for e in &status.evidence {
                    li data-step=(e.step) {
                        strong { (labeler.step(&e.step)) } " · " (viewer.date(e.at_ms))
                        @if !e.attested_by.is_empty() { " · " (e.attested_by) }
                        @if e.receipt.is_some() { " · " (viewer.t("cases-signed-receipt")) }
                    }
                }
                @if let Some(at) = answered {
                    li data-step="answered" {
                        strong { (labeler.step("answered")) } " · " (viewer.date(at))
                    }
                }
            }
            @if status.queued {
                p class="hint" { (viewer.t("cases-queued")) }
            }
        }
    }
}
