//! Envelopes built by hand: what a forger, a tamperer or a surreptitious forwarder would send.
//! The real node never seals these; the tests check that brokers and nodes refuse them.

use std::io::Write;

use prost::Message;
use sha2::{Digest, Sha256};
use trm_dev::Federation;
use trm_node::keys::NodeKeys;
use trm_node::seal::{self, Draft};
use trm_proto::addr::NodeAddr;
use trm_proto::directory::Directory;
use trm_proto::envelope::Header;
use trm_proto::pb;
use trm_proto::signing::{self, Purpose};

/// The keys of node `address` from the generated federation.
pub fn keys(federation: &Federation, address: &str) -> anyhow::Result<NodeKeys> {
    let material = federation
        .node(address)
        .ok_or_else(|| anyhow::anyhow!("no node {address}"))?;
    Ok(NodeKeys {
        address: material.address.clone(),
        signing: material.signing_key.clone(),
        age: material
            .age_identity
            .parse()
            .map_err(|e: &str| anyhow::anyhow!("age identity: {e}"))?,
    })
}

/// The federation's verified directory.
pub fn directory(federation: &Federation) -> anyhow::Result<Directory> {
    Ok(Directory::verify(
        federation.signed_directory.clone(),
        &federation.authority.verifying_key(),
        &federation.federation,
        trm_proto::time::now_ms(),
    )?)
}

/// A correctly sealed envelope of `request` from `keys`.
pub fn sealed(
    keys: &NodeKeys,
    directory: &Directory,
    request: &pb::SendRequest,
) -> anyhow::Result<pb::Envelope> {
    let content = request
        .body
        .clone()
        .and_then(|b| b.content)
        .ok_or_else(|| anyhow::anyhow!("no content"))?;
    let draft = Draft {
        to: request.to.parse()?,
        case_ref: request.case_ref.parse()?,
        priority: pb::Priority::Routine,
        content,
        text_language: String::new(),
    };
    Ok(seal::seal(keys, directory, draft, trm_proto::time::now_ms(), 3_600_000)?.envelope)
}

/// An envelope whose signed body names `body_to` while its header is addressed to
/// `header_to`: a recipient re-wrapping a body it was sent, or a sender lying about the
/// addressee. Everything is validly signed by `keys`.
pub fn misbound(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    body_to: &NodeAddr,
    content: pb::body::Content,
) -> anyhow::Result<pb::Envelope> {
    signed_body_envelope(keys, directory, header_to, |body| {
        body.to = body_to.to_string();
        body.content = Some(content);
    })
}

/// A referral to `to` whose signed body carries `case_ref` as it is, valid or not (a name,
/// say): everything else is correct and validly signed by `keys`.
pub fn with_case_ref(
    keys: &NodeKeys,
    directory: &Directory,
    to: &NodeAddr,
    case_ref: &str,
    content: pb::body::Content,
) -> anyhow::Result<pb::Envelope> {
    signed_body_envelope(keys, directory, to, |body| {
        body.case_ref = case_ref.to_owned();
        body.content = Some(content);
    })
}

/// A message to `to` in case `case_ref` whose body carries step number `sequence`
/// (`Body.case_sequence`), as a broker replaying or holding back a step would deliver it:
/// everything else is correct and validly signed by `keys`.
pub fn with_sequence(
    keys: &NodeKeys,
    directory: &Directory,
    to: &NodeAddr,
    (case_ref, sequence): (&str, u64),
    content: pb::body::Content,
) -> anyhow::Result<pb::Envelope> {
    signed_body_envelope(keys, directory, to, |body| {
        body.case_ref = case_ref.to_owned();
        body.case_sequence = sequence;
        body.content = Some(content);
    })
}

/// A referral to `to` whose body says its codes come from `code_lists`.
pub fn with_code_lists(
    keys: &NodeKeys,
    directory: &Directory,
    to: &NodeAddr,
    code_lists: &str,
    content: pb::body::Content,
) -> anyhow::Result<pb::Envelope> {
    signed_body_envelope(keys, directory, to, |body| {
        body.code_lists = code_lists.to_owned();
        body.content = Some(content);
    })
}

/// A referral to `to` made at `created_at_ms` and deliverable until `expires_at_ms` (header and
/// body agree), validly signed by `keys`: expired, or dated in the future, as a node would
/// never seal it.
pub fn dated(
    keys: &NodeKeys,
    directory: &Directory,
    to: &NodeAddr,
    (created_at_ms, expires_at_ms): (u64, u64),
    content: pb::body::Content,
) -> anyhow::Result<pb::Envelope> {
    signed_body_envelope_at(
        keys,
        directory,
        to,
        (created_at_ms, expires_at_ms),
        |body| {
            body.content = Some(content);
        },
    )
}

