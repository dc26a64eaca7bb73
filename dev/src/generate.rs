//! Generating a federation: keys and certificates for every broker and node, the signed
//! directory that lists them, and the folder that holds it all.
//!
//! Everything is made in memory and the directory is verified the way a broker would verify
//! it before any file is written.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use age::secrecy::ExposeSecret;
use prost::Message;
use trm_proto::directory::{self, Directory, certificate_fingerprint};
use trm_proto::{pb, signing};

use trm_authority::files::{self, Access};
use trm_authority::pki::{self, Validity};
use trm_authority::{BrokerMaterial, CertsError, Federation, NodeMaterial};

use crate::FederationSpec;
use crate::validate::{self, CheckedBroker, CheckedNode};

const DAY_MS: u64 = 86_400_000;

/// Generates the federation described by `spec` into the folder `out` (created if missing;
/// files of the same names are replaced) and returns its material.
///
/// The spec is validated first; nothing is written if it is invalid.
pub fn generate(spec: &FederationSpec, out: &Path) -> Result<Federation, CertsError> {
    let checked = validate::check(spec)?;
    let now = SystemTime::now();
    let now_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let validity = Validity::days_from(now, spec.validity_days);

    let ca = pki::certificate_authority(&spec.federation, validity)?;
    let authority = signing::generate_key();
    let mut directory = pb::Directory {
        federation: spec.federation.clone(),
        version: 1,
        issued_at_ms: now_ms,
        expires_at_ms: now_ms + u64::from(spec.validity_days) * DAY_MS,
        brokers: Vec::with_capacity(checked.brokers.len()),
        nodes: Vec::with_capacity(checked.nodes.len()),
        agreements: checked
            .agreements
            .iter()
            .map(|a| pb::SharingAgreement {
                reference: a.spec.reference.clone(),
                party_a: a.spec.parties[0].clone(),
                party_b: a.spec.parties[1].clone(),
                kinds: a.kinds.iter().map(|k| i32::from(*k)).collect(),
                valid_from_ms: now_ms.saturating_sub(DAY_MS),
                valid_until_ms: now_ms
                    + u64::from(a.spec.valid_days.unwrap_or(spec.validity_days)) * DAY_MS,
                terminated_at_ms: 0,
            })
            .collect(),
    };
    let mut brokers = Vec::with_capacity(checked.brokers.len());
    for broker in &checked.brokers {
        let (entry, material) = broker_material(broker, &ca, validity, out)?;
        directory.brokers.push(entry);
        brokers.push(material);
    }
    let mut nodes = Vec::with_capacity(checked.nodes.len());
    for node in &checked.nodes {
        let (entry, material) = node_material(node, &ca, validity, out)?;
        directory.nodes.push(entry);
        nodes.push(material);
    }

    let signed_directory = directory::sign(&directory, &authority);
    Directory::verify(
        signed_directory.clone(),
        &authority.verifying_key(),
        &spec.federation,
        now_ms,
    )?;

    let federation = Federation {
        dir: out.to_path_buf(),
        federation: spec.federation.clone(),
        ca_pem: ca.pem(),
        authority,
        signed_directory,
        brokers,
        nodes,
    };
    write_federation(&federation, spec, &ca.key().serialize_pem())?;
    Ok(federation)
}

fn broker_material(
    broker: &CheckedBroker<'_>,
    ca: &pki::Ca,
    validity: Validity,
    out: &Path,
) -> Result<(pb::BrokerEntry, BrokerMaterial), CertsError> {
    let leaf = pki::broker_certificate(ca, &broker.name, validity)?;
    let signing_key = signing::generate_key();
    let entry = pb::BrokerEntry {
        name: broker.name.to_string(),
        endpoints: broker.spec.endpoints.as_slice().to_vec(),
        certificate_sha256: certificate_fingerprint(&leaf.der).to_vec(),
        signing_key: signing_key.verifying_key().to_bytes().to_vec(),
        country: broker.spec.country.clone(),
    };
    let material = BrokerMaterial {
        dir: out.join(files::BROKERS).join(broker.name.as_str()),
        name: broker.name.clone(),
        endpoints: broker.spec.endpoints.as_slice().to_vec(),
        cert_pem: leaf.cert_pem,
        key_pem: leaf.key_pem,
        signing_key,
    };
    Ok((entry, material))
}

