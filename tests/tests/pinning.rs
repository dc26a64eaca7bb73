//! Authentication at the handshake, over real TLS on loopback: a broker completes the TLS
//! handshake only with certificates the directory in use lists (so health and reflection never
//! answer anyone else), a node or a broker completes it only with the certificate the
//! directory lists for the broker it dials, a revocation takes effect at the next handshake after a refresh, and TLS 1.2
//! is not spoken.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use trm_dev::local::LocalFederation;
use trm_proto::pb;
use trm_tests::fixtures::{self, BROKER, LEFOE, OPEN_GATE};
use trm_tests::raw;

const WAIT: Duration = Duration::from_secs(30);

/// A channel to the test broker presenting `cert`/`key`.
async fn channel_with(fed: &LocalFederation, cert: &str, key: &str) -> anyhow::Result<Channel> {
    raw::channel(
        fed.broker_addr(BROKER)?,
        BROKER,
        &fed.federation.ca_pem,
        Some((cert, key)),
    )
    .await
}

/// Asks gRPC health about the broker service.
async fn health(channel: Channel) -> Result<i32, tonic::Status> {
    Ok(HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "trm.v1.Broker".into(),
        })
        .await?
        .into_inner()
        .status)
}

/// Asks gRPC reflection for the service list.
async fn reflection(channel: Channel) -> Result<(), tonic::Status> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    responses.message().await?;
    Ok(())
}

/// A refusal during the handshake: the call never reached the server, so the status is the
/// transport's (the `access denied` alert), never the broker's PERMISSION_DENIED.
fn assert_handshake_refused(outcome: Result<impl std::fmt::Debug, tonic::Status>, what: &str) {
    match outcome {
        Ok(answer) => panic!("{what}: answered {answer:?}"),
        Err(status) => assert!(raw::refused_at_handshake(&status), "{what}: {status:?}"),
    }
}

#[tokio::test]
async fn an_unlisted_ca_signed_certificate_fails_the_handshake_and_gets_no_health_or_reflection()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;

    // Signed by the federation CA for a listed address, but not the certificate listed.
    let (cert, key) = trm_authority::issue_node_certificate(&fed.federation.dir, &LEFOE.parse()?)?;
    let unlisted = channel_with(&fed, &cert, &key).await?;
    assert_handshake_refused(health(unlisted.clone()).await, "health");
    assert_handshake_refused(reflection(unlisted.clone()).await, "reflection");
    assert_handshake_refused(
        raw::broker(unlisted)
            .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
            .await,
        "fetch directory",
    );

    // The listed certificate gets all three.
    let lefoe = fed.federation.node(LEFOE).context("lefoe")?;
    let listed = channel_with(&fed, &lefoe.cert_pem, &lefoe.key_pem).await?;
    assert_eq!(
        health(listed.clone()).await?,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    reflection(listed.clone()).await?;
    raw::broker(listed)
        .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
        .await?;
    fed.shutdown().await?;
    Ok(())
}

/// A certificate for broker `name` signed by the federation's CA, which the directory does
/// not list: what a stolen CA signature, or a retired certificate, looks like.
fn unlisted_broker_certificate(
    fed: &LocalFederation,
    name: &str,
) -> anyhow::Result<(String, String)> {
    let ca_dir = &fed.federation.dir;
    let key = rcgen::KeyPair::from_pem(&trm_authority::files::read(
        &ca_dir.join(trm_authority::files::CA_KEY),
    )?)?;
    let ca = rcgen::Issuer::from_ca_cert_pem(
        &trm_authority::files::read(&ca_dir.join(trm_authority::files::CA_CERT))?,
        key,
    )?;
    let validity = trm_authority::pki::Validity::days_from(SystemTime::now(), 30);
    let leaf = trm_authority::pki::broker_certificate(&ca, &name.parse()?, validity)?;
    Ok((leaf.cert_pem, leaf.key_pem))
}

#[tokio::test]
async fn a_node_refuses_a_broker_presenting_a_ca_signed_certificate_the_directory_does_not_list()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    let (cert, key) = unlisted_broker_certificate(&fed, BROKER)?;
    let fingerprint =
        trm_proto::directory::pem_leaf_fingerprint(&cert).context("certificate readable")?;
    let mut config = fed.broker_config(BROKER)?;
    config.tls_cert_pem = cert;
    config.tls_key_pem = key;
    fed.start_broker_with(BROKER, config).await?;
    fed.start_node(LEFOE).await?;

    let refresh = pb::DirectorySearchRequest {
        refresh: true,
        ..Default::default()
    };
    let answer = fed
        .client(LEFOE)
        .await?
        .search_directory(refresh.clone())
        .await?
        .into_inner();
    assert!(!answer.refreshed);
    assert!(
        answer
            .refresh_problem
            .contains(&format!(
                "certificate with SHA-256 {} is not the one federation directory version 1 lists for broker {BROKER}",
                hex::encode(fingerprint)
            )),
        "{}",
        answer.refresh_problem
    );

    // The same node, and the same broker with its listed certificate: the refresh works, so the
    // refusal above was the pin.
    fed.stop_broker(BROKER).await?;
    fed.start_broker(BROKER).await?;
    let answer = fed
        .client(LEFOE)
        .await?
        .search_directory(refresh)
        .await?
        .into_inner();
    assert_eq!(answer.refresh_problem, "");
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_node_revoked_in_a_newer_directory_fails_at_the_handshake_after_the_brokers_refresh()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let open_gate = fed.federation.node(OPEN_GATE).context("open gate")?.clone();
    let connected = channel_with(&fed, &open_gate.cert_pem, &open_gate.key_pem).await?;
    health(connected.clone()).await?;

    let mut authority = trm_authority::Authority::open(&fed.federation.dir)?;
    authority.revoke(OPEN_GATE)?;
    authority.publish(30)?;
    let state = fed.broker_state(BROKER)?;
    state.refresh_now.notify_one();
    trm_dev::wait::wait_for(WAIT, "the broker to adopt version 2", || {
        let version = state.directory.current().version();
        async move { Ok(version == 2) }
    })
    .await?;
    drop(state);

    // A new connection with the revoked certificate fails at the handshake.
    let fresh = channel_with(&fed, &open_gate.cert_pem, &open_gate.key_pem).await?;
    assert_handshake_refused(health(fresh).await, "revoked, new connection");

    // A connection opened before the revocation is refused call by call.
    let refused = raw::broker(connected)
        .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
        .await
        .expect_err("revoked, open connection");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(
        refused
            .message()
            .contains("not registered in federation directory version 2"),
        "{refused:?}"
    );

    // Others still get through.
    let lefoe = fed.federation.node(LEFOE).context("lefoe")?;
    health(channel_with(&fed, &lefoe.cert_pem, &lefoe.key_pem).await?).await?;
    fed.shutdown().await?;
    Ok(())
}

