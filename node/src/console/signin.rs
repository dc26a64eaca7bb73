//! Signing in (password, then the one-time code where the account has a second factor),
//! signing out, the signed-out page and keeping a session alive. The sign-in forms carry a
//! pre-session token: a short-lived `trm_pre` cookie that the hidden `_csrf` field must repeat,
//! checked with the origin like every other form. The language picker sits on the sign-in
//! page and is kept in the `trm_lang` cookie.

use axum::extract::State;
use axum::http::Uri;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::{self, Checked, Fields};
use super::errors::{self, Kind};
use super::i18n::{self, LANG_COOKIE, Lang};
use super::layout;
use super::page::anonymous_lang;
use super::security::{self, clear_site_data, set_cookie};
use crate::accounts::{AuthError, Begun, PENDING_LOGIN_MS, Principal, Role, SessionGrant};
use crate::http::State as Api;
use crate::http::auth::{SESSION_COOKIE, cookie};

/// The pre-session cookie of the sign-in forms.
pub const PRE_COOKIE: &str = "trm_pre";
/// The cookie of a login waiting for its one-time code.
pub const PENDING_COOKIE: &str = "trm_pending";

/// The sign-in pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new()
        .route("/sign-in", axum::routing::get(show).post(sign_in))
        .route(
            "/sign-in/totp",
            axum::routing::get(show_totp).post(sign_in_totp),
        )
        .route("/sign-out", axum::routing::post(sign_out))
        .route("/signed-out", axum::routing::get(signed_out))
        .route("/session/touch", axum::routing::post(touch))
}

/// Where a person lands after signing in: the inbox for content roles, else their area.
pub fn landing(principal: &Principal) -> &'static str {
    if principal.holds(Role::Caseworker) || principal.holds(Role::LiaisonOfficer) {
        "/"
    } else if principal.holds(Role::Coordinator) {
        "/coordinator"
    } else if principal.holds(Role::Administrator) {
        "/admin"
    } else {
        "/settings"
    }
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    #[serde(default)]
    lang: Option<String>,
}

/// The pre-session token of this browser, or a new one (and whether it is new).
fn pre_token(headers: &HeaderMap) -> (String, bool) {
    match cookie(headers, PRE_COOKIE).filter(|t| t.len() == 64) {
        Some(token) => (token.to_owned(), false),
        None => (crate::accounts::sessions::new_token(), true),
    }
}

/// A sign-in page with its pre-session cookie (set when new).
fn with_pre(mut response: Response, token: &str, new: bool) -> Response {
    if new {
        let max_age = PENDING_LOGIN_MS / 1000 * 6;
        set_cookie(
            &mut response,
            &security::cookie(PRE_COOKIE, token, "/sign-in", Some(max_age)),
        );
    }
    response
}

fn pre_field(token: &str) -> Markup {
    html! { input type="hidden" name=(csrf::FIELD) value=(token); }
}

fn password_form(lang: Lang, pre: &str, name: &str, error: Option<String>) -> Markup {
    let t = |id: &str| i18n::text(lang, id, &[]);
    html! {
        @if let Some(error) = &error {
            p id="sign-in-error" class="error" role="alert" { (error) }
        }
        form class="stacked" method="post" action="/sign-in" {
            (pre_field(pre))
            div {
                label for="name" { (t("shell-name")) }
                input id="name" name="name" type="text" autocomplete="username" required
                    value=(name) aria-invalid=[error.as_ref().map(|_| "true")];
            }
            div {
                label for="password" { (t("shell-password")) }
                input id="password" name="password" type="password"
                    autocomplete="current-password" required;
            }
            div { button id="sign-in" type="submit" { (t("shell-sign-in")) } }
        }
        h2 id="language-heading" { (t("shell-language")) }
        ul class="languages" aria-labelledby="language-heading" {
            @for other in Lang::ALL {
                li {
                    @if other == lang {
                        strong lang=(other.code()) aria-current="true" { (other.own_name()) }
                    } @else {
                        a id=(format!("lang-{}", other.code())) lang=(other.code())
                            hreflang=(other.code())
                            href=(format!("/sign-in?lang={}", other.code())) { (other.own_name()) }
                    }
                }
            }
        }
    }
}

