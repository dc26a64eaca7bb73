//! Who may talk to a broker, and what happens to bytes that are not an envelope.

use std::time::Duration;

use tonic::Code;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};
use trm_tests::{craft, raw};

#[tokio::test]
async fn clients_without_a_directory_listed_certificate_are_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let addr = fed.broker_addr(BROKER)?;
    let ca = fed.federation.ca_pem.clone();
    let request = pb::FetchDirectoryRequest { known_version: 0 };

    // No client certificate: the TLS handshake fails, which shows on the first call.
    let anonymous = raw::broker(raw::channel(addr, BROKER, &ca, None).await?);
    let refused = anonymous
        .clone()
        .fetch_directory(request)
        .await
        .expect_err("anonymous");
    assert!(
        matches!(refused.code(), Code::Unavailable | Code::Unknown),
        "{refused:?}"
    );

    // A certificate from another CA: refused in the handshake too.
    let other_dir = tempfile::tempdir()?;
    let other = trm_dev::generate(&fixtures::federation_spec_for_other_ca(), other_dir.path())?;
    let stranger = other.node(LEFOE).expect("node in other federation");
    let foreign = raw::broker(
        raw::channel(
            addr,
            BROKER,
            &ca,
            Some((&stranger.cert_pem, &stranger.key_pem)),
        )
        .await?,
    );
    let refused = foreign
        .clone()
        .fetch_directory(request)
        .await
        .expect_err("foreign CA");
    assert!(
        matches!(refused.code(), Code::Unavailable | Code::Unknown),
        "{refused:?}"
    );

    // Signed by the right CA but not the certificate the directory lists: refused by the broker
    // during the handshake.
    let (cert, key) = trm_authority::issue_node_certificate(&fed.federation.dir, &LEFOE.parse()?)?;
    let impostor = raw::broker(raw::channel(addr, BROKER, &ca, Some((&cert, &key))).await?);
    let refused = impostor
        .clone()
        .fetch_directory(request)
        .await
        .expect_err("unlisted");
    assert!(raw::refused_at_handshake(&refused), "{refused:?}");

    // The listed certificate works.
    let lefoe = fed.federation.node(LEFOE).expect("lefoe");
    let listed = raw::broker(
        raw::channel(addr, BROKER, &ca, Some((&lefoe.cert_pem, &lefoe.key_pem))).await?,
    );
    let directory = listed.clone().fetch_directory(request).await?.into_inner();
    assert_eq!(directory, fed.federation.signed_directory);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_cannot_submit_in_another_nodes_name() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let directory = craft::directory(&fed.federation)?;
    // Astra's genuinely signed envelope, submitted over LEFÖ-IBF's TLS identity.
    let astra_keys = craft::keys(&fed.federation, ASTRA)?;
    let envelope = craft::sealed(&astra_keys, &directory, &fixtures::referral(LEFOE)?)?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    let refused = client.submit(envelope).await.expect_err("impersonation");
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(
        refused.message(),
        format!("TLS peer {LEFOE} may not submit envelopes from {ASTRA}")
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn malformed_and_oversized_submissions_get_clear_errors_and_the_broker_carries_on()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let mut config = fed.broker_config(BROKER)?;
    config.max_envelope_bytes = 64 * 1024;
    fed.start_broker_with(BROKER, config).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let lefoe = fed.federation.node(LEFOE).expect("lefoe");
    let channel = raw::channel(
        fed.broker_addr(BROKER)?,
        BROKER,
        &fed.federation.ca_pem,
        Some((&lefoe.cert_pem, &lefoe.key_pem)),
    )
    .await?;

    // Bytes that are not protobuf at all.
    let refused = raw::submit_bytes(channel.clone(), vec![0xff; 64])
        .await
        .expect_err("garbage");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("decode"), "{refused:?}");

    // Valid protobuf whose header bytes are not a header.
    let mut client = raw::broker(channel.clone());
    let refused = client
        .submit(pb::Envelope {
            header: vec![0xff, 0x01],
            ciphertext: vec![1],
            signature: vec![2],
        })
        .await
        .expect_err("bad header");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().starts_with("malformed envelope header"),
        "{refused:?}"
    );

    // Just over the configured limit: the broker's own precise error.
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let mut big = fixtures::referral(ASTRA)?;
    if let Some(pb::body::Content::Referral(r)) = big.body.as_mut().and_then(|b| b.content.as_mut())
    {
        r.attachments.push(pb::Attachment {
            file_name: "scan.pdf".into(),
            media_type: "application/pdf".into(),
            content: vec![7; 80 * 1024],
            ..Default::default()
        });
    }
    let envelope = craft::sealed(&keys, &directory, &big)?;
    let refused = client.submit(envelope).await.expect_err("oversized");
    assert_eq!(refused.code(), Code::OutOfRange);
    assert!(
        refused.message().contains("the limit is 65536"),
        "{refused:?}"
    );

    // Far over the limit: refused by the transport before it is even decoded.
    let refused = raw::submit_bytes(channel, vec![0; 1024 * 1024])
        .await
        .expect_err("huge");
    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");

    // None of that disturbed the broker: a real referral still goes through.
    let mut sender = fed.client(LEFOE).await?;
    let sent = sender.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(
        &sender,
        &sent.message_id,
        "delivered",
        Duration::from_secs(30),
    )
    .await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_envelope_above_the_recipients_limit_is_refused_without_wedging_its_queue()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    // Astra accepts less than its broker carries.
    let mut astra_config = fed.node_config(ASTRA)?;
    astra_config.max_envelope_bytes = 64 * 1024;
    fed.start_node_with(ASTRA, astra_config).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let mut big = fixtures::referral(ASTRA)?;
    if let Some(pb::body::Content::Referral(r)) = big.body.as_mut().and_then(|b| b.content.as_mut())
    {
        r.attachments.push(pb::Attachment {
            file_name: "scan.pdf".into(),
            media_type: "application/pdf".into(),
            content: vec![7; 200 * 1024],
            ..Default::default()
        });
    }
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    client
        .submit(craft::sealed(&keys, &directory, &big)?)
        .await?;
    let small = craft::sealed(&keys, &directory, &fixtures::referral(ASTRA)?)?;
    let small_id = trm_proto::envelope::Header::decode(&small.header)?
        .message_id
        .to_string();
    client.submit(small).await?;

    // The large one is refused with a signed reason; the one behind it still arrives.
    let astra = fed.client(ASTRA).await?;
    fixtures::wait_for_inbox(&astra, 1, Duration::from_secs(30)).await?;
    assert_eq!(fixtures::inbox_ids(&mut astra.clone()).await?, [small_id]);
    let entries = fixtures::log_entries(&mut astra.clone()).await?;
    let refusal = entries
        .iter()
        .find(|e| e.event == "refused")
        .expect("a refusal");
    assert!(
        refusal.reason.contains("the limit is 65536"),
        "{}",
        refusal.reason
    );
    fed.shutdown().await?;
    Ok(())
}
