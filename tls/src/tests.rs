//! Real rustls handshakes over an in-memory pipe, with certificates made by rcgen: a listed
//! node, a CA-signed but unlisted one, one from another CA, one revoked by a newer directory,
//! a broker presenting a certificate the directory does not list, and a TLS 1.2 client.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use trm_proto::directory::{Directory, certificate_fingerprint, sign};
use trm_proto::{pb, signing};

use crate::{Identity, Pins, Refusals, Roots, client_config, server_config};

mod failover;

type Ca = CertifiedIssuer<'static, KeyPair>;

struct Leaf {
    cert_pem: String,
    key_pem: String,
    fingerprint: [u8; 32],
}

impl Leaf {
    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem).expect("identity")
    }
}

fn ca() -> Ca {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca")
}

fn leaf(ca: &Ca, dns: &str) -> Leaf {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec![dns.to_owned()]).expect("params");
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let cert = params.signed_by(&key, ca).expect("leaf");
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        fingerprint: certificate_fingerprint(cert.der()),
    }
}

const NODE: &str = "lefoe-ibf@at";

/// A directory listing broker `at` and node `lefoe-ibf@at` with these fingerprints (the node
/// left out when `node` is `None`).
fn directory(
    authority: &ed25519_dalek::SigningKey,
    version: u64,
    broker: [u8; 32],
    node: Option<[u8; 32]>,
) -> Arc<Directory> {
    let now = trm_proto::time::now_ms();
    let entries = pb::Directory {
        federation: "test".into(),
        version,
        issued_at_ms: now - 1_000,
        expires_at_ms: now + 86_400_000,
        brokers: vec![pb::BrokerEntry {
            name: "at".into(),
            endpoints: vec!["https://127.0.0.1:1".into()],
            certificate_sha256: broker.to_vec(),
            signing_key: authority.verifying_key().to_bytes().to_vec(),
            country: "AT".into(),
        }],
        nodes: node
            .map(|fingerprint| pb::NodeEntry {
                address: NODE.into(),
                certificate_sha256: fingerprint.to_vec(),
                signing_key: authority.verifying_key().to_bytes().to_vec(),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        agreements: Vec::new(),
    };
    let signed = sign(&entries, authority);
    Arc::new(Directory::verify(signed, &authority.verifying_key(), "test", now).expect("valid"))
}

/// The federation of the tests: one CA, broker `at`, node `lefoe-ibf@at`, directory v1.
struct Setup {
    ca: Ca,
    authority: ed25519_dalek::SigningKey,
    broker: Leaf,
    node: Leaf,
    roots: Roots,
    pins: Arc<Pins>,
    refusals: Arc<Refusals>,
}

fn setup() -> Setup {
    let ca = ca();
    let broker = leaf(&ca, "at.broker.trm");
    let node = leaf(&ca, "lefoe-ibf.at.node.trm");
    let authority = signing::generate_key();
    let pins = Arc::new(Pins::new(directory(
        &authority,
        1,
        broker.fingerprint,
        Some(node.fingerprint),
    )));
    let roots = Roots::from_pem(&ca.pem()).expect("roots");
    Setup {
        ca,
        authority,
        broker,
        node,
        roots,
        pins,
        refusals: Arc::new(Refusals::default()),
    }
}

impl Setup {
    fn server(&self, presenting: &Leaf) -> Arc<ServerConfig> {
        server_config(
            &presenting.identity(),
            &self.roots,
            self.pins.clone(),
            self.refusals.clone(),
        )
        .expect("server config")
    }

    fn client(&self, presenting: &Leaf) -> Arc<ClientConfig> {
        client_config(
            &presenting.identity(),
            &self.roots,
            self.pins.clone(),
            "at".parse().expect("name"),
            self.refusals.clone(),
        )
        .expect("client config")
    }
}

/// Runs a handshake and one server-to-client byte; returns what each side saw.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> (Result<(), String>, Result<(), String>) {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let name = ServerName::try_from("at.broker.trm").expect("name");
    let serving = async {
        let mut stream = TlsAcceptor::from(server)
            .accept(server_io)
            .await
            .map_err(|e| e.to_string())?;
        stream.write_all(b"k").await.map_err(|e| e.to_string())?;
        stream.flush().await.map_err(|e| e.to_string())
    };
    let dialling = async {
        let mut stream = TlsConnector::from(client)
            .connect(name, client_io)
            .await
            .map_err(|e| e.to_string())?;
        let mut byte = [0; 1];
        stream
            .read_exact(&mut byte)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    };
    tokio::join!(serving, dialling)
}

#[tokio::test]
async fn a_listed_node_and_its_listed_broker_complete_the_handshake() {
    let s = setup();
    let (server, client) = handshake(s.server(&s.broker), s.client(&s.node)).await;
    assert_eq!(server, Ok(()));
    assert_eq!(client, Ok(()));
}

#[tokio::test]
async fn a_ca_signed_but_unlisted_client_certificate_fails_the_handshake() {
    let s = setup();
    let stranger = leaf(&s.ca, "lefoe-ibf.at.node.trm");
    let (server, client) = handshake(s.server(&s.broker), s.client(&stranger)).await;
    let refused = server.expect_err("unlisted");
    assert!(
        refused.contains("ApplicationVerificationFailure"),
        "{refused}"
    );
    let told = client.expect_err("the client sees the alert");
    assert!(told.contains("AccessDenied"), "{told}");
    // The refusal was logged with this fingerprint (a second one within the interval is not).
    let now = std::time::Instant::now();
    assert_eq!(s.refusals.admit(&stranger.fingerprint, now), None);
    assert_eq!(s.refusals.admit(&s.node.fingerprint, now), Some(0));
}

#[tokio::test]
async fn a_client_certificate_from_another_ca_fails_the_handshake() {
    let s = setup();
    let other = ca();
    let foreign = leaf(&other, "lefoe-ibf.at.node.trm");
    let (server, client) = handshake(s.server(&s.broker), s.client(&foreign)).await;
    let refused = server.expect_err("foreign");
    assert!(refused.contains("invalid peer certificate"), "{refused}");
    assert!(client.is_err());
}

#[tokio::test]
async fn a_node_revoked_by_a_newer_directory_fails_from_the_next_handshake() {
    let s = setup();
    let server = s.server(&s.broker);
    let (accepted, _) = handshake(server.clone(), s.client(&s.node)).await;
    assert_eq!(accepted, Ok(()));

    // An older or equal version does not replace the pins.
    let without_node = |version| directory(&s.authority, version, s.broker.fingerprint, None);
    assert!(!s.pins.update(without_node(1)));
    assert_eq!(handshake(server.clone(), s.client(&s.node)).await.0, Ok(()));

    // Version 2 leaves the node out: the same server configuration now refuses it.
    assert!(s.pins.update(without_node(2)));
    assert_eq!(s.pins.version(), 2);
    let (refused, told) = handshake(server, s.client(&s.node)).await;
    assert!(refused.is_err(), "revoked");
    assert!(told.expect_err("revoked").contains("AccessDenied"));
}

#[tokio::test]
async fn a_revoked_node_cannot_resume_an_earlier_session() {
    let s = setup();
    let server = s.server(&s.broker);
    // One client configuration, kept across connections as a channel keeps it: with session
    // resumption the second handshake would restore the certificate and skip the verifier.
    let client = s.client(&s.node);
    assert_eq!(handshake(server.clone(), client.clone()).await.0, Ok(()));
    assert!(
        s.pins
            .update(directory(&s.authority, 2, s.broker.fingerprint, None))
    );
    let (refused, told) = handshake(server, client).await;
    assert!(refused.is_err(), "resumed past the revocation");
    assert!(told.expect_err("revoked").contains("AccessDenied"));
}

#[tokio::test]
async fn a_node_refuses_a_broker_certificate_the_directory_does_not_list() {
    let s = setup();
    // Signed by the federation CA, with the right name, but not the listed certificate.
    let impostor = leaf(&s.ca, "at.broker.trm");
    let (_, client) = handshake(s.server(&impostor), s.client(&s.node)).await;
    let refused = client.expect_err("impostor");
    assert!(
        refused.contains(&format!(
            "certificate with SHA-256 {} is not the one federation directory version 1 lists for broker at",
            crate::spell(&impostor.fingerprint)
        )),
        "{refused}"
    );

    // The right certificate for the wrong name: webpki refuses it before the pin is checked.
    let misnamed = leaf(&s.ca, "rs.broker.trm");
    let (_, client) = handshake(s.server(&misnamed), s.client(&s.node)).await;
    assert!(client.is_err());
}

#[tokio::test]
async fn a_tls_1_2_client_is_refused() {
    let s = setup();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(s.ca.der().clone())
        .expect("the CA is a trust anchor");
    let legacy =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS12])
            .expect("TLS 1.2 is built in")
            .with_root_certificates(roots)
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(s.node.cert_pem.as_bytes()).expect("cert")],
                PrivateKeyDer::from_pem_slice(s.node.key_pem.as_bytes()).expect("key"),
            )
            .expect("client config");
    let (server, client) = handshake(s.server(&s.broker), Arc::new(legacy)).await;
    let refused = server.expect_err("TLS 1.2");
    assert!(refused.contains("peer is incompatible"), "{refused}");
    assert!(client.is_err());
}

