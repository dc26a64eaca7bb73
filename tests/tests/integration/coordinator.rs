//! A national coordinator's witnessing: its node asks the organisations of its own country for
//! their checkpoints and cosigns them, first on sight and then only proved extensions; nobody
//! else may ask, and the coordinator's export passes `trm audit verify` with the node's own.

use std::time::Duration;

use tonic::Code;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::craft;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

use super::audit::{export, read, trust, verify};

const WAIT: Duration = Duration::from_secs(30);
/// Austria's national coordinator.
const COORDINATOR: &str = "coordinator-at@marri";

async fn federation(root: &std::path::Path) -> anyhow::Result<LocalFederation> {
    let coordinator = (
        COORDINATOR,
        "Task Force on Combating Human Trafficking",
        "coordinator",
        "AT",
    );
    // No sharing agreement with the coordinator: witnessing needs none.
    fixtures::federation_with_more(root, &[coordinator], |spec| {
        spec.agreements
            .retain(|a| !a.parties.iter().any(|p| p == COORDINATOR));
    })
    .await
}

/// Collects checkpoints and waits until the coordinator has cosigned one of `node` of at least
/// `size` entries; answers the size cosigned.
async fn collect(fed: &LocalFederation, node: &str, size: u64) -> anyhow::Result<u64> {
    let mut coordinator = fed.client(COORDINATOR).await?;
    let asked = coordinator
        .collect_checkpoints(pb::CollectCheckpointsRequest {
            purpose: "quarterly monitoring".into(),
        })
        .await?
        .into_inner()
        .asked;
    let nodes: Vec<&str> = asked.iter().map(|a| a.node.as_str()).collect();
    assert_eq!(nodes, [node], "only the organisations of its own country");
    assert!(asked.iter().all(|a| a.problem.is_empty()), "{asked:?}");
    let cosigned_size = |coordinator: pb::node_admin_client::NodeAdminClient<_>| async move {
        let mut coordinator = coordinator;
        let witnessed = coordinator
            .witnessed(pb::WitnessedRequest {})
            .await?
            .into_inner();
        anyhow::Ok(
            witnessed
                .latest
                .iter()
                .find(|w| w.node == node)
                .map_or(0, |w| w.size),
        )
    };
    trm_dev::wait::wait_for(WAIT, "the checkpoint to be cosigned", || {
        let coordinator = coordinator.clone();
        async move { Ok(cosigned_size(coordinator).await? >= size) }
    })
    .await?;
    cosigned_size(coordinator).await
}

#[tokio::test]
async fn a_coordinator_cosigns_its_countrys_checkpoints_and_nobody_else_may_ask()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    for node in [LEFOE, ASTRA, COORDINATOR] {
        fed.start_node(node).await?;
    }
    let mut lefoe = fed.client(LEFOE).await?;
    let referral = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &referral.message_id, "delivered", WAIT).await?;

    // LEFÖ-IBF signs a fresh checkpoint when asked: it covers the referral's three entries
    // (sent, accepted, delivered).
    let first = collect(&fed, LEFOE, 3).await?;
    let again = lefoe.send(fixtures::referral(ASTRA)?).await?.into_inner();
    fixtures::wait_for_step(&lefoe, &again.message_id, "delivered", WAIT).await?;
    let second = collect(&fed, LEFOE, first + 3).await?;
    assert!(second > first, "the extension was proved and cosigned");
    let witnessed = fed
        .client(COORDINATOR)
        .await?
        .witnessed(pb::WitnessedRequest {})
        .await?
        .into_inner();
    assert!(witnessed.forks.is_empty());

    // A witness request is no case: neither side has a case for it, nor keeps content or a
    // case key for it.
    let request = lefoe
        .inbox(pb::InboxRequest { limit: 10 })
        .await?
        .into_inner()
        .messages
        .into_iter()
        .find(|m| m.kind == i32::from(pb::MessageKind::WitnessRequest))
        .ok_or_else(|| anyhow::anyhow!("no witness request in the inbox"))?;
    let shown = lefoe
        .show(pb::ShowRequest {
            message_id: request.message_id,
        })
        .await?
        .into_inner();
    assert!(shown.body.is_none(), "{shown:?}");
    assert!(
        shown
            .erased
            .ends_with("a witness request carries no case content")
    );
    let audit_key = trm_node::cases::case_key(COORDINATOR, &request.case_ref);
    assert!(!trm_tests::case_keys::has_case_key(
        &fed.node_data_dir(LEFOE),
        &audit_key
    )?);
    let cases = trm_cli::client::connect_cases(&fed.node_socket(LEFOE))
        .await?
        .cases(pb::CasesRequest::default())
        .await?
        .into_inner()
        .cases;
    assert!(cases.iter().all(|c| !c.case_ref.starts_with("AUDIT-")));

    // Nobody but the coordinator may ask: LEFÖ-IBF's node refuses to collect...
    let refused = lefoe
        .collect_checkpoints(pb::CollectCheckpointsRequest::default())
        .await
        .expect_err("not a coordinator");
    assert_eq!(refused.code(), Code::PermissionDenied);
    // ... and the broker refuses a witness request Astra seals by hand for an Austrian node.
    let request = pb::SendRequest {
        to: LEFOE.into(),
        case_ref: "AUDIT-2026-11-22".into(),
        priority: pb::Priority::Routine.into(),
        body: Some(pb::Body {
            content: Some(pb::body::Content::WitnessRequest(pb::WitnessRequest {
                purpose: "curiosity".into(),
            })),
            ..Default::default()
        }),
        idempotency_key: String::new(),
    };
    let envelope = craft::sealed(
        &craft::keys(&fed.federation, ASTRA)?,
        &craft::directory(&fed.federation)?,
        &request,
    )?;
    let mut broker = fixtures::raw_client_as(&fed, ASTRA).await?;
    let refused = broker
        .submit(envelope)
        .await
        .expect_err("not a coordinator");
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("national coordinator"),
        "{}",
        refused.message()
    );

    // The coordinator's export holds what it cosigned; with LEFÖ-IBF's own, the audit agrees.
    let coordinator = read(&export(&fed, COORDINATOR, dir.path(), "coordinator.bundle").await?)?;
    let lefoe_bundle = read(&export(&fed, LEFOE, dir.path(), "lefoe.bundle").await?)?;
    assert!(!coordinator.witnessed.is_empty());
    let report = verify(
        &trust(&fed)?,
        &[("coordinator", &coordinator), ("lefoe", &lefoe_bundle)],
    );
    assert!(report.ok, "{:?}", report.findings);
    fed.shutdown().await?;
    Ok(())
}
