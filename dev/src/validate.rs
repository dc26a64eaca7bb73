//! The rules a [`FederationSpec`] must follow, and the parsed form that generation works from.
//!
//! Checking a spec produces a [`Checked`] view with the names, addresses and organisation
//! types already parsed, so generation never parses text again.

use std::collections::{HashMap, HashSet};

use trm_proto::addr::{BrokerName, NodeAddr};
use trm_proto::pb::OrganisationType;

use trm_authority::CertsError;
use trm_authority::enrollment::organisation_type;

use crate::spec::{BrokerSpec, FederationSpec, NodeSpec};

/// The longest validity accepted, about ten years: certificates for development only.
const MAX_VALIDITY_DAYS: u32 = 3650;

impl FederationSpec {
    /// Parses a spec from TOML text and validates it.
    pub fn from_toml(text: &str) -> Result<Self, CertsError> {
        let spec: Self = toml::from_str(text)?;
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every field: names and addresses parse, every node's broker exists, nothing
    /// appears twice, codes look like codes. The error names the entry and the field.
    pub fn validate(&self) -> Result<(), CertsError> {
        check(self).map(|_| ())
    }
}

/// A spec whose every field has been checked.
pub(crate) struct Checked<'a> {
    /// The brokers in spec order.
    pub(crate) brokers: Vec<CheckedBroker<'a>>,
    /// The nodes in spec order.
    pub(crate) nodes: Vec<CheckedNode<'a>>,
    /// The agreements in spec order.
    pub(crate) agreements: Vec<CheckedAgreement<'a>>,
}

/// A checked agreement entry.
pub(crate) struct CheckedAgreement<'a> {
    /// The message kinds covered.
    pub(crate) kinds: Vec<trm_proto::pb::MessageKind>,
    /// The entry as written; both parties are nodes of the spec.
    pub(crate) spec: &'a crate::spec::AgreementSpec,
}

/// A checked broker entry.
pub(crate) struct CheckedBroker<'a> {
    /// Its parsed name.
    pub(crate) name: BrokerName,
    /// The entry as written.
    pub(crate) spec: &'a BrokerSpec,
}

/// A checked node entry.
pub(crate) struct CheckedNode<'a> {
    /// Its parsed address; its broker is one of the spec's brokers.
    pub(crate) address: NodeAddr,
    /// Its parsed organisation type.
    pub(crate) organisation_type: OrganisationType,
    /// The entry as written.
    pub(crate) spec: &'a NodeSpec,
}

fn invalid(entry: &str, field: &'static str, problem: impl Into<String>) -> CertsError {
    CertsError::Invalid {
        entry: entry.to_owned(),
        field,
        problem: problem.into(),
    }
}

