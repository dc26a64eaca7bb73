//! The federation PKI: a self-signed federation CA and the broker and node TLS certificates it
//! signs, made with rcgen (ECDSA P-256, ring backend).
//!
//! Brokers get server and client authentication (they serve nodes and connect to peer
//! brokers); nodes get client authentication only, with their address as common name.

use std::path::Path;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use trm_proto::addr::{BrokerName, NodeAddr};

use crate::CertsError;
use crate::files;

const DAY: Duration = Duration::from_secs(86_400);

/// How long a certificate from [`issue_node_certificate`] stays valid.
pub const ISSUED_NODE_VALIDITY_DAYS: u32 = 30;

/// The federation's certificate authority: its certificate and signing key.
pub type Ca = CertifiedIssuer<'static, KeyPair>;

/// When a certificate is valid: from a day before now (tolerating clock skew) to a number of
/// days after now.
#[derive(Debug, Clone, Copy)]
pub struct Validity {
    not_before: SystemTime,
    not_after: SystemTime,
}

impl Validity {
    /// From a day before `now` to `days` after it.
    pub fn days_from(now: SystemTime, days: u32) -> Self {
        Self {
            not_before: now.checked_sub(DAY).unwrap_or(now),
            // Validated specs allow at most ten years, far from `SystemTime`'s range.
            not_after: now + DAY * days,
        }
    }

    fn apply(self, params: &mut CertificateParams) {
        // rcgen takes `time::OffsetDateTime`, which converts from `SystemTime`.
        params.not_before = self.not_before.into();
        params.not_after = self.not_after.into();
    }
}

/// A leaf certificate and its private key.
pub struct Leaf {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM.
    pub key_pem: String,
    /// The certificate's DER, whose SHA-256 goes in the directory.
    pub der: Vec<u8>,
}

