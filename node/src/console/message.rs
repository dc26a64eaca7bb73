//! One message whole, in the structured view of `trm-view` in the reader's language: its
//! handling-code banner (H1 "not for judicial use without the provider's permission", H2 "not
//! to be passed on"), its header, then every field the sender filled in — codes in the
//! reader's words, free text exactly as written, marked as not translated and labelled with
//! the language its author stated (`lang` on each free-text element, for screen readers).
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
    // A partner's tag of the wrong shape is shown as not stated, never as an attribute.
    let written_in = Some(body.text_language.as_str())
        .filter(|tag| !tag.is_empty() && trm_forms::language::check("", tag).is_ok());
    let at = At { prefix, written_in };
    html! {
        article class="message" aria-labelledby=(format!("{prefix}-title")) {
            h3 id=(format!("{prefix}-title")) { (view.title) }
            (banner(labeler, body, &format!("{prefix}-banner")))
            dl class="facts header" {
                @for f in view.header.iter().filter(|f| f.key != "header.kind") {
                    (field(viewer, labeler, &At { written_in: None, ..at }, f))
                }
            }
            p class="hint" id=(format!("{prefix}-text-language")) {
                (viewer.t("cases-free-text")) " "
                @match written_in {
                    Some(tag) => span lang=(tag) { (language_name(tag)) },
                    None => (labeler.no_language()),
                }
            }
            dl class="facts content" {
                @for f in &view.fields {
                    (field(viewer, labeler, &at, f))
                }
            }
            (files(viewer, labeler, body))
        }
    }
}

/// The files a message carries, each a link that downloads it as it was sent (through the
/// HTTP API's `/api/v1/messages/{id}/attachments/{n}`, under the same session).
fn files(viewer: &Viewer, labeler: &dyn Labeler, body: &pb::Body) -> Markup {
    let files = body
        .content
        .as_ref()
        .map(trm_proto::attachment::of)
        .unwrap_or_default();
    let id = body.message_id.as_str();
    html! {
        @if !files.is_empty() {
            h4 { (viewer.t("cases-files")) }
            ul class="plain files" id=(format!("{id}-files")) {
                @for (i, file) in files.iter().enumerate() {
                    li {
                        a id=(format!("{id}-file-{}", i + 1)) download=(file.file_name)
                            href=(format!("/api/v1/messages/{id}/attachments/{}", i + 1)) {
                            (viewer.t("cases-file-download")) " " (file.file_name)
                        }
                        " · " (labeler.count(file.content.len() as u64, "byte"))
                    }
                }
            }
        }
    }
}

/// Where a field is shown: the message's id (the prefix of every field's element id) and the
/// language its free text is written in, when the sender stated it.
#[derive(Clone, Copy)]
struct At<'a> {
    prefix: &'a str,
    written_in: Option<&'a str>,
}

/// A language's name in itself (the console's five by name, any other by its tag), as language
/// pickers show them: a reader recognises their own language's name whatever the page's.
fn language_name(tag: &str) -> &str {
    super::i18n::Lang::parse(tag)
        .or_else(|| tag.parse().ok().and_then(|t| super::i18n::Lang::of_tag(&t)))
        .map_or(tag, |lang| lang.own_name())
}

fn field(viewer: &Viewer, labeler: &dyn Labeler, at: &At, f: &Field) -> Markup {
    let id = format!("{}-{}", at.prefix, f.key);
    html! {
        dt { (f.label) }
        dd id=(id) { (value(viewer, labeler, at, &f.value)) }
    }
}

fn value(viewer: &Viewer, labeler: &dyn Labeler, at: &At, v: &Value) -> Markup {
    html! {
        @match v {
            Value::Text { value } => { span class="free-text" lang=[at.written_in] { (value) } }
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
                    @for item in items { li { (value(viewer, labeler, at, item)) } }
                }
            }
            Value::Group { fields } => {
                dl class="facts nested" {
                    @for f in fields { (field(viewer, labeler, at, f)) }
                }
            }
        }
    }
}
