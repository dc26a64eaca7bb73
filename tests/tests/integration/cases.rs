//! Cases and their lifecycle between two nodes: a referral answered once, states kept on both
//! sides, and illegal steps refused at send (nothing sealed or stored) and at receive (a
//! REJECTED receipt, nothing kept).

use std::time::Duration;

use tonic::Code;
use tonic::transport::Channel;
use trm_cli::case_commands::{self, Answer};
use trm_cli::commands::{self, Output};
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;
use trm_proto::pb::node_cases_client::NodeCasesClient;
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

const WAIT: Duration = Duration::from_secs(30);
const CASE: &str = "AT-LEFOE-2026-0042";

async fn cases_client(
    fed: &LocalFederation,
    address: &str,
) -> anyhow::Result<NodeCasesClient<Channel>> {
    Ok(trm_cli::client::connect_cases(&fed.node_socket(address)).await?)
}

/// The state of the item opened by `message_id` in the case with `counterparty`; empty while
/// the case or the item does not exist.
async fn item_state(
    client: &mut NodeCasesClient<Channel>,
    counterparty: &str,
    message_id: &str,
) -> anyhow::Result<String> {
    let case = client
        .case(pb::CaseRequest {
            case_ref: CASE.into(),
            counterparty: counterparty.into(),
            content: false,
        })
        .await;
    let case = match case {
        Ok(case) => case.into_inner(),
        Err(status) if status.code() == Code::NotFound => return Ok(String::new()),
        Err(status) => return Err(status.into()),
    };
    let summary = case.summary.unwrap_or_default();
    Ok(summary
        .items
        .into_iter()
        .find(|i| i.message_id == message_id)
        .map(|i| i.state)
        .unwrap_or_default())
}

async fn wait_for_state(
    client: &NodeCasesClient<Channel>,
    counterparty: &str,
    message_id: &str,
    state: &str,
) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(WAIT, state, || {
        let mut client = client.clone();
        let (counterparty, message_id, state) = (
            counterparty.to_owned(),
            message_id.to_owned(),
            state.to_owned(),
        );
        async move { Ok(item_state(&mut client, &counterparty, &message_id).await? == state) }
    })
    .await
}

