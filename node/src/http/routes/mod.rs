//! The endpoints, one module per area, and the table of them the router and the OpenAPI
//! document are built from.
//!
//! - [`session`]: sign in, who am I, sign out.
//! - [`messages`]: send every kind, inbox, one message, status and evidence, attachments.
//! - [`cases`]: cases, one case with its thread, overdue items.
//! - [`directory`]: the federation directory.
//! - [`audit`]: the handover log, its verification and export, checkpoint collection.
//! - [`accounts`]: accounts, API tokens and the access log, for an administrator.
//! - [`webhooks`]: webhooks, for an administrator.

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod directory;
pub mod messages;
pub mod session;
pub mod webhooks;

use axum::http::Uri;
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::State;
use super::problem::Problem;

/// Every endpoint, documented: the router and the OpenAPI document both come from here.
pub fn all() -> OpenApiRouter<State> {
    OpenApiRouter::new()
        .routes(routes!(
            session::sign_in,
            session::whoami,
            session::sign_out
        ))
        .routes(routes!(messages::send))
        .routes(routes!(messages::inbox))
        .routes(routes!(messages::message))
        .routes(routes!(messages::status))
        .routes(routes!(messages::attachments))
        .routes(routes!(messages::attachment))
        .routes(routes!(cases::cases))
        .routes(routes!(cases::case))
        .routes(routes!(cases::overdue))
        .routes(routes!(directory::search))
        .routes(routes!(audit::log))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::export))
        .routes(routes!(audit::collect))
        .routes(routes!(accounts::list, accounts::add))
        .routes(routes!(accounts::disable))
        .routes(routes!(accounts::enable))
        .routes(routes!(accounts::password))
        .routes(routes!(accounts::tokens, accounts::issue))
        .routes(routes!(accounts::revoke))
        .routes(routes!(accounts::access_log))
        .routes(routes!(accounts::verify_access_log))
        .routes(routes!(webhooks::list, webhooks::add))
        .routes(routes!(webhooks::remove))
        .routes(routes!(webhooks::test))
}

/// The query string as `T`, which refuses unknown parameters; a wrong one is named.
pub fn query<T: DeserializeOwned + Default>(uri: &Uri) -> Result<T, Problem> {
    let Some(text) = uri.query().filter(|q| !q.is_empty()) else {
        return Ok(T::default());
    };
    serde_urlencoded::from_str(text).map_err(|e| {
        let message = e.to_string();
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("unknown field"))
            .unwrap_or("query");
        Problem::field(&trm_forms::referral_file::field_error(
            field,
            format!("in the query string: {message}"),
        ))
    })
}
