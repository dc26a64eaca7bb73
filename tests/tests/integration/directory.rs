//! The signed directory in use: agreements and unknown addressees at send time, revocation,
//! stale directories and key rotation, each taking effect through a published new version.

use std::time::Duration;

use tonic::Code;
use trm_authority::Authority;
use trm_proto::pb;
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE, OPEN_GATE};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_message_without_a_sharing_agreement_or_to_an_unknown_address_is_refused_at_send()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation_with(dir.path(), |spec| {
        spec.agreements
            .retain(|a| !a.parties.contains(&OPEN_GATE.to_owned()));
    })
    .await?;
    fed.start_node(LEFOE).await?;
    let mut lefoe = fed.client(LEFOE).await?;

    let refused = lefoe
        .send(fixtures::referral(OPEN_GATE)?)
        .await
        .expect_err("no agreement");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        format!("no sharing agreement between {LEFOE} and {OPEN_GATE}")
    );

    for unknown in ["nobody@marri", "astra@xx"] {
        let refused = lefoe
            .send(fixtures::referral(unknown)?)
            .await
            .expect_err("unknown");
        assert_eq!(refused.code(), Code::NotFound, "{unknown}");
        assert_eq!(
            refused.message(),
            format!("recipient {unknown} is not in the federation directory")
        );
    }
    // Nothing was logged or queued for any of them.
    let entries = fixtures::log_entries(&mut lefoe).await?;
    assert!(entries.is_empty());
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_revoked_node_is_refused_by_its_broker_and_by_recipients_after_refresh()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let directory = craft::directory(&fed.federation)?;
    let open_gate_keys = craft::keys(&fed.federation, OPEN_GATE)?;
    let mut open_gate = fixtures::raw_client_as(&fed, OPEN_GATE).await?;
    // Accepted while Open Gate is still in the directory; Astra is offline.
    let before = craft::sealed(&open_gate_keys, &directory, &fixtures::referral(ASTRA)?)?;
    open_gate.submit(before).await?;

    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.revoke(OPEN_GATE)?;
    authority.publish(30)?;

    // The broker picks the new version up on its next refresh and refuses Open Gate's certificate.
    trm_dev::wait::wait_for(WAIT, "the broker to refuse the revoked node", || {
        let mut open_gate = open_gate.clone();
        async move {
            let outcome = open_gate
                .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
                .await;
            Ok(matches!(outcome, Err(status) if status.code() == Code::PermissionDenied))
        }
    })
    .await?;
    let after = craft::sealed(&open_gate_keys, &directory, &fixtures::referral(ASTRA)?)?;
    let refused = open_gate.submit(after).await.expect_err("revoked");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused
            .message()
            .contains("not registered in federation directory version 2"),
        "{refused:?}"
    );

    // Astra starts with the new directory: the envelope accepted before is refused on delivery.
    fed.start_node(ASTRA).await?;
    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    assert_eq!(
        entries[0].reason,
        format!("sender {OPEN_GATE} is not in the federation directory")
    );
    assert!(fixtures::inbox_ids(&mut astra).await?.is_empty());
    let search = astra
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    assert_eq!(search.refresh_problem, "");
    assert_eq!(search.version, 2);
    assert!(search.nodes.iter().all(|n| n.address != OPEN_GATE));
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_refuses_a_directory_older_than_the_one_it_adopted() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let old = std::fs::read(fed.federation.dir.join("directory.pb"))?;
    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.agree(
        "MoU extra",
        [LEFOE, ASTRA],
        &[pb::MessageKind::Referral],
        30,
    )?;
    authority.publish(30)?;
    fed.start_broker(BROKER).await?;
    fed.start_node(ASTRA).await?;
    let mut astra = fed.client(ASTRA).await?;
    let search = astra
        .search_directory(pb::DirectorySearchRequest {
            refresh: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(search.version, 2);

    // The broker is rolled back to version 1 (an operator mistake, or a malicious broker),
    // the directory it kept included.
    fed.stop_broker(BROKER).await?;
    std::fs::write(fed.federation.dir.join("directory.pb"), &old)?;
    std::fs::write(
        fed.broker_data_dir(BROKER)
            .join(trm_broker::refresh::KEPT_DIRECTORY),
        &old,
    )?;
    fed.start_broker(BROKER).await?;
    let search = astra
        .search_directory(pb::DirectorySearchRequest {
            refresh: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(search.version, 2, "the node keeps the newer version");
    assert!(!search.refreshed);
    assert_eq!(
        search.refresh_problem,
        "directory version 1 is older than version 2 in use"
    );

    // A restart does not fall back either: the adopted version is kept on disk.
    fed.stop_node(ASTRA).await?;
    let adopted = fed
        .node_data_dir(ASTRA)
        .join(trm_node::refresh::ADOPTED_DIRECTORY);
    assert!(adopted.exists(), "the adopted directory is kept on disk");
    fed.start_node(ASTRA).await?;
    let search = fed
        .client(ASTRA)
        .await?
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    assert_eq!(search.version, 2);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn after_a_key_rotation_old_signatures_verify_during_the_overlap_and_not_after()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let directory = craft::directory(&fed.federation)?;
    let old_keys = craft::keys(&fed.federation, LEFOE)?;
    let mut new_keys = old_keys.clone();
    new_keys.signing = trm_proto::signing::generate_key();
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    let signed_before = craft::sealed(&old_keys, &directory, &fixtures::referral(ASTRA)?)?;

    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.rotate_key(
        LEFOE,
        &hex::encode(new_keys.signing.verifying_key().to_bytes()),
        86_400_000,
    )?;
    authority.publish(30)?;
    let version_2 = wait_for_version(&fed, 2).await?;
    assert!(version_2);

    // During the overlap: the message signed before the rotation is accepted and delivered,
    // and so is one signed with the new key.
    client.submit(signed_before.clone()).await?;
    client
        .submit(craft::sealed(
            &new_keys,
            &directory,
            &fixtures::referral(ASTRA)?,
        )?)
        .await?;
    fed.start_node(ASTRA).await?;
    let astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 2, WAIT).await?;

    // The overlap ends: the old key is refused, the new one still works.
    authority.end_overlap(LEFOE)?;
    authority.publish(30)?;
    wait_for_version(&fed, 3).await?;
    let refused = client
        .submit(craft::sealed(
            &old_keys,
            &directory,
            &fixtures::referral(ASTRA)?,
        )?)
        .await
        .expect_err("old key after the overlap");
    assert_eq!(refused.code(), Code::Unauthenticated);
    client
        .submit(craft::sealed(
            &new_keys,
            &directory,
            &fixtures::referral(ASTRA)?,
        )?)
        .await?;
    fed.shutdown().await?;
    Ok(())
}

/// Waits until the broker serves directory `version`.
async fn wait_for_version(
    fed: &trm_dev::local::LocalFederation,
    version: u64,
) -> anyhow::Result<bool> {
    let client = fixtures::raw_client_as(fed, ASTRA).await?;
    trm_dev::wait::wait_for(WAIT, "the broker's refresh", || {
        let mut client = client.clone();
        async move {
            let signed = client
                .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
                .await?
                .into_inner();
            let decoded: pb::Directory = prost::Message::decode(signed.directory.as_slice())?;
            Ok(decoded.version >= version)
        }
    })
    .await?;
    Ok(true)
}

#[tokio::test]
async fn an_organisation_enrolled_from_its_own_keys_exchanges_after_the_next_refresh()
-> anyhow::Result<()> {
    const ATINA: &str = "atina@marri";
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(ASTRA).await?;

    // Atina makes its keys on its own machine; only the request travels.
    let keys = dir.path().join("atina-keys");
    let request = trm_authority::enrollment::generate_node_keys(
        &ATINA.parse()?,
        "Atina",
        "ngo",
        "RS",
        &keys,
    )?;
    let mut authority = Authority::open(&fed.federation.dir)?;
    authority.enroll(&request, 30)?;
    authority.agree(
        "MoU ATINA-ASTRA",
        [ATINA, ASTRA],
        &trm_proto::kinds::SENT_KINDS,
        30,
    )?;
    authority.publish(30)?;
    wait_for_version(&fed, 2).await?;

    let mut config = fed.node_config(ASTRA)?;
    config.address = ATINA.into();
    config.data_dir = fed.node_data_dir(ATINA);
    config.admin_socket = fed.node_socket(ATINA);
    config.tls_cert = fed.federation.dir.join("nodes").join(ATINA).join("tls.pem");
    config.tls_key = keys.join("tls.key");
    config.signing_key = keys.join("signing.key");
    config.age_key = keys.join("age.key");
    fed.start_node_with(ATINA, config).await?;
    let atina = fed.client(ATINA).await?;
    let sent = atina
        .clone()
        .send(fixtures::referral(ASTRA)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&atina, &sent.message_id, "delivered", WAIT).await?;

    // Astra finds the newcomer in the directory.
    let found = fed
        .client(ASTRA)
        .await?
        .search_directory(pb::DirectorySearchRequest {
            refresh: true,
            text: "atina".into(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let addresses: Vec<&str> = found.nodes.iter().map(|n| n.address.as_str()).collect();
    assert_eq!(addresses, [ATINA]);
    assert!(
        found
            .agreements
            .iter()
            .any(|a| a.reference == "MoU ATINA-ASTRA")
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn the_directory_search_finds_partners_by_country_text_and_service() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_node(LEFOE).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut search = async |query: pb::DirectorySearchRequest| -> anyhow::Result<Vec<String>> {
        let found = lefoe.search_directory(query).await?.into_inner();
        let mut addresses: Vec<String> = found.nodes.into_iter().map(|n| n.address).collect();
        addresses.sort();
        Ok(addresses)
    };
    let by_country = search(pb::DirectorySearchRequest {
        country: "RS".into(),
        ..Default::default()
    })
    .await?;
    assert_eq!(by_country, [ASTRA]);
    let by_text = search(pb::DirectorySearchRequest {
        text: "strada".into(),
        ..Default::default()
    })
    .await?;
    assert_eq!(by_text, [OPEN_GATE]);
    let by_service = search(pb::DirectorySearchRequest {
        service: "shelter".into(),
        country: "MK".into(),
        ..Default::default()
    })
    .await?;
    assert_eq!(by_service, [OPEN_GATE]);
    let nobody = search(pb::DirectorySearchRequest {
        service: "organ_removal_surgery".into(),
        ..Default::default()
    })
    .await?;
    assert!(nobody.is_empty());
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_broker_refuses_expired_forged_and_older_directories_with_clear_errors()
-> anyhow::Result<()> {
    use prost::Message;
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let state = fed.broker_state(BROKER)?;
    let path = fed.federation.dir.join("directory.pb");
    let authority = fed.federation.authority.clone();
    let mut next: pb::Directory =
        pb::Directory::decode(fed.federation.signed_directory.directory.as_slice())?;
    let now = trm_proto::time::now_ms();
    let write = |directory: &pb::Directory, key: &ed25519_dalek::SigningKey| {
        std::fs::write(
            &path,
            trm_proto::directory::sign(directory, key).encode_to_vec(),
        )
    };
    let refusal = |report: trm_broker::refresh::RefreshReport| {
        report
            .refused
            .into_iter()
            .map(|(_, e)| e.to_string())
            .collect::<Vec<_>>()
    };

    next.version = 3;
    next.expires_at_ms = now + 86_400_000;
    write(&next, &authority)?;
    assert_eq!(trm_broker::refresh::refresh(&state).await.version, 3);

    let mut expired = next.clone();
    expired.version = 4;
    expired.expires_at_ms = now - 1;
    write(&expired, &authority)?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 3);
    let refused = refusal(report);
    assert_eq!(refused.len(), 1);
    assert!(
        refused[0].starts_with("directory version 4 expired at "),
        "{refused:?}"
    );

    let mut forged = next.clone();
    forged.version = 5;
    write(&forged, &trm_proto::signing::generate_key())?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 3);
    assert_eq!(
        refusal(report),
        [
            "directory signature does not verify with the pinned federation authority key: signature does not verify"
        ]
    );

    let mut older = next.clone();
    older.version = 2;
    write(&older, &authority)?;
    let report = trm_broker::refresh::refresh(&state).await;
    assert_eq!(report.version, 3);
    assert_eq!(
        refusal(report),
        ["directory version 2 is older than version 3 in use"]
    );

    drop(state);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn once_the_directory_in_use_expires_nothing_is_sent_under_it() -> anyhow::Result<()> {
    use prost::Message;
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let mut short_lived: pb::Directory =
        pb::Directory::decode(fed.federation.signed_directory.directory.as_slice())?;
    let expires_at = trm_proto::time::now_ms() + 3_000;
    short_lived.version = 2;
    short_lived.expires_at_ms = expires_at;
    std::fs::write(
        fed.federation.dir.join("directory.pb"),
        trm_proto::directory::sign(&short_lived, &fed.federation.authority).encode_to_vec(),
    )?;
    fed.start_node(LEFOE).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    // Waiting for the wall clock to pass the expiry is what is tested, not a synchronisation.
    let remaining = expires_at.saturating_sub(trm_proto::time::now_ms()) + 50;
    tokio::time::sleep(Duration::from_millis(remaining)).await;
    let refused = lefoe
        .send(fixtures::referral(ASTRA)?)
        .await
        .expect_err("expired directory");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .starts_with("federation directory version 2 expired at "),
        "{refused:?}"
    );
    assert!(fixtures::log_entries(&mut lefoe).await?.is_empty());
    fed.shutdown().await?;
    Ok(())
}