fn certificate_error(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> CertsError {
    let what = what.into();
    move |source| CertsError::Certificate { what, source }
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

/// A fresh self-signed CA named after the federation.
pub fn certificate_authority(federation: &str, validity: Validity) -> Result<Ca, CertsError> {
    let key = KeyPair::generate().map_err(certificate_error("federation ca key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(&format!("{federation} development CA"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, federation);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity.apply(&mut params);
    CertifiedIssuer::self_signed(params, key)
        .map_err(certificate_error("federation ca certificate"))
}

/// Signs a fresh key's leaf certificate with `params` completed by the common leaf settings.
fn leaf(
    mut params: CertificateParams,
    ca: &Issuer<'_, KeyPair>,
    validity: Validity,
    what: &str,
) -> Result<Leaf, CertsError> {
    let key = KeyPair::generate().map_err(certificate_error(format!("key of {what}")))?;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    validity.apply(&mut params);
    let cert = params
        .signed_by(&key, ca)
        .map_err(certificate_error(format!("certificate of {what}")))?;
    Ok(Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        der: cert.der().to_vec(),
    })
}

/// A broker's certificate: valid for `localhost`, `127.0.0.1` and `<name>.broker.trm`, for
/// both server and client authentication.
pub fn broker_certificate(
    ca: &Issuer<'_, KeyPair>,
    name: &BrokerName,
    validity: Validity,
) -> Result<Leaf, CertsError> {
    let what = format!("broker {name}");
    let dns = format!("{name}.broker.trm");
    let mut params =
        CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into(), dns.clone()])
            .map_err(certificate_error(format!("names of {what}")))?;
    params.distinguished_name = common_name(&dns);
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    leaf(params, ca, validity, &what)
}

/// A node's certificate: common name its address, DNS name `<name>.<broker>.node.trm`, for
/// client authentication only.
pub fn node_certificate(
    ca: &Issuer<'_, KeyPair>,
    address: &NodeAddr,
    validity: Validity,
) -> Result<Leaf, CertsError> {
    let what = format!("node {address}");
    let dns = format!("{}.{}.node.trm", address.name(), address.broker());
    let mut params =
        CertificateParams::new(vec![dns]).map_err(certificate_error(format!("names of {what}")))?;
    params.distinguished_name = common_name(address.as_str());
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    leaf(params, ca, validity, &what)
}

/// Issues a node certificate for `address` from the CA in a federation folder made by
/// `trm-dev generate` (its `ca.pem` and `ca.key`), valid for
/// [`ISSUED_NODE_VALIDITY_DAYS`], without adding it to the directory. Returns the certificate
/// and its private key, both PEM.
///
/// Such a certificate chains to the federation CA but is not in the directory, which is what
/// tests use to show that brokers refuse it.
pub fn issue_node_certificate(
    ca_dir: &Path,
    address: &NodeAddr,
) -> Result<(String, String), CertsError> {
    let ca = load_ca(ca_dir)?;
    let validity = Validity::days_from(SystemTime::now(), ISSUED_NODE_VALIDITY_DAYS);
    let leaf = node_certificate(&ca, address, validity)?;
    Ok((leaf.cert_pem, leaf.key_pem))
}

/// Reads the CA certificate and key written by `trm-dev generate`.
/// A certificate request for a node's TLS key: its private key (PEM, stays on the node) and
/// the request (PEM, goes to the authority).
pub fn node_certificate_request(address: &NodeAddr) -> Result<(String, String), CertsError> {
    let what = format!("request of node {address}");
    let key = KeyPair::generate().map_err(certificate_error(format!("key of {what}")))?;
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(certificate_error(what.clone()))?;
    params.distinguished_name = common_name(address.as_str());
    let request = params
        .serialize_request(&key)
        .map_err(certificate_error(what.clone()))?;
    let pem = request.pem().map_err(certificate_error(what))?;
    Ok((key.serialize_pem(), pem))
}

/// Issues `address` a node certificate for the public key in `request_pem`, from the CA in
/// `ca_dir`. Only the request's key is taken from it: names, usages and validity are the
/// authority's. Returns the certificate PEM and its DER.
pub fn sign_node_request(
    ca_dir: &Path,
    address: &NodeAddr,
    request_pem: &str,
    validity_days: u32,
) -> Result<(String, Vec<u8>), CertsError> {
    let ca = load_ca(ca_dir)?;
    let what = format!("node {address}");
    let request = rcgen::CertificateSigningRequestParams::from_pem(request_pem)
        .map_err(certificate_error(format!("certificate request of {what}")))?;
    let dns = format!("{}.{}.node.trm", address.name(), address.broker());
    let mut params =
        CertificateParams::new(vec![dns]).map_err(certificate_error(format!("names of {what}")))?;
    params.distinguished_name = common_name(address.as_str());
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.use_authority_key_identifier_extension = true;
    Validity::days_from(SystemTime::now(), validity_days).apply(&mut params);
    let cert = params
        .signed_by(&request.public_key, &ca)
        .map_err(certificate_error(format!("certificate of {what}")))?;
    Ok((cert.pem(), cert.der().to_vec()))
}

fn load_ca(ca_dir: &Path) -> Result<Issuer<'static, KeyPair>, CertsError> {
    let key_path = ca_dir.join(files::CA_KEY);
    let key = KeyPair::from_pem(&files::read(&key_path)?).map_err(|e| CertsError::Ca {
        path: key_path,
        problem: format!("not a PEM PKCS#8 private key: {e}"),
    })?;
    let cert_path = ca_dir.join(files::CA_CERT);
    let issuer =
        Issuer::from_ca_cert_pem(&files::read(&cert_path)?, key).map_err(|e| CertsError::Ca {
            path: cert_path.clone(),
            problem: format!("not a PEM certificate: {e}"),
        })?;
    if !issuer.key_usages().contains(&KeyUsagePurpose::KeyCertSign) {
        return Err(CertsError::Ca {
            path: cert_path,
            problem: "the certificate may not sign certificates".into(),
        });
    }
    Ok(issuer)
}
