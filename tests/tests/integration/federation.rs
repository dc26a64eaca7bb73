//! Broker-to-broker federation: three brokers (mk, rs, at) with two organisations each. A
//! referral crosses brokers with a signed receipt for every step, survives the recipient's
//! broker being down (delivered once, in order, and the backoff resets), and what a peer
//! broker may relay is checked as strictly as what a node may submit.

use std::path::Path;
use std::time::{Duration, Instant};

use tonic::Code;
use tonic::transport::Channel;
use trm_dev::local::{LocalFederation, TEST_RELAY_BACKOFF_INITIAL_MS};
use trm_proto::pb;
use trm_proto::pb::broker_peer_client::BrokerPeerClient;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::receipt;
use trm_tests::{craft, fixtures, raw};

const WAIT: Duration = Duration::from_secs(30);

const MK: &str = "mk";
const RS: &str = "rs";
const AT: &str = "at";
/// Open Gate/La Strada, Skopje.
const OPEN_GATE: &str = "open-gate@mk";
/// The ministry's anti-trafficking unit, Skopje.
const MOIA: &str = "moia-thb@mk";
/// Astra, Belgrade.
const ASTRA: &str = "astra@rs";
/// Atina, Belgrade.
const ATINA: &str = "atina@rs";
/// LEFÖ-IBF, Vienna.
const LEFOE: &str = "lefoe-ibf@at";
/// The federal anti-trafficking office, Vienna.
const BMI: &str = "bmi-thb@at";

/// Generates the three-broker federation under `root`, `adjust` applied to its spec first.
async fn federation_with(
    root: &Path,
    adjust: impl FnOnce(&mut trm_dev::FederationSpec),
) -> anyhow::Result<LocalFederation> {
    LocalFederation::create_with(
        root,
        "trm-federation-test",
        &[(MK, "MK"), (RS, "RS"), (AT, "AT")],
        &[
            (OPEN_GATE, "Open Gate/La Strada", "ngo", "MK"),
            (MOIA, "Ministry of Interior, THB unit", "police", "MK"),
            (ASTRA, "Astra", "ngo", "RS"),
            (ATINA, "Atina", "ngo", "RS"),
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
            (BMI, "BMI, THB office", "police", "AT"),
        ],
        adjust,
    )
    .await
}

async fn federation(root: &Path) -> anyhow::Result<LocalFederation> {
    federation_with(root, |_| {}).await
}

/// A `BrokerPeer` client to broker `to`, presenting the certificate `identity` (PEM pair).
async fn peer_client(
    fed: &LocalFederation,
    to: &str,
    identity: (&str, &str),
) -> anyhow::Result<BrokerPeerClient<Channel>> {
    Ok(raw::peer(
        raw::channel(
            fed.broker_addr(to)?,
            to,
            &fed.federation.ca_pem,
            Some(identity),
        )
        .await?,
    ))
}

/// A `BrokerPeer` client to broker `to` with broker `from`'s own listed certificate.
async fn as_broker(
    fed: &LocalFederation,
    from: &str,
    to: &str,
) -> anyhow::Result<BrokerPeerClient<Channel>> {
    let material = fed
        .federation
        .broker(from)
        .ok_or_else(|| anyhow::anyhow!("no broker {from}"))?;
    peer_client(fed, to, (&material.cert_pem, &material.key_pem)).await
}

/// A genuinely sealed and signed referral from `from` to `to`.
fn sealed(fed: &LocalFederation, from: &str, to: &str) -> anyhow::Result<pb::Envelope> {
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, from)?;
    craft::sealed(&keys, &directory, &fixtures::referral(to)?)
}

fn envelope_item(envelope: &pb::Envelope) -> pb::RelayItem {
    pb::RelayItem {
        item: Some(pb::relay_item::Item::Envelope(envelope.clone())),
    }
}

