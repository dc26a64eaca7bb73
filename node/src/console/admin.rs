//! Administration: accounts (add, roles, disable and enable, a new password, the second factor
//! off), API tokens (issued with the token shown once, revoked), webhooks (listed, added with
//! the signing secret shown once, removed), and the node's status (the directory's version and
//! expiry, its own key in the directory, the queue to the broker). Every change goes through
//! the accounts and webhooks services, which check the administrator's role; the pages check it
//! first too, so anyone else gets 403.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use trm_proto::pb;
use trm_proto::pb::node_accounts_server::NodeAccounts;
use trm_proto::pb::node_webhooks_server::NodeWebhooks;

use super::csrf::Checked;
use super::errors::{self, Kind};
use super::layout::{self, csrf_field};
use super::page::Viewer;
use crate::accounts::{Action, Role};
use crate::http::{State as Api, request};

/// The administration pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new()
        .route("/admin", axum::routing::get(status))
        .route(
            "/admin/accounts",
            axum::routing::get(accounts).post(add_account),
        )
        .route(
            "/admin/accounts/{name}/disable",
            axum::routing::post(disable),
        )
        .route("/admin/accounts/{name}/enable", axum::routing::post(enable))
        .route(
            "/admin/accounts/{name}/password",
            axum::routing::post(reset_password),
        )
        .route(
            "/admin/accounts/{name}/totp-off",
            axum::routing::post(totp_off),
        )
        .route(
            "/admin/tokens",
            axum::routing::get(tokens).post(issue_token),
        )
        .route(
            "/admin/tokens/{id}/revoke",
            axum::routing::post(revoke_token),
        )
        .route(
            "/admin/webhooks",
            axum::routing::get(webhooks).post(add_webhook),
        )
        .route(
            "/admin/webhooks/{id}/remove",
            axum::routing::post(remove_webhook),
        )
}

/// The 403 page when the viewer may not do `action`.
fn forbidden(viewer: &Viewer, action: Action) -> Option<Response> {
    viewer
        .principal
        .may(action)
        .err()
        .map(|_| errors::for_viewer(viewer, Kind::Forbidden))
}

fn now() -> u64 {
    trm_proto::time::now_ms()
}

/// The section links of every administration page.
fn tabs(viewer: &Viewer) -> Markup {
    html! {
        nav class="tabs" aria-label=(viewer.t("admin-sections")) {
            ul class="languages" {
                li { a id="admin-status" href="/admin" { (viewer.t("admin-status-title")) } }
                li { a id="admin-accounts" href="/admin/accounts" { (viewer.t("admin-accounts-title")) } }
                li { a id="admin-tokens" href="/admin/tokens" { (viewer.t("admin-tokens-title")) } }
                li { a id="admin-webhooks" href="/admin/webhooks" { (viewer.t("admin-webhooks-title")) } }
            }
        }
    }
}

/// A page of the administration area.
fn admin_page(viewer: &Viewer, status: StatusCode, title_id: &str, body: Markup) -> Response {
    let body = html! { (tabs(viewer)) (body) };
    (status, layout::page(viewer, &viewer.t(title_id), body)).into_response()
}

/// A role's name in the viewer's language.
fn role_word(viewer: &Viewer, role: &str) -> String {
    match role {
        "caseworker" => viewer.t("admin-role-caseworker"),
        "liaison_officer" => viewer.t("admin-role-liaison_officer"),
        "coordinator" => viewer.t("admin-role-coordinator"),
        "administrator" => viewer.t("admin-role-administrator"),
        other => other.to_owned(),
    }
}

