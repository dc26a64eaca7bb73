//! Each node address's organisation name, country and organisation type, as the federation's
//! signed directory lists them: the only directory facts the report uses.

use std::collections::BTreeMap;

use trm_proto::directory::Directory;
use trm_proto::pb;

/// What the report shows for an address the directory does not list.
pub const UNKNOWN: &str = "unknown";

/// One organisation's name, country and type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Org {
    /// Its display name; empty when not known.
    pub name: String,
    /// ISO 3166-1 alpha-2 (`XK` for Kosovo).
    pub country: String,
    /// `ngo`, `social_services`, `police`, ...
    pub organisation_type: String,
}

/// Organisations by node address.
#[derive(Clone, Debug, Default)]
pub struct Orgs {
    /// Each address's organisation.
    by_address: BTreeMap<String, Org>,
}

impl Orgs {
    /// Organisations from `(address, country, organisation type)`.
    pub fn new<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, pb::OrganisationType)>,
    ) -> Self {
        Self {
            by_address: entries
                .into_iter()
                .map(|(address, country, kind)| {
                    (
                        address.to_owned(),
                        Org {
                            name: String::new(),
                            country: country.to_owned(),
                            organisation_type: organisation_type_name(kind),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The same, with `address` named `name` (an address not listed yet is not added).
    pub fn with_name(mut self, address: &str, name: &str) -> Self {
        if let Some(org) = self.by_address.get_mut(address) {
            name.clone_into(&mut org.name);
        }
        self
    }

    /// The organisations a verified directory lists, by name.
    pub fn from_directory(directory: &Directory) -> Self {
        let nodes: Vec<(String, String, pb::OrganisationType, String)> = directory
            .nodes()
            .map(|n| {
                (
                    n.address.to_string(),
                    n.country.clone(),
                    n.organisation_type,
                    n.organisation.clone(),
                )
            })
            .collect();
        nodes.iter().fold(
            Self::new(
                nodes
                    .iter()
                    .map(|(a, c, t, _)| (a.as_str(), c.as_str(), *t)),
            ),
            |orgs, (address, _, _, name)| orgs.with_name(address, name),
        )
    }

    /// The name of `address`'s organisation; the address itself when the directory gives none.
    pub fn name<'a>(&'a self, address: &'a str) -> &'a str {
        self.by_address
            .get(address)
            .map(|o| o.name.trim())
            .filter(|n| !n.is_empty())
            .unwrap_or(address)
    }

    /// The country of `address`, or [`UNKNOWN`].
    pub fn country(&self, address: &str) -> &str {
        self.by_address
            .get(address)
            .map_or(UNKNOWN, |o| o.country.as_str())
    }

    /// The organisation type of `address`, or [`UNKNOWN`].
    pub fn organisation_type(&self, address: &str) -> &str {
        self.by_address
            .get(address)
            .map_or(UNKNOWN, |o| o.organisation_type.as_str())
    }
}

/// `ngo`, `social_services`, ...: the enum's name without its prefix, in lower case.
pub fn organisation_type_name(kind: pb::OrganisationType) -> String {
    kind.as_str_name()
        .trim_start_matches("ORGANISATION_TYPE_")
        .to_ascii_lowercase()
}

/// `referral`, `info_request`, ...: the message kind's name without its prefix, in lower case.
pub fn kind_name(kind: i32) -> String {
    trm_proto::kinds::of_wire(kind).map_or_else(|| format!("kind_{kind}"), |k| k.name.to_owned())
}
