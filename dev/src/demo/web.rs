//! `trm demo --web`: the demo federation (Austria's and Serbia's brokers, LEFÖ-IBF's and
//! Astra's nodes) with both organisations' consoles on loopback, one account per role at each,
//! running until Ctrl-C, so that a person can carry the Vienna–Belgrade case in a browser.
//!
//! Each console presents a certificate made here for `127.0.0.1` (serverAuth, self-signed,
//! written beside the node's data): a browser warns about it once; trust the printed file
//! instead to avoid the warning. The passwords are random, printed once, and the federation's
//! keys are development keys: nothing here is for real cases.

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;
use trm_node::accounts::Role;
use trm_proto::pb;
use trm_proto::pb::node_accounts_client::NodeAccountsClient;

use super::{RECIPIENT, SENDER};
use crate::local::LocalFederation;
use crate::wait::wait_for;

/// One organisation's console, as printed.
#[derive(Debug, Clone)]
pub struct Console {
    /// The node's address (`lefoe-ibf@at`).
    pub node: String,
    /// The organisation's name.
    pub organisation: String,
    /// The console's address, `https://127.0.0.1:PORT/`.
    pub url: String,
    /// The certificate the console presents (PEM), to trust in a browser.
    pub certificate: PathBuf,
    /// The demo accounts: login name, role, password.
    pub accounts: Vec<(String, Role, String)>,
}

/// The running web demo: both consoles, until [`WebDemo::stop`].
pub struct WebDemo {
    fed: LocalFederation,
    /// LEFÖ-IBF's console, then Astra's.
    pub consoles: Vec<Console>,
}

/// The organisations: node address, name, the short name in login names.
const ORGANISATIONS: [(&str, &str, &str); 2] =
    [(SENDER, "LEFÖ-IBF", "lefoe"), (RECIPIENT, "Astra", "astra")];

/// How long a node may take to write its console's address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Length of a demo password (letters and digits).
const PASSWORD_LEN: usize = 20;

impl WebDemo {
    /// Creates the demo federation in `root`, starts its brokers and both nodes with their
    /// consoles, and adds the demo accounts.
    pub async fn start(root: &Path) -> anyhow::Result<Self> {
        let mut fed = LocalFederation::create(
            root,
            "trm-demo",
            &[("at", "AT"), ("rs", "RS")],
            &[
                (SENDER, "LEFÖ-IBF", "ngo", "AT"),
                (RECIPIENT, "Astra", "ngo", "RS"),
            ],
        )
        .await?;
        fed.start_broker("at").await?;
        fed.start_broker("rs").await?;
        let mut consoles = Vec::new();
        for (node, organisation, short) in ORGANISATIONS {
            let certificate = start_with_console(&mut fed, node).await?;
            let addr = console_addr(&fed.node_data_dir(node)).await?;
            let accounts = add_accounts(&fed.node_socket(node), short).await?;
            consoles.push(Console {
                node: node.to_owned(),
                organisation: organisation.to_owned(),
                url: format!("https://{addr}/"),
                certificate,
                accounts,
            });
        }
        Ok(Self { fed, consoles })
    }

    /// What a person needs to start: each console's address, its certificate, its accounts.
    pub fn summary(&self) -> String {
        let mut out = String::from(
            "The demo federation runs: Austria's and Serbia's brokers, LEFÖ-IBF (Vienna) and \
             Astra (Belgrade).\nEach console presents its own certificate for 127.0.0.1: your \
             browser warns once; accept it, or trust the file shown.\n",
        );
        for c in &self.consoles {
            let _ = writeln!(
                out,
                "\n{} ({})\n  console:     {}\n  certificate: {}",
                c.organisation,
                c.node,
                c.url,
                c.certificate.display()
            );
            for (name, role, password) in &c.accounts {
                let _ = writeln!(
                    out,
                    "  {:<16} {:<24} password {password}",
                    role.name(),
                    name
                );
            }
        }
        out.push_str(
            "\nA caseworker at LEFÖ-IBF writes the referral (New referral); a caseworker at \
             Astra answers it. Press Ctrl-C to stop.\n",
        );
        out
    }