#[tokio::test]
async fn a_broker_refuses_a_peer_broker_presenting_a_ca_signed_certificate_the_directory_does_not_list()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut fed = LocalFederation::create(
        dir.path(),
        "trm-pinning-test",
        &[("at", "AT"), ("rs", "RS")],
        &[
            ("lefoe-ibf@at", "LEFÖ-IBF", "ngo", "AT"),
            ("astra@rs", "Astra", "ngo", "RS"),
        ],
    )
    .await?;
    let (cert, key) = unlisted_broker_certificate(&fed, "rs")?;
    let fingerprint =
        trm_proto::directory::pem_leaf_fingerprint(&cert).context("certificate readable")?;
    let mut config = fed.broker_config("rs")?;
    config.tls_cert_pem = cert;
    config.tls_key_pem = key;
    fed.start_broker_with("rs", config).await?;
    fed.start_broker("at").await?;

    // Broker at calls rs the way its relay and refresh tasks do.
    let at = fed.broker_state("at")?;
    let directory = at.directory.current();
    let rs = directory.broker(&"rs".parse()?).context("rs listed")?;
    let call = |channel| async move {
        raw::broker(channel)
            .fetch_directory(pb::FetchDirectoryRequest { known_version: 0 })
            .await
    };
    let refused = call(trm_broker::connect::channel(&at.federation.tls, rs)?)
        .await
        .expect_err("impostor");
    assert!(
        format!("{refused:?}").contains(&format!(
            "certificate with SHA-256 {} is not the one federation directory version 1 lists for broker rs",
            hex::encode(fingerprint)
        )),
        "{refused:?}"
    );

    // With its listed certificate, rs is accepted by the same code.
    fed.stop_broker("rs").await?;
    fed.start_broker("rs").await?;
    call(trm_broker::connect::channel(&at.federation.tls, rs)?).await?;
    drop(at);
    fed.shutdown().await?;
    Ok(())
}

/// A TLS handshake with the broker from a rustls client with `config`, then one read: the
/// error either side raised, as text.
async fn handshake(
    fed: &LocalFederation,
    config: Arc<rustls::ClientConfig>,
) -> anyhow::Result<Result<(), String>> {
    let tcp = TcpStream::connect(fed.broker_addr(BROKER)?).await?;
    let name = rustls::pki_types::ServerName::try_from(format!("{BROKER}.broker.trm"))?;
    let mut stream = match TlsConnector::from(config).connect(name, tcp).await {
        Ok(stream) => stream,
        Err(e) => return Ok(Err(e.to_string())),
    };
    // The server speaks first in HTTP/2 (its SETTINGS frame), or sends the alert.
    let mut byte = [0; 1];
    Ok(tokio::time::timeout(WAIT, stream.read_exact(&mut byte))
        .await?
        .map(|_| ())
        .map_err(|e| e.to_string()))
}

#[tokio::test]
async fn a_tls_1_2_client_is_refused() -> anyhow::Result<()> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fed.start_broker(BROKER).await?;
    let lefoe = fed.federation.node(LEFOE).context("lefoe")?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(
        fed.federation.ca_pem.as_bytes(),
    )?)?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ));
    let legacy = builder
        .with_protocol_versions(&[&rustls::version::TLS12])?
        .with_root_certificates(roots.clone())
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(lefoe.cert_pem.as_bytes())?],
            PrivateKeyDer::from_pem_slice(lefoe.key_pem.as_bytes())?,
        )?;
    let refused = handshake(&fed, Arc::new(legacy))
        .await?
        .expect_err("TLS 1.2");
    assert!(refused.contains("ProtocolVersion"), "{refused}");

    // The same client with TLS 1.3 gets through.
    let mut current = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])?
    .with_root_certificates(roots)
    .with_client_auth_cert(
        vec![CertificateDer::from_pem_slice(lefoe.cert_pem.as_bytes())?],
        PrivateKeyDer::from_pem_slice(lefoe.key_pem.as_bytes())?,
    )?;
    current.alpn_protocols = vec![b"h2".to_vec()];
    assert_eq!(handshake(&fed, Arc::new(current)).await?, Ok(()));
    fed.shutdown().await?;
    Ok(())
}
