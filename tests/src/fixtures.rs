//! The federation and referral the integration tests use: a regional broker `marri` with
//! LEFÖ-IBF (Vienna), Astra (Belgrade) and Open Gate/La Strada (Skopje).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use tonic::transport::Channel;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_proto::pb::node_admin_client::NodeAdminClient;

/// The regional broker.
pub const BROKER: &str = "marri";
/// The referring NGO in Austria.
pub const LEFOE: &str = "lefoe-ibf@marri";
/// The receiving NGO in Serbia.
pub const ASTRA: &str = "astra@marri";
/// A third organisation, in North Macedonia.
pub const OPEN_GATE: &str = "open-gate@marri";
/// An Austrian police liaison officer's node (only in [`federation_with_police`]).
pub const POLICE: &str = "police-at@marri";
/// Placed in every test referral's notes and searched for in stores.
pub const CANARY: &str = "CANARY-b51e0d-plaintext-marker";

/// Sends what the in-process broker and nodes log (`TRM_LOG`, else INFO) to standard error,
/// which the test runner shows when the test fails. Once per process; later calls do nothing.
pub fn log_to_test_output() {
    // Only fails on a bad `TRM_LOG_FORMAT`: the test then runs without the logs.
    let _ = trm_storage::logging::init("info", trm_storage::logging::Stream::Stderr);
}

/// Generates the test federation under `root` (nothing is started).
pub async fn federation(root: &Path) -> anyhow::Result<LocalFederation> {
    federation_with(root, |_| {}).await
}

