//! The envelope facts a receiver needs beside the content: kind, priority (with the answer
//! time it sets for a referral), sender, addressee, when it was sealed, the case, the message
//! id and what the handling code asks of the reader.

use trm_proto::kinds;
use trm_proto::pb;

use crate::labeler::{English, Labeler};
use crate::labels;
use crate::model::{Field, Value};

/// What the body does not carry: the header's priority and the node's handling notice.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The envelope's priority as on the wire (0: not known, not shown).
    pub priority: i32,
    /// What the handling code asks of the reader (`trm_proto::kinds::handling_notice`);
    /// empty for none.
    pub handling_notice: &'a str,
}

/// Hours within which a referral of each priority is answered: the node's default
/// `[deadlines]` (`referral_answer_*_hours`), which a test holds equal.
pub const REFERRAL_ANSWER_HOURS: [(pb::Priority, u64); 3] = [
    (pb::Priority::Routine, 7 * 24),
    (pb::Priority::Urgent, 48),
    (pb::Priority::Immediate, 24),
];

/// The kind for people, from the kinds table (`Referral response`), or made from the
/// content's field name for a kind that table does not have.
pub fn title(wire_kind: i32, case_name: &str) -> String {
    title_with(wire_kind, case_name, &English)
}

/// [`title`] in `labeler`'s words.
pub fn title_with(wire_kind: i32, case_name: &str, labeler: &dyn Labeler) -> String {
    let label = kinds::of_wire(wire_kind)
        .filter(|k| k.name == case_name)
        .and_then(|k| labeler.kind(k.name))
        .unwrap_or_else(|| case_name.replace('_', " "));
    labels::fallback(&label)
}

/// The priority as a code: `urgent`, "urgent: a referral is answered within 48 hours";
/// `None` for one this build does not know.
pub fn priority(wire: i32) -> Option<Value> {
    priority_with(wire, &English)
}

/// [`priority`] in `labeler`'s words.
pub fn priority_with(wire: i32, labeler: &dyn Labeler) -> Option<Value> {
    let p = pb::Priority::try_from(wire).ok()?;
    let hours = REFERRAL_ANSWER_HOURS
        .iter()
        .find(|(q, _)| *q == p)
        .map(|(_, h)| *h)?;
    let code = p
        .as_str_name()
        .trim_start_matches("PRIORITY_")
        .to_ascii_lowercase();
    Some(Value::Code {
        meaning: labeler.priority(&code, hours),
        code,
    })
}

fn text(key: &str, labeler: &dyn Labeler, value: &str) -> Option<Field> {
    (!value.is_empty()).then(|| Field {
        key: format!("header.{key}"),
        label: labeler.header(key),
        value: Value::Text {
            value: value.to_owned(),
        },
    })
}

/// The header fields of a body.
pub fn fields(body: &pb::Body, facts: &Facts<'_>) -> Vec<Field> {
    fields_with(body, facts, &English)
}

/// [`fields`] in `labeler`'s words (the handling notice is the one in `facts`).
pub fn fields_with(body: &pb::Body, facts: &Facts<'_>, labeler: &dyn Labeler) -> Vec<Field> {
    let kind = kinds::of_wire(body.kind).map(|k| Field {
        key: "header.kind".into(),
        label: labeler.header("kind"),
        value: Value::Code {
            code: k.name.to_owned(),
            meaning: labeler.kind(k.name).unwrap_or_else(|| k.label.to_owned()),
        },
    });
    let priority = priority_with(facts.priority, labeler).map(|value| Field {
        key: "header.priority".into(),
        label: labeler.header("priority"),
        value,
    });
    let created = (body.created_at_ms != 0).then(|| Field {
        key: "header.created".into(),
        label: labeler.header("created"),
        value: Value::Date {
            value: crate::time::rfc3339(body.created_at_ms),
            utc_ms: body.created_at_ms,
        },
    });
    [
        kind,
        priority,
        text("from", labeler, &body.from),
        text("to", labeler, &body.to),
        created,
        text("case_ref", labeler, &body.case_ref),
        text("message_id", labeler, &body.message_id),
        text("handling_notice", labeler, facts.handling_notice),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_says_the_answer_time_it_sets() {
        let meaning = |p: pb::Priority| match priority(p.into()) {
            Some(Value::Code { code, meaning }) => format!("{code} | {meaning}"),
            other => format!("{other:?}"),
        };
        assert_eq!(
            meaning(pb::Priority::Routine),
            "routine | routine: a referral is answered within 7 days"
        );
        assert_eq!(
            meaning(pb::Priority::Urgent),
            "urgent | urgent: a referral is answered within 48 hours"
        );
        assert_eq!(
            meaning(pb::Priority::Immediate),
            "immediate | immediate: a referral is answered within 24 hours"
        );
        assert_eq!(priority(0), None);
    }

    #[test]
    fn a_kind_the_kinds_table_does_not_know_is_titled_from_its_name() {
        assert_eq!(
            title(pb::MessageKind::Referral.into(), "referral"),
            "Referral"
        );
        assert_eq!(
            title(pb::MessageKind::ReturnRequest.into(), "return_request"),
            "Return-assistance request"
        );
        assert_eq!(title(99, "information_supplied"), "Information supplied");
    }
}
