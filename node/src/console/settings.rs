//! The signed-in person's own settings: language and time zone (kept on the account), password
//! (the current one asked first; every session of the account ends after a change) and the
//! second factor (set up with a code from the app, turned off with the password).

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::Checked;
use super::errors::{self, Kind};
use super::i18n::Lang;
use super::layout::{self, csrf_field};
use super::page::Viewer;
use crate::accounts::{AccountsError, AuthError, LANGUAGES};
use crate::http::State as Api;

/// The settings pages.
pub fn routes() -> axum::Router<Api> {
    axum::Router::new()
        .route("/settings", axum::routing::get(show))
        .route("/settings/preferences", axum::routing::post(preferences))
        .route("/settings/password", axum::routing::post(password))
        .route("/settings/totp/begin", axum::routing::post(totp_begin))
        .route("/settings/totp/confirm", axum::routing::post(totp_confirm))
        .route("/settings/totp/remove", axum::routing::post(totp_remove))
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    #[serde(default)]
    done: Option<String>,
}

/// What the page shows besides the forms: a notice, or an error beside a field.
#[derive(Debug, Default)]
struct Notes {
    notice: Option<String>,
    /// Field id and the error's words.
    error: Option<(&'static str, String)>,
    /// Values typed, kept on an error.
    language: Option<String>,
    time_zone: Option<String>,
    /// A second factor being set up: the key and the link.
    totp_setup: Option<(String, String)>,
}

impl Notes {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }
}

/// A labelled input with its hint and error (`<id>-error`).
fn field(
    notes: &Notes,
    id: &'static str,
    label: &str,
    hint: Option<&str>,
    input: Markup,
) -> Markup {
    let error = notes.error_for(id);
    html! {
        div {
            label for=(id) { (label) }
            @if let Some(hint) = hint { p id=(format!("{id}-hint")) class="hint" { (hint) } }
            (input)
            @if let Some(error) = error {
                p id=(format!("{id}-error")) class="field-error" { (error) }
            }
        }
    }
}

/// `aria-describedby` for a field with an optional hint and error.
fn described(id: &str, hint: bool, notes: &Notes) -> Option<String> {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if notes.error_for(id).is_some() {
        ids.push(format!("{id}-error"));
    }
    (!ids.is_empty()).then(|| ids.join(" "))
}

fn render(viewer: &Viewer, status: StatusCode, notes: &Notes) -> Response {
    let profile = viewer.name.clone();
    let current_lang = notes
        .language
        .clone()
        .unwrap_or_else(|| viewer_language(viewer));
    let zone = notes
        .time_zone
        .clone()
        .unwrap_or_else(|| viewer.time_zone.iana_name().unwrap_or_default().to_owned());
    let invalid = |id| notes.error_for(id).map(|_| "true");
    let body = html! {
        @if let Some(notice) = &notes.notice {
            p id="notice" class="notice" role="status" { (notice) }
        }
        p { (viewer.t("shell-name")) ": " strong id="account-name" { (profile) } }
        h2 { (viewer.t("shell-settings-preferences")) }
        form class="stacked" method="post" action="/settings/preferences" {
            (csrf_field(viewer))
            (field(notes, "language", &viewer.t("shell-settings-language"), None, html! {
                select id="language" name="language" aria-invalid=[invalid("language")]
                    aria-describedby=[described("language", false, notes)] {
                    option value="" selected[current_lang.is_empty()] {
                        (viewer.t("shell-settings-language-default"))
                    }
                    @for lang in Lang::ALL {
                        option value=(lang.code()) lang=(lang.code())
                            selected[current_lang == lang.code()] { (lang.own_name()) }
                    }
                }
            }))
            (field(notes, "time_zone", &viewer.t("shell-settings-time-zone"),
                Some(&viewer.t("shell-settings-time-zone-hint")), html! {
                input id="time_zone" name="time_zone" type="text" value=(zone)
                    autocomplete="off" aria-invalid=[invalid("time_zone")]
                    aria-describedby=[described("time_zone", true, notes)];
            }))
            div { button id="save-preferences" type="submit" { (viewer.t("shell-settings-save")) } }
        }
        h2 { (viewer.t("shell-settings-password")) }
        form class="stacked" method="post" action="/settings/password" {
            (csrf_field(viewer))
            (field(notes, "current_password", &viewer.t("shell-settings-current-password"), None, html! {
                input id="current_password" name="current_password" type="password"
                    autocomplete="current-password" required aria-invalid=[invalid("current_password")]
                    aria-describedby=[described("current_password", false, notes)];
            }))
            (field(notes, "new_password", &viewer.t("shell-settings-new-password"),
                Some(&viewer.t("shell-settings-password-hint")), html! {
                input id="new_password" name="new_password" type="password"
                    autocomplete="new-password" required aria-invalid=[invalid("new_password")]
                    aria-describedby=[described("new_password", true, notes)];
            }))
            (field(notes, "new_password_again", &viewer.t("shell-settings-new-password-again"), None, html! {
                input id="new_password_again" name="new_password_again" type="password"
                    autocomplete="new-password" required aria-invalid=[invalid("new_password_again")]
                    aria-describedby=[described("new_password_again", false, notes)];
            }))
            div { button id="change-password" type="submit" { (viewer.t("shell-settings-change-password")) } }
        }
        h2 { (viewer.t("shell-settings-totp")) }
        (totp_section(viewer, notes))
    };
    (
        status,
        layout::page(viewer, &viewer.t("shell-settings-title"), body),
    )
        .into_response()
}

