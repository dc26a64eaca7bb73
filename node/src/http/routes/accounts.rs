//! Accounts, API tokens and the access log, for an administrator: what `trm accounts` and
//! `trm access-log` do over the socket, through the same accounts service (which checks the
//! administrator's role first). Passwords and token secrets are never answered, except a
//! token's secret once, when it is issued.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde::Deserialize;
use serde_json::{Value, json};
use trm_proto::pb;
use trm_proto::pb::node_accounts_server::NodeAccounts;
use utoipa::{IntoParams, ToSchema};

use super::query;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::http::{State as Api, request};

fn account_json(view: &pb::AccountView) -> Value {
    json!({
        "id": view.id,
        "name": view.name,
        "roles": view.roles,
        "disabled": view.disabled,
        "locked_until_ms": view.locked_until_ms,
        "totp": view.totp,
        "created_at_ms": view.created_at_ms,
    })
}

fn token_json(view: &pb::TokenView) -> Value {
    json!({
        "id": view.id,
        "name": view.name,
        "roles": view.roles,
        "created_at_ms": view.created_at_ms,
        "revoked_at_ms": view.revoked_at_ms,
        "expires_at_ms": view.expires_at_ms,
    })
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Its login name.
    pub name: String,
    /// Its roles: caseworker, liaison_officer, coordinator, administrator.
    pub roles: Vec<String>,
    /// Its first password (long enough for the node's policy).
    pub password: String,
}

/// A new password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPassword {
    /// The password (long enough for the node's policy).
    pub password: String,
}

/// A new API token for a system.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for, e.g. the case-management system's name.
    pub name: String,
    /// The roles it acts with.
    pub roles: Vec<String>,
    /// When it stops working, milliseconds since 1970; absent or 0: never.
    #[serde(default)]
    pub expires_at_ms: u64,
}

/// The accounts: names, roles, state. Never a password.
#[utoipa::path(
    get,
    path = "/api/v1/accounts",
    tag = "accounts",
    responses((status = 200, description = "The accounts", body = Vec<Object>)),
)]
pub async fn list(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let listed = api
        .accounts
        .list_accounts(request(&caller.principal, pb::ListAccountsRequest {}))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        listed.accounts.iter().map(account_json).collect(),
    )))
}

/// Adds an account, which can then sign in.
#[utoipa::path(
    post,
    path = "/api/v1/accounts",
    tag = "accounts",
    request_body(content = NewAccount, content_type = "application/json"),
    responses((status = 201, description = "The account made", body = Object)),
)]
pub async fn add(
    State(api): State<Api>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let form: NewAccount = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let made = api
        .accounts
        .add_account(request(
            &caller.principal,
            pb::AddAccountRequest {
                name: form.name,
                roles: form.roles,
                password: form.password,
            },
        ))
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(account_json(&made))))
}

async fn set_disabled(
    api: &Api,
    caller: &Caller,
    name: String,
    disabled: bool,
) -> Result<Json<Value>, Problem> {
    let changed = api
        .accounts
        .set_disabled(request(
            &caller.principal,
            pb::SetDisabledRequest { name, disabled },
        ))
        .await?
        .into_inner();
    Ok(Json(account_json(&changed)))
}

/// Disables an account: it can no longer sign in, and its sessions end.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/disable",
    tag = "accounts",
    params(("name" = String, Path, description = "The account's login name")),
    responses((status = 200, description = "The account", body = Object)),
)]
pub async fn disable(
    State(api): State<Api>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    set_disabled(&api, &caller, name, true).await
}

