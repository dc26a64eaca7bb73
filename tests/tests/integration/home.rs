//! Each side checks for itself: a broker serves only the nodes homed on it, a receiving node
//! refuses what its broker should not have delivered (no sharing agreement, expired, dated in
//! the future), refreshes its directory from any broker of the federation, and receives
//! nothing under an expired directory.

use std::path::Path;
use std::time::Duration;

use prost::Message;
use tonic::Code;
use tonic::transport::Channel;
use trm_broker::BrokerState;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::broker_client::BrokerClient;
use trm_tests::{craft, fixtures, raw};

const WAIT: Duration = Duration::from_secs(30);

const RS: &str = "rs";
const AT: &str = "at";
/// Astra, Belgrade, homed on `rs`.
const ASTRA_RS: &str = "astra@rs";
/// LEFÖ-IBF, Vienna, homed on `at`.
const LEFOE_AT: &str = "lefoe-ibf@at";

/// Two brokers, `rs` and `at`, with one organisation each.
async fn two_brokers(root: &Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-home-test",
        &[(RS, "RS"), (AT, "AT")],
        &[
            (ASTRA_RS, "Astra", "ngo", "RS"),
            (LEFOE_AT, "LEFÖ-IBF", "ngo", "AT"),
        ],
    )
    .await
}

/// A raw broker client to broker `broker`, presenting node `address`'s listed certificate.
async fn client_at(
    fed: &LocalFederation,
    address: &str,
    broker: &str,
) -> anyhow::Result<BrokerClient<Channel>> {
    let node = fed
        .federation
        .node(address)
        .ok_or_else(|| anyhow::anyhow!("no node {address}"))?;
    Ok(raw::broker(
        raw::channel(
            fed.broker_addr(broker)?,
            broker,
            &fed.federation.ca_pem,
            Some((&node.cert_pem, &node.key_pem)),
        )
        .await?,
    ))
}

/// A genuine referral from `from` to `to`, sealed as the sending node would.
fn sealed(fed: &LocalFederation, from: &str, to: &str) -> anyhow::Result<pb::Envelope> {
    let directory = craft::directory(&fed.federation)?;
    craft::sealed(
        &craft::keys(&fed.federation, from)?,
        &directory,
        &fixtures::referral(to)?,
    )
}

/// The test referral's content.
fn referral_content(to: &str) -> anyhow::Result<pb::body::Content> {
    fixtures::referral(to)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("the test referral has no content"))
}

#[tokio::test]
async fn submit_and_deliver_from_a_node_homed_elsewhere_are_refused_and_nothing_is_queued()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = two_brokers(dir.path()).await?;
    fed.start_broker(AT).await?;
    let at = fed.broker_state(AT)?;
    let mut astra_at = client_at(&fed, ASTRA_RS, AT).await?;

    // Astra's genuine, listed certificate, at a broker that is not Astra's home.
    let refused = astra_at
        .submit(sealed(&fed, ASTRA_RS, LEFOE_AT)?)
        .await
        .expect_err("astra@rs is not homed on at");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(refused.message(), "astra@rs is homed on broker rs, not at");
    let refused = match astra_at.deliver(tokio_stream::empty()).await {
        Ok(_) => anyhow::bail!("a delivery stream opened at at for astra@rs"),
        Err(status) => status,
    };
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(refused.message(), "astra@rs is homed on broker rs, not at");

    // Nothing queued, relayed, signed or recorded.
    assert_eq!(at.store.queue_len(&LEFOE_AT.parse()?).await?, 0);
    assert_eq!(at.store.queue_len(&ASTRA_RS.parse()?).await?, 0);
    assert_eq!(at.store.outbox_len(&RS.parse()?).await?, 0);
    assert!(at.store.relay_log().await?.is_empty());

    // The directory is public within the federation: it stays open to Astra here.
    let signed = astra_at
        .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
        .await?
        .into_inner();
    assert_eq!(
        pb::Directory::decode(signed.directory.as_slice())?.version,
        1
    );

    // The same submission from a node homed on at is served.
    let mut lefoe_at = client_at(&fed, LEFOE_AT, AT).await?;
    lefoe_at.submit(sealed(&fed, LEFOE_AT, ASTRA_RS)?).await?;
    assert_eq!(at.store.outbox_len(&RS.parse()?).await?, 1);
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

/// Waits until `address`'s handover log holds `count` entries and answers them.
async fn wait_for_entries(
    fed: &LocalFederation,
    address: &str,
    count: usize,
) -> anyhow::Result<Vec<pb::LogEntryView>> {
    let client = fed.client(address).await?;
    trm_dev::wait::wait_for(WAIT, "the handover log to grow", || {
        let mut client = client.clone();
        async move { Ok(fixtures::log_entries(&mut client).await?.len() >= count) }
    })
    .await?;
    fixtures::log_entries(&mut client.clone()).await
}

