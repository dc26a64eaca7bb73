//! Signing in and out: a browser session as a `Secure; HttpOnly; SameSite=Strict` cookie,
//! with a CSRF token returned once in the answer, to send back with every change.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::Principal;
use crate::http::State as Api;
use crate::http::auth::{Caller, SESSION_COOKIE, refused};
use crate::http::problem::Problem;

/// A sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The account's login name.
    pub name: String,
    /// Its password.
    pub password: String,
    /// The one-time code, when the account has a second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// Who is signed in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// The account's pseudonymous id: its actor in the handover and access logs.
    pub account: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// `session` or `token`.
    pub via: String,
    /// The CSRF token to send in the `X-CSRF-Token` header with every change (only in the
    /// answer to a sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    /// When the session ends if left unused, RFC 3339 (only in the answer to a sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

impl Session {
    fn of(principal: &Principal) -> Self {
        Self {
            account: principal.account.to_string(),
            roles: principal
                .roles
                .iter()
                .map(|r| r.name().to_owned())
                .collect(),
            via: match principal.via {
                crate::accounts::Via::Session => "session",
                crate::accounts::Via::Token => "token",
                crate::accounts::Via::Socket => "socket",
            }
            .to_owned(),
            csrf_token: None,
            expires_at: None,
        }
    }
}

/// The `Set-Cookie` value for a session token, or one that clears it (`token` empty).
fn session_cookie(token: &str, max_age_secs: u64) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Path=/api; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    )
}

/// Signs in with a name, a password and (when the account has one) a one-time code. Wrong
/// credentials are 401 with one answer for an unknown name, a wrong password and a disabled
/// account; repeated failures lock the account.
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    request_body(content = SignIn, content_type = "application/json"),
    responses((status = 200, description = "Signed in: the session cookie is set", body = Session,
        headers(("Set-Cookie" = String, description = "trm_session=...; Secure; HttpOnly; SameSite=Strict")))),
    security(()),
)]
pub async fn sign_in(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let form: SignIn = crate::http::body::json(&headers, body, api.max_body_bytes).await?;
    let accounts = api.node.accounts();
    let grant = accounts
        .login(
            &form.name,
            &form.password,
            form.totp.as_deref(),
            trm_proto::time::now_ms(),
        )
        .await
        .map_err(refused)?;
    let answer = Session {
        csrf_token: Some(grant.csrf.clone()),
        expires_at: Some(trm_proto::time::format_ms(grant.expires_at)),
        ..Session::of(&grant.principal)
    };
    let mut response = Json(answer).into_response();
    let max_age = accounts.policy().absolute_ms / 1000;
    if let Ok(value) = HeaderValue::from_str(&session_cookie(&grant.token, max_age)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Who the session or token acts as.
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "session",
    responses((status = 200, description = "The caller", body = Session)),
)]
pub async fn whoami(caller: Caller) -> Json<Session> {
    Json(Session::of(&caller.principal))
}

/// Signs out: the session ends at once and the cookie is cleared.
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    responses((status = 204, description = "Signed out")),
)]
pub async fn sign_out(State(api): State<Api>, caller: Caller) -> Result<Response, Problem> {
    if let Some(token) = &caller.session {
        api.node.accounts().logout(token).map_err(refused)?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&session_cookie("", 0)) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}
