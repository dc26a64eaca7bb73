//! One message whole, in the structured view of `trm-view` in the reader's language: its
//! handling-code banner (H1 "not for judicial use without the provider's permission", H2 "not
//! to be passed on"), its header, then every field the sender filled in — codes in the
//! reader's words, free text exactly as written and marked as not translated.
//!
//! Every element that shows a field has the id `<message id>-<field key>`
//! (`0192…-referral.needs`), so tests find a field whatever the language.

use maud::{Markup, html};
use trm_proto::pb;
use trm_view::{Facts, Field, Labeler, Value};

use super::page::Viewer;

/// The banner of a message's handling code, when it has one: H1 and H2 as warnings, H0 and
/// H3 as notices. `direction` is the stored message's (`incoming` or `outgoing`).
pub fn banner(labeler: &dyn Labeler, body: &pb::Body, id: &str) -> Markup {
    let Some((code, restrictions)) = trm_proto::kinds::handling(body) else {
        return html! {};
    };
    let text = labeler.notice(code, &body.from, restrictions);
    let strong = matches!(
        pb::HandlingCode::try_from(code),
        Ok(pb::HandlingCode::H1 | pb::HandlingCode::H2)
    );
    let class = match pb::HandlingCode::try_from(code) {
        Ok(pb::HandlingCode::H1) => "banner h1",
        Ok(pb::HandlingCode::H2) => "banner h2",
        _ => "banner",
    };
    html! {
        @if !text.is_empty() {
            p id=(id) class=(class) role=[strong.then_some("note")] { (text) }
        }
    }
}

/// A message's content and header as a description list, in `labeler`'s words.
pub fn whole(viewer: &Viewer, labeler: &dyn Labeler, body: &pb::Body, priority: i32) -> Markup {
    let facts = Facts {
        priority,
        handling_notice: "",
    };
    let view = match trm_view::view_with(body, &facts, labeler) {
        Ok(view) => view,
        Err(e) => {
            return html! { p class="error" lang="en" { (e.to_string()) } };
        }
    };
    let prefix = body.message_id.as_str();
    html! {
        article class="message" aria-labelledby=(format!("{prefix}-title")) {
            h3 id=(format!("{prefix}-title")) { (view.title) }
            (banner(labeler, body, &format!("{prefix}-banner")))
            dl class="facts header" {
                @for f in view.header.iter().filter(|f| f.key != "header.kind") {
                    (field(viewer, labeler, prefix, f))
                }
            }
            p class="hint" id=(format!("{prefix}-text-language")) {
                (viewer.t("cases-free-text")) " " (labeler.no_language())
            }
            dl class="facts content" {
                @for f in &view.fields {
                    (field(viewer, labeler, prefix, f))
                }
            }
        }
    }
}

fn field(viewer: &Viewer, labeler: &dyn Labeler, prefix: &str, f: &Field) -> Markup {
    let id = format!("{prefix}-{}", f.key);
    html! {
        dt { (f.label) }
        dd id=(id) { (value(viewer, labeler, prefix, &f.value)) }
    }
}

fn value(viewer: &Viewer, labeler: &dyn Labeler, prefix: &str, v: &Value) -> Markup {
    html! {
        @match v {
            Value::Text { value } => { span class="free-text" { (value) } }
            Value::Code { code, meaning } => { span class="code" data-code=(code) { (meaning) } }
            Value::Date { utc_ms, .. } => { (viewer.date(*utc_ms)) }
            Value::Bool { value } => { (labeler.yes_no(*value)) }
            Value::Number { value, unit } => {
                @match unit {
                    Some(unit) => (labeler.count(*value, unit)),
                    None => (value),
                }
            }
            Value::Bytes { size, sha256 } => {
                (labeler.count(*size, "byte")) ", SHA-256 " span class="digest" { (sha256) }
            }
            Value::List { items } => {
                ul class="plain" {
                    @for item in items { li { (value(viewer, labeler, prefix, item)) } }
                }
            }
            Value::Group { fields } => {
                dl class="facts nested" {
                    @for f in fields { (field(viewer, labeler, prefix, f)) }
                }
            }
        }
    }
}
