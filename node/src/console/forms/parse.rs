//! From a sent form to a sent message: the form's values become the message file's JSON
//! ([`trm_forms::form::to_json`]), checked by the file's own parser (the same rules and errors
//! as `trm send`), then sent through the node's admin service with the signed-in person's
//! principal, where the node's rules run (consent, a child's guardian, H2, the agreement). A
//! refusal from either comes back as a [`Shown`] error in the reader's language, beside the
//! field it names.

use fluent_bundle::FluentValue;
use trm_forms::form::Field;
use trm_forms::referral_file::FieldError;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;

use super::{ATTACHMENTS, Shown};
use crate::console::csrf::{Fields, Upload};
use crate::console::i18n;
use crate::console::page::Viewer;
use crate::http::State;

/// What became of a sent form.
#[derive(Debug)]
pub enum Outcome {
    /// Sealed, logged and queued for the broker.
    Sent {
        /// The new message's id.
        message_id: String,
        /// The addressee.
        to: String,
        /// The case.
        case_ref: String,
    },
    /// Nothing was sent: why.
    Refused(Vec<Shown>),
}

/// Checks and sends what the form for `kind` (with `fields`) sent as `sent`.
pub async fn send(
    api: &State,
    viewer: &Viewer,
    kind: &str,
    fields: &[Field],
    sent: &Fields,
    files: &[Upload],
) -> Outcome {
    let json = trm_forms::form::to_json(fields, sent.0.as_slice());
    let (message, attachments) =
        match trm_forms::message_file::send_request(kind, &json.to_string(), true) {
            Ok(request) => request,
            Err(e) => return Outcome::Refused(vec![place(fields, field_error(viewer, &e))]),
        };
    // A path typed into a form never names a file on the node's disk.
    let not_carried = || {
        Outcome::Refused(vec![Shown {
            field: format!("{kind}.{ATTACHMENTS}"),
            text: viewer.t("compose-no-attachments"),
        }])
    };
    if !attachments.is_empty() {
        return not_carried();
    }
    let mut message = message;
    let uploads: Vec<&Upload> = files
        .iter()
        .filter(|f| f.field.rsplit('.').next() == Some(ATTACHMENTS))
        .collect();
    if !uploads.is_empty() {
        let content = message.body.as_mut().and_then(|b| b.content.as_mut());
        let Some(list) = content.and_then(trm_proto::attachment::of_mut) else {
            return not_carried();
        };
        // Names, sizes and digests are checked by the node before it seals, as for `trm send`.
        list.extend(uploads.into_iter().map(|f| pb::Attachment {
            file_name: f.file_name.clone(),
            media_type: trm_proto::attachment::media_type(&f.file_name).to_owned(),
            sha256: trm_proto::attachment::sha256(&f.content).to_vec(),
            content: f.content.clone(),
        }));
    }
    let (to, case_ref) = (message.to.clone(), message.case_ref.clone());
    match api
        .admin
        .send(crate::http::request(&viewer.principal, message))
        .await
    {
        Ok(sent) => Outcome::Sent {
            message_id: sent.into_inner().message_id,
            to,
            case_ref,
        },
        Err(status) => Outcome::Refused(vec![place(fields, refusal(viewer, &status))]),
    }
}

/// A file check's error in the reader's language, at the field it names (a missing field at
/// the field itself, not at its table).
pub fn field_error(viewer: &Viewer, e: &FieldError) -> Shown {
    let problem = &e.problem;
    let field = match (problem.key(), problem.get("value")) {
        ("missing-field", Some(name)) if e.field == "file" => name.to_owned(),
        ("missing-field", Some(name)) => format!("{}.{name}", e.field),
        _ => e.field.clone(),
    };
    let english = problem.to_string();
    let mut args: Vec<(&str, FluentValue<'_>)> = vec![("text", english.as_str().into())];
    for (name, value) in problem.args() {
        args.push((name, value.as_str().into()));
    }
    let id = format!("compose-problem-{}", problem.key());
    let text = i18n::text(viewer.lang, &id, &args);
    let label = super::render::label(viewer, &field);
    Shown {
        text: if text == id {
            format!("{label}: {english}")
        } else {
            format!("{label}: {text}")
        },
        field,
    }
}

/// A refusal of the node's service, by its reason (`trm-reason`) and field (`trm-field`)
/// when it has them; otherwise its words, at the field they start with.
pub fn refusal(viewer: &Viewer, status: &tonic::Status) -> Shown {
    let meta = |name| {
        status
            .metadata()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let message = status.message();
    let field = meta(crate::error::FIELD)
        .or_else(|| {
            message
                .split_once(": ")
                .map(|(f, _)| f)
                .filter(|f| {
                    !f.is_empty()
                        && f.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
                })
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "form".to_owned());
    let reason = meta(crate::error::REASON);
    let text = reason
        .map(|key| format!("compose-reason-{key}"))
        .map(|id| (i18n::text(viewer.lang, &id, &[]), id))
        .filter(|(text, id)| text != id)
        .map_or_else(|| message.to_owned(), |(text, _)| text);
    Shown { field, text }
}

/// `shown` at its field, or at the nearest group of the form holding it, or at the form.
fn place(fields: &[Field], mut shown: Shown) -> Shown {
    let paths: Vec<String> = trm_forms::form::flatten(fields)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut at = shown.field.as_str();
    while !at.contains('[') && !paths.iter().any(|p| p == at) {
        match at.rsplit_once('.') {
            Some((parent, _)) => at = parent,
            None => {
                at = "form";
                break;
            }
        }
    }
    shown.field = at.to_owned();
    shown
}

/// The form's values for `kind` filled in from a message that is answered or referred to:
/// the addressee and the case, by path.
pub fn answering(to: &str, case_ref: &str) -> Vec<(String, String)> {
    vec![
        ("to".to_owned(), to.to_owned()),
        ("case_ref".to_owned(), case_ref.to_owned()),
    ]
}

/// The kinds a console form sends, with the message file's names.
pub fn is_kind(kind: &str) -> bool {
    trm_forms::message_file::KINDS.contains(&kind)
        && kind != pb::MessageKind::Unspecified.as_str_name()
}