fn roles_text(viewer: &Viewer, roles: &[String]) -> String {
    roles
        .iter()
        .map(|r| role_word(viewer, r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check boxes for the four roles, named `roles`, with `checked` ticked.
fn role_boxes(viewer: &Viewer, prefix: &str, checked: &[String], error: Option<&str>) -> Markup {
    html! {
        fieldset aria-describedby=[error.map(|_| format!("{prefix}roles-error"))] {
            legend { (viewer.t("admin-roles")) }
            @for role in Role::ALL {
                div {
                    input type="checkbox" id=(format!("{prefix}role-{}", role.name())) name="roles"
                        value=(role.name()) checked[checked.iter().any(|c| c == role.name())];
                    " "
                    label for=(format!("{prefix}role-{}", role.name())) { (role_word(viewer, role.name())) }
                }
            }
        }
        @if let Some(error) = error {
            p id=(format!("{prefix}roles-error")) class="field-error" { (error) }
        }
    }
}

/// The error of a refused service call beside a form: its words (from the service, in English).
fn service_error(viewer: &Viewer, status: &tonic::Status) -> Markup {
    html! {
        p id="form-error" class="error" role="alert" {
            (viewer.t("admin-refused")) " " span lang="en" { (status.message()) }
        }
    }
}

async fn status(State(api): State<Api>, viewer: Viewer) -> Response {
    if let Some(page) = forbidden(&viewer, Action::ManageAccounts) {
        return page;
    }
    let node = &api.node;
    let directory = node.directory().current();
    let expires = directory.expires_at_ms();
    let expired = expires <= now();
    let own = directory.node(node.address());
    let queued = node.store().outbox_len().ok();
    let body = html! {
        h2 { (viewer.t("admin-directory")) }
        dl class="facts" {
            dt { (viewer.t("admin-node")) } dd id="status-node" { (node.address().to_string()) }
            dt { (viewer.t("admin-federation")) } dd { (node.federation()) }
            dt { (viewer.t("admin-directory-version")) } dd id="status-directory-version" { (directory.version()) }
            dt { (viewer.t("admin-directory-expires")) }
            dd id="status-directory-expires" {
                (viewer.date(expires))
                @if expired { " " strong class="error" { (viewer.t("admin-directory-expired")) } }
            }
        }
        h2 { (viewer.t("admin-keys")) }
        @match own {
            Some(info) => {
                dl class="facts" {
                    dt { (viewer.t("admin-organisation")) } dd { (info.organisation) }
                    dt { (viewer.t("admin-key-state")) } dd id="status-key" { (viewer.t("admin-key-listed")) }
                    dt { (viewer.t("admin-certificate")) } dd class="secret" { (hex::encode(info.certificate_sha256)) }
                    @if let Some((_, until)) = info.previous_signing_key {
                        dt { (viewer.t("admin-previous-key")) } dd { (viewer.date(until)) }
                    }
                }
            }
            None => { p id="status-key" class="error" { (viewer.t("admin-key-missing")) } }
        }
        h2 { (viewer.t("admin-broker")) }
        dl class="facts" {
            dt { (viewer.t("admin-outbox")) }
            dd id="status-outbox" {
                @match queued { Some(n) => (n), None => (viewer.t("admin-unknown")) }
            }
            @if let Some(broken) = node.log_broken() {
                dt { (viewer.t("admin-log")) } dd class="error" lang="en" { (broken) }
            }
        }
        p class="hint" { (viewer.t("admin-outbox-hint")) }
    };
    admin_page(&viewer, StatusCode::OK, "admin-status-title", body)
}

/// What an accounts page shows besides the list.
#[derive(Debug, Default)]
struct AccountNotes {
    error: Option<tonic::Status>,
    name: String,
    roles: Vec<String>,
    notice: Option<String>,
}

async fn accounts_page(
    api: &Api,
    viewer: &Viewer,
    status: StatusCode,
    notes: AccountNotes,
) -> Response {
    if let Some(page) = forbidden(viewer, Action::ManageAccounts) {
        return page;
    }
    let listed = match api
        .accounts
        .list_accounts(request(&viewer.principal, pb::ListAccountsRequest {}))
        .await
    {
        Ok(r) => r.into_inner().accounts,
        Err(e) => return errors::from_status(viewer, &e),
    };
    let body = html! {
        @if let Some(notice) = &notes.notice { p id="notice" class="notice" role="status" { (notice) } }
        table id="accounts" {
            caption class="hint" { (viewer.t("admin-accounts-caption")) }
            thead { tr {
                th scope="col" { (viewer.t("shell-name")) }
                th scope="col" { (viewer.t("admin-roles")) }
                th scope="col" { (viewer.t("admin-state")) }
                th scope="col" { (viewer.t("admin-actions")) }
            } }
            tbody {
                @for account in &listed {
                    tr id=(format!("account-{}", account.name)) {
                        td { (account.name) }
                        td { (roles_text(viewer, &account.roles)) }
                        td {
                            @if account.disabled { (viewer.t("admin-disabled")) }
                            @else if account.locked_until_ms > 0 { (viewer.t_args("admin-locked", &[("until", viewer.date(account.locked_until_ms).into())])) }
                            @else { (viewer.t("admin-active")) }
                            @if account.totp { ", " (viewer.t("admin-has-totp")) }
                        }
                        td { (account_actions(viewer, account)) }
                    }
                }
            }
        }
        h2 id="add-account-heading" { (viewer.t("admin-add-account")) }
        @if let Some(error) = &notes.error { (service_error(viewer, error)) }
        form class="stacked" method="post" action="/admin/accounts" aria-labelledby="add-account-heading" {
            (csrf_field(viewer))
            div {
                label for="name" { (viewer.t("shell-name")) }
                p id="name-hint" class="hint" { (viewer.t("admin-name-hint")) }
                input id="name" name="name" type="text" required value=(notes.name) autocomplete="off"
                    aria-describedby="name-hint";
            }
            (role_boxes(viewer, "", &notes.roles, None))
            div {
                label for="password" { (viewer.t("admin-first-password")) }
                p id="password-hint" class="hint" { (viewer.t("shell-settings-password-hint")) }
                input id="password" name="password" type="password" required autocomplete="new-password"
                    aria-describedby="password-hint";
            }
            div { button id="add-account" type="submit" { (viewer.t("admin-add-account")) } }
        }
    };
    admin_page(viewer, status, "admin-accounts-title", body)
}

fn account_actions(viewer: &Viewer, account: &pb::AccountView) -> Markup {
    let base = format!("/admin/accounts/{}", account.name);
    html! {
        @if account.disabled {
            form method="post" action=(format!("{base}/enable")) {
                (csrf_field(viewer))
                button id=(format!("enable-{}", account.name)) type="submit" class="secondary" { (viewer.t("admin-enable")) }
            }
        } @else {
            form method="post" action=(format!("{base}/disable")) {
                (csrf_field(viewer))
                button id=(format!("disable-{}", account.name)) type="submit" class="secondary" { (viewer.t("admin-disable")) }
            }
        }
        @if account.totp {
            " "
            form method="post" action=(format!("{base}/totp-off")) {
                (csrf_field(viewer))
                button id=(format!("totp-off-{}", account.name)) type="submit" class="secondary" { (viewer.t("admin-totp-off")) }
            }
        }
        details {
            summary { (viewer.t("admin-new-password")) }
            form method="post" action=(format!("{base}/password")) {
                (csrf_field(viewer))
                label for=(format!("password-{}", account.name)) { (viewer.t("shell-settings-new-password")) }
                " "
                input id=(format!("password-{}", account.name)) name="password" type="password"
                    autocomplete="new-password" required;
                " "
                button id=(format!("set-password-{}", account.name)) type="submit" class="secondary" { (viewer.t("admin-set-password")) }
            }
        }
    }
}

async fn accounts(State(api): State<Api>, viewer: Viewer) -> Response {
    accounts_page(&api, &viewer, StatusCode::OK, AccountNotes::default()).await
}

async fn add_account(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let wanted = pb::AddAccountRequest {
        name: fields.text("name").trim().to_owned(),
        roles: fields.all("roles"),
        password: fields.text("password").to_owned(),
    };
    let (name, roles) = (wanted.name.clone(), wanted.roles.clone());
    match api
        .accounts
        .add_account(request(&viewer.principal, wanted))
        .await
    {
        Ok(made) => {
            let notice = viewer.t_args(
                "admin-account-added",
                &[("name", made.into_inner().name.into())],
            );
            accounts_page(
                &api,
                &viewer,
                StatusCode::OK,
                AccountNotes {
                    notice: Some(notice),
                    ..AccountNotes::default()
                },
            )
            .await
        }
        Err(e) if e.code() == tonic::Code::PermissionDenied => errors::from_status(&viewer, &e),
        Err(e) => {
            let notes = AccountNotes {
                error: Some(e),
                name,
                roles,
                notice: None,
            };
            accounts_page(&api, &viewer, StatusCode::BAD_REQUEST, notes).await
        }
    }
}

/// After a change to one account: back to the list with a notice, or the refusal on it.
async fn after_change(
    api: &Api,
    viewer: &Viewer,
    done: Result<tonic::Response<pb::AccountView>, tonic::Status>,
    notice_id: &str,
) -> Response {
    match done {
        Ok(view) => {
            let notice = viewer.t_args(notice_id, &[("name", view.into_inner().name.into())]);
            accounts_page(
                api,
                viewer,
                StatusCode::OK,
                AccountNotes {
                    notice: Some(notice),
                    ..AccountNotes::default()
                },
            )
            .await
        }
        Err(e) if e.code() == tonic::Code::InvalidArgument => {
            accounts_page(
                api,
                viewer,
                StatusCode::BAD_REQUEST,
                AccountNotes {
                    error: Some(e),
                    ..AccountNotes::default()
                },
            )
            .await
        }
        Err(e) => errors::from_status(viewer, &e),
    }
}

async fn disable(State(api): State<Api>, Path(name): Path<String>, form: Checked) -> Response {
    let viewer = form.viewer;
    let done = api
        .accounts
        .set_disabled(request(
            &viewer.principal,
            pb::SetDisabledRequest {
                name,
                disabled: true,
            },
        ))
        .await;
    after_change(&api, &viewer, done, "admin-account-disabled").await
}

async fn enable(State(api): State<Api>, Path(name): Path<String>, form: Checked) -> Response {
    let viewer = form.viewer;
    let done = api
        .accounts
        .set_disabled(request(
            &viewer.principal,
            pb::SetDisabledRequest {
                name,
                disabled: false,
            },
        ))
        .await;
    after_change(&api, &viewer, done, "admin-account-enabled").await
}

async fn reset_password(
    State(api): State<Api>,
    Path(name): Path<String>,
    form: Checked,
) -> Response {
    let Checked { viewer, fields, .. } = form;
    let password = fields.text("password").to_owned();
    let done = api
        .accounts
        .set_password(request(
            &viewer.principal,
            pb::SetPasswordRequest { name, password },
        ))
        .await;
    after_change(&api, &viewer, done, "admin-password-set").await
}

async fn totp_off(State(api): State<Api>, Path(name): Path<String>, form: Checked) -> Response {
    let viewer = form.viewer;
    let done = api
        .accounts
        .totp(request(
            &viewer.principal,
            pb::TotpRequest {
                name,
                confirm_code: String::new(),
                remove: true,
            },
        ))
        .await
        .and_then(|r| {
            r.into_inner()
                .account
                .map(tonic::Response::new)
                .ok_or_else(|| tonic::Status::internal("no account in the answer"))
        });
    after_change(&api, &viewer, done, "admin-totp-removed").await
}

/// What a tokens page shows besides the list.
#[derive(Debug, Default)]
struct TokenNotes {
    error: Option<tonic::Status>,
    issued: Option<(String, String)>,
    notice: Option<String>,
    name: String,
    roles: Vec<String>,
}

async fn tokens_page(
    api: &Api,
    viewer: &Viewer,
    status: StatusCode,
    notes: TokenNotes,
) -> Response {
    if let Some(page) = forbidden(viewer, Action::ManageTokens) {
        return page;
    }
    let listed = match api
        .accounts
        .list_tokens(request(&viewer.principal, pb::ListTokensRequest {}))
        .await
    {
        Ok(r) => r.into_inner().tokens,
        Err(e) => return errors::from_status(viewer, &e),
    };
    let body = html! {
        @if let Some(notice) = &notes.notice { p id="notice" class="notice" role="status" { (notice) } }
        @if let Some((name, token)) = &notes.issued {
            div class="notice" role="status" {
                p { (viewer.t_args("admin-token-issued", &[("name", name.clone().into())])) }
                p id="token-secret" class="secret" { (token) }
            }
        }
        table id="tokens" {
            caption class="hint" { (viewer.t("admin-tokens-caption")) }
            thead { tr {
                th scope="col" { (viewer.t("shell-name")) }
                th scope="col" { (viewer.t("admin-roles")) }
                th scope="col" { (viewer.t("admin-issued")) }
                th scope="col" { (viewer.t("admin-state")) }
                th scope="col" { (viewer.t("admin-actions")) }
            } }
            tbody {
                @for token in &listed {
                    tr id=(format!("token-{}", token.id)) {
                        td { (token.name) }
                        td { (roles_text(viewer, &token.roles)) }
                        td { (viewer.date(token.created_at_ms)) }
                        td {
                            @if token.revoked_at_ms > 0 { (viewer.t_args("admin-revoked", &[("at", viewer.date(token.revoked_at_ms).into())])) }
                            @else if token.expires_at_ms > 0 { (viewer.t_args("admin-expires", &[("at", viewer.date(token.expires_at_ms).into())])) }
                            @else { (viewer.t("admin-active")) }
                        }
                        td {
                            @if token.revoked_at_ms == 0 {
                                form method="post" action=(format!("/admin/tokens/{}/revoke", token.id)) {
                                    (csrf_field(viewer))
                                    button id=(format!("revoke-{}", token.id)) type="submit" class="secondary" { (viewer.t("admin-revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 id="issue-token-heading" { (viewer.t("admin-issue-token")) }
        @if let Some(error) = &notes.error { (service_error(viewer, error)) }
        form class="stacked" method="post" action="/admin/tokens" aria-labelledby="issue-token-heading" {
            (csrf_field(viewer))
            div {
                label for="token-name" { (viewer.t("admin-token-name")) }
                p id="token-name-hint" class="hint" { (viewer.t("admin-name-hint")) }
                input id="token-name" name="name" type="text" required value=(notes.name) autocomplete="off"
                    aria-describedby="token-name-hint";
            }
            (role_boxes(viewer, "token-", &notes.roles, None))
            div { button id="issue-token" type="submit" { (viewer.t("admin-issue-token")) } }
        }
    };
    admin_page(viewer, status, "admin-tokens-title", body)
}

async fn tokens(State(api): State<Api>, viewer: Viewer) -> Response {
    tokens_page(&api, &viewer, StatusCode::OK, TokenNotes::default()).await
}

async fn issue_token(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let wanted = pb::IssueTokenRequest {
        name: fields.text("name").trim().to_owned(),
        roles: fields.all("roles"),
        expires_at_ms: 0,
    };
    let (name, roles) = (wanted.name.clone(), wanted.roles.clone());
    match api
        .accounts
        .issue_token(request(&viewer.principal, wanted))
        .await
    {
        Ok(issued) => {
            let issued = issued.into_inner();
            let notes = TokenNotes {
                issued: Some((name, issued.token)),
                ..TokenNotes::default()
            };
            tokens_page(&api, &viewer, StatusCode::OK, notes).await
        }
        Err(e) if e.code() == tonic::Code::PermissionDenied => errors::from_status(&viewer, &e),
        Err(e) => {
            let notes = TokenNotes {
                error: Some(e),
                name,
                roles,
                ..TokenNotes::default()
            };
            tokens_page(&api, &viewer, StatusCode::BAD_REQUEST, notes).await
        }
    }
}

async fn revoke_token(State(api): State<Api>, Path(id): Path<String>, form: Checked) -> Response {
    let viewer = form.viewer;
    match api
        .accounts
        .revoke_token(request(&viewer.principal, pb::RevokeTokenRequest { id }))
        .await
    {
        Ok(view) => {
            let notice = viewer.t_args(
                "admin-token-revoked",
                &[("name", view.into_inner().name.into())],
            );
            tokens_page(
                &api,
                &viewer,
                StatusCode::OK,
                TokenNotes {
                    notice: Some(notice),
                    ..TokenNotes::default()
                },
            )
            .await
        }
        Err(e) => errors::from_status(&viewer, &e),
    }
}

#[derive(Debug, Default)]
struct HookNotes {
    error: Option<tonic::Status>,
    secret: Option<String>,
    notice: Option<String>,
    url: String,
}

async fn webhooks_page(
    api: &Api,
    viewer: &Viewer,
    status: StatusCode,
    notes: HookNotes,
) -> Response {
    if let Some(page) = forbidden(viewer, Action::ManageWebhooks) {
        return page;
    }
    let listed = match api
        .webhooks
        .list_webhooks(request(&viewer.principal, pb::ListWebhooksRequest {}))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(e) => return errors::from_status(viewer, &e),
    };
    let body = html! {
        @if let Some(notice) = &notes.notice { p id="notice" class="notice" role="status" { (notice) } }
        @if let Some(secret) = &notes.secret {
            div class="notice" role="status" {
                p { (viewer.t("admin-webhook-secret")) }
                p id="webhook-secret" class="secret" { (secret) }
            }
        }
        p id="webhook-queue" { (viewer.t_args("admin-webhook-queue", &[("queued", listed.queued.into()), ("aside", listed.set_aside.into())])) }
        table id="webhooks" {
            caption class="hint" { (viewer.t("admin-webhooks-caption")) }
            thead { tr {
                th scope="col" { (viewer.t("admin-webhook-url")) }
                th scope="col" { (viewer.t("admin-webhook-events")) }
                th scope="col" { (viewer.t("admin-state")) }
                th scope="col" { (viewer.t("admin-actions")) }
            } }
            tbody {
                @for hook in &listed.webhooks {
                    tr id=(format!("webhook-{}", hook.id)) {
                        td { (hook.url) }
                        td { (hook.events.join(", ")) }
                        td { @if hook.active { (viewer.t("admin-active")) } @else { (viewer.t("admin-inactive")) } }
                        td {
                            form method="post" action=(format!("/admin/webhooks/{}/remove", hook.id)) {
                                (csrf_field(viewer))
                                button id=(format!("remove-{}", hook.id)) type="submit" class="secondary" { (viewer.t("admin-remove")) }
                            }
                        }
                    }
                }
            }
        }
        h2 id="add-webhook-heading" { (viewer.t("admin-add-webhook")) }
        @if let Some(error) = &notes.error { (service_error(viewer, error)) }
        form class="stacked" method="post" action="/admin/webhooks" aria-labelledby="add-webhook-heading" {
            (csrf_field(viewer))
            div {
                label for="url" { (viewer.t("admin-webhook-url")) }
                p id="url-hint" class="hint" { (viewer.t("admin-webhook-url-hint")) }
                input id="url" name="url" type="url" required value=(notes.url) aria-describedby="url-hint";
            }
            fieldset {
                legend { (viewer.t("admin-webhook-events")) }
                @for event in crate::webhooks::event::ALL {
                    div {
                        input type="checkbox" id=(format!("event-{}", event.name())) name="events" value=(event.name());
                        " "
                        label for=(format!("event-{}", event.name())) { (event.name()) }
                    }
                }
                p class="hint" { (viewer.t("admin-webhook-events-hint")) }
            }
            div { button id="add-webhook" type="submit" { (viewer.t("admin-add-webhook")) } }
        }
    };
    admin_page(viewer, status, "admin-webhooks-title", body)
}

async fn webhooks(State(api): State<Api>, viewer: Viewer) -> Response {
    webhooks_page(&api, &viewer, StatusCode::OK, HookNotes::default()).await
}

async fn add_webhook(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let url = fields.text("url").trim().to_owned();
    let wanted = pb::AddWebhookRequest {
        url: url.clone(),
        events: fields.all("events"),
        inactive: false,
    };
    match api
        .webhooks
        .add_webhook(request(&viewer.principal, wanted))
        .await
    {
        Ok(added) => {
            let notes = HookNotes {
                secret: Some(added.into_inner().secret),
                ..HookNotes::default()
            };
            webhooks_page(&api, &viewer, StatusCode::OK, notes).await
        }
        Err(e) if e.code() == tonic::Code::PermissionDenied => errors::from_status(&viewer, &e),
        Err(e) => {
            webhooks_page(
                &api,
                &viewer,
                StatusCode::BAD_REQUEST,
                HookNotes {
                    error: Some(e),
                    url,
                    ..HookNotes::default()
                },
            )
            .await
        }
    }
}

async fn remove_webhook(State(api): State<Api>, Path(id): Path<String>, form: Checked) -> Response {
    let viewer = form.viewer;
    match api
        .webhooks
        .remove_webhook(request(&viewer.principal, pb::RemoveWebhookRequest { id }))
        .await
    {
        Ok(_) => {
            let notes = HookNotes {
                notice: Some(viewer.t("admin-webhook-removed")),
                ..HookNotes::default()
            };
            webhooks_page(&api, &viewer, StatusCode::OK, notes).await
        }
        Err(e) => errors::from_status(&viewer, &e),
    }
}