/// Enables a disabled account again.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/enable",
    tag = "accounts",
    params(("name" = String, Path, description = "The account's login name")),
    responses((status = 200, description = "The account", body = Object)),
)]
pub async fn enable(
    State(api): State<Api>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Value>, Problem> {
    set_disabled(&api, &caller, name, false).await
}

/// Sets an account's password.
#[utoipa::path(
    post,
    path = "/api/v1/accounts/{name}/password",
    tag = "accounts",
    params(("name" = String, Path, description = "The account's login name")),
    request_body(content = NewPassword, content_type = "application/json"),
    responses((status = 200, description = "The account", body = Object)),
)]
pub async fn password(
    State(api): State<Api>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, Problem> {
    let form: NewPassword = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let changed = api
        .accounts
        .set_password(request(
            &caller.principal,
            pb::SetPasswordRequest {
                name,
                password: form.password,
            },
        ))
        .await?
        .into_inner();
    Ok(Json(account_json(&changed)))
}

/// The API tokens: names, roles, state. Never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "accounts",
    responses((status = 200, description = "The tokens", body = Vec<Object>)),
)]
pub async fn tokens(State(api): State<Api>, caller: Caller) -> Result<Json<Value>, Problem> {
    let listed = api
        .accounts
        .list_tokens(request(&caller.principal, pb::ListTokensRequest {}))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        listed.tokens.iter().map(token_json).collect(),
    )))
}

/// Issues an API token; its secret (`token`) is shown this once and never again.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "accounts",
    request_body(content = NewToken, content_type = "application/json"),
    responses((status = 201, description = "The token, with its secret this once", body = Object)),
)]
pub async fn issue(
    State(api): State<Api>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), Problem> {
    let form: NewToken = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let issued = api
        .accounts
        .issue_token(request(
            &caller.principal,
            pb::IssueTokenRequest {
                name: form.name,
                roles: form.roles,
                expires_at_ms: form.expires_at_ms,
            },
        ))
        .await?
        .into_inner();
    let mut answer = issued
        .view
        .as_ref()
        .map(token_json)
        .unwrap_or_else(|| json!({}));
    if let Value::Object(fields) = &mut answer {
        fields.insert("token".to_owned(), issued.token.into());
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

/// Revokes an API token: it stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "accounts",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 200, description = "The token, revoked", body = Object)),
)]
pub async fn revoke(
    State(api): State<Api>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let revoked = api
        .accounts
        .revoke_token(request(&caller.principal, pb::RevokeTokenRequest { id }))
        .await?
        .into_inner();
    Ok(Json(token_json(&revoked)))
}

/// Which access-log entries.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    /// The first entry's index (default 0).
    pub from: Option<u64>,
    /// At most this many (default 1000, at most 10000).
    pub limit: Option<u32>,
}

/// The access log: who opened which message, when. Ids only, no content.
#[utoipa::path(
    get,
    path = "/api/v1/access-log",
    tag = "accounts",
    params(AccessQuery),
    responses((status = 200, description = "Access-log entries", body = Vec<Object>)),
)]
pub async fn access_log(
    State(api): State<Api>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<Value>, Problem> {
    let q: AccessQuery = query(&uri)?;
    let listed = api
        .accounts
        .access_log(request(
            &caller.principal,
            pb::AccessLogRequest {
                from_index: q.from.unwrap_or(0),
                limit: q.limit.unwrap_or(0),
            },
        ))
        .await?
        .into_inner();
    Ok(Json(Value::Array(
        listed
            .entries
            .iter()
            .map(|e| {
                json!({
                    "index": e.index,
                    "at_ms": e.at_ms,
                    "account": e.account,
                    "message_id": e.message_id,
                    "what": e.what,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                })
            })
            .collect(),
    )))
}

/// Verifies the access log's hash chain.
#[utoipa::path(
    get,
    path = "/api/v1/access-log/verify",
    tag = "accounts",
    responses((status = 200, description = "Whether the access log verifies, and where it breaks", body = Object)),
)]
pub async fn verify_access_log(
    State(api): State<Api>,
    caller: Caller,
) -> Result<Json<Value>, Problem> {
    let v = api
        .accounts
        .verify_access_log(request(&caller.principal, pb::VerifyAccessLogRequest {}))
        .await?
        .into_inner();
    Ok(Json(json!({
        "ok": v.ok,
        "entries": v.entries,
        "head_hash": v.head_hash,
        "bad_index": v.bad_index,
        "problem": v.problem,
    })))
}
