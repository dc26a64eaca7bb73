//! Request bodies: JSON only, no larger than the configured limit (413 before the body is read
//! whole: a declared length over it is refused without keeping it — read and dropped when it is
//! at most four times the limit, so the client gets the answer, unread beyond — and reading
//! stops at the limit), parsed
//! with the message files' parser so that an unknown or wrong field is refused by name.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// A body declared over the limit but at most this many times it is read and dropped before the
/// 413 (never kept in memory); a larger one is refused unread.
const DRAIN_FACTOR: u64 = 4;

/// Reads and drops at most `at_most` bytes of `body`.
async fn drain(mut body: Body, at_most: u64) {
    use http_body_util::BodyExt as _;
    let mut read = 0u64;
    while read < at_most {
        match body.frame().await {
            Some(Ok(frame)) => {
                let length = frame.data_ref().map_or(0, |data| data.len() as u64);
                read = read.saturating_add(length);
            }
            Some(Err(_)) | None => break,
        }
    }
}

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
    if let Some(declared) = declared.filter(|n| *n > limit as u64) {
        // A client still writing a body a little over the limit gets the answer, not a broken
        // connection; one declaring far more is refused unread.
        if declared <= (limit as u64).saturating_mul(DRAIN_FACTOR) {
            drain(body, declared).await;
        }
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