/// The signed receipts queued on `state` for `sender`, verified with the directory.
async fn receipts_for(
    fed: &LocalFederation,
    state: &BrokerState,
    sender: &str,
) -> anyhow::Result<Vec<pb::Receipt>> {
    let directory = craft::directory(&fed.federation)?;
    let sender = sender.parse()?;
    let mut receipts = Vec::new();
    for item in state.store.pending(&sender, 0, 100).await? {
        if let Some(pb::delivery::Item::Receipt(signed)) = item.delivery.item {
            let claimed = trm_proto::receipt::peek(&signed)?;
            let signer = claimed.signer.parse()?;
            let node = directory
                .node(&signer)
                .ok_or_else(|| anyhow::anyhow!("signer not listed"))?;
            let verified = trm_proto::receipt::verify(&signed, &node.signing_keys_at(0))?;
            receipts.push(verified.receipt);
        }
    }
    Ok(receipts)
}

#[tokio::test]
async fn a_node_refuses_what_no_agreement_covers_even_when_its_broker_delivers_it()
-> anyhow::Result<()> {
    use fixtures::{ASTRA, LEFOE};
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation_with(dir.path(), |spec| {
        spec.agreements
            .retain(|a| !(a.parties.contains(&LEFOE.into()) && a.parties.contains(&ASTRA.into())));
    })
    .await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let state = fed.broker_state(fixtures::BROKER)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    // The broker would refuse it at submit; a broker that does not check delivers it.
    let envelope = craft::sealed(
        &keys,
        &craft::directory(&fed.federation)?,
        &fixtures::referral(ASTRA)?,
    )?;
    let mut submitter = fixtures::raw_client_as(&fed, LEFOE).await?;
    let refused = submitter
        .submit(envelope.clone())
        .await
        .expect_err("no agreement");
    assert_eq!(refused.code(), Code::PermissionDenied);
    trm_tests::inject::queue_unchecked(&fed, &state, envelope).await?;

    let entries = wait_for_entries(&fed, ASTRA, 1).await?;
    let reason = format!("no sharing agreement between {LEFOE} and {ASTRA}");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].event, "refused");
    assert_eq!(entries[0].reason, reason);
    let mut astra = fed.client(ASTRA).await?;
    assert!(
        fixtures::inbox_ids(&mut astra).await?.is_empty(),
        "nothing of it is kept"
    );

    // The refusal is Astra's signed REJECTED receipt, queued for the sender.
    trm_dev::wait::wait_for(WAIT, "the rejection to reach the sender's queue", || {
        let (fed, state) = (&fed, &state);
        async move { Ok(!receipts_for(fed, state, LEFOE).await?.is_empty()) }
    })
    .await?;
    let receipts = receipts_for(&fed, &state, LEFOE).await?;
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].kind, i32::from(pb::ReceiptKind::Rejected));
    assert_eq!(receipts[0].signer, ASTRA);
    // A code only in clear: the words go to the sender encrypted.
    assert_eq!(
        receipts[0].reason_code,
        i32::from(pb::RejectReason::NoAgreement)
    );
    assert!(receipts[0].reason.is_empty());
    drop(state);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_refuses_an_expired_or_future_dated_envelope_even_when_its_broker_delivers_it()
-> anyhow::Result<()> {
    use fixtures::{ASTRA, LEFOE};
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let state = fed.broker_state(fixtures::BROKER)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let now = trm_proto::time::now_ms();
    let hour = 3_600_000;

    let expired = craft::dated(
        &keys,
        &directory,
        &ASTRA.parse()?,
        (now - 2 * hour, now - hour),
        referral_content(ASTRA)?,
    )?;
    let mut submitter = fixtures::raw_client_as(&fed, LEFOE).await?;
    let refused = submitter
        .submit(expired.clone())
        .await
        .expect_err("expired");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    trm_tests::inject::queue_unchecked(&fed, &state, expired).await?;
    let entries = wait_for_entries(&fed, ASTRA, 1).await?;
    assert_eq!(
        entries[0].reason,
        format!(
            "envelope expired at {}",
            trm_proto::time::format_ms(now - hour)
        )
    );

    // Dated a day ahead: beyond any clock difference.
    let future = craft::dated(
        &keys,
        &directory,
        &ASTRA.parse()?,
        (now + 24 * hour, now + 25 * hour),
        referral_content(ASTRA)?,
    )?;
    trm_tests::inject::queue_unchecked(&fed, &state, future).await?;
    let entries = wait_for_entries(&fed, ASTRA, 2).await?;
    assert_eq!(
        entries[1].reason,
        format!(
            "envelope is dated {}, more than 300 s ahead of this node's clock",
            trm_proto::time::format_ms(now + 24 * hour)
        )
    );
    assert!(entries.iter().all(|e| e.event == "refused"));
    let mut astra = fed.client(ASTRA).await?;
    assert!(fixtures::inbox_ids(&mut astra).await?.is_empty());
    drop(state);
    fed.shutdown().await?;
    Ok(())
}

