//! [`Viewer`]: the signed-in person a console page is for — who (the [`Principal`] the
//! services check), in which language, in which time zone, and the session's CSRF token for
//! the page's forms. A request without a live session is sent to the sign-in page.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use fluent_bundle::FluentValue;

use super::i18n::{self, LANG_COOKIE, Lang};
use crate::accounts::{AccountSummary, AuthError, Principal, Via};
use crate::http::State;
use crate::http::auth::{SESSION_COOKIE, cookie};

/// A signed-in person's request.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who the request acts as.
    pub principal: Principal,
    /// The account's login name.
    pub name: String,
    /// The page's language.
    pub lang: Lang,
    /// The account's time zone (UTC when none is chosen).
    pub time_zone: jiff::tz::TimeZone,
    /// The session's CSRF token, for the `_csrf` field of every form.
    pub csrf: String,
    /// Milliseconds of idleness after which the session ends.
    pub idle_ms: u64,
    /// The account as stored (no secret): its own choices and whether it has a second factor.
    pub profile: AccountSummary,
    session: String,
}

/// The language of a request from someone not signed in: the `trm_lang` cookie, else the
/// browser's `Accept-Language`, else English.
pub fn anonymous_lang(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .or_else(|| {
            headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Lang::from_accept_language)
        })
        .unwrap_or(Lang::En)
}

impl Viewer {
    /// The text of message `id` in the page's language.
    pub fn t(&self, id: &str) -> String {
        i18n::text(self.lang, id, &[])
    }

    /// The text of message `id` with arguments.
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        i18n::text(self.lang, id, args)
    }

    /// A time (Unix ms) in the account's time zone, written the language's way; empty for 0.
    pub fn date(&self, unix_ms: u64) -> String {
        format_date(self.lang, &self.time_zone, unix_ms)
    }

    /// The session token (for signing out).
    pub(super) fn session(&self) -> &str {
        &self.session
    }
}

/// The query string of a page as `T`; what cannot be read is left at its default (a page's
/// query only chooses what to show).
pub fn query<T: serde::de::DeserializeOwned + Default>(uri: &axum::http::Uri) -> T {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

/// Milliseconds in a day.
const DAY_MS: u64 = 24 * 3600 * 1000;

/// A time (Unix ms) in `zone`, with `lang`'s pattern (`shell-date-format`); empty for 0. A time
/// at midnight UTC exactly is a day as messages write dates (`2026-11-05` in a file or a form)
/// and is shown as that day (`shell-day-format`), not moved into the reader's zone.
pub fn format_date(lang: Lang, zone: &jiff::tz::TimeZone, unix_ms: u64) -> String {
    if unix_ms == 0 {
        return String::new();
    }
    let Ok(at) = jiff::Timestamp::from_millisecond(i64::try_from(unix_ms).unwrap_or(i64::MAX))
    else {
        return unix_ms.to_string();
    };
    if unix_ms.is_multiple_of(DAY_MS) {
        let pattern = i18n::text(lang, "shell-day-format", &[]);
        return at
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime(&pattern)
            .to_string();
    }
    let pattern = i18n::text(lang, "shell-date-format", &[]);
    at.to_zoned(zone.clone()).strftime(&pattern).to_string()
}

/// The answer when a page needs a session and has none: to the sign-in page (or the
/// signed-out page, saying why, when it just ended).
fn to_sign_in(e: &AuthError) -> Response {
    match e {
        AuthError::Expired => Redirect::to("/signed-out?why=expired").into_response(),
        AuthError::Store(_) => super::errors::page(Lang::En, super::errors::Kind::Unavailable),
        _ => Redirect::to("/sign-in").into_response(),
    }
}

impl FromRequestParts<State> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, api: &State) -> Result<Self, Response> {
        let accounts = api.node.accounts();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(Redirect::to("/sign-in").into_response());
        };
        let principal = accounts
            .session(token, trm_proto::time::now_ms())
            .map_err(|e| to_sign_in(&e))?;
        if principal.via != Via::Session {
            return Err(Redirect::to("/sign-in").into_response());
        }
        let csrf = accounts.session_csrf(token).map_err(|e| to_sign_in(&e))?;
        let profile = accounts
            .profile(&principal.account)
            .map_err(|e| to_sign_in(&e))?;
        let lang = Lang::parse(&profile.language).unwrap_or_else(|| anonymous_lang(&parts.headers));
        let time_zone = if profile.time_zone.is_empty() {
            jiff::tz::TimeZone::UTC
        } else {
            jiff::tz::db()
                .get(&profile.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC)
        };
        Ok(Viewer {
            principal,
            name: profile.name.clone(),
            lang,
            time_zone,
            csrf,
            idle_ms: accounts.policy().idle_ms,
            profile,
            session: token.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_in_the_zone_and_the_languages_way() {
        let vienna = jiff::tz::db()
            .get("Europe/Vienna")
            .unwrap_or(jiff::tz::TimeZone::UTC);
        // 2026-03-01 11:30 UTC is 12:30 in Vienna.
        let at = 1_772_364_600_000;
        assert!(
            format_date(Lang::En, &jiff::tz::TimeZone::UTC, at).starts_with("2026-03-01 11:30")
        );
        assert!(format_date(Lang::De, &vienna, at).starts_with("01.03.2026 12:30"));
        assert_eq!(format_date(Lang::De, &vienna, 0), "");
        // 2026-11-05 as a message's date: that day, in any zone, without a time.
        let day = 1_793_836_800_000;
        assert_eq!(format_date(Lang::De, &vienna, day), "05.11.2026");
        assert_eq!(format_date(Lang::SrLatn, &vienna, day), "05. 11. 2026.");
    }

    #[test]
    fn a_visitor_gets_the_cookie_then_the_browser_language() {
        let mut headers = HeaderMap::new();
        assert_eq!(anonymous_lang(&headers), Lang::En);
        headers.insert(
            axum::http::header::ACCEPT_LANGUAGE,
            axum::http::HeaderValue::from_static("mk-MK,en;q=0.5"),
        );
        assert_eq!(anonymous_lang(&headers), Lang::Mk);
        headers.insert(
            axum::http::header::COOKIE,
            axum::http::HeaderValue::from_static("trm_lang=sq"),
        );
        assert_eq!(anonymous_lang(&headers), Lang::Sq);
    }
}
