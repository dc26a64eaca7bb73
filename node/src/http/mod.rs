//! The node's HTTPS JSON API, for people (browser sessions: a `Secure; HttpOnly;
//! SameSite=Strict` cookie and a CSRF token) and for case-management systems (bearer tokens).
//!
//! Every endpoint calls the same service the `trm` command line calls over the Unix socket
//! ([`crate::admin::AdminService`], [`crate::case_admin::CasesService`]), in process, with the
//! signed-in account's [`Principal`] in the request's extensions: there is no second way to do
//! anything, and the services check permissions in one place. Bodies are the message files as
//! JSON, checked by `trm-forms` as `trm send` checks them; answers are the JSON of `trm ...
//! --json`; errors are problem details ([`problem`]).
//!
//! # Layout
//! - [`settings`]: the `[http]` table of `node.toml`.
//! - [`server`]: TLS (rustls, ring) and HTTP/1.1 serving until shutdown.
//! - [`auth`]: who is asking: session cookie with CSRF token, or bearer token.
//! - [`body`]: JSON bodies under a size limit, field-named errors.
//! - [`problem`]: RFC 9457 problem details.
//! - [`routes`]: the endpoints, one module per area.
//! - [`openapi`]: the OpenAPI 3.1 document generated from the endpoints.

pub mod auth;
pub mod body;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod server;
pub mod settings;

use std::sync::Arc;

use crate::accounts::Principal;
use crate::accounts::rpc::AccountsService;
use crate::admin::AdminService;
use crate::case_admin::CasesService;
use crate::node::Node;
use crate::webhooks::service::WebhooksService;

/// What every endpoint reaches: the node's services and the accounts.
#[derive(Clone)]
pub struct Api {
    /// The admin service `trm` uses.
    pub admin: AdminService,
    /// The cases service `trm cases` uses.
    pub cases: CasesService,
    /// The accounts service `trm accounts` and `trm access-log` use.
    pub accounts: AccountsService,
    /// The webhooks service `trm webhooks` uses.
    pub webhooks: WebhooksService,
    /// The node (its accounts, sessions and tokens).
    pub node: Arc<Node>,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
}

/// The state handlers share.
pub type State = Arc<Api>;

/// A request to a node service on behalf of `principal`.
pub fn request<T>(principal: &Principal, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(principal.clone());
    request
}

/// The router: every endpoint of [`routes::all`], `/openapi.json`, the console's pages
/// ([`crate::console`]) beside them, problem details for an unknown address or method under
/// `/api/` (the console's 404 page elsewhere), and the console's security headers with
/// `Cache-Control: no-store` on every answer (content must not linger in caches).
pub fn router(api: State) -> axum::Router {
    let document = openapi::text();
    let (router, _) = routes::all().split_for_parts();
    router
        .merge(crate::console::routes())
        .route(
            "/openapi.json",
            axum::routing::get(move || async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    document,
                )
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(|| async {
            problem::Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this endpoint does not answer that method",
            )
        })
        .layer(axum::middleware::map_response(no_store))
        .layer(axum::middleware::map_response(
            crate::console::security::headers,
        ))
        .with_state(api)
}

/// An unknown address: problem details under `/api/`, the console's 404 page elsewhere.
async fn not_found(
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") || uri.path() == "/api" {
        problem::Problem::not_found("there is no endpoint at this address").into_response()
    } else {
        crate::console::errors::not_found(headers).await
    }
}

async fn no_store(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
