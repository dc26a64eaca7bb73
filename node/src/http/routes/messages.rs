//! Messages: send every kind (the body is the message file as JSON), the inbox, one message
//! with its content in the structured view, its status and evidence, and its attachments.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use utoipa::{IntoParams, ToSchema};

use super::query;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

/// What a send answers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Sent {
    /// The new message's id.
    pub message_id: String,
    /// The kind sent.
    pub kind: String,
    /// The addressee.
    pub to: String,
    /// The case reference.
    pub case_ref: String,
    /// The handover-log entry recording it.
    pub log_index: u64,
    /// The sealed envelope's SHA-256, hex.
    pub envelope_digest: String,
}

/// Sends a message of `kind`: the body is the message file as JSON, checked exactly as `trm
/// send` checks it. Sealed, logged and queued for the broker before the answer.
#[utoipa::path(
    post,
    path = "/api/v1/send/{kind}",
    tag = "messages",
    params(
        ("kind" = String, Path, description = "referral, referral_response, information_supplied, case_update, info_request, info_response, return_request, return_confirmation, follow_up or consent_withdrawal"),
        ("Idempotency-Key" = Option<String>, Header, description = "16 to 64 characters of A-Z a-z 0-9 _ -: a repeated request answers with the first one's message"),
    ),
    request_body(content = Object, description = "The message file as JSON (`trm template KIND`, as JSON)", content_type = "application/json"),
    responses((status = 201, description = "Sealed, logged and queued", body = Sent)),
)]
pub async fn send(
    State(api): State<Api>,
    Path(kind): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    if !trm_forms::message_file::KINDS.contains(&kind.as_str()) {
        return Err(Problem::not_found(format!(
            "{kind:?} is not a kind of message; the kinds are {}",
            trm_forms::message_file::KINDS.join(", ")
        )));
    }
    let text = crate::http::body::text(&headers, body, api.max_body_bytes).await?;
    let (mut message, attachments) = trm_forms::message_file::send_request(&kind, &text, true)?;
    if !attachments.is_empty() {
        let table = if kind == "referral" {
            "referral"
        } else {
            kind.as_str()
        };
        return Err(Problem::field(&trm_forms::referral_file::field_error(
            &format!("{table}.attachments"),
            "files cannot be attached through the HTTP API; send the message without them, \
             or with `trm send --attach`",
        )));
    }
    if let Some(key) = headers.get("idempotency-key") {
        message.idempotency_key = key
            .to_str()
            .map_err(|_| {
                Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-request",
                    "the Idempotency-Key header is not text",
                )
            })?
            .to_owned();
    }
    let (to, case_ref) = (message.to.clone(), message.case_ref.clone());
    let sent = api
        .admin
        .send(request(&caller.principal, message))
        .await?
        .into_inner();
    let answer = Sent {
        message_id: sent.message_id,
        kind,
        to,
        case_ref,
        log_index: sent.log_index,
        envelope_digest: hex::encode(&sent.envelope_digest),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// How many inbox messages.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// At most this many, newest first (default 100).
    pub limit: Option<u32>,
}

/// The inbox: received messages' metadata, newest first. No content.
#[utoipa::path(
    get,
    path = "/api/v1/inbox",
    tag = "messages",
    params(InboxQuery),
    responses((status = 200, description = "Message summaries", body = Vec<Object>)),
)]
pub async fn inbox(
    State(api): State<Api>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<Json<Value>, Problem> {
    let q: InboxQuery = query(&uri)?;
    let inbox = api
        .admin
        .inbox(request(
            &caller.principal,
            pb::InboxRequest {
                limit: q.limit.unwrap_or(0),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        inbox
            .messages
            .iter()
            .map(trm_forms::json::summary)
            .collect(),
    )))
}

async fn show(api: &Api, caller: &Caller, id: &str) -> Result<pb::ShowResponse, Problem> {
    Ok(api
        .admin
        .show(request(
            &caller.principal,
            pb::ShowRequest {
                message_id: id.to_owned(),
            },
        ))
        .await?
        .into_inner())
}

/// One message with its content in the structured view (every field, labelled), the handling
/// notice, or why its content is no longer held. The read is recorded in the access log.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "The message id, or enough of its start to be unique")),
    responses((status = 200, description = "The message", body = Object)),
)]
pub async fn message(
    State(api): State<Api>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    Ok(Json(trm_forms::json::message(
        &show(&api, &caller, &id).await?,
    )))
}

/// A sent message's status and its evidence chain (signed receipts, hex). No content.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/status",
    tag = "messages",
    params(("id" = String, Path, description = "The message id, or enough of its start to be unique")),
    responses((status = 200, description = "Status and evidence", body = Object)),
)]
pub async fn status(
    State(api): State<Api>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    let status = api
        .admin
        .status(request(
            &caller.principal,
            pb::StatusRequest { message_id: id },
        ))
        .await?
        .into_inner();
    Ok(Json(trm_forms::json::status(&status)))
}

/// An attachment as listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttachmentItem {
    /// Its place in the message, from 1, for `GET .../attachments/{n}`.
    pub number: usize,
    /// The file's name.
    pub file_name: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub bytes: usize,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// The files a message carries (names, types, sizes, digests).
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/attachments",
    tag = "messages",
    params(("id" = String, Path, description = "The message id")),
    responses((status = 200, description = "The files", body = Vec<AttachmentItem>)),
)]
pub async fn attachments(
    State(api): State<Api>,
    Path(id): Path<String>,
    caller: Caller,
) -> Result<Json<Vec<AttachmentItem>>, Problem> {
    let shown = show(&api, &caller, &id).await?;
    let list = files(&shown)
        .iter()
        .enumerate()
        .map(|(i, a)| AttachmentItem {
            number: i + 1,
            file_name: a.file_name.clone(),
            media_type: a.media_type.clone(),
            bytes: a.content.len(),
            sha256: hex::encode(&a.sha256),
        })
        .collect();
    Ok(Json(list))
}

/// One file of a message, as it was sent.
#[utoipa::path(
    get,
    path = "/api/v1/messages/{id}/attachments/{number}",
    tag = "messages",
    params(
        ("id" = String, Path, description = "The message id"),
        ("number" = usize, Path, description = "The file's number in the list, from 1"),
    ),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>)),
)]
pub async fn attachment(
    State(api): State<Api>,
    Path((id, number)): Path<(String, String)>,
    caller: Caller,
) -> Result<Response, Problem> {
    let number: usize = number.parse().map_err(|_| {
        Problem::field(&trm_forms::referral_file::field_error(
            "number",
            format!("{number:?} is not a file number (1, 2, ...)"),
        ))
    })?;
    let shown = show(&api, &caller, &id).await?;
    let file = number
        .checked_sub(1)
        .and_then(|i| files(&shown).get(i))
        .ok_or_else(|| Problem::not_found(format!("the message has no file number {number}")))?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        trm_proto::attachment::printable(&file.file_name).replace(['"', '\\'], "_")
    );
    let mut response = file.content.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(value) = header::HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The files of a shown message (none when erased).
fn files(shown: &pb::ShowResponse) -> &[pb::Attachment] {
    shown
        .body
        .as_ref()
        .and_then(|b| b.content.as_ref())
        .map(trm_proto::attachment::of)
        .unwrap_or_default()
}