/// Writes `directory` signed by the federation authority to `path` and answers it verified.
fn publish(
    fed: &LocalFederation,
    directory: &pb::Directory,
    path: &Path,
) -> anyhow::Result<trm_proto::directory::Directory> {
    let signed = trm_proto::directory::sign(directory, &fed.federation.authority);
    std::fs::write(path, signed.encode_to_vec())?;
    Ok(trm_proto::directory::Directory::verify(
        signed,
        &fed.federation.authority.verifying_key(),
        &fed.federation.federation,
        trm_proto::time::now_ms(),
    )?)
}

#[tokio::test]
async fn a_node_whose_home_broker_serves_a_stale_directory_gets_the_newer_one_from_another()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = two_brokers(dir.path()).await?;
    let mut next = pb::Directory::decode(fed.federation.signed_directory.directory.as_slice())?;
    next.version = 2;
    let newer_file = dir.path().join("directory-v2.pb");
    let newer = publish(&fed, &next, &newer_file)?;

    // rs has version 2; at, LEFÖ-IBF's home, keeps serving version 1 (it does not refresh).
    let mut rs = fed.broker_config(RS)?;
    rs.directory = newer;
    rs.directory_file = newer_file;
    fed.start_broker_with(RS, rs).await?;
    let mut at = fed.broker_config(AT)?;
    at.directory_refresh = Duration::from_secs(3600);
    fed.start_broker_with(AT, at).await?;
    let mut config = fed.node_config(LEFOE_AT)?;
    config.directory_refresh_secs = 3600;
    fed.start_node_with(LEFOE_AT, config).await?;

    let mut lefoe = fed.client(LEFOE_AT).await?;
    let search = lefoe
        .search_directory(pb::DirectorySearchRequest {
            refresh: true,
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(search.refresh_problem, "");
    assert!(search.refreshed);
    assert_eq!(search.version, 2);
    assert_eq!(
        fed.broker_state(AT)?.directory.current().version(),
        1,
        "at is still stale"
    );
    let kept = std::fs::read(
        fed.node_data_dir(LEFOE_AT)
            .join(trm_node::refresh::ADOPTED_DIRECTORY),
    )?;
    let kept = pb::SignedDirectory::decode(kept.as_slice())?;
    assert_eq!(pb::Directory::decode(kept.directory.as_slice())?.version, 2);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_whose_directory_expired_receives_nothing_until_a_newer_one_is_adopted()
-> anyhow::Result<()> {
    use fixtures::{ASTRA, LEFOE};
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let path = fed.federation.dir.join("directory.pb");
    let mut short_lived =
        pb::Directory::decode(fed.federation.signed_directory.directory.as_slice())?;
    let expires_at = trm_proto::time::now_ms() + 4_000;
    short_lived.version = 2;
    short_lived.expires_at_ms = expires_at;
    publish(&fed, &short_lived, &path)?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let state = fed.broker_state(fixtures::BROKER)?;
    let mut astra = fed.client(ASTRA).await?;
    // Within the warning period (14 days by default): a warning, before anything stops.
    let search = astra
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    let expired_at = trm_proto::time::format_ms(expires_at);
    assert_eq!(
        search.expiry_warning,
        format!(
            "federation directory version 2 expires at {expired_at} (in less than an hour): no broker has offered a newer one yet; sending and receiving stop when it expires"
        )
    );
    // Waiting for the wall clock to pass the expiry is what is tested, not a synchronisation.
    let remaining = expires_at.saturating_sub(trm_proto::time::now_ms()) + 50;
    tokio::time::sleep(Duration::from_millis(remaining)).await;

    // A genuine referral, delivered by the broker after the directory expired.
    let envelope = sealed(&fed, LEFOE, ASTRA)?;
    trm_tests::inject::queue_unchecked(&fed, &state, envelope).await?;
    // Nothing is received: the delivery stays queued on the broker, unacknowledged.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let astra_addr = ASTRA.parse()?;
    assert_eq!(state.store.queue_len(&astra_addr).await?, 1);
    assert!(fixtures::log_entries(&mut astra).await?.is_empty());
    assert!(fixtures::inbox_ids(&mut astra).await?.is_empty());
    let search = astra
        .search_directory(pb::DirectorySearchRequest::default())
        .await?
        .into_inner();
    assert_eq!(
        search.expiry_warning,
        format!(
            "federation directory version 2 expired at {expired_at}: nothing is sent or received until a newer one is adopted; ask the federation authority to publish one"
        )
    );

    // Once a newer directory is published, the node adopts it and receives what waited.
    let mut renewed = short_lived.clone();
    renewed.version = 3;
    renewed.expires_at_ms = trm_proto::time::now_ms() + 86_400_000;
    publish(&fed, &renewed, &path)?;
    assert_eq!(trm_broker::refresh::refresh(&state).await.version, 3);
    fixtures::wait_for_inbox(&astra, 1, WAIT).await?;
    // The acknowledgement follows: the delivery leaves the broker's queue.
    trm_dev::wait::wait_for(WAIT, "the queue to drain", || {
        let (state, astra_addr) = (&state, &astra_addr);
        async move { Ok(state.store.queue_len(astra_addr).await? == 0) }
    })
    .await?;
    drop(state);
    fed.shutdown().await?;
    Ok(())
}
