//! Forged, tampered, re-bound and replayed envelopes: each refused with its own error, and
//! nothing of them stored or shown to the recipient.

use std::time::Duration;

use tonic::Code;
use trm_proto::pb;
use trm_proto::signing::{self, Purpose};
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE, OPEN_GATE};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn forged_signatures_and_tampered_ciphertext_are_refused_by_the_broker_and_never_stored()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;

    // The header signed by someone else's key (Astra's), claiming to be from LEFÖ-IBF.
    let mut forged = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
    let astra = craft::keys(&fed.federation, ASTRA)?;
    forged.signature = signing::sign(&astra.signing, Purpose::Envelope, &forged.header);
    let refused = client.submit(forged).await.expect_err("forged");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(
        refused.message(),
        format!("envelope signature by {LEFOE} does not verify: signature does not verify")
    );

    // A signature made for another purpose over the same bytes.
    let mut wrong_purpose = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
    wrong_purpose.signature = signing::sign(&keys.signing, Purpose::Body, &wrong_purpose.header);
    let refused = client
        .submit(wrong_purpose)
        .await
        .expect_err("wrong purpose");
    assert_eq!(refused.code(), Code::Unauthenticated);

    // One flipped bit of ciphertext under a genuine header signature.
    let mut tampered = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
    let middle = tampered.ciphertext.len() / 2;
    tampered.ciphertext[middle] ^= 0x01;
    let refused = client.submit(tampered).await.expect_err("tampered");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        refused.message(),
        "ciphertext does not match the hash in the signed header (tampered in transit?)"
    );

    // Nothing was stored: after a genuine referral is delivered, it is all Astra ever got.
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut sender = fed.client(LEFOE).await?;
    let sent = sender.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&sender, &sent.message_id, "delivered", WAIT).await?;
    let mut recipient = fed.client(ASTRA).await?;
    assert_eq!(
        fixtures::inbox_ids(&mut recipient).await?,
        [sent.message_id]
    );
    let entries = fixtures::log_entries(&mut recipient).await?;
    assert_eq!(
        entries.len(),
        1,
        "only the genuine referral is in Astra's log"
    );
    fed.shutdown().await?;
    Ok(())
}

/// A federation with the broker and Astra running, where LEFÖ-IBF submits the envelope `craft`
/// builds (from LEFÖ-IBF's keys, the directory and the test referral's content) straight to the
/// broker. Waits for Astra to refuse it; answers the federation, the broker's receipt for the
/// envelope, Astra's log and Astra's client, after checking that Astra kept nothing of it.
async fn refused_by_astra(
    dir: &std::path::Path,
    craft: impl FnOnce(
        &trm_node::keys::NodeKeys,
        &trm_proto::directory::Directory,
        pb::body::Content,
    ) -> anyhow::Result<pb::Envelope>,
) -> anyhow::Result<(
    trm_dev::local::LocalFederation,
    pb::Receipt,
    Vec<pb::LogEntryView>,
)> {
    let mut fed = fixtures::federation(dir).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let content = fixtures::referral(ASTRA)?
        .body
        .and_then(|b| b.content)
        .expect("content");
    let envelope = craft(
        &craft::keys(&fed.federation, LEFOE)?,
        &craft::directory(&fed.federation)?,
        content,
    )?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    let accepted = trm_proto::receipt::peek(&client.submit(envelope).await?.into_inner())?;
    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    assert!(
        fixtures::inbox_ids(&mut astra).await?.is_empty(),
        "refused content is not kept"
    );
    Ok((fed, accepted, entries))
}

#[tokio::test]
async fn a_body_bound_to_another_envelope_is_refused_by_the_recipient_with_a_signed_rejection()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A body LEFÖ-IBF signed for Open Gate, delivered to Astra in an envelope addressed to Astra.
    let (mut fed, accepted, entries) = refused_by_astra(dir.path(), |keys, directory, content| {
        craft::misbound(
            keys,
            directory,
            &ASTRA.parse()?,
            &OPEN_GATE.parse()?,
            content,
        )
    })
    .await?;
    let refusal = &entries[0];
    assert_eq!(refusal.message_id, accepted.message_id);
    assert_eq!(refusal.counterparty, LEFOE);
    assert_eq!(
        refusal.reason,
        format!("signed body's to is {OPEN_GATE:?} but the envelope header says {ASTRA:?}")
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_name_in_place_of_a_case_reference_is_refused_and_not_echoed() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut fed, _, entries) = refused_by_astra(dir.path(), |keys, directory, content| {
        craft::with_case_ref(keys, directory, &ASTRA.parse()?, "Jelena Markovic", content)
    })
    .await?;
    assert!(
        entries[0]
            .reason
            .contains("case_ref is not a pseudonymous case reference")
    );
    assert!(
        !entries
            .iter()
            .any(|e| e.reason.contains("Jelena") || e.case_ref.contains("Jelena"))
    );
    fed.shutdown().await?;
    assert!(!trm_dev::wait::tree_contains(
        &fed.node_data_dir(ASTRA),
        b"Jelena"
    )?);
    Ok(())
}

#[tokio::test]
async fn content_from_code_lists_the_recipient_does_not_know_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (mut fed, _, entries) = refused_by_astra(dir.path(), |keys, directory, content| {
        craft::with_code_lists(
            keys,
            directory,
            &ASTRA.parse()?,
            "trm-codes-2099.1",
            content,
        )
    })
    .await?;
    assert_eq!(
        entries[0].reason,
        format!(
            "content uses code lists \"trm-codes-2099.1\"; this node reads {}",
            trm_proto::CODE_LISTS_VERSION
        )
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_resubmitted_envelope_is_delivered_once_and_gets_the_identical_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let envelope = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    let first = client.submit(envelope.clone()).await?.into_inner();
    let second = client.submit(envelope.clone()).await?.into_inner();
    assert_eq!(
        first, second,
        "the duplicate gets the original signed receipt, byte for byte"
    );

    // Reusing the id for different content is refused.
    let mut reused = envelope.clone();
    let mut header = trm_proto::envelope::Header::decode(&reused.header)?;
    header.created_at_ms += 1;
    reused.header = prost::Message::encode_to_vec(&header.to_pb());
    reused.signature = signing::sign(&keys.signing, Purpose::Envelope, &reused.header);
    let refused = client.submit(reused).await.expect_err("id reuse");
    assert_eq!(refused.code(), Code::AlreadyExists);

    fed.start_node(ASTRA).await?;
    let mut astra = fed.client(ASTRA).await?;
    let id = trm_proto::receipt::peek(&first)?.message_id;
    fixtures::wait_for_inbox(&astra, 1, WAIT).await?;
    // A third submission after delivery is still recognised, and nothing is delivered again.
    let third = client.submit(envelope).await?.into_inner();
    assert_eq!(third, first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fixtures::inbox_ids(&mut astra).await?, [id]);
    let entries = fixtures::log_entries(&mut astra).await?;
    assert_eq!(entries.len(), 1);
    fed.shutdown().await?;
    Ok(())
}
