//! The federation authority's operations on a generated development federation: enrolment,
//! revocation, key rotation and agreements, each published as a new directory version.

use std::path::{Path, PathBuf};

use trm_authority::enrollment::generate_node_keys;
use trm_authority::{Authority, CertsError};
use trm_dev::{FederationSpec, generate};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::{self, Directory};
use trm_proto::{pb, signing, time};

const DAY_MS: u64 = 86_400_000;

fn federation() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let fed = dir.path().join("fed");
    generate(&FederationSpec::default_dev(), &fed).expect("generates");
    (dir, fed)
}

fn published(fed: &Path) -> Directory {
    let mut authority = Authority::open(fed).expect("opens");
    let signed = authority.publish(30).expect("publishes");
    Directory::verify(
        signed,
        &authority.verifying_key(),
        "trm-dev",
        time::now_ms(),
    )
    .expect("verifies")
}

#[test]
fn an_enrolled_node_gets_a_certificate_listed_in_the_next_version() {
    let (dir, fed) = federation();
    let address: NodeAddr = "la-strada@mk".parse().expect("valid");
    let request = generate_node_keys(&address, "La Strada", "ngo", "MK", &dir.path().join("keys"))
        .expect("keys");
    let mut authority = Authority::open(&fed).expect("opens");
    let cert_pem = authority.enroll(&request, 30).expect("enrolls");
    let signed = authority.publish(30).expect("publishes");
    let directory = Directory::verify(
        signed,
        &authority.verifying_key(),
        "trm-dev",
        time::now_ms(),
    )
    .expect("verifies");
    assert_eq!(directory.version(), 2);
    let node = directory.node(&address).expect("listed");
    assert_eq!(
        Some(node.certificate_sha256),
        directory::pem_leaf_fingerprint(&cert_pem)
    );
    assert_eq!(
        hex::encode(node.signing_key.to_bytes()),
        request.signing_key
    );
    // The private keys never left the node's folder; the request holds public material only.
    let text = std::fs::read_to_string(
        dir.path()
            .join("keys")
            .join(trm_authority::enrollment::REQUEST_FILE),
    )
    .expect("request");
    assert!(
        !text.contains("PRIVATE KEY")
            && !text.contains("AGE-SECRET-KEY")
            && !text.contains("ed25519:")
    );
    // Enrolling the same address twice is refused.
    assert!(matches!(
        authority.enroll(&request, 30),
        Err(CertsError::Invalid {
            field: "address",
            ..
        })
    ));
}

#[test]
fn revocation_rotation_and_agreements_are_published_as_new_versions() {
    let (_dir, fed) = federation();
    let mut authority = Authority::open(&fed).expect("opens");
    let new_key = signing::generate_key();
    authority
        .rotate_key(
            "astra@rs",
            &hex::encode(new_key.verifying_key().to_bytes()),
            DAY_MS,
        )
        .expect("rotates");
    authority.revoke("myla@mk").expect("revokes");
    authority
        .agree(
            "MoU 1",
            ["lefoe-ibf@at", "astra@rs"],
            &[pb::MessageKind::Referral],
            30,
        )
        .expect("agrees");
    authority.publish(30).expect("publishes");
    // One authority at a time changes the folder: this one is done.
    drop(authority);
    let directory = published(&fed);
    assert_eq!(directory.version(), 3);
    let astra = directory
        .node(&"astra@rs".parse().expect("valid"))
        .expect("listed");
    assert_eq!(
        astra.signing_keys_at(time::now_ms()).len(),
        2,
        "old key kept for the overlap"
    );
    assert_eq!(astra.signing_key, new_key.verifying_key());
    assert!(directory.node(&"myla@mk".parse().expect("valid")).is_none());
    assert!(
        directory
            .agreements()
            .iter()
            .any(|a| a.reference == "MoU 1")
    );
    assert!(
        directory
            .agreements()
            .iter()
            .all(|a| a.party_a.as_str() != "myla@mk" && a.party_b.as_str() != "myla@mk")
    );

    let mut authority = Authority::open(&fed).expect("opens");
    authority.terminate("MoU 1").expect("terminates");
    authority.end_overlap("astra@rs").expect("ends overlap");
    authority.revoke("rs").expect("revokes a broker");
    authority.publish(30).expect("publishes");
    // One authority at a time changes the folder: this one is done.
    drop(authority);
    let directory = published(&fed);
    assert!(directory.broker(&"rs".parse().expect("valid")).is_none());
    assert!(
        directory
            .nodes()
            .all(|n| n.address.broker().as_str() != "rs")
    );
    assert!(
        directory
            .agreements()
            .iter()
            .all(|a| a.party_a.broker().as_str() != "rs" && a.party_b.broker().as_str() != "rs"),
        "agreements of revoked nodes go with them"
    );
    assert!(matches!(
        Authority::open(&fed).expect("opens").revoke("nobody@rs"),
        Err(CertsError::Invalid { .. })
    ));
}
