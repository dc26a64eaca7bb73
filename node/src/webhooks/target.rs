//! Where a webhook's notifications go: its URL, checked when it is registered. `https://` to
//! any host, verified with the system's roots or the configured CA file; plain `http://` only
//! to a loopback address (a receiver on the same machine), since a notification in clear text
//! across a network would show who exchanges with whom. No user name or password in the URL,
//! no fragment.

use std::net::IpAddr;

/// The longest URL accepted.
pub const MAX_URL_BYTES: usize = 2048;

/// Why a webhook URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The URL does not parse.
    #[error("webhook URL {url:?} is not a valid URL: {problem}")]
    Invalid {
        /// The URL as given (clipped).
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The scheme is neither https nor http.
    #[error("webhook URL {0:?} must start with https:// (or http:// to a loopback address)")]
    Scheme(String),
    /// Plain http to a host that is not loopback.
    #[error(
        "webhook URL {0:?} uses plain http:// to a host that is not loopback (127.0.0.1, ::1 or localhost); use https://"
    )]
    PlainToNetwork(String),
    /// A user name or password in the URL.
    #[error("webhook URL {0:?} carries a user name or password; put no credentials in it")]
    Credentials(String),
    /// Longer than [`MAX_URL_BYTES`].
    #[error("webhook URL is {0} bytes long; at most {MAX_URL_BYTES} are accepted")]
    TooLong(usize),
}

/// A checked webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `https://` (otherwise plain http to loopback).
    pub https: bool,
    /// The host, without brackets for an IPv6 address.
    pub host: String,
    /// The port (443 or 80 when none is given).
    pub port: u16,
    /// The `Host` header's value.
    pub authority: String,
    /// The request target, at least `/`.
    pub path_and_query: String,
}

fn clipped(url: &str) -> String {
    url.chars().take(120).collect()
}

/// Whether `host` names this machine: `localhost` or a loopback address.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Target {
    /// Checks `url`.
    pub fn parse(url: &str) -> Result<Target, TargetError> {
        if url.len() > MAX_URL_BYTES {
            return Err(TargetError::TooLong(url.len()));
        }
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        if !lower.starts_with("https://") && !lower.starts_with("http://") {
            return Err(TargetError::Scheme(clipped(url)));
        }
        if url.contains('#') {
            return Err(TargetError::Invalid {
                url: clipped(url),
                problem: "a fragment (#...) means nothing to a server".into(),
            });
        }
        let uri: http::Uri =
            url.parse()
                .map_err(|e: http::uri::InvalidUri| TargetError::Invalid {
                    url: clipped(url),
                    problem: e.to_string(),
                })?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(TargetError::Scheme(clipped(url))),
        };
        let authority = uri.authority().ok_or_else(|| TargetError::Invalid {
            url: clipped(url),
            problem: "no host".into(),
        })?;
        if authority.as_str().contains('@') {
            return Err(TargetError::Credentials(clipped(url)));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(TargetError::Invalid {
                url: clipped(url),
                problem: "no host".into(),
            });
        }
        if !https && !is_loopback(&host) {
            return Err(TargetError::PlainToNetwork(clipped(url)));
        }
        Ok(Target {
            https,
            port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
            authority: authority.as_str().to_owned(),
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned()),
            host,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_plain_http_to_loopback_only() -> Result<(), TargetError> {
        let t = Target::parse("https://hooks.example.org/trm?x=1")?;
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path_and_query.as_str()),
            (true, "hooks.example.org", 443, "/trm?x=1")
        );
        let t = Target::parse("http://127.0.0.1:8080")?;
        assert_eq!(
            (t.https, t.port, t.path_and_query.as_str()),
            (false, 8080, "/")
        );
        assert_eq!(Target::parse("http://[::1]:9/h")?.host, "::1");
        assert!(Target::parse("http://localhost/h").is_ok());
        assert!(matches!(
            Target::parse("http://hooks.example.org/"),
            Err(TargetError::PlainToNetwork(_))
        ));
        assert!(matches!(
            Target::parse("http://10.0.0.1/"),
            Err(TargetError::PlainToNetwork(_))
        ));
        assert!(matches!(
            Target::parse("http://127.0.0.1.example.org/"),
            Err(TargetError::PlainToNetwork(_))
        ));
        assert!(matches!(
            Target::parse("ftp://127.0.0.1/"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("hooks.example.org/trm"),
            Err(TargetError::Scheme(_))
        ));
        assert!(matches!(
            Target::parse("https://user:pw@hooks.example.org/"),
            Err(TargetError::Credentials(_))
        ));
        assert!(matches!(
            Target::parse("https://hooks.example.org/#x"),
            Err(TargetError::Invalid { .. })
        ));
        assert!(matches!(
            Target::parse("https://exa mple.org/"),
            Err(TargetError::Invalid { .. })
        ));
        let long = format!("https://h.org/{}", "a".repeat(MAX_URL_BYTES));
        assert!(matches!(Target::parse(&long), Err(TargetError::TooLong(_))));
        Ok(())
    }
}
