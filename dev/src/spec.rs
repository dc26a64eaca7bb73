//! The description of a development federation: its name, brokers and nodes, read from TOML.
//!
//! A spec is plain data as written by a person; [`FederationSpec::validate`] (in
//! [`validate`](crate::validate), which depends on this module and not the other way round)
//! checks every field before anything is generated, and errors name the entry and the field.

use serde::{Deserialize, Serialize};
use trm_storage::EndpointList;

use trm_authority::CertsError;

/// The built-in development federation as TOML text, so it can be printed and edited: brokers
/// `at`, `rs`, `mk` and `al` on 127.0.0.1 ports 7401-7404 and eleven organisations from
/// Austria, Serbia, North Macedonia and Albania.
pub const DEFAULT_SPEC: &str = include_str!("default_spec.toml");

/// A development federation: what [`generate`](crate::generate) makes certificates, keys and
/// a signed directory for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationSpec {
    /// The federation's name, written into the directory so that a directory of one federation
    /// is never accepted by another.
    pub federation: String,
    /// How long the certificates and the directory stay valid, in days from now.
    pub validity_days: u32,
    /// The brokers, one per operator.
    #[serde(default)]
    pub brokers: Vec<BrokerSpec>,
    /// The organisations' nodes.
    #[serde(default)]
    pub nodes: Vec<NodeSpec>,
    /// Bilateral sharing agreements between nodes.
    #[serde(default)]
    pub agreements: Vec<AgreementSpec>,
}

/// A bilateral sharing agreement (MoU) of a [`FederationSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSpec {
    /// The agreement's reference, e.g. `MoU LEFOE-ASTRA 2026/03`.
    pub reference: String,
    /// The two parties' node addresses.
    pub parties: [String; 2],
    /// The message kinds covered (`referral`, `referral_response`, `case_update`,
    /// `info_request`, `info_response`, `return_request`, `return_confirmation`, `follow_up`,
    /// `consent_withdrawal`), or `["all"]`.
    pub kinds: Vec<String>,
    /// Days it stays valid from now; the federation's `validity_days` when absent.
    #[serde(default)]
    pub valid_days: Option<u32>,
}

/// One broker of a [`FederationSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerSpec {
    /// Its name, the part after `@` in node addresses (`at`); must parse as a
    /// [`BrokerName`](trm_proto::addr::BrokerName).
    pub name: String,
    /// Its country (ISO 3166-1 alpha-2, `XK` for Kosovo) or an uppercase regional code.
    pub country: String,
    /// Where nodes and peer brokers reach it, as listed in the directory: `https://host:port`,
    /// or several in order of preference (`["https://a:7401", "https://b:7401"]`), each served
    /// by an instance of this broker presenting its certificate. `endpoint` is read as a
    /// synonym.
    #[serde(alias = "endpoint")]
    pub endpoints: EndpointList,
}

/// One organisation's node in a [`FederationSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// Its address, `name@broker`; must parse as a [`NodeAddr`](trm_proto::addr::NodeAddr)
    /// whose broker is in the spec.
    pub address: String,
    /// The organisation's display name.
    pub organisation: String,
    /// One of `ngo`, `social_services`, `police`, `prosecutor`, `coordinator`,
    /// `international`.
    pub organisation_type: String,
    /// Its country, ISO 3166-1 alpha-2 (`XK` for Kosovo).
    pub country: String,
    /// Services offered, free lowercase labels such as `shelter` or `legal_aid`.
    #[serde(default)]
    pub services: Vec<String>,
    /// Languages its staff work in, ISO 639-1 codes such as `sr`.
    pub languages: Vec<String>,
    /// Accepts referrals of children.
    #[serde(default)]
    pub accepts_child_referrals: bool,
}

impl FederationSpec {
    /// The built-in development federation, parsed from [`DEFAULT_SPEC`].
    pub fn default_dev() -> Self {
        // Invariant: DEFAULT_SPEC is a constant that a unit test parses and validates.
        toml::from_str(DEFAULT_SPEC).expect("the built-in DEFAULT_SPEC is valid TOML")
    }

    /// The spec as TOML text, as written to `federation.toml`.
    pub fn to_toml(&self) -> Result<String, CertsError> {
        Ok(toml::to_string_pretty(self)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_spec_parses_validates_and_round_trips() {
        let spec = FederationSpec::from_toml(DEFAULT_SPEC).expect("default spec is valid");
        assert_eq!(spec, FederationSpec::default_dev());
        assert_eq!(spec.federation, "trm-dev");
        let brokers: Vec<&str> = spec.brokers.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(brokers, ["at", "rs", "mk", "al"]);
        assert_eq!(spec.nodes.len(), 11);
        let text = spec.to_toml().expect("serialises");
        assert_eq!(FederationSpec::from_toml(&text).expect("round trip"), spec);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let text = DEFAULT_SPEC.replace("validity_days = 365", "validity_days = 365\nvalid = 1");
        let err = FederationSpec::from_toml(&text).expect_err("unknown field");
        assert!(matches!(err, CertsError::Toml(_)), "{err}");
        assert!(err.to_string().contains("valid"), "{err}");
    }
}
