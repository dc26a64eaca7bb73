//! The handover log on disk: one changed byte is found, and the entry named; each node lists
//! its entries under the case references its people know.

use std::time::Duration;

use trm_cli::commands::{self, Output, exit};
use trm_node::store::danger;
use trm_proto::pb;
use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

#[tokio::test]
async fn one_changed_byte_in_a_log_entry_on_disk_is_named_by_trm_log_verify() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let lefoe = fed.client(LEFOE).await?;
    for _ in 0..2 {
        let sent = lefoe
            .clone()
            .send(fixtures::referral(ASTRA)?)
            .await?
            .into_inner();
        fixtures::wait_for_step(
            &lefoe,
            &sent.message_id,
            "delivered",
            Duration::from_secs(30),
        )
        .await?;
    }
    let socket = fed.node_socket(LEFOE);
    let out = Output { json: false };
    commands::verify_log(&socket, out).await?;
    let entries = lefoe
        .clone()
        .log(pb::LogRequest {
            from_index: 0,
            limit: 100,
        })
        .await?
        .into_inner()
        .entries;
    assert_eq!(
        entries.len(),
        6,
        "sent, accepted, delivered for each referral"
    );
    fed.stop_node(LEFOE).await?;

    // Someone with access to the disk changes one byte of entry 3 (the second SENT entry).
    {
        let data_dir = fed.node_data_dir(LEFOE);
        let mut value = danger::danger_read_log_entry(&data_dir, 3)?.expect("entry 3");
        let position = value.len() / 2;
        value[position] ^= 0x20;
        danger::danger_overwrite_log_entry(&data_dir, 3, &value)?;
    }

    fed.start_node(LEFOE).await?;
    let error = commands::verify_log(&socket, out)
        .await
        .expect_err("tampering detected");
    assert_eq!(error.code, exit::CHECK_FAILED);
    assert!(
        error.message.starts_with("handover log entry 3 is corrupt"),
        "{}",
        error.message
    );

    // A node with a broken log refuses to exchange anything until someone has looked.
    let refused = fed
        .client(LEFOE)
        .await?
        .send(fixtures::referral(ASTRA)?)
        .await
        .expect_err("sending on a broken log");
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn each_side_lists_its_entries_under_the_case_reference_its_people_know() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    fed.start_node(LEFOE).await?;
    fed.start_node(ASTRA).await?;
    let lefoe = fed.client(LEFOE).await?;
    let mut cases = Vec::new();
    for n in 0..3 {
        let mut referral = fixtures::referral(ASTRA)?;
        referral.case_ref = format!("AT-LEFOE-2026-NAMES-{n}");
        let sent = lefoe.clone().send(referral.clone()).await?.into_inner();
        fixtures::wait_for_step(
            &lefoe,
            &sent.message_id,
            "delivered",
            Duration::from_secs(30),
        )
        .await?;
        cases.push((sent.message_id, referral.case_ref));
    }
    for node in [LEFOE, ASTRA] {
        let entries = fed
            .client(node)
            .await?
            .log(pb::LogRequest {
                from_index: 0,
                limit: 100,
            })
            .await?
            .into_inner()
            .entries;
        for (id, case_ref) in &cases {
            let about: Vec<&pb::LogEntryView> =
                entries.iter().filter(|e| &e.message_id == id).collect();
            assert!(!about.is_empty(), "{node} logged nothing about {id}");
            for entry in about {
                assert_eq!(&entry.case_ref, case_ref, "{node}'s {} entry", entry.event);
            }
        }
    }
    fed.shutdown().await?;
    Ok(())
}
