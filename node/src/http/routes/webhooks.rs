//! Webhooks, for an administrator: what `trm webhooks` does over the socket, through the same
//! webhooks service (which checks the administrator's role first). A webhook's signing secret
//! is shown once, when it is added.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use trm_proto::pb;
use trm_proto::pb::node_webhooks_server::NodeWebhooks;
use utoipa::ToSchema;

use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

fn webhook_json(hook: &pb::Webhook) -> Value {
    json!({
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "created_at_ms": hook.created_at_ms,
    })
}

/// A new webhook.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://...`, or `http://` to a loopback address only.
    pub url: String,
    /// Event names (`message.arrived`, `referral.accepted`, ...); absent or empty: every event.
    #[serde(default)]
    pub events: Vec<String>,
    /// Registered inactive: nothing is queued for it.
    #[serde(default)]
    pub inactive: bool,
}

/// The webhooks (never a secret), and how many notifications wait or were given up on.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    responses((status = 200, description = "The webhooks and the queue's counts", body = Object)),
)]
pub async fn list(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let listed = api
        .webhooks
        .list_webhooks(request(&caller.principal, pb::ListWebhooksRequest {}))
        .await?
        .into_inner();
    Ok(Json(json!({
        "webhooks": listed.webhooks.iter().map(webhook_json).collect::<Vec<_>>(),
        "queued": listed.queued,
        "set_aside": listed.set_aside,
    })))
}

/// Adds a webhook; its HMAC-SHA256 signing secret (`secret`) is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body(content = NewWebhook, content_type = "application/json"),
    responses((status = 201, description = "The webhook, with its secret this once", body = Object)),
)]
pub async fn add(
    State(api): State<Api>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let form: NewWebhook = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let added = api
        .webhooks
        .add_webhook(request(
            &caller.principal,
            pb::AddWebhookRequest {
                url: form.url,
                events: form.events,
                inactive: form.inactive,
            },
        ))
        .await?
        .into_inner();
    let mut answer = added
        .webhook
        .as_ref()
        .map(webhook_json)
        .unwrap_or_else(|| json!({}));
    if let Value::Object(fields) = &mut answer {
        fields.insert("secret".to_owned(), added.secret.into());
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Removes a webhook and drops its queued notifications.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 200, description = "How many queued notifications were dropped", body = Object)),
)]
pub async fn remove(
    State(api): State<Api>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let removed = api
        .webhooks
        .remove_webhook(request(&caller.principal, pb::RemoveWebhookRequest { id }))
        .await?
        .into_inner();
    Ok(Json(json!({ "dropped": removed.dropped })))
}

/// Queues a test notification to a webhook.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{id}/test",
    tag = "webhooks",
    params(("id" = String, Path, description = "The webhook's id")),
    responses((status = 202, description = "The queued notification's delivery id", body = Object)),
)]
pub async fn test(
    State(api): State<Api>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let queued = api
        .webhooks
        .test_webhook(request(&caller.principal, pb::TestWebhookRequest { id }))
        .await?
        .into_inner();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "delivery": queued.delivery })),
    ))
}
