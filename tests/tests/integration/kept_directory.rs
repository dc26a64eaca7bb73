//! A broker keeps the directory it adopted: after a restart it still uses the newer version,
//! even when its configured file was rolled back, and a kept file it cannot trust is replaced.

use prost::Message;
use trm_authority::Authority;
use trm_node::keys::NodeKeys;
use trm_proto::directory;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER};
use trm_tests::{craft, raw};

const ATINA: &str = "atina@marri";

/// The version of the directory the running broker serves.
async fn served_version(fed: &trm_dev::local::LocalFederation) -> anyhow::Result<u64> {
    let signed = fixtures::raw_client_as(fed, ASTRA)
        .await?
        .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
        .await?
        .into_inner();
    Ok(pb::Directory::decode(signed.directory.as_slice())?.version)
}

#[tokio::test]
async fn a_broker_restarted_with_an_older_configured_directory_keeps_the_one_it_adopted()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let configured = fed.federation.dir.join("directory.pb");
    let version_1 = std::fs::read(&configured)?;
    fed.start_broker(BROKER).await?;
    let kept = fed
        .broker_data_dir(BROKER)
        .join(trm_broker::refresh::KEPT_DIRECTORY);
    assert_eq!(std::fs::read(&kept)?, version_1, "kept from the start");

    // Atina is enrolled in version 2 only.
    let keys_dir = dir.path().join("atina-keys");
    let request = trm_authority::enrollment::generate_node_keys(
        &ATINA.parse()?,
        "Atina",
        "ngo",
        "RS",
        &keys_dir,
    )?;
    let mut authority = Authority::open(&fed.federation.dir)?;
    let atina_cert = authority.enroll(&request, 30)?;
    authority.agree(
        "MoU ATINA-ASTRA",
        [ATINA, ASTRA],
        &trm_proto::kinds::SENT_KINDS,
        30,
    )?;
    authority.publish(30)?;
    let state = fed.broker_state(BROKER)?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 2);
    drop(state);
    let key = authority.verifying_key();
    let version_2 = directory::load(&kept, &key, &fed.federation.federation)?;
    assert_eq!(version_2.version(), 2, "kept on adoption");

    // The configured file is rolled back (an operator restores an old copy) and the broker
    // restarts: it starts from the version it adopted.
    fed.stop_broker(BROKER).await?;
    std::fs::write(&configured, &version_1)?;
    fed.start_broker(BROKER).await?;
    assert_eq!(served_version(&fed).await?, 2);
    let atina_keys = NodeKeys::load(
        ATINA.parse()?,
        &keys_dir.join("signing.key"),
        &keys_dir.join("age.key"),
    )?;
    let atina_key_pem = std::fs::read_to_string(keys_dir.join("tls.key"))?;
    let atina_channel = raw::channel(
        fed.broker_addr(BROKER)?,
        BROKER,
        &fed.federation.ca_pem,
        Some((&atina_cert, &atina_key_pem)),
    )
    .await?;
    let envelope = craft::sealed(&atina_keys, &version_2, &fixtures::referral(ASTRA)?)?;
    let receipt = raw::broker(atina_channel.clone())
        .submit(envelope)
        .await?
        .into_inner();
    assert_eq!(
        trm_proto::receipt::peek(&receipt)?.kind(),
        pb::ReceiptKind::Accepted
    );

    // A kept file that does not verify is not trusted: the broker starts from the configured
    // file (verified at start) and keeps that one instead.
    fed.stop_broker(BROKER).await?;
    std::fs::write(&kept, b"not a directory")?;
    fed.start_broker(BROKER).await?;
    assert_eq!(served_version(&fed).await?, 1);
    assert_eq!(std::fs::read(&kept)?, version_1);
    let refused = raw::broker(atina_channel)
        .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
        .await;
    assert!(
        matches!(&refused, Err(status) if raw::refused_at_handshake(status)),
        "Atina is not in version 1, so her certificate is refused at the handshake: {refused:?}"
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_newer_directory_the_broker_cannot_keep_on_disk_is_not_used_until_it_can()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let kept = fed
        .broker_data_dir(BROKER)
        .join(trm_broker::refresh::KEPT_DIRECTORY);
    // Something the atomic write cannot replace: a folder that is not empty.
    std::fs::remove_file(&kept)?;
    std::fs::create_dir(&kept)?;
    std::fs::write(kept.join("in-the-way"), b"")?;

    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.revoke(trm_tests::fixtures::OPEN_GATE)?;
    authority.publish(30)?;
    let state = fed.broker_state(BROKER)?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 1, "not used while it cannot be kept");
    let reasons: Vec<String> = report.refused.iter().map(|(_, e)| e.to_string()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with(
            "cannot keep the newer directory on disk, so it is not used yet: cannot write"
        )),
        "{reasons:?}"
    );
    assert_eq!(served_version(&fed).await?, 1);

    std::fs::remove_dir_all(&kept)?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 2);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    let key = authority.verifying_key();
    assert_eq!(
        directory::load(&kept, &key, &fed.federation.federation)?.version(),
        2
    );
    drop(state);
    fed.shutdown().await?;
    Ok(())
}
