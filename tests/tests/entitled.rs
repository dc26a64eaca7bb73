//! Only the entitled signer decides a case: a REJECTED receipt that the sender's home broker
//! signs (a hostile broker, or an honest one reporting a peer's refusal) is kept as evidence
//! but moves nothing, and the addressee's own DELIVERED receipt and acceptance that follow it
//! win; a step replayed with an old sequence number is refused by the addressee as out of
//! order. Real brokers and nodes over loopback mutual TLS; the hostile receipt is signed with
//! the broker's real key.

use std::time::Duration;

use prost::Message;
use tonic::transport::Channel;
use trm_cli::case_commands::Answer;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::node_cases_client::NodeCasesClient;
use trm_tests::{craft, fixtures, inject};

const AT: &str = "at";
const RS: &str = "rs";
/// The sender, homed on `at`.
const LEFOE: &str = "lefoe-ibf@at";
/// The addressee, homed on `rs`.
const ASTRA: &str = "astra@rs";
const WAIT: Duration = Duration::from_secs(30);

async fn two_brokers(root: &std::path::Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-entitled-test",
        &[(RS, "RS"), (AT, "AT")],
        &[
            (ASTRA, "Astra", "ngo", "RS"),
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
        ],
    )
    .await
}

/// The state of the referral `id` in the sender's case with `counterparty` (empty: none).
async fn referral_state(
    cases: &mut NodeCasesClient<Channel>,
    case_ref: &str,
    counterparty: &str,
    id: &str,
) -> anyhow::Result<String> {
    let case = cases
        .case(pb::CaseRequest {
            case_ref: case_ref.into(),
            counterparty: counterparty.into(),
            content: false,
        })
        .await?
        .into_inner();
    Ok(case
        .summary
        .unwrap_or_default()
        .items
        .into_iter()
        .find(|i| i.message_id == id)
        .map(|i| i.state)
        .unwrap_or_default())
}

async fn wait_for_state(
    cases: &NodeCasesClient<Channel>,
    case_ref: &str,
    id: &str,
    state: &str,
) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(WAIT, state, || {
        let mut cases = cases.clone();
        let (case_ref, id, state) = (case_ref.to_owned(), id.to_owned(), state.to_owned());
        async move { Ok(referral_state(&mut cases, &case_ref, ASTRA, &id).await? == state) }
    })
    .await
}