fn send_request(to: &str, content: pb::body::Content) -> pb::SendRequest {
    pb::SendRequest {
        to: to.into(),
        case_ref: CASE.into(),
        priority: pb::Priority::Routine.into(),
        body: Some(pb::Body {
            content: Some(content),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    }
}

fn acceptance(referral_id: &str) -> pb::body::Content {
    let answer = Answer::Accept {
        unit: "Astra reintegration team".into(),
    };
    pb::body::Content::ReferralResponse(answer.to_pb(referral_id))
}

/// How many messages a node has logged as sent (receipts arriving later add other entries).
async fn sent_count(client: &mut NodeAdminClient<Channel>) -> anyhow::Result<usize> {
    Ok(fixtures::log_entries(client)
        .await?
        .iter()
        .filter(|e| e.event == "sent")
        .count())
}

async fn log_verifies(client: &mut NodeAdminClient<Channel>) -> anyhow::Result<bool> {
    Ok(client
        .verify_log(pb::VerifyLogRequest {})
        .await?
        .into_inner()
        .ok)
}

#[tokio::test]
async fn a_referral_is_delivered_then_accepted_once_with_states_on_both_nodes() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut astra = fed.client(ASTRA).await?;
    let mut lefoe_cases = cases_client(&fed, LEFOE).await?;
    let mut astra_cases = cases_client(&fed, ASTRA).await?;

    let referral = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    let id = referral.message_id.clone();
    // "sent" until Astra's DELIVERED receipt comes back, which may already have happened.
    let state = item_state(&mut lefoe_cases, ASTRA, &id).await?;
    assert!(["sent", "delivered"].contains(&state.as_str()), "{state}");
    fixtures::wait_for_step(&lefoe, &id, "delivered", WAIT).await?;
    wait_for_state(&lefoe_cases, ASTRA, &id, "delivered").await?;
    assert_eq!(item_state(&mut astra_cases, LEFOE, &id).await?, "delivered");

    // Astra accepts with `trm respond`, which finds the referral's case and sender itself.
    let answer = Answer::Accept {
        unit: "Astra reintegration team".into(),
    };
    case_commands::respond(&fed.node_socket(ASTRA), &id, &answer, Output { json: true }).await?;
    assert_eq!(item_state(&mut astra_cases, LEFOE, &id).await?, "accepted");
    wait_for_state(&lefoe_cases, ASTRA, &id, "accepted").await?;

    // The thread holds both messages on both sides, with their state changes.
    let thread = lefoe_cases
        .case(pb::CaseRequest {
            case_ref: CASE.into(),
            counterparty: String::new(),
            content: true,
        })
        .await?
        .into_inner()
        .thread;
    let directions: Vec<&str> = thread
        .iter()
        .filter_map(|e| e.message.as_ref().map(|m| m.direction.as_str()))
        .collect();
    assert_eq!(directions, ["outgoing", "incoming"]);
    let Some(pb::body::Content::ReferralResponse(response)) =
        thread[1].body.as_ref().and_then(|b| b.content.clone())
    else {
        panic!("the response's content is shown");
    };
    assert_eq!(response.responsible_unit, "Astra reintegration team");
    // `trm cases` and `trm case` run against the same node, for people and for scripts.
    let socket = fed.node_socket(LEFOE);
    for json in [false, true] {
        case_commands::cases(&socket, Output { json }).await?;
        case_commands::case(&socket, CASE, "", Output { json }).await?;
    }
    let listed = astra_cases
        .cases(pb::CasesRequest::default())
        .await?
        .into_inner()
        .cases;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].counterparty, LEFOE);
    assert_eq!(listed[0].messages, 2);

    // Accepting twice is refused before sealing: nothing logged, nothing sent.
    let again = astra
        .send(send_request(LEFOE, acceptance(&id)))
        .await
        .expect_err("second acceptance");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(
        again.message(),
        format!("referral {id} is accepted; it cannot be accepted")
    );
    assert_eq!(
        sent_count(&mut astra).await?,
        1,
        "only the first acceptance"
    );
    assert_eq!(fixtures::inbox_ids(&mut lefoe).await?.len(), 1);

    assert!(log_verifies(&mut lefoe).await?);
    assert!(log_verifies(&mut astra).await?);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn answers_to_unknown_or_own_items_are_refused_before_sealing() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut astra = fed.client(ASTRA).await?;

    // A response to a referral that does not exist in the case.
    let refused = astra
        .send(send_request(LEFOE, acceptance("0000-no-such-referral")))
        .await
        .expect_err("unknown referral");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!("case {CASE} with {LEFOE} has no referral 0000-no-such-referral")
    );

    // A return confirmation nobody requested.
    let confirmation = pb::body::Content::ReturnConfirmation(pb::ReturnConfirmation {
        return_request_message_id: "0000-no-such-request".into(),
        ..Default::default()
    });
    let refused = astra
        .send(send_request(LEFOE, confirmation))
        .await
        .expect_err("unrequested return");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!("case {CASE} with {LEFOE} has no return 0000-no-such-request")
    );
    assert!(
        fixtures::log_entries(&mut astra).await?.is_empty(),
        "nothing sealed or logged"
    );

    // The sender of a referral cannot answer it.
    let referral = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    let refused = lefoe
        .send(send_request(ASTRA, acceptance(&referral.message_id)))
        .await
        .expect_err("own referral");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!(
            "referral {} was sent by this node; only its addressee can answer it",
            referral.message_id
        )
    );
    assert_eq!(
        sent_count(&mut lefoe).await?,
        1,
        "only the referral is sent"
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn an_incoming_illegal_transition_is_rejected_and_not_kept() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(ASTRA).await?;
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    // A misbehaving LEFÖ-IBF answers a referral that Astra never sent.
    let envelope = craft::sealed(
        &keys,
        &directory,
        &send_request(ASTRA, acceptance("0000-no-such-referral")),
    )?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    let accepted = client.submit(envelope).await?.into_inner();
    let accepted = trm_proto::receipt::peek(&accepted)?;

    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    let reason = format!("case {CASE} with {LEFOE} has no referral 0000-no-such-referral");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].message_id, accepted.message_id);
    assert_eq!(entries[0].reason, reason);
    assert!(
        fixtures::inbox_ids(&mut astra).await?.is_empty(),
        "refused content is not kept"
    );
    let listed = cases_client(&fed, ASTRA)
        .await?
        .cases(pb::CasesRequest::default())
        .await?
        .into_inner()
        .cases;
    assert!(listed.is_empty(), "no case was opened: {listed:?}");

    // The sender gets Astra's signed REJECTED receipt with the reason.
    let mut stream = client
        .deliver(tokio_stream::pending::<pb::DeliveryAck>())
        .await?
        .into_inner();
    let delivery = tokio::time::timeout(WAIT, stream.message())
        .await??
        .ok_or_else(|| anyhow::anyhow!("delivery stream ended"))?;
    let Some(pb::delivery::Item::Receipt(signed)) = delivery.item else {
        panic!("expected a receipt, got {delivery:?}");
    };
    let astra_key = directory
        .node(&ASTRA.parse()?)
        .ok_or_else(|| anyhow::anyhow!("no astra"))?
        .signing_key;
    let rejected = trm_proto::receipt::verify(&signed, &[astra_key])?;
    assert_eq!(rejected.kind(), pb::ReceiptKind::Rejected);
    assert_eq!(rejected.receipt.message_id, accepted.message_id);
    // In clear a code only; the words travel encrypted to the sender.
    assert_eq!(
        trm_proto::receipt::reason_code(&rejected.receipt),
        pb::RejectReason::CaseStep
    );
    assert!(rejected.receipt.reason.is_empty());
    let private = trm_node::receipt_private::read(&rejected.receipt, &keys)?
        .ok_or_else(|| anyhow::anyhow!("no part for the sender"))?;
    assert_eq!(private.detail, reason);
    assert!(log_verifies(&mut astra).await?);
    fed.shutdown().await?;
    Ok(())
}

