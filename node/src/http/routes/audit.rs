//! Audit: the handover log's entries (metadata only), its verification, its export as a
//! bundle for the offline auditor, a checkpoint, and a coordinator's collection of partners'
//! checkpoints.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use trm_proto::pb;
use trm_proto::pb::node_admin_server::NodeAdmin;
use utoipa::{IntoParams, ToSchema};

use super::query;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

/// Which entries.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// The first entry's index (default 0).
    pub from: Option<u64>,
    /// At most this many (default 100).
    pub limit: Option<u32>,
}

/// The handover log's entries: events, ids, kinds, digests, actors. No content.
#[utoipa::path(
    get,
    path = "/api/v1/log",
    tag = "audit",
    params(LogQuery),
    responses((status = 200, description = "Log entries", body = Vec<Object>)),
)]
pub async fn log(
    State(api): State<Api>,
    caller: Caller,
    uri: axum::http::Uri,
) -> Result<Json<Value>, Problem> {
    let q: LogQuery = query(&uri)?;
    let entries = api
        .admin
        .log(request(
            &caller.principal,
            pb::LogRequest {
                from_index: q.from.unwrap_or(0),
                limit: q.limit.unwrap_or(100),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(trm_forms::json::log(&entries.entries)))
}

/// Verifies the whole handover log: every hash and every link.
#[utoipa::path(
    get,
    path = "/api/v1/log/verify",
    tag = "audit",
    responses((status = 200, description = "Whether the log verifies, and where it breaks", body = Object)),
)]
pub async fn verify(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let verified = api
        .admin
        .verify_log(request(&caller.principal, pb::VerifyLogRequest {}))
        .await?
        .into_inner();
    Ok(Json(trm_forms::json::verify(&verified)))
}

/// The handover log as a metadata-only bundle (`trm log export`), for `trm-audit`; a
/// checkpoint is signed at its size first.
#[utoipa::path(
    get,
    path = "/api/v1/log/export",
    tag = "audit",
    responses((status = 200, description = "The encoded bundle", content_type = "application/octet-stream", body = Vec<u8>)),
)]
pub async fn export(State(api): State<Api>, caller: Caller) -> Result<Response, Problem> {
    let mut chunks = api
        .admin
        .export_log(request(
            &caller.principal,
            pb::ExportLogRequest {
                checkpoint: true,
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    let mut bundle = Vec::new();
    while let Some(chunk) = chunks.next().await {
        bundle.extend_from_slice(&chunk?.data);
    }
    let mut response = bundle.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/octet-stream"),
    );
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"handover-log.bundle\""),
    );
    Ok(response)
}

/// Why a collection is made.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    /// For the record, e.g. "quarterly monitoring 2026-Q4".
    pub purpose: String,
}

/// One organisation asked for its checkpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Asked {
    /// The organisation's address.
    pub node: String,
    /// The witness request sent; empty when it could not be sent.
    pub message_id: String,
    /// Why it could not be sent; empty when it was.
    pub problem: String,
}

/// A national coordinator asks every organisation of its country for a signed checkpoint.
#[utoipa::path(
    post,
    path = "/api/v1/audit/collect",
    tag = "audit",
    request_body(content = Collect, content_type = "application/json"),
    responses((status = 200, description = "Who was asked", body = Vec<Asked>)),
)]
pub async fn collect(
    State(api): State<Api>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Vec<Asked>>, Problem> {
    let wanted: Collect = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let asked = api
        .admin
        .collect_checkpoints(request(
            &caller.principal,
            pb::CollectCheckpointsRequest {
                purpose: wanted.purpose,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(
        asked
            .asked
            .into_iter()
            .map(|a| Asked {
                node: a.node,
                message_id: a.message_id,
                problem: a.problem,
            })
            .collect(),
    ))
}
