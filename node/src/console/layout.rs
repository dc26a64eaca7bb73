//! The frame of every page: `<html lang>`, the style sheets and the session script from
//! `/static/`, a skip link, the navigation by role, `<main id="main">` with one `<h1>`, the
//! idle-session warning and sign-out. Pages give a title and a body; nothing inline.

use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::i18n::{self, Lang};
use super::page::Viewer;
use crate::accounts::Role;

/// How long before the idle end the warning shows, ms.
pub const WARN_BEFORE_MS: u64 = 2 * 60 * 1000;

/// A page for a signed-in person.
pub fn page(viewer: &Viewer, title: &str, body: Markup) -> Response {
    render(Some(viewer), viewer.lang, title, body).into_response()
}

/// A page for someone not signed in (sign-in, signed out, errors).
pub fn bare(lang: Lang, title: &str, body: Markup) -> Response {
    render(None, lang, title, body).into_response()
}

/// The hidden `_csrf` field every form of a signed-in page carries.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="_csrf" value=(viewer.csrf); }
}

/// The navigation links a principal's roles can use: id, message id, address.
fn nav(viewer: &Viewer) -> Vec<(&'static str, &'static str, &'static str)> {
    let holds = |r| viewer.principal.holds(r);
    let content = holds(Role::Caseworker) || holds(Role::LiaisonOfficer);
    let mut links = Vec::new();
    if content {
        links.push(("nav-inbox", "shell-nav-inbox", "/"));
        links.push(("nav-cases", "shell-nav-cases", "/cases"));
    }
    if holds(Role::Caseworker) {
        links.push(("nav-compose", "shell-nav-compose", "/compose/referral"));
    }
    if content {
        links.push(("nav-directory", "shell-nav-directory", "/directory"));
    }
    if holds(Role::Coordinator) {
        links.push(("nav-coordinator", "shell-nav-coordinator", "/coordinator"));
    }
    if holds(Role::Administrator) {
        links.push(("nav-admin", "shell-nav-admin", "/admin"));
    }
    links.push(("nav-settings", "shell-nav-settings", "/settings"));
    links
}

fn render(viewer: Option<&Viewer>, lang: Lang, title: &str, body: Markup) -> Markup {
    let t = |id: &str| i18n::text(lang, id, &[]);
    let idle_ms = viewer.map_or(0, |v| v.idle_ms);
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if viewer.is_some() {
                    meta http-equiv="refresh"
                        content=(format!("{};url=/signed-out?why=idle", idle_ms / 1000));
                }
                title { (title) " · trm" }
                link rel="stylesheet" href="/static/console.css";
                link rel="stylesheet" href="/static/print.css" media="print";
                @if viewer.is_some() {
                    script src="/static/session.js" defer {}
                }
            }
            body data-idle-ms=(idle_ms) data-warn-ms=(WARN_BEFORE_MS) {
                a class="skip" href="#main" { (t("shell-skip")) }
                header class="top" {
                    p class="brand" { "trm" }
                    @if let Some(viewer) = viewer {
                        nav aria-label=(t("shell-nav-label")) {
                            ul {
                                @for (id, label, href) in nav(viewer) {
                                    li { a id=(id) href=(href) { (t(label)) } }
                                }
                            }
                        }
                        form class="sign-out" method="post" action="/sign-out" {
                            (csrf_field(viewer))
                            span id="signed-in-as" { (viewer.name) }
                            " "
                            button id="sign-out" type="submit" { (t("shell-sign-out")) }
                        }
                    }
                }
                @if let Some(viewer) = viewer {
                    div id="session-warning" class="warning" role="alert" hidden {
                        p { (t("shell-session-warning")) }
                        form method="post" action="/session/touch" {
                            (csrf_field(viewer))
                            button id="stay-signed-in" type="submit" { (t("shell-stay-signed-in")) }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}
