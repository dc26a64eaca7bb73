//! The caseworker's console: server-rendered HTML pages on the node's HTTPS address, beside
//! the JSON API, for the same accounts and roles and through the same services (never the
//! store: every page calls a service in process with the signed-in [`page::Viewer`]'s
//! principal, as the API's handlers do).
//!
//! - [`page`]: the signed-in person a page is for ([`page::Viewer`]).
//! - [`layout`]: the frame of every page; [`csrf`]: the check every form passes.
//! - [`security`]: the headers on every answer; [`assets`]: the static files.
//! - [`i18n`]: the five languages; [`errors`]: the error pages.
//! - Areas, each with its `routes()`: [`signin`], [`settings`], [`admin`]; reading: [`inbox`],
//!   [`cases`], [`case`] (with [`message`] and [`evidence`]), [`coordinator`] (with [`report`]).
//!   writing: [`compose`], [`respond`], [`returns`], [`withdraw`], [`directory`], on [`forms`].

pub mod admin;
pub mod assets;
pub mod case;
pub mod cases;
pub mod coordinator;
pub mod csrf;
pub mod errors;
pub mod evidence;
pub mod i18n;
pub mod inbox;
pub mod layout;
pub mod message;
pub mod page;
pub mod security;
pub mod settings;
pub mod signin;

pub mod compose;
pub mod directory;
pub mod forms;
pub mod report;
pub mod respond;
pub mod returns;
pub mod withdraw;

use crate::http::State;

/// Every console page. Areas add their `routes()` at the end of the list.
pub fn routes() -> axum::Router<State> {
    axum::Router::new()
        .merge(assets::routes())
        .merge(signin::routes())
        .merge(settings::routes())
        .merge(admin::routes())
        .merge(inbox::routes())
        .merge(cases::routes())
        .merge(case::routes())
        .merge(coordinator::routes())
        .merge(report::routes())
        .merge(compose::routes())
        .merge(respond::routes())
        .merge(returns::routes())
        .merge(withdraw::routes())
        .merge(directory::routes())
}