async fn show(headers: HeaderMap, uri: Uri) -> Response {
    let query: ShowQuery = super::page::query(&uri);
    let picked = query.lang.as_deref().and_then(Lang::parse);
    let lang = picked.unwrap_or_else(|| anonymous_lang(&headers));
    let (pre, new) = pre_token(&headers);
    let page = layout::bare(
        lang,
        &i18n::text(lang, "shell-sign-in-title", &[]),
        password_form(lang, &pre, "", None),
    );
    let mut response = with_pre(page, &pre, new);
    if let Some(lang) = picked {
        set_cookie(
            &mut response,
            &security::cookie(LANG_COOKIE, lang.code(), "/", Some(365 * 24 * 3600)),
        );
    }
    response
}

/// Checks a sign-in form's pre-session token and origin; the form's fields, or the 403 page.
async fn pre_checked(
    api: &Api,
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<Fields, Response> {
    let lang = anonymous_lang(headers);
    let refused = || errors::page(lang, Kind::Csrf);
    if !csrf::same_origin(headers) {
        tracing::warn!("sign-in form refused: origin");
        return Err(refused());
    }
    let Some((fields, _)) = csrf::form(headers, body, api.max_body_bytes, 0).await else {
        return Err(errors::page(lang, Kind::BadRequest));
    };
    let expected = cookie(headers, PRE_COOKIE).unwrap_or_default();
    if !csrf::token_matches(expected, fields.text(csrf::FIELD)) {
        tracing::warn!("sign-in form refused: pre-session token");
        return Err(refused());
    }
    Ok(fields)
}

/// The words for a refused login.
fn refusal(lang: Lang, e: &AuthError) -> Option<String> {
    match e {
        AuthError::BadCredentials => Some(i18n::text(lang, "shell-error-credentials", &[])),
        AuthError::BadTotp => Some(i18n::text(lang, "shell-error-code", &[])),
        AuthError::Locked { until_ms } => Some(i18n::text(
            lang,
            "shell-error-locked",
            &[(
                "until",
                super::page::format_date(lang, &jiff::tz::TimeZone::UTC, *until_ms).into(),
            )],
        )),
        _ => None,
    }
}

/// Signed in: the session cookie (the whole site, `Secure; HttpOnly; SameSite=Strict`), the
/// pre-session and pending cookies cleared, on to the landing page.
fn signed_in(grant: &SessionGrant) -> Response {
    let mut response = Redirect::to(landing(&grant.principal)).into_response();
    set_cookie(
        &mut response,
        &security::cookie(SESSION_COOKIE, &grant.token, "/", None),
    );
    set_cookie(
        &mut response,
        &security::cookie(PRE_COOKIE, "", "/sign-in", Some(0)),
    );
    set_cookie(
        &mut response,
        &security::cookie(PENDING_COOKIE, "", "/sign-in", Some(0)),
    );
    response
}

async fn sign_in(State(api): State<Api>, headers: HeaderMap, body: axum::body::Body) -> Response {
    let fields = match pre_checked(&api, &headers, body).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let lang = anonymous_lang(&headers);
    let name = fields.text("name");
    let begun = api
        .node
        .accounts()
        .begin_login(name, fields.text("password"), trm_proto::time::now_ms())
        .await;
    match begun {
        Ok(Begun::Signed(grant)) => signed_in(&grant),
        Ok(Begun::NeedsCode(pending)) => {
            let mut response = Redirect::to("/sign-in/totp").into_response();
            set_cookie(
                &mut response,
                &security::cookie(
                    PENDING_COOKIE,
                    &pending,
                    "/sign-in",
                    Some(PENDING_LOGIN_MS / 1000),
                ),
            );
            response
        }
        Err(e) => match refusal(lang, &e) {
            Some(error) => {
                let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
                let title = i18n::text(lang, "shell-sign-in-title", &[]);
                (
                    StatusCode::UNAUTHORIZED,
                    layout::bare(lang, &title, password_form(lang, pre, name, Some(error))),
                )
                    .into_response()
            }
            None => errors::page(lang, Kind::Unavailable),
        },
    }
}

fn code_form(lang: Lang, pre: &str, error: Option<String>) -> Markup {
    let t = |id: &str| i18n::text(lang, id, &[]);
    html! {
        @if let Some(error) = &error {
            p id="sign-in-error" class="error" role="alert" { (error) }
        }
        form class="stacked" method="post" action="/sign-in/totp" {
            (pre_field(pre))
            div {
                label for="code" { (t("shell-code")) }
                p id="code-hint" class="hint" { (t("shell-code-hint")) }
                input id="code" name="code" type="text" inputmode="numeric"
                    autocomplete="one-time-code" required aria-describedby="code-hint"
                    aria-invalid=[error.as_ref().map(|_| "true")];
            }
            div { button id="sign-in" type="submit" { (t("shell-sign-in")) } }
        }
        p { a id="start-again" href="/sign-in" { (t("shell-start-again")) } }
    }
}

async fn show_totp(headers: HeaderMap) -> Response {
    let lang = anonymous_lang(&headers);
    if cookie(&headers, PENDING_COOKIE).is_none() {
        return Redirect::to("/sign-in").into_response();
    }
    let (pre, new) = pre_token(&headers);
    let title = i18n::text(lang, "shell-code-title", &[]);
    with_pre(
        layout::bare(lang, &title, code_form(lang, &pre, None)),
        &pre,
        new,
    )
}

async fn sign_in_totp(
    State(api): State<Api>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let fields = match pre_checked(&api, &headers, body).await {
        Ok(fields) => fields,
        Err(refused) => return refused,
    };
    let lang = anonymous_lang(&headers);
    let Some(pending) = cookie(&headers, PENDING_COOKIE) else {
        return Redirect::to("/sign-in").into_response();
    };
    let finished = api
        .node
        .accounts()
        .finish_login(
            pending,
            fields.text("code").trim(),
            trm_proto::time::now_ms(),
        )
        .await;
    match finished {
        Ok(grant) => signed_in(&grant),
        Err(AuthError::NoSession | AuthError::Expired) => Redirect::to("/sign-in").into_response(),
        Err(e) => match refusal(lang, &e) {
            Some(error) => {
                let pre = cookie(&headers, PRE_COOKIE).unwrap_or_default();
                let title = i18n::text(lang, "shell-code-title", &[]);
                (
                    StatusCode::UNAUTHORIZED,
                    layout::bare(lang, &title, code_form(lang, pre, Some(error))),
                )
                    .into_response()
            }
            None => errors::page(lang, Kind::Unavailable),
        },
    }
}

async fn sign_out(State(api): State<Api>, form: Checked) -> Response {
    // Already ended (another tab) is signed out all the same.
    let _ = api.node.accounts().logout(form.viewer.session());
    let mut response = Redirect::to("/signed-out").into_response();
    clear_site_data(&mut response);
    set_cookie(
        &mut response,
        &security::cookie(SESSION_COOKIE, "", "/", Some(0)),
    );
    response
}

#[derive(Debug, Default, Deserialize)]
struct SignedOutQuery {
    #[serde(default)]
    why: Option<String>,
}

async fn signed_out(headers: HeaderMap, uri: Uri) -> Response {
    let query: SignedOutQuery = super::page::query(&uri);
    let lang = anonymous_lang(&headers);
    let t = |id: &str| i18n::text(lang, id, &[]);
    let why = match query.why.as_deref() {
        Some("idle") => "shell-signed-out-idle",
        Some("expired") => "shell-signed-out-expired",
        Some("password") => "shell-signed-out-password",
        _ => "shell-signed-out-text",
    };
    let body = html! {
        p id="signed-out-why" { (t(why)) }
        p { a id="sign-in-again" href="/sign-in" { (t("shell-sign-in-again")) } }
    };
    let mut response = layout::bare(lang, &t("shell-signed-out-title"), body);
    if query.why.is_some() {
        // Ended by the idle timer or expiry: the browser forgets the session as on sign-out.
        clear_site_data(&mut response);
        set_cookie(
            &mut response,
            &security::cookie(SESSION_COOKIE, "", "/", Some(0)),
        );
    }
    response
}

/// "Stay signed in": the checked form itself has used the session, which starts its idle time
/// again.
async fn touch(_form: Checked) -> StatusCode {
    StatusCode::NO_CONTENT
}
