//! A configuration value naming one endpoint or several: `"https://a:1"` or
//! `["https://a:1", "https://b:2"]` in TOML, or `https://a:1,https://b:2` in an environment
//! variable. The order is kept: the first is the preferred one, the others are tried in turn
//! after it. A single endpoint is written back as a plain string, so existing files and their
//! round trips stay as they were.

use serde::{Deserialize, Serialize};

/// One endpoint or several, in order of preference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointList(Vec<String>);

impl EndpointList {
    /// The endpoints, the preferred first.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The endpoints, the preferred first.
    pub fn into_vec(self) -> Vec<String> {
        self.0
    }

    /// The first endpoint that is not `https://host:port` with a host and a non-zero port,
    /// if any.
    pub fn first_unusable(&self) -> Option<&str> {
        self.0
            .iter()
            .map(String::as_str)
            .find(|endpoint| !is_https_host_port(endpoint))
    }
}

/// `https://host:port` with a non-empty host and a non-zero numeric port.
pub fn is_https_host_port(endpoint: &str) -> bool {
    let Some(authority) = endpoint.strip_prefix("https://") else {
        return false;
    };
    let Some((host, port)) = authority.rsplit_once(':') else {
        return false;
    };
    !host.is_empty() && !host.contains(['/', '@', ' ']) && port.parse::<u16>().is_ok_and(|p| p != 0)
}

impl From<Vec<String>> for EndpointList {
    fn from(endpoints: Vec<String>) -> Self {
        Self(endpoints)
    }
}

impl From<&str> for EndpointList {
    fn from(endpoint: &str) -> Self {
        Self(vec![endpoint.to_owned()])
    }
}

/// An environment variable's value: endpoints separated by commas, blanks around them ignored.
impl From<String> for EndpointList {
    fn from(value: String) -> Self {
        Self(
            value
                .split(',')
                .map(str::trim)
                .filter(|endpoint| !endpoint.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }
}

/// What the file may hold.
#[derive(Deserialize)]
#[serde(untagged, expecting = "an endpoint or a list of endpoints")]
enum Written {
    One(String),
    Several(Vec<String>),
}

impl<'de> Deserialize<'de> for EndpointList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Written::deserialize(deserializer)? {
            Written::One(endpoint) => Self(vec![endpoint]),
            Written::Several(endpoints) => Self(endpoints),
        })
    }
}

impl Serialize for EndpointList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => serializer.serialize_str(one),
            several => several.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize, Serialize)]
    struct File {
        endpoints: EndpointList,
    }

    #[test]
    fn one_or_several_read_and_write_back_as_written() {
        let one: File = toml::from_str(r#"endpoints = "https://a:1""#).expect("one");
        assert_eq!(one.endpoints.as_slice(), ["https://a:1"]);
        assert_eq!(
            toml::to_string(&one).expect("write").trim(),
            r#"endpoints = "https://a:1""#
        );
        let two: File =
            toml::from_str(r#"endpoints = ["https://a:1", "https://b:2"]"#).expect("two");
        assert_eq!(two.endpoints.as_slice(), ["https://a:1", "https://b:2"]);
        let again: File = toml::from_str(&toml::to_string(&two).expect("write")).expect("read");
        assert_eq!(again, two);
        let wrong = toml::from_str::<File>("endpoints = 7").expect_err("a number");
        assert!(
            wrong
                .to_string()
                .contains("an endpoint or a list of endpoints"),
            "{wrong}"
        );
    }

    #[test]
    fn an_environment_value_separates_endpoints_with_commas() {
        let list = EndpointList::from(" https://a:1 ,https://b:2,".to_owned());
        assert_eq!(list.as_slice(), ["https://a:1", "https://b:2"]);
    }

    #[test]
    fn every_endpoint_must_be_https_host_and_port() {
        let good = EndpointList::from(vec!["https://a:1".into(), "https://[::1]:7401".into()]);
        assert_eq!(good.first_unusable(), None);
        for bad in [
            "http://a:1",
            "https://a",
            "https://:1",
            "https://a:0",
            "https://a/b:1",
        ] {
            let list = EndpointList::from(vec!["https://a:1".into(), bad.into()]);
            assert_eq!(list.first_unusable(), Some(bad), "{bad}");
        }
    }
}
