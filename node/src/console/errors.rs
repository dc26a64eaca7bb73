//! The console's error pages (403, 404, 400, 503, 500), translated, for signed-in people and
//! visitors alike, and the page for a service's refusal.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::i18n::{self, Lang};
use super::layout;
use super::page::Viewer;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The account may not do this.
    Forbidden,
    /// A form without the right CSRF token, or from another site.
    Csrf,
    /// Nothing at this address.
    NotFound,
    /// The request was not understood.
    BadRequest,
    /// The node cannot answer now (storage unavailable or full).
    Unavailable,
    /// Something failed inside the node.
    Internal,
}

impl Kind {
    fn status(self) -> StatusCode {
        match self {
            Kind::Forbidden | Kind::Csrf => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn ids(self) -> (&'static str, &'static str) {
        match self {
            Kind::Forbidden => ("error-forbidden-title", "error-forbidden-text"),
            Kind::Csrf => ("error-csrf-title", "error-csrf-text"),
            Kind::NotFound => ("error-not-found-title", "error-not-found-text"),
            Kind::BadRequest => ("error-bad-request-title", "error-bad-request-text"),
            Kind::Unavailable => ("error-unavailable-title", "error-unavailable-text"),
            Kind::Internal => ("error-internal-title", "error-internal-text"),
        }
    }
}

/// The error page in `lang`, for someone who may not be signed in.
pub fn page(lang: Lang, kind: Kind) -> Response {
    let (title, text) = kind.ids();
    let title = i18n::text(lang, title, &[]);
    let body = html! {
        p id="error-text" { (i18n::text(lang, text, &[])) }
        p { a id="error-home" href="/" { (i18n::text(lang, "error-home", &[])) } }
    };
    (kind.status(), layout::bare(lang, &title, body)).into_response()
}

/// The error page for a signed-in person, with the navigation.
pub fn for_viewer(viewer: &Viewer, kind: Kind) -> Response {
    let (title, text) = kind.ids();
    let body = html! { p id="error-text" { (viewer.t(text)) } };
    (kind.status(), layout::page(viewer, &viewer.t(title), body)).into_response()
}

/// The page for a service's refusal: its kind from the status code, with the service's own
/// words (in English) beneath.
pub fn from_status(viewer: &Viewer, status: &tonic::Status) -> Response {
    let kind = match status.code() {
        tonic::Code::PermissionDenied => Kind::Forbidden,
        tonic::Code::NotFound => Kind::NotFound,
        tonic::Code::InvalidArgument
        | tonic::Code::FailedPrecondition
        | tonic::Code::AlreadyExists
        | tonic::Code::OutOfRange => Kind::BadRequest,
        tonic::Code::Unavailable | tonic::Code::ResourceExhausted => Kind::Unavailable,
        _ => Kind::Internal,
    };
    let (title, text) = kind.ids();
    let body = html! {
        p id="error-text" { (viewer.t(text)) }
        p id="error-detail" { (viewer.t("error-detail")) " " span lang="en" { (status.message()) } }
    };
    (kind.status(), layout::page(viewer, &viewer.t(title), body)).into_response()
}

/// The console's answer for an unknown address.
pub async fn not_found(headers: axum::http::HeaderMap) -> Response {
    page(super::page::anonymous_lang(&headers), Kind::NotFound)
}
