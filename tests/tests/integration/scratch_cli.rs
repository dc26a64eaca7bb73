#[tokio::test]
async fn scratch_export_for_cli() -> anyhow::Result<()> {
    let root = std::path::Path::new("/tmp/auditcli");
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root)?;
    let mut fed = trm_tests::fixtures::federation(root).await?;
    fed.start_broker(trm_tests::fixtures::BROKER).await?;
    fed.start_node(trm_tests::fixtures::LEFOE).await?;
    fed.start_node(trm_tests::fixtures::ASTRA).await?;
    let c = fed.client(trm_tests::fixtures::LEFOE).await?;
    let sent = c.clone().send(trm_tests::fixtures::referral(trm_tests::fixtures::ASTRA)?).await?.into_inner();
    trm_tests::fixtures::wait_for_step(&c, &sent.message_id, "delivered", std::time::Duration::from_secs(30)).await?;
    std::fs::write(root.join("authority.hex"), hex::encode(fed.federation.authority.verifying_key().as_bytes()))?;
    println!("SOCKETS {} {}", fed.node_socket(trm_tests::fixtures::LEFOE).display(), fed.node_socket(trm_tests::fixtures::ASTRA).display());
    // keep running for a while so the CLI can talk to the nodes
    tokio::time::sleep(std::time::Duration::from_secs(40)).await;
    fed.shutdown().await?;
    Ok(())
}
