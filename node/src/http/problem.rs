//! Errors as RFC 9457 problem details (`application/problem+json`): `type`, `title`, `status`,
//! `detail`, and, when one field of the request is at fault, its name in `field`. Every refusal
//! of the API goes through [`Problem`], so every error has this one shape.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tonic::Code;
use trm_forms::referral_file::FieldError;
use utoipa::ToSchema;

/// The media type of a problem.
pub const CONTENT_TYPE: &str = "application/problem+json";

/// A refusal, as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// What kind of problem: a URI naming it (`about:blank` when the status says it all, or
    /// `urn:trm:problem:NAME`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in words, the same for every occurrence.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, in plain words.
    pub detail: String,
    /// The request field at fault (`referral.person.age_years`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// A problem of `status`, named `name` (the last part of its type URI).
    pub fn new(status: StatusCode, name: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:trm:problem:{name}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    /// No valid session or token (401).
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// Signed in, but not allowed (403).
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// A request whose field `field` is wrong (400 unless set otherwise).
    pub fn field(field: &FieldError) -> Self {
        Self {
            field: Some(field.field.clone()),
            ..Self::new(StatusCode::BAD_REQUEST, "invalid-field", field.to_string())
        }
    }

    /// The body is larger than the limit (413).
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// Nothing at this address (404).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    /// The HTTP status, for the response.
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// A refusal of the node's services as a problem: the gRPC code chooses the HTTP status, the
/// status message (already in plain words, and never content) is the detail, and a message
/// of the form `field: problem` from a refused argument names its field.
impl From<tonic::Status> for Problem {
    fn from(status: tonic::Status) -> Self {
        let (http, name) = match status.code() {
            Code::InvalidArgument => (StatusCode::BAD_REQUEST, "invalid-request"),
            Code::NotFound => (StatusCode::NOT_FOUND, "not-found"),
            Code::AlreadyExists => (StatusCode::CONFLICT, "conflict"),
            Code::FailedPrecondition => (StatusCode::CONFLICT, "not-now"),
            // The accounts' refusal names the role it needs; other refusals (no agreement
            // with the partner, not a coordinator) are about the node, not the caller's role.
            Code::PermissionDenied if status.message().contains("it needs the role") => {
                (StatusCode::FORBIDDEN, "role-missing")
            }
            Code::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden"),
            Code::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Code::ResourceExhausted => (StatusCode::INSUFFICIENT_STORAGE, "no-room"),
            Code::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Code::DeadlineExceeded => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let detail = status.message().to_owned();
        let field = detail
            .split_once(": ")
            .map(|(field, _)| field)
            .filter(|_| status.code() == Code::InvalidArgument)
            .filter(|field| {
                !field.is_empty()
                    && field
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
            })
            .map(str::to_owned);
        Self {
            field,
            ..Self::new(http, name, detail)
        }
    }
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Self::field(&e)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        if status.is_server_error() {
            tracing::warn!(status = self.status, problem = %self.kind, detail = %self.detail, "api request failed");
        } else {
            // Refusals are logged by kind and status only: a detail may quote what was sent.
            tracing::info!(status = self.status, problem = %self.kind, "api request refused");
        }
        let mut response = (status, axum::Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_argument_names_its_field_and_other_refusals_do_not() {
        let p = Problem::from(tonic::Status::invalid_argument(
            "case_ref: must not be empty",
        ));
        assert_eq!((p.status, p.field.as_deref()), (400, Some("case_ref")));
        let p = Problem::from(tonic::Status::invalid_argument(
            "consent was not given: a referral needs it",
        ));
        assert_eq!(p.field, None);
        let p = Problem::from(tonic::Status::permission_denied("no agreement: x"));
        assert_eq!((p.status, p.field), (403, None));
    }

    #[test]
    fn a_problem_serialises_with_type_and_without_an_absent_field() {
        let json = serde_json::to_value(Problem::not_found("no such message")).unwrap_or_default();
        assert_eq!(json["type"], "urn:trm:problem:not-found");
        assert_eq!(json["status"], 404);
        assert!(json.get("field").is_none());
    }
}