/// The test federation's organisations: `(address, organisation, type, country)`.
pub const NODES: [(&str, &str, &str, &str); 3] = [
    (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
    (ASTRA, "Astra", "ngo", "RS"),
    (OPEN_GATE, "Open Gate/La Strada", "ngo", "MK"),
];

/// The test federation with `adjust` applied to its spec first.
pub async fn federation_with(
    root: &Path,
    adjust: impl FnOnce(&mut trm_dev::FederationSpec),
) -> anyhow::Result<LocalFederation> {
    federation_with_more(root, &[], adjust).await
}

/// The test federation with `more` organisations besides [`NODES`], and `adjust` applied to
/// its spec first.
pub async fn federation_with_more(
    root: &Path,
    more: &[(&str, &str, &str, &str)],
    adjust: impl FnOnce(&mut trm_dev::FederationSpec),
) -> anyhow::Result<LocalFederation> {
    let nodes: Vec<_> = NODES.iter().chain(more).copied().collect();
    LocalFederation::create_with(root, "trm-test", &[(BROKER, "MARRI")], &nodes, adjust).await
}

/// The test federation with an Austrian police liaison node, [`POLICE`], as a fourth party.
pub async fn federation_with_police(root: &Path) -> anyhow::Result<LocalFederation> {
    let police = (
        POLICE,
        "Federal Criminal Police Office, liaison",
        "police",
        "AT",
    );
    federation_with_more(root, &[police], |_| {}).await
}

/// Starts the broker and `nodes`.
pub async fn start(fed: &mut LocalFederation, nodes: &[&str]) -> anyhow::Result<()> {
    fed.start_broker(BROKER).await?;
    for node in nodes {
        fed.start_node(node).await?;
    }
    Ok(())
}

/// Node `address` of a running federation as a party to a case (its admin and cases clients).
pub async fn party(
    fed: &LocalFederation,
    address: &str,
) -> anyhow::Result<trm_dev::lifecycle::Party> {
    Ok(trm_dev::lifecycle::Party {
        address: address.to_owned(),
        admin: fed.client(address).await?,
        cases: trm_cli::client::connect_cases(&fed.node_socket(address)).await?,
    })
}

/// The demo referral addressed to `to`, carrying [`CANARY`] in its notes.
pub fn referral(to: &str) -> anyhow::Result<pb::SendRequest> {
    let mut request = trm_cli::demo::demo_referral()?;
    request.to = to.to_owned();
    if let Some(pb::body::Content::Referral(r)) =
        request.body.as_mut().and_then(|b| b.content.as_mut())
    {
        r.notes = format!("{CANARY} {}", r.notes);
    }
    Ok(request)
}

/// The evidence steps recorded for a sent message, in order.
pub async fn steps(client: &mut NodeAdminClient<Channel>, id: &str) -> anyhow::Result<Vec<String>> {
    let status = client
        .status(pb::StatusRequest {
            message_id: id.to_owned(),
        })
        .await?
        .into_inner();
    Ok(status.evidence.into_iter().map(|e| e.step).collect())
}

/// Waits until the sender's evidence for `id` includes `step`.
pub async fn wait_for_step(
    client: &NodeAdminClient<Channel>,
    id: &str,
    step: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(limit, step, || {
        let mut client = client.clone();
        let id = id.to_owned();
        let step = step.to_owned();
        async move { Ok(steps(&mut client, &id).await?.contains(&step)) }
    })
    .await
    .with_context(|| format!("message {id}"))
}

/// Sends a test referral from the node behind `client` to `to`; its message id.
pub async fn send_referral(client: &NodeAdminClient<Channel>, to: &str) -> anyhow::Result<String> {
    Ok(client
        .clone()
        .send(referral(to)?)
        .await?
        .into_inner()
        .message_id)
}

/// Asserts that the inbox of the node behind `recipient` holds each of `ids` exactly once,
/// and nothing else.
pub async fn received_once(
    recipient: &NodeAdminClient<Channel>,
    ids: &[String],
) -> anyhow::Result<()> {
    let mut received = inbox_ids(&mut recipient.clone()).await?;
    received.sort();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(received, expected, "each referral received exactly once");
    Ok(())
}

/// The most messages [`inbox_ids`] lists: more than any test receives (a long run of the kill
/// rounds receives a few thousand).
pub const INBOX_LIMIT: u32 = 100_000;

/// The ids in `client`'s inbox.
pub async fn inbox_ids(client: &mut NodeAdminClient<Channel>) -> anyhow::Result<Vec<String>> {
    Ok(client
        .inbox(pb::InboxRequest { limit: INBOX_LIMIT })
        .await?
        .into_inner()
        .messages
        .into_iter()
        .map(|m| m.message_id)
        .collect())
}

/// A spec with the same addresses as the test federation, for generating a second, unrelated
/// federation (another CA, other keys).
pub fn federation_spec_for_other_ca() -> trm_dev::FederationSpec {
    trm_dev::local::spec(
        "trm-other",
        &[(
            BROKER,
            "MARRI",
            std::net::SocketAddr::from(([127, 0, 0, 1], 9)),
        )],
        &[(LEFOE, "LEFÖ-IBF", "ngo", "AT")],
    )
}

/// A raw broker client speaking as node `address` (its listed certificate) to its home broker.
pub async fn raw_client_as(
    fed: &LocalFederation,
    address: &str,
) -> anyhow::Result<trm_proto::pb::broker_client::BrokerClient<Channel>> {
    Ok(crate::raw::broker(channel_as(fed, address).await?))
}

/// A mutual-TLS channel to node `address`'s home broker, with that node's listed certificate.
pub async fn channel_as(fed: &LocalFederation, address: &str) -> anyhow::Result<Channel> {
    let material = fed
        .federation
        .node(address)
        .with_context(|| format!("no node {address}"))?;
    let broker = material.address.broker();
    crate::raw::channel(
        fed.broker_addr(broker.as_str())?,
        broker.as_str(),
        &fed.federation.ca_pem,
        Some((&material.cert_pem, &material.key_pem)),
    )
    .await
}

/// The first entries of a node's handover log.
pub async fn log_entries(
    client: &mut NodeAdminClient<Channel>,
) -> anyhow::Result<Vec<pb::LogEntryView>> {
    Ok(client
        .log(pb::LogRequest {
            from_index: 0,
            limit: 1000,
        })
        .await?
        .into_inner()
        .entries)
}

/// Waits until a node's handover log has an entry with `event`.
pub async fn wait_for_log_event(
    client: &NodeAdminClient<Channel>,
    event: &str,
    limit: Duration,
) -> anyhow::Result<()> {
    trm_dev::wait::wait_for(limit, event, || {
        let mut client = client.clone();
        let event = event.to_owned();
        async move {
            Ok(log_entries(&mut client)
                .await?
                .iter()
                .any(|e| e.event == event))
        }
    })
    .await
}

/// Waits until a node's inbox holds at least `count` messages.
pub async fn wait_for_inbox(
    client: &NodeAdminClient<Channel>,
    count: usize,
    limit: Duration,
) -> anyhow::Result<()> {
    let waited = trm_dev::wait::wait_for(limit, "the inbox to fill", || {
        let mut client = client.clone();
        async move { Ok(inbox_ids(&mut client).await?.len() >= count) }
    })
    .await;
    if let Err(e) = waited {
        let held = inbox_ids(&mut client.clone()).await?.len();
        anyhow::bail!("{e:#}: {held} of {count} messages arrived");
    }
    Ok(())
}
