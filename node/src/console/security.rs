//! The headers on every console answer: a strict Content-Security-Policy (no inline script or
//! style, nothing from elsewhere), nothing cached, no referrer, no sniffing, no framing, no
//! shared browsing context, HTTPS only, no camera, microphone or location.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers set on every answer, with their values.
pub const HEADERS: [(&str, &str); 7] = [
    ("content-security-policy", CSP),
    ("cache-control", "no-store"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
    ("strict-transport-security", "max-age=31536000"),
    (
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    ),
];

/// What sign-out asks the browser to forget.
pub const CLEAR_SITE_DATA: &str = "\"cache\", \"cookies\", \"storage\"";

/// Sets [`HEADERS`] on an answer (replacing any earlier value).
pub async fn headers(mut response: Response) -> Response {
    let map = response.headers_mut();
    for (name, value) in HEADERS {
        map.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

/// Adds `Clear-Site-Data` to an answer (sign-out).
pub fn clear_site_data(response: &mut Response) {
    response.headers_mut().insert(
        HeaderName::from_static("clear-site-data"),
        HeaderValue::from_static(CLEAR_SITE_DATA),
    );
}

/// Adds a `Set-Cookie` to an answer.
pub fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// A `Set-Cookie` value: `Secure; HttpOnly; SameSite=Strict` under `path`; `max_age_secs`
/// 0 clears it, `None` keeps it for the browser's session.
pub fn cookie(name: &str, value: &str, path: &str, max_age_secs: Option<u64>) -> String {
    let mut cookie = format!("{name}={value}; Path={path}; Secure; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age_secs {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    cookie
}
