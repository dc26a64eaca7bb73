//! Enrollment: a new organisation's node makes its keys locally (private keys never leave it)
//! and an enrollment request for the federation authority: its public keys, a certificate
//! request for its TLS key, and the directory entry it asks for.

use std::path::Path;

use serde::{Deserialize, Serialize};
use trm_proto::addr::NodeAddr;
use trm_proto::pb::OrganisationType;
use trm_proto::signing;

use crate::CertsError;
use crate::files::{self, Access};
use crate::pki;

/// The request file name written beside the keys.
pub const REQUEST_FILE: &str = "enrollment.toml";

/// What a node sends the federation authority to be added to the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentRequest {
    /// The address asked for, `name@broker`.
    pub address: String,
    /// The organisation's display name.
    pub organisation: String,
    /// ngo, social_services, police, prosecutor, coordinator or international.
    pub organisation_type: String,
    /// ISO 3166-1 alpha-2 (`XK` for Kosovo).
    pub country: String,
    /// Services offered.
    #[serde(default)]
    pub services: Vec<String>,
    /// Working languages.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Accepts referrals of children.
    #[serde(default)]
    pub accepts_child_referrals: bool,
    /// Ed25519 public signing key, 64 hex digits.
    pub signing_key: String,
    /// age recipient, `age1...`.
    pub age_recipient: String,
    /// PEM certificate request for the node's TLS key.
    pub certificate_request: String,
}

/// Makes a node's keys in `out` (signing.key, age.key and tls.key, mode 0600) and writes
/// and returns its enrollment request.
pub fn generate_node_keys(
    address: &NodeAddr,
    organisation: &str,
    organisation_type: &str,
    country: &str,
    out: &Path,
) -> Result<EnrollmentRequest, CertsError> {
    files::create_dir(out)?;
    let signing_key = signing::generate_key();
    let age_key = age::x25519::Identity::generate();
    let (tls_key, certificate_request) = pki::node_certificate_request(address)?;
    files::write(
        &out.join(files::SIGNING_KEY),
        signing::encode_secret(&signing_key).as_bytes(),
        Access::Private,
    )?;
    {
        use age::secrecy::ExposeSecret;
        files::write(
            &out.join(files::AGE_KEY),
            format!("{}\n", age_key.to_string().expose_secret()).as_bytes(),
            Access::Private,
        )?;
    }
    files::write(
        &out.join(files::TLS_KEY),
        tls_key.as_bytes(),
        Access::Private,
    )?;
    let request = EnrollmentRequest {
        address: address.to_string(),
        organisation: organisation.to_owned(),
        organisation_type: organisation_type.to_owned(),
        country: country.to_owned(),
        services: Vec::new(),
        languages: Vec::new(),
        accepts_child_referrals: false,
        signing_key: hex::encode(signing_key.verifying_key().to_bytes()),
        age_recipient: age_key.to_public().to_string(),
        certificate_request,
    };
    let text = toml::to_string_pretty(&request)?;
    files::write(&out.join(REQUEST_FILE), text.as_bytes(), Access::Public)?;
    Ok(request)
}

/// Makes a new signing key for a rotation in `out/signing.next.key` (mode 0600) and returns
/// its public half in hex, for the authority's `rotate`.
pub fn generate_next_signing_key(out: &Path) -> Result<String, CertsError> {
    let key = signing::generate_key();
    files::write(
        &out.join(NEXT_SIGNING_KEY),
        signing::encode_secret(&key).as_bytes(),
        Access::Private,
    )?;
    Ok(hex::encode(key.verifying_key().to_bytes()))
}

/// Where a rotation's new signing key waits until the authority has published it.
pub const NEXT_SIGNING_KEY: &str = "signing.next.key";

/// Reads an enrollment request file.
pub fn read_request(path: &Path) -> Result<EnrollmentRequest, CertsError> {
    Ok(toml::from_str(&files::read(path)?)?)
}

/// Parses an organisation type as written in a spec or an enrollment request (`ngo`,
/// `social_services`, `police`, `prosecutor`, `coordinator`, `international`).
pub fn organisation_type(text: &str) -> Option<OrganisationType> {
    Some(match text {
        "ngo" => OrganisationType::Ngo,
        "social_services" => OrganisationType::SocialServices,
        "police" => OrganisationType::Police,
        "prosecutor" => OrganisationType::Prosecutor,
        "coordinator" => OrganisationType::Coordinator,
        "international" => OrganisationType::International,
        _ => return None,
    })
}