/// Writes `kind`'s template with `replacements` applied to `dir/<kind>.toml`.
fn filled_in(
    dir: &std::path::Path,
    kind: &str,
    replacements: &[(&str, &str)],
) -> anyhow::Result<std::path::PathBuf> {
    let mut text = trm_cli::message_file::template(kind)
        .ok_or_else(|| anyhow::anyhow!("no template for {kind}"))?
        .to_owned();
    for (from, to) in replacements {
        anyhow::ensure!(text.contains(from), "{kind} template has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join(format!("{kind}.toml"));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The items of the case with `counterparty`, as the node holds them.
async fn items(
    client: &mut NodeCasesClient<Channel>,
    counterparty: &str,
) -> anyhow::Result<Vec<pb::CaseItem>> {
    let case = client
        .case(pb::CaseRequest {
            case_ref: CASE.into(),
            counterparty: counterparty.into(),
            content: false,
        })
        .await?
        .into_inner();
    Ok(case.summary.unwrap_or_default().items)
}

/// What the item opened by `message_id` owes, in words; empty when nothing.
async fn item_due(
    client: &mut NodeCasesClient<Channel>,
    counterparty: &str,
    message_id: &str,
) -> anyhow::Result<String> {
    items(client, counterparty)
        .await?
        .into_iter()
        .find(|i| i.message_id == message_id)
        .map(|i| i.due)
        .ok_or_else(|| anyhow::anyhow!("no item {message_id}"))
}

/// The message id of the first item of `kind` in the case with `counterparty`.
async fn item_id(
    client: &mut NodeCasesClient<Channel>,
    counterparty: &str,
    kind: &str,
) -> anyhow::Result<String> {
    items(client, counterparty)
        .await?
        .into_iter()
        .find(|i| i.kind == kind)
        .map(|i| i.message_id)
        .ok_or_else(|| anyhow::anyhow!("no {kind} in the case"))
}

#[tokio::test]
async fn a_return_is_requested_confirmed_travelled_and_followed_up_from_files() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe_cases = cases_client(&fed, LEFOE).await?;
    let mut astra_cases = cases_client(&fed, ASTRA).await?;
    let (lefoe_socket, astra_socket) = (fed.node_socket(LEFOE), fed.node_socket(ASTRA));
    let quiet = Output { json: true };
    // The templates address the development federation; the test federation's names differ.
    let astra = format!("to = \"{ASTRA}\"");
    let to_astra = ("to = \"astra@rs\"", astra.as_str());
    let lefoe = format!("to = \"{LEFOE}\"");
    let to_lefoe = ("to = \"lefoe-ibf@at\"", lefoe.as_str());

    let request = filled_in(files.path(), "return_request", &[to_astra])?;
    commands::send_message(&lefoe_socket, "return_request", &request, quiet).await?;
    let request_id = item_id(&mut lefoe_cases, ASTRA, "return").await?;
    wait_for_state(&astra_cases, LEFOE, &request_id, "requested").await?;

    // A follow-up before the return is confirmed is refused; nothing is sent.
    let follow_up = filled_in(
        files.path(),
        "follow_up",
        &[to_lefoe, ("PASTE-THE-RETURN-REQUEST-ID", &request_id)],
    )?;
    let early = format!(
        "return {request_id} has not travelled yet; a follow-up is due only after the case update with status travelled"
    );
    let refused = commands::send_message(&astra_socket, "follow_up", &follow_up, quiet)
        .await
        .expect_err("follow-up before confirmation");
    assert_eq!(refused.message, early);

    let confirmation = filled_in(
        files.path(),
        "return_confirmation",
        &[to_lefoe, ("PASTE-THE-RETURN-REQUEST-ID", &request_id)],
    )?;
    commands::send_message(&astra_socket, "return_confirmation", &confirmation, quiet).await?;
    wait_for_state(&lefoe_cases, ASTRA, &request_id, "confirmed").await?;

    // Confirmed is not travelled: a follow-up is still refused, and nothing leaves Astra.
    let mut astra = fed.client(ASTRA).await?;
    let sent_before = sent_count(&mut astra).await?;
    let refused = commands::send_message(&astra_socket, "follow_up", &follow_up, quiet)
        .await
        .expect_err("follow-up before travel");
    assert_eq!(refused.message, early);
    assert_eq!(sent_count(&mut astra).await?, sent_before, "nothing sealed");

    let travelled = filled_in(files.path(), "case_update", &[to_astra])?;
    commands::send_message(&lefoe_socket, "case_update", &travelled, quiet).await?;
    wait_for_state(&astra_cases, LEFOE, &request_id, "travelled").await?;

    // The schedule runs from the travel: the 1-month follow-up is due on both sides.
    for (client, counterparty) in [(&mut lefoe_cases, ASTRA), (&mut astra_cases, LEFOE)] {
        let due = item_due(client, counterparty, &request_id).await?;
        assert!(due.contains("1 month"), "{counterparty}: {due:?}");
    }
    commands::send_message(&astra_socket, "follow_up", &follow_up, quiet).await?;
    wait_for_state(&lefoe_cases, ASTRA, &request_id, "followed_up").await?;
    assert_eq!(
        item_state(&mut astra_cases, LEFOE, &request_id).await?,
        "followed_up"
    );
    // The next one, at 3 months, is what the return owes now.
    let due = item_due(&mut lefoe_cases, ASTRA, &request_id).await?;
    assert!(due.contains("3 months"), "{due:?}");
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_referral_that_needs_information_is_supplemented_from_a_file_then_accepted()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let files = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut lefoe = fed.client(LEFOE).await?;
    let mut lefoe_cases = cases_client(&fed, LEFOE).await?;
    let mut astra_cases = cases_client(&fed, ASTRA).await?;
    let (lefoe_socket, astra_socket) = (fed.node_socket(LEFOE), fed.node_socket(ASTRA));
    let quiet = Output { json: true };

    let id = lefoe
        .send(fixtures::referral(ASTRA)?)
        .await?
        .into_inner()
        .message_id;
    wait_for_state(&lefoe_cases, ASTRA, &id, "delivered").await?;
    let astra = format!("to = \"{ASTRA}\"");
    let supplied = filled_in(
        files.path(),
        "information_supplied",
        &[
            ("to = \"astra@rs\"", astra.as_str()),
            ("PASTE-THE-REFERRAL-ID", &id),
        ],
    )?;

    // Nothing was asked for yet: supplying information is refused.
    let refused = commands::send_message(&lefoe_socket, "information_supplied", &supplied, quiet)
        .await
        .expect_err("nothing asked for");
    assert_eq!(
        refused.message,
        format!("referral {id} is delivered; it cannot be supplemented")
    );

    let missing = Answer::NeedsInformation {
        missing: "languages spoken".into(),
    };
    case_commands::respond(&astra_socket, &id, &missing, quiet).await?;
    wait_for_state(&lefoe_cases, ASTRA, &id, "needs_information").await?;

    // Only the referring organisation supplies what was missing.
    let lefoe = format!("to = \"{LEFOE}\"");
    let wrong_side = filled_in(
        files.path(),
        "information_supplied",
        &[
            ("to = \"astra@rs\"", lefoe.as_str()),
            ("PASTE-THE-REFERRAL-ID", &id),
        ],
    )?;
    let refused = commands::send_message(&astra_socket, "information_supplied", &wrong_side, quiet)
        .await
        .expect_err("the addressee cannot supplement");
    assert_eq!(
        refused.message,
        format!(
            "referral {id} was sent by the counterparty; only the organisation that sent it can supply what was asked for"
        )
    );

    let supplied = filled_in(
        files.path(),
        "information_supplied",
        &[
            ("to = \"astra@rs\"", astra.as_str()),
            ("PASTE-THE-REFERRAL-ID", &id),
        ],
    )?;
    commands::send_message(&lefoe_socket, "information_supplied", &supplied, quiet).await?;
    wait_for_state(&astra_cases, LEFOE, &id, "information_supplied").await?;
    assert_eq!(
        item_state(&mut lefoe_cases, ASTRA, &id).await?,
        "information_supplied"
    );
    // A fresh answer is owed, from the supplement; Astra reads every answer.
    let due = item_due(&mut astra_cases, LEFOE, &id).await?;
    assert_eq!(due, "answer to the referral, with the information supplied");
    let thread = astra_cases
        .case(pb::CaseRequest {
            case_ref: CASE.into(),
            counterparty: LEFOE.into(),
            content: true,
        })
        .await?
        .into_inner()
        .thread;
    let answers = thread
        .iter()
        .filter_map(|e| e.body.as_ref().and_then(|b| b.content.clone()))
        .find_map(|c| match c {
            pb::body::Content::InformationSupplied(s) => Some(s.answers),
            _ => None,
        })
        .unwrap_or_default();
    assert_eq!(
        answers
            .iter()
            .map(|a| a.missing_information.as_str())
            .collect::<Vec<_>>(),
        ["languages spoken", "whether the family knows of the return"]
    );

    let accept = Answer::Accept {
        unit: "Astra reintegration team".into(),
    };
    case_commands::respond(&astra_socket, &id, &accept, quiet).await?;
    wait_for_state(&lefoe_cases, ASTRA, &id, "accepted").await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn h3_without_its_restrictions_is_refused_at_send_and_rejected_on_receipt()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let mut request = fixtures::referral(ASTRA)?;
    if let Some(pb::body::Content::Referral(r)) =
        request.body.as_mut().and_then(|b| b.content.as_mut())
    {
        r.handling_code = pb::HandlingCode::H3.into();
        r.handling_restrictions.clear();
    }
    let rule = "referral.handling_restrictions: required with handling code H3";

    // At send: refused with the field named, nothing sealed.
    let mut lefoe = fed.client(LEFOE).await?;
    let refused = lefoe.send(request.clone()).await.expect_err("H3 alone");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(refused.message(), rule);
    assert_eq!(sent_count(&mut lefoe).await?, 0);

    // A sender that skips the check: Astra refuses it on receipt, and keeps nothing.
    let directory = craft::directory(&fed.federation)?;
    let keys = craft::keys(&fed.federation, LEFOE)?;
    let envelope = craft::sealed(&keys, &directory, &request)?;
    let mut client = fixtures::raw_client_as(&fed, LEFOE).await?;
    client.submit(envelope).await?;
    let mut astra = fed.client(ASTRA).await?;
    fixtures::wait_for_log_event(&astra, "refused", WAIT).await?;
    let entries = fixtures::log_entries(&mut astra).await?;
    let reasons: Vec<&str> = entries.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, [format!("content breaks a rule: {rule}")]);
    assert!(fixtures::inbox_ids(&mut astra).await?.is_empty());
    fed.shutdown().await?;
    Ok(())
}
