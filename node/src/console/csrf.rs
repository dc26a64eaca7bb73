//! Forms cannot set headers, so the console's forms carry the session's CSRF token in a hidden
//! `_csrf` field, compared in constant time, and must come from the console's own origin
//! (`Origin` equal to `https://<Host>`, or `Sec-Fetch-Site: same-origin`). [`Checked`] does
//! both before a handler runs: a refusal is a 403 page and the handler never runs. The
//! session cookie is also `SameSite=Strict`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::errors::{self, Kind};
use super::page::Viewer;
use crate::http::State;

/// The name of the hidden field.
pub const FIELD: &str = "_csrf";

/// A form's fields in the order sent (a name may repeat: check boxes, repeated rows).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or empty.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The fields (without `_csrf`) as a `T`, through a query string.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_urlencoded::de::Error> {
        let pairs: Vec<&(String, String)> = self.0.iter().filter(|(n, _)| n != FIELD).collect();
        let encoded = serde_urlencoded::to_string(pairs).unwrap_or_default();
        serde_urlencoded::from_str(&encoded)
    }
}

/// A file sent with a form (`multipart/form-data`): the name of its input, the file's name as
/// the browser gave it, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The input's name.
    pub field: String,
    /// The file's name as sent (checked where it is used).
    pub file_name: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// A POSTed form from a signed-in person, its CSRF token and origin checked.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Who sent it.
    pub viewer: Viewer,
    /// Its fields.
    pub fields: Fields,
    /// The files it carried (only a `multipart/form-data` form carries any); an input left
    /// without a file is not among them.
    pub files: Vec<Upload>,
}

/// Whether a request comes from the console's own pages: `Origin` (when sent) is
/// `https://<Host>`, `Sec-Fetch-Site` (when sent) is `same-origin`, and at least one is sent.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` with a form: then
    // `Sec-Fetch-Site` must say.
    let origin = headers
        .get(header::ORIGIN)
        .map(|v| v.to_str().ok())
        .filter(|o| *o != Some("null"));
    let site = headers.get("sec-fetch-site").map(|v| v.to_str().ok());
    if origin.is_none() && site.is_none() {
        return false;
    }
    let origin_ok = match origin {
        None => true,
        Some(origin) => {
            let host = value(header::HOST).unwrap_or_default();
            !host.is_empty() && origin == Some(&format!("https://{host}"))
        }
    };
    let site_ok = match site {
        None => true,
        Some(site) => site == Some("same-origin"),
    };
    origin_ok && site_ok
}

/// Whether `sent` is `expected`, in constant time (and not empty).
pub fn token_matches(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// The CSRF and origin check for a form read some other way (a file upload): `Err` is the
/// 403 page to answer.
// The refusal is the page itself, answered at once: boxing it would only add a step.
#[allow(clippy::result_large_err)]
pub fn check(viewer: &Viewer, headers: &HeaderMap, sent: &str) -> Result<(), Response> {
    if same_origin(headers) && token_matches(&viewer.csrf, sent) {
        Ok(())
    } else {
        tracing::warn!(account = %viewer.principal.account, "console form refused: CSRF token or origin");
        Err(errors::for_viewer(viewer, Kind::Csrf))
    }
}

/// A form body: `application/x-www-form-urlencoded` of at most `limit` bytes, or
/// `multipart/form-data` (a form with files) of at most `limit` plus `files_limit` bytes.
/// `None` for another type, a body over its limit or one that does not parse.
pub async fn form(
    headers: &HeaderMap,
    body: axum::body::Body,
    limit: usize,
    files_limit: usize,
) -> Option<(Fields, Vec<Upload>)> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let bytes = axum::body::to_bytes(body, limit).await.ok()?;
        return serde_urlencoded::from_bytes(&bytes)
            .ok()
            .map(|fields| (Fields(fields), Vec::new()));
    }
    let boundary = multer::parse_boundary(content_type).ok()?;
    let whole = u64::try_from(limit.saturating_add(files_limit)).unwrap_or(u64::MAX);
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let mut parts =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(part) = parts.next_field().await.ok()? {
        let name = part.name().unwrap_or_default().to_owned();
        match part.file_name().map(str::to_owned) {
            Some(file_name) => {
                let content = part.bytes().await.ok()?.to_vec();
                // A file input left empty is sent as a part with no name and no bytes.
                if !(file_name.is_empty() && content.is_empty()) {
                    files.push(Upload {
                        field: name,
                        file_name,
                        content,
                    });
                }
            }
            None => fields.push((name, part.text().await.ok()?)),
        }
    }
    Some((Fields(fields), files))
}

impl FromRequest<State> for Checked {
    type Rejection = Response;

    async fn from_request(request: Request, api: &State) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, api).await?;
        // The origin first: a foreign page's POST is refused before its body is read.
        if !same_origin(&parts.headers) {
            tracing::warn!(account = %viewer.principal.account, "console form refused: origin");
            return Err(errors::for_viewer(&viewer, Kind::Csrf));
        }
        let files_limit =
            usize::try_from(api.node.attachment_limits().max_total_bytes).unwrap_or(usize::MAX);
        let Some((fields, files)) =
            form(&parts.headers, body, api.max_body_bytes, files_limit).await
        else {
            return Err(errors::for_viewer(&viewer, Kind::BadRequest));
        };
        check(&viewer, &parts.headers, fields.text(FIELD))?;
        Ok(Checked {
            viewer,
            fields,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_the_consoles_own_origin_passes() {
        let host = ("host", "127.0.0.1:8443");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "https://127.0.0.1:8443")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[host])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8443")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "https://127.0.0.1:8443"),
            ("sec-fetch-site", "same-site"),
        ])));
        assert!(!same_origin(&headers(&[("origin", "https://")])));
        // A browser's form under no-referrer: `Origin: null`, and Sec-Fetch-Site decides.
        assert!(same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "null"),
            ("sec-fetch-site", "cross-site")
        ])));
    }

    #[test]
    fn tokens_match_exactly_and_never_empty() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("abc", "ab"));
        assert!(!token_matches("", ""));
    }

    #[test]
    fn repeated_fields_are_kept_and_parsed() -> Result<(), serde_urlencoded::de::Error> {
        let fields = Fields(vec![
            ("_csrf".into(), "t".into()),
            ("roles".into(), "caseworker".into()),
            ("roles".into(), "coordinator".into()),
            ("name".into(), "ana".into()),
        ]);
        assert_eq!(fields.all("roles").len(), 2);
        #[derive(serde::Deserialize)]
        struct Name {
            name: String,
        }
        assert_eq!(fields.parse::<Name>()?.name, "ana");
        Ok(())
    }
}