#[test]
fn refusals_say_which_certificate_and_which_directory_in_plain_words() {
    let unlisted = crate::verify::PinError::NotListed {
        fingerprint: [0xab; 32],
        version: 7,
    };
    assert_eq!(
        unlisted.to_string(),
        format!(
            "certificate with SHA-256 {} is not listed in federation directory version 7",
            "ab".repeat(32)
        )
    );
}

#[tokio::test]
async fn a_peer_that_accepts_tcp_and_never_answers_fails_the_dial_at_the_handshake_deadline() {
    use std::time::Duration;
    use tower::Service;

    let s = setup();
    // Accepts and holds connections, never writing a byte.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let mut connector = crate::Connector::new(s.client(&s.node), &"at".parse().expect("name"))
        .expect("connector")
        .with_timeouts(Duration::from_secs(1), Duration::from_millis(300));
    let uri: http::Uri = format!("http://{addr}").parse().expect("uri");
    let started = std::time::Instant::now();
    let dialled = tokio::time::timeout(Duration::from_secs(10), connector.call(uri))
        .await
        .expect("the connector gave up by itself");
    let Err(error) = dialled else {
        panic!("the handshake completed against a silent peer");
    };
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    assert!(
        error.to_string().contains("the TLS handshake")
            && error.to_string().contains("did not finish within 300ms"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    held.abort();
}

#[tokio::test]
async fn the_connector_hands_out_connections_with_nagle_turned_off() {
    use tower::Service;

    let s = setup();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = TlsAcceptor::from(s.server(&s.broker));
    let serving = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let mut stream = acceptor.accept(tcp).await.expect("handshake");
        stream.write_all(b"k").await.expect("write");
        stream.flush().await.expect("flush");
        // Held open until the client has looked at its socket.
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    });
    let mut connector =
        crate::Connector::new(s.client(&s.node), &"at".parse().expect("name")).expect("connector");
    let uri: http::Uri = format!("http://{addr}").parse().expect("uri");
    let mut stream = connector.call(uri).await.expect("dialled").into_inner();
    let mut byte = [0; 1];
    stream.read_exact(&mut byte).await.expect("one byte");
    let (tcp, _) = stream.get_ref();
    // A gRPC reply waiting for a delayed ACK costs tens of milliseconds per call.
    assert!(tcp.nodelay().expect("read TCP_NODELAY"), "Nagle is on");
    drop(stream);
    serving.await.expect("server task");
}