fn totp_section(viewer: &Viewer, notes: &Notes) -> Markup {
    let on = viewer_totp(viewer);
    let invalid = |id| notes.error_for(id).map(|_| "true");
    html! {
        @if let Some((secret, uri)) = &notes.totp_setup {
            p { (viewer.t("shell-settings-totp-secret")) }
            p id="totp-secret" class="secret" { (secret) }
            p { a id="totp-link" href=(uri) { (viewer.t("shell-settings-totp-link")) } }
        }
        @if on {
            p id="totp-state" { (viewer.t("shell-settings-totp-on")) }
            form class="stacked" method="post" action="/settings/totp/remove" {
                (csrf_field(viewer))
                (field(notes, "totp_password", &viewer.t("shell-settings-current-password"), None, html! {
                    input id="totp_password" name="current_password" type="password"
                        autocomplete="current-password" required aria-invalid=[invalid("totp_password")]
                        aria-describedby=[described("totp_password", false, notes)];
                }))
                div { button id="totp-remove" type="submit" class="secondary" { (viewer.t("shell-settings-totp-remove")) } }
            }
        } @else {
            p id="totp-state" { (viewer.t("shell-settings-totp-off")) }
            @if notes.totp_setup.is_some() || notes.error_for("code").is_some() {
                form class="stacked" method="post" action="/settings/totp/confirm" {
                    (csrf_field(viewer))
                    (field(notes, "code", &viewer.t("shell-code"), Some(&viewer.t("shell-code-hint")), html! {
                        input id="code" name="code" type="text" inputmode="numeric"
                            autocomplete="one-time-code" required aria-invalid=[invalid("code")]
                            aria-describedby=[described("code", true, notes)];
                    }))
                    div { button id="totp-confirm" type="submit" { (viewer.t("shell-settings-totp-confirm")) } }
                }
            } @else {
                form method="post" action="/settings/totp/begin" {
                    (csrf_field(viewer))
                    button id="totp-begin" type="submit" { (viewer.t("shell-settings-totp-begin")) }
                }
            }
        }
    }
}

/// The account's stored language choice (empty: the browser's).
fn viewer_language(viewer: &Viewer) -> String {
    viewer.profile.language.clone()
}

/// Whether the account has a second factor.
fn viewer_totp(viewer: &Viewer) -> bool {
    viewer.profile.totp
}

async fn show(viewer: Viewer, uri: Uri) -> Response {
    let query: ShowQuery = super::page::query(&uri);
    let notice = match query.done.as_deref() {
        Some("saved") => Some(viewer.t("shell-settings-saved")),
        Some("totp-on") => Some(viewer.t("shell-settings-totp-done")),
        Some("totp-off") => Some(viewer.t("shell-settings-totp-removed")),
        _ => None,
    };
    render(
        &viewer,
        StatusCode::OK,
        &Notes {
            notice,
            ..Notes::default()
        },
    )
}

fn now() -> u64 {
    trm_proto::time::now_ms()
}

/// A refused change: the field's error on the page (400), or the error page.
fn refused(viewer: &Viewer, notes: Notes) -> Response {
    render(viewer, StatusCode::BAD_REQUEST, &notes)
}

fn store_failure(viewer: &Viewer) -> Response {
    errors::for_viewer(viewer, Kind::Unavailable)
}

