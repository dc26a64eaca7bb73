//! A message's content, for people and for scripts, for every kind: the one structured view
//! of `trm-view`, which the CLI's text views, the JSON views ([`crate::json`],
//! [`crate::case_json`]) and the node's HTTP API share. Nothing here knows a kind or a field.

use serde_json::{Value, json};
use trm_proto::pb;
use trm_view::{Facts, View, ViewError};

/// The facts of a message's summary the body does not carry (its priority), and the
/// handling notice.
pub fn facts<'a>(summary: &pb::MessageSummary, handling_notice: &'a str) -> Facts<'a> {
    Facts {
        priority: summary.priority,
        handling_notice,
    }
}

/// A priority for people, with the answer time it sets for a referral; `None` when unknown.
pub fn priority(wire: i32) -> Option<String> {
    match trm_view::header::priority(wire)? {
        trm_view::Value::Code { meaning, .. } => Some(meaning),
        _ => None,
    }
}

/// A priority as the message files spell it (`urgent`); `None` when unknown.
pub fn priority_code(wire: i32) -> Option<String> {
    match trm_view::header::priority(wire)? {
        trm_view::Value::Code { code, .. } => Some(code),
        _ => None,
    }
}

/// The view of a body; `None` when it has no content (erased).
pub fn view(body: &pb::Body, facts: &Facts<'_>) -> Result<Option<View>, ViewError> {
    match trm_view::view(body, facts) {
        Ok(view) => Ok(Some(view)),
        Err(ViewError::NoContent) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The content's fields as text, labels aligned, times in UTC with the local time beside;
/// a line saying why when the content cannot be shown.
pub fn text(body: &pb::Body, facts: &Facts<'_>) -> String {
    match view(body, facts) {
        Ok(Some(v)) => trm_view::text::fields(&v.fields, 0, &trm_view::time::local_zone()),
        Ok(None) => String::new(),
        Err(e) => format!("(the content cannot be shown: {e})\n"),
    }
}

/// The whole view as JSON (`kind`, `title`, `header`, `fields`); `null` without content, and
/// `{"error": ...}` when it cannot be shown.
pub fn json(body: &pb::Body, facts: &Facts<'_>) -> Value {
    match view(body, facts) {
        Ok(Some(v)) => v.to_json(),
        Ok(None) => Value::Null,
        Err(e) => json!({ "error": e.to_string() }),
    }
}
