//! Configuration is validated completely before anything is bound or opened, and a running
//! broker answers gRPC health checks.

use trm_tests::fixtures::{self, ASTRA, BROKER, LEFOE};

#[tokio::test]
async fn a_broker_configuration_that_does_not_fit_the_directory_is_refused_naming_the_field()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let fed = fixtures::federation(dir.path()).await?;
    let material = fed.federation.broker(BROKER).expect("broker").clone();
    let good = trm_dev::devfed::broker_config(
        &fed.federation,
        &material,
        fed.broker_addr(BROKER)?,
        fed.broker_data_dir(BROKER),
    );
    good.clone().validate()?;

    // A node's certificate in place of the broker's.
    let mut wrong_cert = good.clone();
    wrong_cert.tls_cert = fed
        .federation
        .node(LEFOE)
        .expect("lefoe")
        .dir
        .join("tls.pem");
    let error = wrong_cert.validate().expect_err("wrong certificate");
    assert!(
        error
            .to_string()
            .starts_with("configuration field `tls_cert`"),
        "{error}"
    );

    // Another signing key.
    let mut wrong_key = good.clone();
    wrong_key.signing_key = fed
        .federation
        .node(ASTRA)
        .expect("astra")
        .dir
        .join("signing.key");
    let error = wrong_key.validate().expect_err("wrong key");
    assert!(
        error
            .to_string()
            .starts_with("configuration field `signing_key`"),
        "{error}"
    );

    // A pinned authority key that did not sign the directory.
    let mut wrong_authority = good.clone();
    wrong_authority.authority_key = hex::encode(
        trm_proto::signing::generate_key()
            .verifying_key()
            .to_bytes(),
    );
    let error = wrong_authority.validate().expect_err("wrong authority");
    assert!(
        error
            .to_string()
            .contains("does not verify with the pinned federation authority key"),
        "{error}"
    );

    // None of that created the data folder: nothing was opened.
    assert!(!fed.broker_data_dir(BROKER).exists());
    Ok(())
}

#[tokio::test]
async fn a_running_broker_reports_serving_on_grpc_health() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let channel = fixtures::channel_as(&fed, LEFOE).await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "trm.v1.Broker".into(),
        })
        .await?
        .into_inner()
        .status;
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_running_broker_lists_its_services_through_grpc_reflection() -> anyhow::Result<()> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let channel = fixtures::channel_as(&fed, LEFOE).await?;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    let response = responses.message().await?.expect("one answer");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("not a service list: {response:?}");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [
        "trm.v1.Broker",
        "trm.v1.BrokerPeer",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    fed.shutdown().await?;
    Ok(())
}