    /// The admin socket of `node`, for checks a person would make in the other console.
    pub fn socket(&self, node: &str) -> PathBuf {
        self.fed.node_socket(node)
    }

    /// Stops both nodes and both brokers.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.fed.shutdown().await
    }
}

/// Runs the web demo in `root` until `stop` completes (Ctrl-C), printing [`WebDemo::summary`].
pub async fn run(root: &Path, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let demo = WebDemo::start(root).await?;
    print!("{}", demo.summary());
    stop.await;
    println!("Stopping the demo federation...");
    demo.stop().await?;
    println!("Stopped.");
    Ok(())
}

/// Starts `node` with `[http]` on 127.0.0.1 port 0 and a console certificate made for it;
/// answers the certificate's path.
async fn start_with_console(fed: &mut LocalFederation, node: &str) -> anyhow::Result<PathBuf> {
    let dir = fed.node_data_dir(node);
    let folder = dir
        .parent()
        .context("the node's data folder has no parent")?
        .join(format!("{node}-console"));
    std::fs::create_dir_all(&folder)?;
    let (cert_pem, key_pem) = console_certificate()?;
    let cert = folder.join("console.crt");
    let key = folder.join("console.key");
    std::fs::write(&cert, cert_pem)?;
    write_secret(&key, &key_pem)?;
    let mut config = fed.node_config(node)?;
    config.http.listen = Some("127.0.0.1:0".into());
    config.http.tls_cert = Some(cert.clone());
    config.http.tls_key = Some(key);
    fed.start_node_with(node, config).await?;
    Ok(cert)
}

/// A self-signed serverAuth certificate for `127.0.0.1` and `localhost`, and its key (PEM).
pub fn console_certificate() -> anyhow::Result<(String, String)> {
    let mut params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "trm demo console");
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The console's address, once the node has written it to `http.addr` in its data folder.
async fn console_addr(data_dir: &Path) -> anyhow::Result<SocketAddr> {
    let file = data_dir.join("http.addr");
    wait_for(START_TIMEOUT, "the console's address", || {
        let file = file.clone();
        async move { Ok(file.exists()) }
    })
    .await?;
    let text = std::fs::read_to_string(&file)?;
    text.trim()
        .parse()
        .with_context(|| format!("{} holds no address: {text:?}", file.display()))
}

/// Adds one account per role (`<short>-<role>`, a random password) over the node's admin
/// socket, as its host's administrator would.
async fn add_accounts(socket: &Path, short: &str) -> anyhow::Result<Vec<(String, Role, String)>> {
    let mut client = NodeAccountsClient::new(crate::socket::channel(socket).await?);
    let mut made = Vec::new();
    for role in Role::ALL {
        let name = format!("{short}-{}", role.name().replace('_', "-"));
        let password = password();
        client
            .add_account(pb::AddAccountRequest {
                name: name.clone(),
                roles: vec![role.name().to_owned()],
                password: password.clone(),
            })
            .await
            .with_context(|| format!("adding the demo account {name}"))?;
        made.push((name, role, password));
    }
    Ok(made)
}

/// A random password of letters and digits.
fn password() -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(PASSWORD_LEN)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_certificate_names_the_loopback_address_for_servers() {
        let (cert, key) = console_certificate().expect("certificate");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
        use rustls_pki_types::pem::PemObject as _;
        let der = rustls_pki_types::CertificateDer::from_pem_slice(cert.as_bytes())
            .expect("one certificate");
        let parsed = webpki::EndEntityCert::try_from(&der).expect("parses");
        let ip = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
        parsed
            .verify_is_valid_for_subject_name(&ip)
            .expect("valid for 127.0.0.1");
        let other = rustls_pki_types::ServerName::try_from("10.0.0.1").expect("name");
        assert!(parsed.verify_is_valid_for_subject_name(&other).is_err());
    }

    #[test]
    fn passwords_are_long_and_differ() {
        let (a, b) = (password(), password());
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