/// A referral envelope to `header_to` whose body, bound to the header, `adjust` then changes.
fn signed_body_envelope(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    adjust: impl FnOnce(&mut pb::Body),
) -> anyhow::Result<pb::Envelope> {
    let now = trm_proto::time::now_ms();
    signed_body_envelope_at(keys, directory, header_to, (now, now + HOUR_MS), adjust)
}

/// [`signed_body_envelope`] made at `now` and deliverable until `expires_at_ms`.
fn signed_body_envelope_at(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    (now, expires_at_ms): (u64, u64),
    adjust: impl FnOnce(&mut pb::Body),
) -> anyhow::Result<pb::Envelope> {
    let message_id = trm_proto::addr::MessageId::random();
    let mut body = pb::Body {
        from: keys.address.to_string(),
        to: header_to.to_string(),
        message_id: message_id.to_string(),
        created_at_ms: now,
        case_ref: "AT-LEFOE-2026-0042".into(),
        kind: pb::MessageKind::Referral.into(),
        code_lists: trm_proto::CODE_LISTS_VERSION.into(),
        ..Default::default()
    };
    adjust(&mut body);
    with_body_bytes_until(
        keys,
        directory,
        header_to,
        message_id,
        (now, expires_at_ms),
        body.encode_to_vec(),
    )
}

/// How long the envelopes made here stay deliverable unless a test says otherwise.
const HOUR_MS: u64 = 3_600_000;

/// A referral envelope to `header_to` whose signed body carries `body` as it is, any bytes,
/// validly signed by `keys`: what reaches the recipient's body decoder.
pub fn with_body_bytes(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    message_id: trm_proto::addr::MessageId,
    now: u64,
    body: Vec<u8>,
) -> anyhow::Result<pb::Envelope> {
    with_body_bytes_until(
        keys,
        directory,
        header_to,
        message_id,
        (now, now + HOUR_MS),
        body,
    )
}

/// [`with_body_bytes`] made at `now` and deliverable until `expires_at_ms`.
fn with_body_bytes_until(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    message_id: trm_proto::addr::MessageId,
    times: (u64, u64),
    body: Vec<u8>,
) -> anyhow::Result<pb::Envelope> {
    let signed_body = pb::SignedBody {
        signature: signing::sign(&keys.signing, Purpose::Body, &body),
        body,
    }
    .encode_to_vec();
    with_plaintext_until(keys, directory, header_to, message_id, times, &signed_body)
}

/// A referral envelope to `header_to` whose ciphertext decrypts to `plaintext` as it is, any
/// bytes, the header validly signed by `keys`: what reaches the recipient's signed-body decoder.
pub fn with_plaintext(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    message_id: trm_proto::addr::MessageId,
    now: u64,
    plaintext: &[u8],
) -> anyhow::Result<pb::Envelope> {
    with_plaintext_until(
        keys,
        directory,
        header_to,
        message_id,
        (now, now + HOUR_MS),
        plaintext,
    )
}

/// [`with_plaintext`] made at `now` and deliverable until `expires_at_ms`.
fn with_plaintext_until(
    keys: &NodeKeys,
    directory: &Directory,
    header_to: &NodeAddr,
    message_id: trm_proto::addr::MessageId,
    (now, expires_at_ms): (u64, u64),
    plaintext: &[u8],
) -> anyhow::Result<pb::Envelope> {
    let recipient: age::x25519::Recipient = directory
        .node(header_to)
        .ok_or_else(|| anyhow::anyhow!("no node {header_to}"))?
        .age_recipient
        .parse()
        .map_err(|e: &str| anyhow::anyhow!("{e}"))?;
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))?;
    let mut ciphertext = Vec::new();
    let mut writer = encryptor.wrap_output(&mut ciphertext)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    let header = Header {
        message_id,
        from: keys.address.clone(),
        to: header_to.clone(),
        created_at_ms: now,
        expires_at_ms,
        priority: pb::Priority::Routine,
        kind: pb::MessageKind::Referral,
        ciphertext_sha256: Sha256::digest(&ciphertext).into(),
        recipient_key_id: String::new(),
    }
    .to_pb()
    .encode_to_vec();
    Ok(pb::Envelope {
        signature: signing::sign(&keys.signing, Purpose::Envelope, &header),
        header,
        ciphertext,
    })
}

/// `envelope` with its header's addressee replaced by `to` (any text, even an address no
/// directory lists) and the header signed again by `keys`: genuinely signed, misaddressed.
pub fn readdressed(
    keys: &NodeKeys,
    envelope: &pb::Envelope,
    to: &str,
) -> anyhow::Result<pb::Envelope> {
    let mut header = pb::EnvelopeHeader::decode(envelope.header.as_slice())?;
    header.to = to.to_owned();
    let header = header.encode_to_vec();
    Ok(pb::Envelope {
        signature: signing::sign(&keys.signing, Purpose::Envelope, &header),
        header,
        ciphertext: envelope.ciphertext.clone(),
    })
}