async fn preferences(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let language = fields.text("language").trim().to_owned();
    let time_zone = fields.text("time_zone").trim().to_owned();
    let keep = |error| Notes {
        error: Some(error),
        language: Some(language.clone()),
        time_zone: Some(time_zone.clone()),
        ..Notes::default()
    };
    if !language.is_empty() && !LANGUAGES.contains(&language.as_str()) {
        return refused(
            &viewer,
            keep(("language", viewer.t("shell-settings-bad-language"))),
        );
    }
    let changed = api
        .node
        .accounts()
        .set_preferences(&viewer.name, &language, &time_zone, now())
        .await;
    match changed {
        Ok(_) => Redirect::to("/settings?done=saved").into_response(),
        Err(AccountsError::Language(_)) => refused(
            &viewer,
            keep(("language", viewer.t("shell-settings-bad-language"))),
        ),
        Err(AccountsError::TimeZone(_)) => refused(
            &viewer,
            keep(("time_zone", viewer.t("shell-settings-bad-time-zone"))),
        ),
        Err(_) => store_failure(&viewer),
    }
}

/// Checks the current password; the page with the error beside `field` when wrong.
async fn confirm_current(
    api: &Api,
    viewer: &Viewer,
    given: &str,
    field: &'static str,
) -> Result<(), Response> {
    match api
        .node
        .accounts()
        .confirm_password(&viewer.name, given, now())
        .await
    {
        Ok(()) => Ok(()),
        Err(AuthError::BadCredentials) => Err(refused(
            viewer,
            Notes {
                error: Some((field, viewer.t("shell-settings-wrong-password"))),
                ..Notes::default()
            },
        )),
        Err(AuthError::Locked { .. }) => {
            Err(Redirect::to("/signed-out?why=expired").into_response())
        }
        Err(_) => Err(store_failure(viewer)),
    }
}

async fn password(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let (new, again) = (
        fields.text("new_password"),
        fields.text("new_password_again"),
    );
    if new != again {
        let notes = Notes {
            error: Some((
                "new_password_again",
                viewer.t("shell-settings-passwords-differ"),
            )),
            ..Notes::default()
        };
        return refused(&viewer, notes);
    }
    if let Err(page) = confirm_current(
        &api,
        &viewer,
        fields.text("current_password"),
        "current_password",
    )
    .await
    {
        return page;
    }
    match api
        .node
        .accounts()
        .set_password(&viewer.name, new, now())
        .await
    {
        // Every session of the account has ended, this one too.
        Ok(_) => Redirect::to("/signed-out?why=password").into_response(),
        Err(AccountsError::Password(reason)) => {
            let reason = reason.to_string();
            let notes = Notes {
                error: Some((
                    "new_password",
                    viewer.t_args(
                        "shell-settings-password-refused",
                        &[("reason", reason.into())],
                    ),
                )),
                ..Notes::default()
            };
            refused(&viewer, notes)
        }
        Err(_) => store_failure(&viewer),
    }
}

async fn totp_begin(State(api): State<Api>, form: Checked) -> Response {
    let viewer = form.viewer;
    if viewer.profile.totp {
        return Redirect::to("/settings").into_response();
    }
    match api.node.accounts().begin_totp(&viewer.name).await {
        Ok(setup) => render(
            &viewer,
            StatusCode::OK,
            &Notes {
                totp_setup: Some((setup.secret, setup.uri)),
                ..Notes::default()
            },
        ),
        Err(_) => store_failure(&viewer),
    }
}

async fn totp_confirm(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    let code = fields.text("code").trim();
    match api
        .node
        .accounts()
        .confirm_totp(&viewer.name, code, now())
        .await
    {
        Ok(_) => Redirect::to("/settings?done=totp-on").into_response(),
        Err(AccountsError::BadTotp | AccountsError::NoTotpPending(_)) => refused(
            &viewer,
            Notes {
                error: Some(("code", viewer.t("shell-settings-totp-wrong"))),
                ..Notes::default()
            },
        ),
        Err(_) => store_failure(&viewer),
    }
}

async fn totp_remove(State(api): State<Api>, form: Checked) -> Response {
    let Checked { viewer, fields, .. } = form;
    if let Err(page) = confirm_current(
        &api,
        &viewer,
        fields.text("current_password"),
        "totp_password",
    )
    .await
    {
        return page;
    }
    match api.node.accounts().disable_totp(&viewer.name, now()).await {
        Ok(_) => Redirect::to("/settings?done=totp-off").into_response(),
        Err(_) => store_failure(&viewer),
    }
}
