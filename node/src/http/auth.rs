//! Who is asking. A person signs in (`POST /api/v1/session`) and gets a session cookie
//! (`Secure; HttpOnly; SameSite=Strict`, never readable by scripts) and a CSRF token, which
//! every state-changing request with that cookie must send back in the [`CSRF_HEADER`]
//! header. A system sends an API token as `Authorization: Bearer ...` (no cookie, so no CSRF).
//! A missing or expired session or token is 401, a wrong CSRF token 403; both are logged
//! without content by [`crate::http::problem`].

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};

use super::State;
use super::problem::Problem;
use crate::accounts::{AuthError, Principal};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "trm_session";

/// The header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it acts as.
    pub principal: Principal,
    /// The session token, when it came in with a session cookie.
    pub session: Option<String>,
}

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The bearer token of an `Authorization` header, if one is sent.
fn bearer(headers: &HeaderMap) -> Option<Result<&str, Problem>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                Problem::unauthenticated("the Authorization header must be `Bearer TOKEN`")
            }),
    )
}

/// A refused session, token or CSRF token as a problem: 403 for a CSRF mismatch, 401
/// otherwise (503 when the accounts cannot be read).
pub fn refused(e: AuthError) -> Problem {
    match e {
        AuthError::BadCsrf => Problem::new(StatusCode::FORBIDDEN, "csrf", e.to_string()),
        AuthError::Store(_) => Problem::from(tonic::Status::from(e)),
        e => Problem::unauthenticated(e.to_string()),
    }
}

/// Whether a request of `method` changes something (and so needs the CSRF token).
fn changes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<State> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &State) -> Result<Self, Problem> {
        let now = trm_proto::time::now_ms();
        let accounts = api.node.accounts();
        if let Some(token) = bearer(&parts.headers) {
            let principal = accounts.bearer(token?, now).map_err(refused)?;
            return Ok(Caller {
                principal,
                session: None,
            });
        }
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Problem::unauthenticated(
                "sign in first (POST /api/v1/session), or send an API token as `Authorization: Bearer TOKEN`",
            ));
        };
        let principal = accounts.session(token, now).map_err(refused)?;
        if changes(&parts.method) {
            let csrf = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            accounts.check_csrf(token, csrf).map_err(refused)?;
        }
        Ok(Caller {
            principal,
            session: Some(token.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others_and_only_by_its_whole_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            header::HeaderValue::from_static("a=1; trm_session_x=2; trm_session=abc"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), None);
    }

    #[test]
    fn only_a_well_formed_bearer_header_gives_a_token() {
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_none());
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Basic x"),
        );
        assert!(matches!(bearer(&headers), Some(Err(_))));
        headers.insert(
            header::AUTHORIZATION,
            header::HeaderValue::from_static("Bearer t1"),
        );
        assert!(matches!(bearer(&headers), Some(Ok("t1"))));
    }
}