/// The ids of the messages `client`'s handover log records as received, in log order.
async fn received_in_log(client: &mut NodeAdminClient<Channel>) -> anyhow::Result<Vec<String>> {
    Ok(client
        .log(pb::LogRequest {
            from_index: 0,
            limit: 1000,
        })
        .await?
        .into_inner()
        .entries
        .into_iter()
        .filter(|e| e.event == "received")
        .map(|e| e.message_id)
        .collect())
}

/// The relay-log events broker `name` recorded for message `id`, oldest first.
async fn relay_events(fed: &LocalFederation, name: &str, id: &str) -> anyhow::Result<Vec<String>> {
    events_in(fed.broker_state(name)?.as_ref(), id).await
}

async fn events_in(state: &trm_broker::BrokerState, id: &str) -> anyhow::Result<Vec<String>> {
    Ok(state
        .store
        .relay_log()
        .await?
        .into_iter()
        .filter(|r| r.message_id == id)
        .map(|r| r.event)
        .collect())
}

#[tokio::test]
async fn a_referral_crosses_brokers_with_a_signed_receipt_for_every_step() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    for broker in [MK, RS, AT] {
        fed.start_broker(broker).await?;
    }
    fed.start_node(OPEN_GATE).await?;
    fed.start_node(LEFOE).await?;
    let mut open_gate = fed.client(OPEN_GATE).await?;
    let mut lefoe = fed.client(LEFOE).await?;

    let sent = open_gate
        .send(fixtures::referral(LEFOE)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&open_gate, &sent.message_id, "delivered", WAIT).await?;

    let status = open_gate
        .status(pb::StatusRequest {
            message_id: sent.message_id.clone(),
        })
        .await?
        .into_inner();
    let steps: Vec<&str> = status.evidence.iter().map(|e| e.step.as_str()).collect();
    assert_eq!(steps, ["submitted", "accepted", "relayed", "delivered"]);
    assert!(!status.queued);

    // Each step after submission is attested by a receipt that verifies with its signer's
    // directory key and describes exactly this envelope.
    let directory = craft::directory(&fed.federation)?;
    let broker_key = |name: &str| -> anyhow::Result<_> {
        Ok(directory
            .broker(&name.parse()?)
            .ok_or_else(|| anyhow::anyhow!("no broker {name}"))?
            .signing_key)
    };
    let lefoe_key = directory
        .node(&LEFOE.parse()?)
        .ok_or_else(|| anyhow::anyhow!("no {LEFOE}"))?
        .signing_key;
    let expected = [
        (pb::ReceiptKind::Accepted, MK, broker_key(MK)?),
        (pb::ReceiptKind::Relayed, AT, broker_key(AT)?),
        (pb::ReceiptKind::Delivered, LEFOE, lefoe_key),
    ];
    for (evidence, (kind, signer, key)) in status.evidence[1..].iter().zip(expected) {
        let signed = evidence
            .receipt
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("step {} has no receipt", evidence.step))?;
        let verified = receipt::verify(signed, &[key])?;
        assert_eq!(verified.kind(), kind);
        assert_eq!(verified.receipt.signer, signer);
        assert_eq!(evidence.attested_by, signer);
        assert_eq!(verified.receipt.message_id, sent.message_id);
        assert_eq!(verified.receipt.from, OPEN_GATE);
        assert_eq!(verified.receipt.to, LEFOE);
        assert_eq!(verified.receipt.envelope_digest, sent.envelope_digest);
    }

    assert_eq!(
        received_in_log(&mut lefoe).await?,
        std::slice::from_ref(&sent.message_id)
    );
    // Both brokers' relay logs tell the story from their side; the bystander rs saw nothing.
    assert_eq!(
        relay_events(&fed, MK, &sent.message_id).await?,
        ["accepted", "relayed", "receipt_routed"]
    );
    assert_eq!(
        relay_events(&fed, AT, &sent.message_id).await?,
        ["received_from_peer", "delivered", "receipt_relayed"]
    );
    assert!(relay_events(&fed, RS, &sent.message_id).await?.is_empty());
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn while_the_recipients_broker_is_down_referrals_wait_then_arrive_once_in_order()
-> anyhow::Result<()> {
    const HELD: usize = 5;
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    for broker in [MK, RS, AT] {
        fed.start_broker(broker).await?;
    }
    fed.start_node(OPEN_GATE).await?;
    fed.start_node(LEFOE).await?;
    let open_gate = fed.client(OPEN_GATE).await?;
    let at: trm_proto::addr::BrokerName = AT.parse()?;

    let first = open_gate
        .clone()
        .send(fixtures::referral(LEFOE)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&open_gate, &first.message_id, "delivered", WAIT).await?;

    fed.stop_broker(AT).await?;
    let mut held = Vec::new();
    for _ in 0..HELD {
        let sent = open_gate
            .clone()
            .send(fixtures::referral(LEFOE)?)
            .await?
            .into_inner();
        fixtures::wait_for_step(&open_gate, &sent.message_id, "accepted", WAIT).await?;
        held.push(sent.message_id);
    }
    // mk keeps trying: several backoff steps go by while at is down.
    let mk = fed.broker_state(MK)?;
    trm_dev::wait::wait_for(WAIT, "several failed relay attempts", || {
        let failures = mk.relay_status(&at).map_or(0, |s| s.failures);
        async move { Ok(failures >= 4) }
    })
    .await?;
    let down = mk
        .relay_status(&at)
        .ok_or_else(|| anyhow::anyhow!("no relay to at"))?;
    assert!(
        down.ceiling > Duration::from_millis(TEST_RELAY_BACKOFF_INITIAL_MS),
        "{down:?}"
    );
    assert!(down.last_error.is_some(), "{down:?}");
    assert_eq!(mk.store.outbox_len(&at).await?, HELD);
    for id in &held {
        assert_eq!(
            fixtures::steps(&mut open_gate.clone(), id).await?,
            ["submitted", "accepted"]
        );
    }

    // at comes back on the same port; its first call to mk tells mk to retry at once.
    fed.start_broker(AT).await?;
    for id in &held {
        fixtures::wait_for_step(&open_gate, id, "delivered", WAIT).await?;
    }
    let mut lefoe = fed.client(LEFOE).await?;
    let mut expected = vec![first.message_id.clone()];
    expected.extend(held.iter().cloned());
    assert_eq!(
        received_in_log(&mut lefoe).await?,
        expected,
        "each referral received exactly once, in the order sent"
    );
    for id in &held {
        assert_eq!(
            fixtures::steps(&mut open_gate.clone(), id).await?,
            ["submitted", "accepted", "relayed", "delivered"]
        );
    }
    assert_eq!(mk.store.outbox_len(&at).await?, 0);

    // The backoff is back at its start: at contacted mk, and relaying succeeded.
    let up = mk
        .relay_status(&at)
        .ok_or_else(|| anyhow::anyhow!("no relay to at"))?;
    assert_eq!(up.failures, 0, "{up:?}");
    assert_eq!(
        up.ceiling,
        Duration::from_millis(TEST_RELAY_BACKOFF_INITIAL_MS)
    );
    assert!(up.contacts >= 1, "at never called mk: {up:?}");
    assert_eq!(up.last_error, None);
    // A further referral is relayed at once, with no backoff left to wait out.
    let started = Instant::now();
    let after = open_gate
        .clone()
        .send(fixtures::referral(LEFOE)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&open_gate, &after.message_id, "relayed", WAIT).await?;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "relayed after {:?}",
        started.elapsed()
    );
    drop(mk);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_message_for_an_unknown_broker_or_node_is_refused_at_submit_and_nothing_is_queued()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(MK).await?;
    let keys = craft::keys(&fed.federation, OPEN_GATE)?;
    let genuine = sealed(&fed, OPEN_GATE, LEFOE)?;
    let node = fed
        .federation
        .node(OPEN_GATE)
        .ok_or_else(|| anyhow::anyhow!("no {OPEN_GATE}"))?;
    let mut client = raw::broker(
        raw::channel(
            fed.broker_addr(MK)?,
            MK,
            &fed.federation.ca_pem,
            Some((&node.cert_pem, &node.key_pem)),
        )
        .await?,
    );

    let refused = client
        .submit(craft::readdressed(&keys, &genuine, "la-strada@de")?)
        .await
        .expect_err("unknown broker");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert_eq!(
        refused.message(),
        "recipient la-strada@de is homed on broker de, which is not in the federation directory"
    );
    let refused = client
        .submit(craft::readdressed(&keys, &genuine, "nobody@at")?)
        .await
        .expect_err("unknown node");
    assert_eq!(refused.code(), Code::NotFound, "{refused:?}");
    assert_eq!(
        refused.message(),
        "recipient nobody@at is not in the federation directory"
    );

    let mk = fed.broker_state(MK)?;
    for broker in ["de", AT, RS] {
        assert_eq!(
            mk.store.outbox_len(&broker.parse()?).await?,
            0,
            "outbox for {broker}"
        );
    }
    assert!(
        mk.store.relay_log().await?.is_empty(),
        "nothing was accepted"
    );
    drop(mk);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn only_directory_listed_broker_certificates_may_relay() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(AT).await?;
    let batch = pb::RelayBatch {
        items: vec![envelope_item(&sealed(&fed, OPEN_GATE, LEFOE)?)],
        directory_version: 1,
    };

    // Signed by the federation CA, but not the certificate the directory lists for anyone.
    let (cert, key) =
        trm_authority::issue_node_certificate(&fed.federation.dir, &OPEN_GATE.parse()?)?;
    let refused = peer_client(&fed, AT, (&cert, &key))
        .await?
        .relay(batch.clone())
        .await
        .expect_err("unlisted certificate");
    assert!(raw::refused_at_handshake(&refused), "{refused:?}");

    // A node's own listed certificate does not make it a broker.
    let node = fed
        .federation
        .node(OPEN_GATE)
        .ok_or_else(|| anyhow::anyhow!("no {OPEN_GATE}"))?;
    let refused = peer_client(&fed, AT, (&node.cert_pem, &node.key_pem))
        .await?
        .relay(batch.clone())
        .await
        .expect_err("node certificate");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(
        refused.message(),
        "node open-gate@mk may not act as a broker"
    );

    // Neither stored anything; mk's listed certificate is accepted.
    let at = fed.broker_state(AT)?;
    assert_eq!(at.store.queue_len(&LEFOE.parse()?).await?, 0);
    let result = as_broker(&fed, MK, AT)
        .await?
        .relay(batch)
        .await?
        .into_inner();
    assert!(matches!(
        result.outcomes.as_slice(),
        [pb::RelayOutcome {
            outcome: Some(pb::relay_outcome::Outcome::Relayed(_))
        }]
    ));
    assert_eq!(at.store.queue_len(&LEFOE.parse()?).await?, 1);
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn without_a_sharing_agreement_a_relayed_envelope_is_refused_and_so_is_the_submission()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation_with(dir.path(), |spec| {
        spec.agreements.retain(|a| {
            !(a.parties.contains(&OPEN_GATE.into()) && a.parties.contains(&LEFOE.into()))
        });
    })
    .await?;
    fed.start_broker(MK).await?;
    fed.start_broker(AT).await?;
    let no_agreement = format!("no sharing agreement between {OPEN_GATE} and {LEFOE}");

    // Forced through at by a raw peer client with mk's certificate, beside an envelope that is
    // covered: each item gets its own outcome.
    let forced = sealed(&fed, OPEN_GATE, LEFOE)?;
    let covered = sealed(&fed, MOIA, LEFOE)?;
    let result = as_broker(&fed, MK, AT)
        .await?
        .relay(pb::RelayBatch {
            items: vec![envelope_item(&forced), envelope_item(&covered)],
            directory_version: 1,
        })
        .await?
        .into_inner();
    let [refused, relayed] = result.outcomes.as_slice() else {
        panic!("two outcomes expected: {result:?}");
    };
    let Some(pb::relay_outcome::Outcome::Refused(refused)) = &refused.outcome else {
        panic!("not refused: {refused:?}");
    };
    assert_eq!(refused.code, Code::PermissionDenied as i32);
    assert_eq!(refused.reason, no_agreement);
    assert!(matches!(
        relayed.outcome,
        Some(pb::relay_outcome::Outcome::Relayed(_))
    ));
    let at = fed.broker_state(AT)?;
    assert_eq!(
        at.store.queue_len(&LEFOE.parse()?).await?,
        1,
        "only the covered envelope is queued"
    );

    // The origin broker refuses the same envelope from the header alone.
    let node = fed
        .federation
        .node(OPEN_GATE)
        .ok_or_else(|| anyhow::anyhow!("no {OPEN_GATE}"))?;
    let refused = raw::broker(
        raw::channel(
            fed.broker_addr(MK)?,
            MK,
            &fed.federation.ca_pem,
            Some((&node.cert_pem, &node.key_pem)),
        )
        .await?,
    )
    .submit(forced)
    .await
    .expect_err("no agreement");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert_eq!(refused.message(), no_agreement);
    assert_eq!(
        fed.broker_state(MK)?.store.outbox_len(&AT.parse()?).await?,
        0
    );
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_envelope_relayed_twice_is_stored_once_and_gets_the_identical_relayed_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(AT).await?;
    let envelope = sealed(&fed, OPEN_GATE, LEFOE)?;
    let mut mk = as_broker(&fed, MK, AT).await?;
    let batch = pb::RelayBatch {
        items: vec![envelope_item(&envelope)],
        directory_version: 1,
    };
    let relayed = |result: pb::RelayResult| -> anyhow::Result<pb::SignedReceipt> {
        match result.outcomes.as_slice() {
            [
                pb::RelayOutcome {
                    outcome: Some(pb::relay_outcome::Outcome::Relayed(receipt)),
                },
            ] => Ok(receipt.clone()),
            other => anyhow::bail!("not relayed: {other:?}"),
        }
    };
    let first = relayed(mk.relay(batch.clone()).await?.into_inner())?;
    let second = relayed(mk.relay(batch).await?.into_inner())?;
    assert_eq!(first, second, "the original RELAYED receipt, byte for byte");
    let at_key = craft::directory(&fed.federation)?
        .broker(&AT.parse()?)
        .ok_or_else(|| anyhow::anyhow!("no broker at"))?
        .signing_key;
    let verified = receipt::verify(&first, &[at_key])?;
    assert_eq!(verified.kind(), pb::ReceiptKind::Relayed);
    assert_eq!(verified.receipt.signer, AT);
    assert_eq!(
        verified.receipt.envelope_digest,
        trm_proto::envelope::digest(&envelope.header)
    );

    let at = fed.broker_state(AT)?;
    let lefoe_addr = LEFOE.parse()?;
    assert_eq!(at.store.queue_len(&lefoe_addr).await?, 1, "stored once");
    fed.start_node(LEFOE).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    trm_dev::wait::wait_for(WAIT, "delivery and acknowledgement", || {
        let (at, lefoe_addr) = (at.clone(), lefoe_addr.clone());
        let mut lefoe = lefoe.clone();
        async move {
            let queued = at.store.queue_len(&lefoe_addr).await?;
            Ok(queued == 0 && !fixtures::inbox_ids(&mut lefoe).await?.is_empty())
        }
    })
    .await?;
    let id = &verified.receipt.message_id;
    assert_eq!(received_in_log(&mut lefoe).await?, std::slice::from_ref(id));
    assert_eq!(
        relay_events(&fed, AT, id).await?,
        ["received_from_peer", "delivered"],
        "one reception; the DELIVERED receipt waits in the outbox for mk, which is down"
    );
    assert_eq!(at.store.outbox_len(&MK.parse()?).await?, 1);
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_revocation_reaches_a_broker_through_its_peer_and_takes_effect_at_once()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    // at reads a copy of version 1 that nobody updates: it can learn of version 2 only from mk.
    let stale_copy = dir.path().join("at-directory.pb");
    std::fs::copy(fed.federation.dir.join("directory.pb"), &stale_copy)?;
    let mut at_config = fed.broker_config(AT)?;
    at_config.directory_file = stale_copy;
    fed.start_broker(MK).await?;
    fed.start_broker_with(AT, at_config).await?;
    let batch = pb::RelayBatch {
        items: Vec::new(),
        directory_version: 1,
    };
    as_broker(&fed, RS, AT).await?.relay(batch.clone()).await?;

    // The authority revokes broker rs (and its nodes) and publishes version 2.
    let mut authority = trm_authority::Authority::open(&fed.federation.dir)?;
    authority.revoke(RS)?;
    authority.publish(30)?;
    let (mk, at) = (fed.broker_state(MK)?, fed.broker_state(AT)?);
    mk.refresh_now.notify_one();
    trm_dev::wait::wait_for(WAIT, "mk adopting version 2 from its file", || {
        let version = mk.directory.current().version();
        async move { Ok(version == 2) }
    })
    .await?;
    at.refresh_now.notify_one();
    trm_dev::wait::wait_for(WAIT, "at adopting version 2 from mk", || {
        let version = at.directory.current().version();
        async move { Ok(version == 2) }
    })
    .await?;
    assert!(at.directory.current().node(&ASTRA.parse()?).is_none());

    let refused = as_broker(&fed, RS, AT)
        .await?
        .relay(batch)
        .await
        .expect_err("revoked broker");
    assert!(raw::refused_at_handshake(&refused), "{refused:?}");
    drop((mk, at));
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_envelope_the_peer_refuses_for_good_leaves_the_outbox_and_the_sender_is_told()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    // mk keeps version 1, where Open Gate and LEFÖ-IBF have an agreement, and does not refresh;
    // at reads version 2, where the authority has terminated it.
    let mk_copy = dir.path().join("mk-directory.pb");
    std::fs::copy(fed.federation.dir.join("directory.pb"), &mk_copy)?;
    let mut mk_config = fed.broker_config(MK)?;
    mk_config.directory_file = mk_copy;
    mk_config.directory_refresh = Duration::from_secs(3600);
    let mut authority = trm_authority::Authority::open(&fed.federation.dir)?;
    let reference = format!("MoU {OPEN_GATE} {LEFOE}");
    authority.terminate(&reference)?;
    authority.publish(30)?;
    fed.start_broker(AT).await?;
    fed.start_broker_with(MK, mk_config).await?;
    let mk = fed.broker_state(MK)?;
    let at = fed.broker_state(AT)?;
    assert_eq!(mk.directory.current().version(), 1);
    assert_eq!(at.directory.current().version(), 2);

    // mk accepts both (its directory allows them); at will refuse the first for good.
    let open_gate = fed
        .federation
        .node(OPEN_GATE)
        .ok_or_else(|| anyhow::anyhow!("no {OPEN_GATE}"))?;
    let refused_envelope = sealed(&fed, OPEN_GATE, LEFOE)?;
    let accepted = raw::broker(
        raw::channel(
            fed.broker_addr(MK)?,
            MK,
            &fed.federation.ca_pem,
            Some((&open_gate.cert_pem, &open_gate.key_pem)),
        )
        .await?,
    )
    .submit(refused_envelope)
    .await?
    .into_inner();
    let refused_id = receipt::peek(&accepted)?.message_id;
    let moia = fed
        .federation
        .node(MOIA)
        .ok_or_else(|| anyhow::anyhow!("no {MOIA}"))?;
    raw::broker(
        raw::channel(
            fed.broker_addr(MK)?,
            MK,
            &fed.federation.ca_pem,
            Some((&moia.cert_pem, &moia.key_pem)),
        )
        .await?,
    )
    .submit(sealed(&fed, MOIA, LEFOE)?)
    .await?;

    let at_name: trm_proto::addr::BrokerName = AT.parse()?;
    let lefoe_addr: trm_proto::addr::NodeAddr = LEFOE.parse()?;
    trm_dev::wait::wait_for(WAIT, "mk's outbox for at to drain", || {
        let (mk, at) = (mk.clone(), at.clone());
        let (at_name, lefoe_addr) = (at_name.clone(), lefoe_addr.clone());
        async move {
            let drained = mk.store.outbox_len(&at_name).await? == 0;
            let delivered = at.store.queue_len(&lefoe_addr).await? == 1;
            Ok(drained && delivered)
        }
    })
    .await?;
    assert_eq!(
        relay_events(&fed, MK, &refused_id).await?,
        ["accepted", "relay_refused"]
    );
    assert!(relay_events(&fed, AT, &refused_id).await?.is_empty());

    // Open Gate's queue at mk holds a REJECTED receipt signed by mk, with at's reason.
    let queued = mk.store.pending(&OPEN_GATE.parse()?, 0, 10).await?;
    let [item] = queued.as_slice() else {
        panic!("one receipt expected: {queued:?}");
    };
    let Some(pb::delivery::Item::Receipt(rejected)) = &item.delivery.item else {
        panic!("not a receipt: {item:?}");
    };
    let mk_key = craft::directory(&fed.federation)?
        .broker(&MK.parse()?)
        .ok_or_else(|| anyhow::anyhow!("no broker mk"))?
        .signing_key;
    let rejected = receipt::verify(rejected, &[mk_key])?;
    assert_eq!(rejected.kind(), pb::ReceiptKind::Rejected);
    assert_eq!(rejected.receipt.signer, MK);
    assert_eq!(rejected.receipt.message_id, refused_id);
    // A code only: the peer's words stay out of what a broker signs.
    assert_eq!(
        receipt::reason_code(&rejected.receipt),
        pb::RejectReason::RelayRefused
    );
    assert!(rejected.receipt.reason.is_empty(), "{:?}", rejected.receipt);

    // The same refusal for a message Open Gate's node sent itself (its node, like mk, still
    // has version 1): the node records mk's signed REJECTED receipt as evidence.
    let mut node_config = fed.node_config(OPEN_GATE)?;
    node_config.directory = dir.path().join("mk-directory.pb");
    node_config.directory_refresh_secs = 3600;
    fed.start_node_with(OPEN_GATE, node_config).await?;
    let node = fed.client(OPEN_GATE).await?;
    let sent = node
        .clone()
        .send(fixtures::referral(LEFOE)?)
        .await?
        .into_inner();
    fixtures::wait_for_step(&node, &sent.message_id, "rejected", WAIT).await?;
    let steps = fixtures::steps(&mut node.clone(), &sent.message_id).await?;
    assert_eq!(steps, ["submitted", "accepted", "rejected"]);
    drop((mk, at));
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_broker_behind_on_the_directory_refreshes_instead_of_refusing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation_with(dir.path(), |spec| {
        spec.agreements.retain(|a| {
            !(a.parties.contains(&OPEN_GATE.into()) && a.parties.contains(&LEFOE.into()))
        });
    })
    .await?;
    // at starts with version 1 (no agreement between Open Gate and LEFÖ-IBF) from a copy nobody
    // updates, and no timed refresh; mk starts with version 2, which adds the agreement.
    let at_copy = dir.path().join("at-directory.pb");
    std::fs::copy(fed.federation.dir.join("directory.pb"), &at_copy)?;
    let mut at_config = fed.broker_config(AT)?;
    at_config.directory_file = at_copy;
    at_config.directory_refresh = Duration::from_secs(3600);
    let mut authority = trm_authority::Authority::open(&fed.federation.dir)?;
    authority.agree(
        "MoU Open Gate LEFOE 2026",
        [OPEN_GATE, LEFOE],
        &[pb::MessageKind::Referral],
        30,
    )?;
    authority.publish(30)?;
    fed.start_broker_with(AT, at_config).await?;
    fed.start_broker(MK).await?;
    let (mk, at) = (fed.broker_state(MK)?, fed.broker_state(AT)?);
    assert_eq!(at.directory.current().version(), 1);
    assert_eq!(mk.directory.current().version(), 2);

    let node = fed
        .federation
        .node(OPEN_GATE)
        .ok_or_else(|| anyhow::anyhow!("no {OPEN_GATE}"))?;
    let accepted = raw::broker(
        raw::channel(
            fed.broker_addr(MK)?,
            MK,
            &fed.federation.ca_pem,
            Some((&node.cert_pem, &node.key_pem)),
        )
        .await?,
    )
    .submit(sealed(&fed, OPEN_GATE, LEFOE)?)
    .await?
    .into_inner();
    let id = receipt::peek(&accepted)?.message_id;

    // at defers the batch, learns version 2 from mk, and takes the envelope on mk's retry.
    let lefoe_addr: trm_proto::addr::NodeAddr = LEFOE.parse()?;
    trm_dev::wait::wait_for(WAIT, "at to take the envelope", || {
        let (at, lefoe_addr) = (at.clone(), lefoe_addr.clone());
        async move { Ok(at.store.queue_len(&lefoe_addr).await? == 1) }
    })
    .await?;
    assert_eq!(at.directory.current().version(), 2);
    assert_eq!(relay_events(&fed, AT, &id).await?, ["received_from_peer"]);
    trm_dev::wait::wait_for(WAIT, "mk to record the relay", || {
        let (state, id) = (fed.broker_state(MK), id.clone());
        async move { Ok(events_in(state?.as_ref(), &id).await? == ["accepted", "relayed"]) }
    })
    .await?;
    drop((mk, at));
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_relayed_envelope_dated_ahead_or_living_too_long_is_refused_for_good()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(AT).await?;
    let keys = craft::keys(&fed.federation, OPEN_GATE)?;
    let directory = craft::directory(&fed.federation)?;
    let content = fixtures::referral(LEFOE)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("the test referral has no content"))?;
    let now = trm_proto::time::now_ms();
    let hour = 3_600_000;
    let ahead = (now + hour, now + 2 * hour);
    let too_long = (now, now + trm_proto::time::MAX_ENVELOPE_LIFETIME_MS + hour);
    let mut mk = as_broker(&fed, MK, AT).await?;
    for (dates, words) in [
        (ahead, "more than 5 minutes in the future"),
        (too_long, "more than 30 days after its creation"),
    ] {
        let envelope = craft::dated(&keys, &directory, &LEFOE.parse()?, dates, content.clone())?;
        let result = mk
            .relay(pb::RelayBatch {
                items: vec![envelope_item(&envelope)],
                directory_version: 1,
            })
            .await?
            .into_inner();
        match result.outcomes.as_slice() {
            [
                pb::RelayOutcome {
                    outcome: Some(pb::relay_outcome::Outcome::Refused(refused)),
                },
            ] => {
                assert_eq!(refused.code, Code::InvalidArgument as i32, "{refused:?}");
                assert!(refused.reason.contains(words), "{}", refused.reason);
            }
            other => anyhow::bail!("not refused: {other:?}"),
        }
    }
    assert_eq!(
        fed.broker_state(AT)?
            .store
            .queue_len(&LEFOE.parse()?)
            .await?,
        0
    );
    fed.shutdown().await?;
    Ok(())
}
