//! The console's static files, compiled into the binary and served from `/static/`: the style
//! sheets (the coordinator's report's own among them) and the one small script (the idle-session warning). Nothing comes from elsewhere.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::State;

/// Every static file: name, content type, bytes.
pub const FILES: &[(&str, &str, &[u8])] = &[
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    ),
    (
        "print.css",
        "text/css; charset=utf-8",
        include_bytes!("static/print.css"),
    ),
    (
        "report.css",
        "text/css; charset=utf-8",
        trm_audit::report::html::STYLESHEET.as_bytes(),
    ),
    (
        "session.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/session.js"),
    ),
];

/// `/static/{name}`.
pub fn routes() -> axum::Router<State> {
    axum::Router::new().route("/static/{name}", axum::routing::get(file))
}

async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, bytes)) => ([(header::CONTENT_TYPE, *kind)], *bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