fn node_material(
    node: &CheckedNode<'_>,
    ca: &pki::Ca,
    validity: Validity,
    out: &Path,
) -> Result<(pb::NodeEntry, NodeMaterial), CertsError> {
    let leaf = pki::node_certificate(ca, &node.address, validity)?;
    let signing_key = signing::generate_key();
    let age_key = age::x25519::Identity::generate();
    let age_recipient = age_key.to_public().to_string();
    let entry = pb::NodeEntry {
        address: node.address.to_string(),
        organisation: node.spec.organisation.trim().to_owned(),
        organisation_type: node.organisation_type.into(),
        country: node.spec.country.clone(),
        certificate_sha256: certificate_fingerprint(&leaf.der).to_vec(),
        signing_key: signing_key.verifying_key().to_bytes().to_vec(),
        age_recipient: age_recipient.clone(),
        services: node.spec.services.clone(),
        languages: node.spec.languages.clone(),
        accepts_child_referrals: node.spec.accepts_child_referrals,
        ..Default::default()
    };
    let material = NodeMaterial {
        dir: out.join(files::NODES).join(node.address.as_str()),
        address: node.address.clone(),
        cert_pem: leaf.cert_pem,
        key_pem: leaf.key_pem,
        signing_key,
        age_identity: age_key.to_string().expose_secret().to_owned(),
        age_recipient,
    };
    Ok((entry, material))
}

/// Writes the folder layout described in the crate documentation.
fn write_federation(
    federation: &Federation,
    spec: &FederationSpec,
    ca_key_pem: &str,
) -> Result<(), CertsError> {
    let out = files::create_dir(&federation.dir)?;
    let spec_text = format!(
        "# Generated by trm-dev; the spec this federation folder was made from.\n\n{}",
        spec.to_toml()?
    );
    let authority_pub = format!(
        "{}\n",
        hex::encode(federation.authority.verifying_key().as_bytes())
    );
    let authority_key = signing::encode_secret(&federation.authority);
    let directory = federation.signed_directory.encode_to_vec();
    let top: [(&str, &[u8], Access); 6] = [
        (files::CA_CERT, federation.ca_pem.as_bytes(), Access::Public),
        (files::CA_KEY, ca_key_pem.as_bytes(), Access::Private),
        (
            files::AUTHORITY_KEY,
            authority_key.as_bytes(),
            Access::Private,
        ),
        (
            files::AUTHORITY_PUB,
            authority_pub.as_bytes(),
            Access::Public,
        ),
        (files::DIRECTORY, &directory, Access::Public),
        (files::SPEC, spec_text.as_bytes(), Access::Public),
    ];
    for (name, contents, access) in top {
        files::write(&out.join(name), contents, access)?;
    }
    for broker in &federation.brokers {
        let dir = files::create_dir(&broker.dir)?;
        files::write(
            &dir.join(files::TLS_CERT),
            broker.cert_pem.as_bytes(),
            Access::Public,
        )?;
        files::write(
            &dir.join(files::TLS_KEY),
            broker.key_pem.as_bytes(),
            Access::Private,
        )?;
        let signing_key = signing::encode_secret(&broker.signing_key);
        files::write(
            &dir.join(files::SIGNING_KEY),
            signing_key.as_bytes(),
            Access::Private,
        )?;
    }
    for node in &federation.nodes {
        let dir = files::create_dir(&node.dir)?;
        files::write(
            &dir.join(files::TLS_CERT),
            node.cert_pem.as_bytes(),
            Access::Public,
        )?;
        files::write(
            &dir.join(files::TLS_KEY),
            node.key_pem.as_bytes(),
            Access::Private,
        )?;
        let signing_key = signing::encode_secret(&node.signing_key);
        files::write(
            &dir.join(files::SIGNING_KEY),
            signing_key.as_bytes(),
            Access::Private,
        )?;
        let age_key = format!("{}\n", node.age_identity);
        files::write(
            &dir.join(files::AGE_KEY),
            age_key.as_bytes(),
            Access::Private,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
