//! Request bodies: JSON only, no larger than the configured limit (413 before the body is read
//! whole: a declared length over it is refused unread, and reading stops at the limit), parsed
//! with the message files' parser so that an unknown or wrong field is refused by name.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Reads a JSON body of at most `limit` bytes as text.
pub async fn text(headers: &HeaderMap, body: Body, limit: usize) -> Result<String, Problem> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-json",
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Problem::too_large(limit));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if over {
            Problem::too_large(limit)
        } else {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unreadable-body",
                "the request body could not be read whole",
            )
        }
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-field",
            "the request body is not UTF-8 text",
        )
    })
}

/// Reads and parses a JSON body into `T` (which refuses unknown fields), naming the field at
/// fault.
pub async fn json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<T, Problem> {
    let text = text(headers, body, limit).await?;
    Ok(trm_forms::referral_file::from_json(&text)?)
}