/// The evidence recorded for `id` at its sender.
async fn evidence(fed: &LocalFederation, id: &str) -> anyhow::Result<Vec<pb::Evidence>> {
    Ok(fed
        .client(LEFOE)
        .await?
        .status(pb::StatusRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner()
        .evidence)
}

#[tokio::test]
async fn a_brokers_rejected_is_evidence_and_the_addressees_delivery_and_answer_win()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = two_brokers(dir.path()).await?;
    fed.start_broker(AT).await?;
    fed.start_broker(RS).await?;
    fed.start_node(LEFOE).await?;
    let lefoe = fed.client(LEFOE).await?;
    let request = fixtures::referral(ASTRA)?;
    let case_ref = request.case_ref.clone();
    let sent = lefoe.clone().send(request).await?.into_inner();
    // Astra is offline: the referral waits on rs.
    fixtures::wait_for_step(&lefoe, &sent.message_id, "relayed", WAIT).await?;

    // The sender's home broker signs a REJECTED of its own (its real key) and hands it over.
    let at = fed.broker_state(AT)?;
    let accepted = evidence(&fed, &sent.message_id)
        .await?
        .into_iter()
        .find(|e| e.step == "accepted")
        .and_then(|e| e.receipt)
        .ok_or_else(|| anyhow::anyhow!("no ACCEPTED receipt"))?;
    let accepted = pb::Receipt::decode(accepted.receipt.as_slice())?;
    let forged = trm_proto::receipt::sign(
        &pb::Receipt {
            kind: pb::ReceiptKind::Rejected.into(),
            reason_code: pb::RejectReason::RelayRefused.into(),
            at_ms: trm_proto::time::now_ms(),
            ..accepted
        },
        &at.signing_key,
    );
    inject::queue_receipt(&at, LEFOE, forged).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "rejected", WAIT).await?;
    let mut cases = fed.cases_client(LEFOE).await?;
    assert_eq!(
        referral_state(&mut cases, &case_ref, ASTRA, &sent.message_id).await?,
        "sent",
        "a broker's REJECTED moves nothing"
    );

    // Astra comes online: its node verifies, stores and signs DELIVERED, then accepts.
    fed.start_node(ASTRA).await?;
    fixtures::wait_for_step(&lefoe, &sent.message_id, "delivered", WAIT).await?;
    wait_for_state(&cases, &case_ref, &sent.message_id, "delivered").await?;
    let answer = Answer::Accept {
        unit: "Astra reintegration team".into(),
    };
    let response = pb::SendRequest {
        to: LEFOE.into(),
        case_ref: case_ref.clone(),
        priority: pb::Priority::Routine.into(),
        body: Some(pb::Body {
            content: Some(pb::body::Content::ReferralResponse(
                answer.to_pb(&sent.message_id),
            )),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    let answered = fed.client(ASTRA).await?.send(response).await?.into_inner();
    wait_for_state(&cases, &case_ref, &sent.message_id, "accepted").await?;

    // The evidence shows both: the broker's REJECTED and the addressee's DELIVERED.
    let evidence = evidence(&fed, &sent.message_id).await?;
    let by = |step: &str| {
        evidence
            .iter()
            .filter(|e| e.step == step)
            .map(|e| e.attested_by.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(by("rejected"), [AT]);
    assert_eq!(by("delivered"), [ASTRA]);
    let rejected = evidence
        .iter()
        .find(|e| e.step == "rejected")
        .ok_or_else(|| anyhow::anyhow!("no rejected step"))?;
    assert!(
        rejected
            .detail
            .contains("the addressee's own receipt decides"),
        "{}",
        rejected.detail
    );

    // The answer carried the addressee's first step number in the case.
    let astra_case = fed
        .cases_client(ASTRA)
        .await?
        .case(pb::CaseRequest {
            case_ref: case_ref.clone(),
            counterparty: LEFOE.into(),
            content: false,
        })
        .await?
        .into_inner();
    let numbers: Vec<(String, u64)> = astra_case
        .thread
        .iter()
        .filter_map(|entry| entry.message.as_ref())
        .map(|m| (m.direction.clone(), m.sequence))
        .collect();
    assert_eq!(
        numbers,
        [("incoming".to_owned(), 1), ("outgoing".to_owned(), 1)],
        "{answered:?}"
    );
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_step_replayed_with_an_old_number_is_refused_as_out_of_order() -> anyhow::Result<()> {
    use fixtures::{ASTRA, LEFOE};
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fixtures::start(&mut fed, &[ASTRA]).await?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let directory = craft::directory(&fed.federation)?;
    let content = fixtures::referral(ASTRA)?
        .body
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("no content"))?;
    let case = "SEQ-2026-0001";
    // LEFÖ's step 5 in the case is taken; then a step 3 arrives (held back, or replayed).
    let mut raw = fixtures::raw_client_as(&fed, LEFOE).await?;
    for sequence in [5, 3] {
        let envelope = craft::with_sequence(
            &keys,
            &directory,
            &ASTRA.parse()?,
            (case, sequence),
            content.clone(),
        )?;
        raw.submit(envelope).await?;
    }
    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    let refused: Vec<&pb::LogEntryView> = entries.iter().filter(|e| e.event == "refused").collect();
    assert_eq!(refused.len(), 1, "{entries:?}");
    assert!(
        refused[0].reason.contains("step 3 arrived after step 5"),
        "{}",
        refused[0].reason
    );
    assert_eq!(fixtures::inbox_ids(&mut astra).await?.len(), 1);

    // The sender gets the refusal signed, with its code in clear and its words sealed for it.
    let mut stream = raw
        .deliver(tokio_stream::pending::<pb::DeliveryAck>())
        .await?
        .into_inner();
    let mut codes = Vec::new();
    while codes.len() < 2 {
        let delivery = tokio::time::timeout(WAIT, stream.message())
            .await??
            .ok_or_else(|| anyhow::anyhow!("delivery stream ended"))?;
        let Some(pb::delivery::Item::Receipt(signed)) = delivery.item else {
            continue;
        };
        let receipt = trm_proto::receipt::peek(&signed)?;
        if receipt.signer != ASTRA {
            continue;
        }
        let private = trm_node::receipt_private::read(&receipt, &keys)?
            .ok_or_else(|| anyhow::anyhow!("no part for the sender"))?;
        assert!(receipt.reason.is_empty());
        codes.push((
            receipt.kind,
            receipt.reason_code,
            private.detail.contains("step 3"),
        ));
    }
    codes.sort();
    assert_eq!(
        codes,
        [
            (i32::from(pb::ReceiptKind::Delivered), 0, false),
            (
                i32::from(pb::ReceiptKind::Rejected),
                i32::from(pb::RejectReason::OutOfOrder),
                true
            ),
        ]
    );
    fed.shutdown().await?;
    Ok(())
}
