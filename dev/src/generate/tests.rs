//! Tests of [`generate`](super::generate): they read the written files back and check them
//! independently of the code that made them.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use age::secrecy::ExposeSecret;
use prost::Message;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::{Directory, Peer};
use trm_proto::{pb, signing, time};
use webpki::{EndEntityCert, KeyUsage, anchor_from_trusted_cert};

use super::generate;
use trm_authority::{files, issue_node_certificate};

use crate::{CertsError, Federation, FederationSpec};

fn generated() -> (tempfile::TempDir, Federation) {
    let dir = tempfile::tempdir().expect("tempdir");
    let federation =
        generate(&FederationSpec::default_dev(), &dir.path().join("fed")).expect("generates");
    (dir, federation)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn der_from_pem_file(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// The directory as a broker would load it: from the written files and the pinned key.
fn directory_from_files(dir: &Path) -> Directory {
    let bytes = fs::read(dir.join(files::DIRECTORY)).expect("directory.pb");
    let signed = pb::SignedDirectory::decode(bytes.as_slice()).expect("decodes");
    let authority_hex = read(&dir.join(files::AUTHORITY_PUB));
    assert!(authority_hex.ends_with('\n') && authority_hex.trim().len() == 64);
    let authority = hex::decode(authority_hex.trim()).expect("hex");
    let authority = signing::verifying_key(&authority).expect("public key");
    Directory::verify(signed, &authority, "trm-dev", time::now_ms()).expect("verifies")
}

#[test]
fn the_default_federation_is_written_and_its_directory_verifies() {
    let (_tmp, federation) = generated();
    let directory = directory_from_files(&federation.dir);
    assert_eq!(directory.version(), 1);
    assert_eq!(directory.signed(), &federation.signed_directory);
    let year_ms = 365 * 86_400_000;
    let remaining = directory.expires_at_ms() - time::now_ms();
    assert!(
        remaining > year_ms - 60_000 && remaining <= year_ms,
        "{remaining}"
    );

    let authority = signing::decode_secret(&read(&federation.dir.join(files::AUTHORITY_KEY)))
        .expect("authority.key");
    assert_eq!(authority.to_bytes(), federation.authority.to_bytes());
    let spec = FederationSpec::from_toml(&read(&federation.dir.join(files::SPEC))).expect("spec");
    assert_eq!(spec, FederationSpec::default_dev());

    assert_eq!(directory.nodes().count(), 11);
    let astra = directory
        .node(&"astra@rs".parse().expect("address"))
        .expect("astra is listed");
    assert_eq!(astra.organisation, "Astra");
    assert_eq!(astra.organisation_type, pb::OrganisationType::Ngo);
    assert_eq!(astra.country, "RS");
    let at = directory
        .broker(&"at".parse().expect("name"))
        .expect("at is listed");
    assert_eq!(at.endpoints, ["https://127.0.0.1:7401"]);
    assert_eq!(
        federation.broker("at").map(|b| b.endpoints.as_slice()),
        Some(at.endpoints.as_slice())
    );
    assert!(federation.broker("xx").is_none() && federation.node("astra@xx").is_none());
}

#[test]
fn fingerprints_and_keys_in_the_directory_match_the_written_files() {
    let (_tmp, federation) = generated();
    let directory = directory_from_files(&federation.dir);
    for broker in &federation.brokers {
        let der = der_from_pem_file(&broker.dir.join(files::TLS_CERT));
        let info = directory.broker(&broker.name).expect("listed");
        assert_eq!(
            info.certificate_sha256,
            <[u8; 32]>::from(Sha256::digest(&der))
        );
        assert_eq!(
            directory.peer_by_certificate(&der),
            Some(&Peer::Broker(broker.name.clone()))
        );
        let key = signing::decode_secret(&read(&broker.dir.join(files::SIGNING_KEY))).expect("key");
        assert_eq!(info.signing_key, key.verifying_key());
        assert_eq!(read(&broker.dir.join(files::TLS_KEY)), broker.key_pem);
    }
    for node in &federation.nodes {
        let der = der_from_pem_file(&node.dir.join(files::TLS_CERT));
        let info = directory.node(&node.address).expect("listed");
        assert_eq!(
            info.certificate_sha256,
            <[u8; 32]>::from(Sha256::digest(&der))
        );
        assert_eq!(
            directory.peer_by_certificate(&der),
            Some(&Peer::Node(node.address.clone()))
        );
        let key = signing::decode_secret(&read(&node.dir.join(files::SIGNING_KEY))).expect("key");
        assert_eq!(info.signing_key, key.verifying_key());
        assert_eq!(info.age_recipient, node.age_recipient);
    }
}

#[test]
fn private_key_files_are_0600() {
    let (_tmp, federation) = generated();
    let mut private = vec![
        federation.dir.join(files::CA_KEY),
        federation.dir.join(files::AUTHORITY_KEY),
    ];
    for broker in &federation.brokers {
        private.extend([files::TLS_KEY, files::SIGNING_KEY].map(|f| broker.dir.join(f)));
    }
    for node in &federation.nodes {
        private
            .extend([files::TLS_KEY, files::SIGNING_KEY, files::AGE_KEY].map(|f| node.dir.join(f)));
    }
    assert_eq!(private.len(), 2 + 4 * 2 + 11 * 3);
    for path in private {
        let mode = fs::metadata(&path).expect("exists").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[test]
fn each_age_identity_decrypts_what_is_encrypted_to_its_directory_recipient() {
    let (_tmp, federation) = generated();
    let directory = directory_from_files(&federation.dir);
    for node in &federation.nodes {
        let listed = &directory.node(&node.address).expect("listed").age_recipient;
        let recipient: age::x25519::Recipient = listed.parse().expect("age1 recipient");
        let ciphertext =
            age::encrypt(&recipient, b"referral AT-LEFOE-2026-0042").expect("encrypts");

        let text = read(&node.dir.join(files::AGE_KEY));
        assert!(
            text.starts_with("AGE-SECRET-KEY-1") && text.ends_with('\n'),
            "{}",
            node.address
        );
        let identity: age::x25519::Identity = text.trim_end().parse().expect("identity");
        assert_eq!(identity.to_string().expose_secret(), node.age_identity);
        let plaintext = age::decrypt(&identity, &ciphertext).expect("decrypts");
        assert_eq!(plaintext, b"referral AT-LEFOE-2026-0042");
    }
    // And not with another node's identity.
    let astra: age::x25519::Identity = federation.nodes[2].age_identity.parse().expect("identity");
    let to_lefoe: age::x25519::Recipient = federation.nodes[0]
        .age_recipient
        .parse()
        .expect("recipient");
    let ciphertext = age::encrypt(&to_lefoe, b"x").expect("encrypts");
    assert!(age::decrypt(&astra, &ciphertext).is_err());
}

/// Verifies a leaf against the federation CA the way rustls does.
fn chains(ca_pem: &str, leaf: &CertificateDer<'_>, usage: KeyUsage) -> Result<(), webpki::Error> {
    let ca = CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("ca pem");
    let anchor = anchor_from_trusted_cert(&ca).expect("trust anchor");
    let cert = EndEntityCert::try_from(leaf).expect("parses");
    cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &[anchor],
        &[],
        UnixTime::now(),
        usage,
        None,
        None,
    )
    .map(|_| ())
}

#[test]
fn certificates_chain_to_the_ca_with_the_right_names_and_usages() {
    let (_tmp, federation) = generated();
    let ca_pem = read(&federation.dir.join(files::CA_CERT));
    assert_eq!(ca_pem, federation.ca_pem);
    for broker in &federation.brokers {
        let der = der_from_pem_file(&broker.dir.join(files::TLS_CERT));
        chains(&ca_pem, &der, KeyUsage::server_auth()).expect("broker as server");
        chains(&ca_pem, &der, KeyUsage::client_auth()).expect("broker as client of a peer");
        let cert = EndEntityCert::try_from(&der).expect("parses");
        for name in [
            "localhost",
            "127.0.0.1",
            &format!("{}.broker.trm", broker.name),
        ] {
            let name = ServerName::try_from(name).expect("server name");
            cert.verify_is_valid_for_subject_name(&name)
                .expect("broker name");
        }
    }
    for node in &federation.nodes {
        let der = der_from_pem_file(&node.dir.join(files::TLS_CERT));
        chains(&ca_pem, &der, KeyUsage::client_auth()).expect("node as client");
        assert!(
            chains(&ca_pem, &der, KeyUsage::server_auth()).is_err(),
            "{}",
            node.address
        );
        let cert = EndEntityCert::try_from(&der).expect("parses");
        let dns = format!("{}.{}.node.trm", node.address.name(), node.address.broker());
        let dns = ServerName::try_from(dns).expect("dns name");
        cert.verify_is_valid_for_subject_name(&dns)
            .expect("node name");
    }
    // A certificate from another federation's CA does not chain to this one.
    let (_other_tmp, other) = generated();
    let foreign = der_from_pem_file(&other.nodes[0].dir.join(files::TLS_CERT));
    assert!(chains(&ca_pem, &foreign, KeyUsage::client_auth()).is_err());
}

#[test]
fn two_generations_make_different_cas_and_keys() {
    let (_a, first) = generated();
    let (_b, second) = generated();
    assert_ne!(first.ca_pem, second.ca_pem);
    assert_ne!(first.authority.to_bytes(), second.authority.to_bytes());
    assert_ne!(first.nodes[0].cert_pem, second.nodes[0].cert_pem);
    assert_ne!(first.nodes[0].age_identity, second.nodes[0].age_identity);
    assert_ne!(first.signed_directory, second.signed_directory);
}

#[test]
fn an_issued_certificate_chains_to_the_ca_but_is_not_in_the_directory() {
    let (_tmp, federation) = generated();
    let directory = directory_from_files(&federation.dir);
    let intruder: NodeAddr = "intruder@rs".parse().expect("address");
    let (cert_pem, key_pem) = issue_node_certificate(&federation.dir, &intruder).expect("issues");
    assert!(
        key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{key_pem}"
    );
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("pem");
    chains(&federation.ca_pem, &der, KeyUsage::client_auth()).expect("chains to the ca");
    assert_eq!(directory.peer_by_certificate(&der), None);

    // A listed address gets a new certificate that is still not the listed one.
    let astra = &federation.nodes[2].address;
    let (cert_pem, _) = issue_node_certificate(&federation.dir, astra).expect("issues");
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes()).expect("pem");
    assert_eq!(directory.peer_by_certificate(&der), None);

    let missing = issue_node_certificate(&federation.dir.join("nowhere"), &intruder);
    assert!(
        matches!(missing, Err(CertsError::Io { action: "read", .. })),
        "{missing:?}"
    );
    fs::write(federation.dir.join(files::CA_CERT), "not a certificate").expect("overwrite");
    let garbled = issue_node_certificate(&federation.dir, &intruder);
    assert!(matches!(garbled, Err(CertsError::Ca { .. })), "{garbled:?}");
}

#[test]
fn an_invalid_spec_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("fed");
    let mut spec = FederationSpec::default_dev();
    spec.nodes[0].address = "lefoe-ibf@de".into();
    let err = generate(&spec, &out).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        r#"node "lefoe-ibf@de": home broker "de" is not in the spec"#
    );
    assert!(err.is_spec_error());
    assert!(!out.exists());
}

#[test]
fn generating_again_into_the_same_folder_replaces_the_federation() {
    let (_tmp, first) = generated();
    let second = generate(&FederationSpec::default_dev(), &first.dir).expect("regenerates");
    assert_eq!(read(&first.dir.join(files::CA_CERT)), second.ca_pem);
    let directory = directory_from_files(&first.dir);
    assert_eq!(directory.signed(), &second.signed_directory);
}