/// Checks every rule and returns the parsed view of the spec.
pub(crate) fn check(spec: &FederationSpec) -> Result<Checked<'_>, CertsError> {
    let federation_ok = (1..=64).contains(&spec.federation.len())
        && spec
            .federation
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !federation_ok {
        return Err(invalid(
            "spec",
            "federation",
            format!(
                "{:?} must be 1-64 letters, digits, '-', '_' or '.'",
                spec.federation
            ),
        ));
    }
    if !(1..=MAX_VALIDITY_DAYS).contains(&spec.validity_days) {
        return Err(invalid(
            "spec",
            "validity_days",
            format!(
                "{} must be between 1 and {MAX_VALIDITY_DAYS}",
                spec.validity_days
            ),
        ));
    }
    if spec.brokers.is_empty() {
        return Err(invalid("spec", "brokers", "must list at least one broker"));
    }

    let mut brokers = Vec::with_capacity(spec.brokers.len());
    let mut endpoints: HashMap<&str, &str> = HashMap::new();
    for broker in &spec.brokers {
        let checked = check_broker(broker)?;
        let entry = format!("broker {:?}", broker.name);
        if brokers
            .iter()
            .any(|b: &CheckedBroker<'_>| b.name == checked.name)
        {
            return Err(invalid(&entry, "name", "appears twice"));
        }
        for endpoint in broker.endpoints.as_slice() {
            if let Some(other) = endpoints.insert(endpoint, &broker.name) {
                let problem = if other == broker.name {
                    format!("{endpoint:?} is listed twice")
                } else {
                    format!("{endpoint:?} is already used by broker {other:?}")
                };
                return Err(invalid(&entry, "endpoints", problem));
            }
        }
        brokers.push(checked);
    }

    let mut nodes: Vec<CheckedNode<'_>> = Vec::with_capacity(spec.nodes.len());
    for node in &spec.nodes {
        let checked = check_node(node)?;
        let entry = format!("node {:?}", node.address);
        let home = checked.address.broker();
        if !brokers.iter().any(|b| b.name == home) {
            return Err(invalid(
                &entry,
                "home broker",
                format!("{:?} is not in the spec", home.as_str()),
            ));
        }
        if nodes.iter().any(|n| n.address == checked.address) {
            return Err(invalid(&entry, "address", "appears twice"));
        }
        nodes.push(checked);
    }

    let mut agreements = Vec::with_capacity(spec.agreements.len());
    for agreement in &spec.agreements {
        let entry = format!("agreement {:?}", agreement.reference);
        if agreement.reference.trim().is_empty() {
            return Err(invalid(&entry, "reference", "must not be empty"));
        }
        for party in &agreement.parties {
            if !nodes.iter().any(|n| n.address.as_str() == party) {
                return Err(invalid(
                    &entry,
                    "parties",
                    format!("{party:?} is not a node of the spec"),
                ));
            }
        }
        if agreement.parties[0] == agreement.parties[1] {
            return Err(invalid(
                &entry,
                "parties",
                "an organisation cannot agree with itself",
            ));
        }
        let kinds = if agreement.kinds == ["all"] {
            trm_proto::kinds::SENT_KINDS.to_vec()
        } else {
            agreement
                .kinds
                .iter()
                .map(|k| {
                    trm_proto::kinds::from_name(k).ok_or_else(|| {
                        invalid(&entry, "kinds", format!("{k:?} is not a message kind"))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        if kinds.is_empty() {
            return Err(invalid(
                &entry,
                "kinds",
                "must name at least one kind, or \"all\"",
            ));
        }
        agreements.push(CheckedAgreement {
            kinds,
            spec: agreement,
        });
    }
    Ok(Checked {
        brokers,
        nodes,
        agreements,
    })
}

fn check_broker(broker: &BrokerSpec) -> Result<CheckedBroker<'_>, CertsError> {
    let entry = format!("broker {:?}", broker.name);
    let name: BrokerName = broker.name.parse().map_err(|_| {
        invalid(
            &entry,
            "name",
            "must be 1-32 lowercase letters, digits and '-', not starting or ending with '-'",
        )
    })?;
    let region_ok = (2..=16).contains(&broker.country.len())
        && broker.country.bytes().all(|b| b.is_ascii_uppercase());
    if !region_ok {
        return Err(invalid(
            &entry,
            "country",
            format!(
                "{:?} must be an ISO 3166-1 alpha-2 code (XK for Kosovo) or an uppercase regional code",
                broker.country
            ),
        ));
    }
    if broker.endpoints.as_slice().is_empty() {
        return Err(invalid(
            &entry,
            "endpoints",
            "must list at least one endpoint",
        ));
    }
    if let Some(bad) = broker.endpoints.first_unusable() {
        return Err(invalid(
            &entry,
            "endpoints",
            format!("{bad:?} must be https://host:port"),
        ));
    }
    Ok(CheckedBroker { name, spec: broker })
}

fn check_node(node: &NodeSpec) -> Result<CheckedNode<'_>, CertsError> {
    let entry = format!("node {:?}", node.address);
    let address: NodeAddr = node.address.parse().map_err(|_| {
        invalid(
            &entry,
            "address",
            "must be name@broker in lowercase letters, digits and '-'",
        )
    })?;
    let organisation = node.organisation.trim();
    if organisation.is_empty() || organisation.chars().any(char::is_control) {
        return Err(invalid(
            &entry,
            "organisation",
            "must be a non-empty display name without control characters",
        ));
    }
    let organisation_type = organisation_type(&node.organisation_type).ok_or_else(|| {
        invalid(
            &entry,
            "organisation_type",
            format!(
                "{:?} is not one of ngo, social_services, police, prosecutor, coordinator, international",
                node.organisation_type
            ),
        )
    })?;
    if node.country.len() != 2 || !node.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            &entry,
            "country",
            format!(
                "{:?} must be an ISO 3166-1 alpha-2 code such as \"RS\" (XK for Kosovo)",
                node.country
            ),
        ));
    }
    check_labels(&entry, "services", &node.services, |s| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    })?;
    if node.languages.is_empty() {
        return Err(invalid(
            &entry,
            "languages",
            "must list at least one language",
        ));
    }
    check_labels(&entry, "languages", &node.languages, |s| {
        s.len() == 2 && s.bytes().all(|b| b.is_ascii_lowercase())
    })?;
    Ok(CheckedNode {
        address,
        organisation_type,
        spec: node,
    })
}

/// Checks each label of a list with `ok` and refuses repeats.
fn check_labels(
    entry: &str,
    field: &'static str,
    labels: &[String],
    ok: impl Fn(&str) -> bool,
) -> Result<(), CertsError> {
    let mut seen = HashSet::new();
    for label in labels {
        if !ok(label) {
            let expected = if field == "languages" {
                "an ISO 639-1 code such as \"sr\""
            } else {
                "lowercase letters, digits and '_', such as \"legal_aid\""
            };
            return Err(invalid(
                entry,
                field,
                format!("entry {label:?} must be {expected}"),
            ));
        }
        if !seen.insert(label.as_str()) {
            return Err(invalid(
                entry,
                field,
                format!("entry {label:?} appears twice"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
use trm_storage::endpoint_list::is_https_host_port as is_https_endpoint;

#[cfg(test)]
mod tests;
