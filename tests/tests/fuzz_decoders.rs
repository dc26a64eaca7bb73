//! A bounded fuzz run over every decoder a peer reaches, through the same entry points the
//! services use (the real parse, verify and open functions, not only `prost` decoding): random
//! bytes, and valid messages mutated (bits flipped, bytes changed, cut, inserted, removed),
//! some of them signed again after the mutation so that the input gets past the signature
//! check to the decoders and checks behind it.
//!
//! - envelope and header: the broker's admission ([`trm_broker::admit::verify`]);
//! - envelope, signed body and body: the recipient's [`trm_node::open::open`];
//! - receipt: [`trm_proto::receipt::verify`] and the attester rule;
//! - signed directory: [`Directory::verify`];
//! - relay batch and submitted envelope: a real broker over mutual TLS, bytes as they come;
//! - signed notes, checkpoints, cosignatures and verifier keys: [`checkpoint::open`] and the
//!   parsers; consistency and inclusion proofs: [`merkle`];
//! - audit bundles and the log entries in them: [`trm_audit::verify::verify`].
//!
//! No input may panic, and a mutated input whose signed bytes changed must be refused. The CI
//! runs [`DEFAULT_CASES`] cases per target (a few seconds in all); `TRM_FUZZ_CASES=100000`
//! runs a long campaign (see the README).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use prost::Message;
use tonic::Code;
use trm_dev::Federation;
use trm_dev::local::LocalFederation;
use trm_log::checkpoint::{self, Checkpoint, NoteVerifier, SignatureKind};
use trm_log::entry::entry_hash;
use trm_log::merkle::{self, Hash, MerkleTree};
use trm_node::keys::NodeKeys;
use trm_proto::addr::{MessageId, NodeAddr};
use trm_proto::directory::Directory;
use trm_proto::envelope::UnverifiedEnvelope;
use trm_proto::signing::{self, Purpose};
use trm_proto::{pb, receipt, time};
use trm_tests::{craft, fixtures, raw};

/// Cases per target in the CI; `TRM_FUZZ_CASES` overrides it.
const DEFAULT_CASES: u32 = 400;
/// The largest envelope the services accept in these tests.
const MAX_BYTES: usize = 1 << 20;
const AT: &str = "at";
const RS: &str = "rs";
/// Sender, homed on `at`.
const LEFOE: &str = "lefoe-ibf@at";
/// Recipient, homed on `rs`.
const ASTRA: &str = "astra@rs";

fn cases() -> u32 {
    std::env::var("TRM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// One change to a valid message.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1usize..16).prop_map(|(at, len)| Mutation::Remove(at, len)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len();
        let at = |i: usize| if len == 0 { 0 } else { i % len };
        match mutation {
            Mutation::Flip(i, bit) => {
                if let Some(b) = bytes.get_mut(at(*i)) {
                    *b ^= 1 << bit;
                }
            }
            Mutation::Set(i, byte) => {
                if let Some(b) = bytes.get_mut(at(*i)) {
                    *b = *byte;
                }
            }
            Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
            Mutation::Insert(i, extra) => {
                let at = i % (len + 1);
                bytes.splice(at..at, extra.iter().copied());
            }
            Mutation::Remove(i, n) => {
                let from = at(*i);
                let to = (from + n).min(len);
                bytes.drain(from..to);
            }
        }
    }
    bytes
}

/// Random bytes, or one of `seeds` with one to three mutations (few, so that most still decode
/// and reach the checks behind the decoder).
fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let count = seeds.len().max(1);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..600),
        3 => (0..count, prop::collection::vec(mutation(), 1..4)).prop_map(move |(i, m)| {
            apply(seeds.get(i).cloned().unwrap_or_default(), &m)
        }),
    ]
}

/// The keys and valid messages every target starts from.
struct World {
    federation: Federation,
    directory: Directory,
    lefoe: NodeKeys,
    astra: NodeKeys,
    envelope: pb::Envelope,
    body: Vec<u8>,
    receipt: pb::SignedReceipt,
    _dir: tempfile::TempDir,
}

/// Two brokers with a node each, under `root`.
async fn federation_at(root: &std::path::Path) -> anyhow::Result<LocalFederation> {
    LocalFederation::create(
        root,
        "trm-fuzz",
        &[(AT, "AT"), (RS, "RS")],
        &[
            (LEFOE, "LEFÖ-IBF", "ngo", "AT"),
            (ASTRA, "Astra", "ngo", "RS"),
        ],
    )
    .await
}

fn build_world() -> anyhow::Result<World> {
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let federation = runtime.block_on(federation_at(dir.path()))?.federation;
    let directory = craft::directory(&federation)?;
    let lefoe = craft::keys(&federation, LEFOE)?;
    let astra = craft::keys(&federation, ASTRA)?;
    let envelope = craft::sealed(&lefoe, &directory, &fixtures::referral(ASTRA)?)?;
    let opened = trm_node::open::open(&astra, &directory, envelope.clone(), MAX_BYTES)?;
    let body = opened.body.encode_to_vec();
    let receipt = receipt::sign(
        &pb::Receipt {
            kind: pb::ReceiptKind::Delivered.into(),
            message_id: opened.header.message_id.to_string(),
            from: LEFOE.into(),
            to: ASTRA.into(),
            envelope_digest: opened.digest.to_vec(),
            signer: ASTRA.into(),
            at_ms: time::now_ms(),
            ..Default::default()
        },
        &astra.signing,
    );
    Ok(World {
        federation,
        directory,
        lefoe,
        astra,
        envelope,
        body,
        receipt,
        _dir: dir,
    })
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| match build_world() {
        Ok(world) => world,
        Err(e) => panic!("cannot build the fuzzing world: {e:#}"),
    })
}

/// The broker's admission of a submitted or relayed envelope, from its bytes.
fn admit(w: &World, bytes: &[u8]) -> Result<(), String> {
    let raw = pb::Envelope::decode(bytes).map_err(|e| e.to_string())?;
    let parsed = UnverifiedEnvelope::parse(raw, MAX_BYTES).map_err(|e| e.to_string())?;
    trm_broker::admit::verify(&w.directory, parsed, time::now_ms())
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The recipient's opening of an envelope, from its bytes.
fn open(w: &World, bytes: &[u8]) -> Result<(), String> {
    let raw = pb::Envelope::decode(bytes).map_err(|e| e.to_string())?;
    trm_node::open::open(&w.astra, &w.directory, raw, MAX_BYTES)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Whether `bytes` still decode to the very envelope `original` (same signed bytes).
fn same_envelope(bytes: &[u8], original: &pb::Envelope) -> bool {
    pb::Envelope::decode(bytes).is_ok_and(|e| &e == original)
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn envelopes_at_the_broker_and_the_recipient(
        bytes in input(vec![world().envelope.encode_to_vec()]),
    ) {
        let w = world();
        let admitted = admit(w, &bytes);
        let opened = open(w, &bytes);
        if !same_envelope(&bytes, &w.envelope) {
            prop_assert!(admitted.is_err(), "a changed envelope was admitted");
            prop_assert!(opened.is_err(), "a changed envelope was opened");
        }
    }

    #[test]
    fn headers_signed_again_after_mutation(header in input(vec![world().envelope.header.clone()])) {
        let w = world();
        let _ = trm_proto::envelope::Header::decode(&header);
        let envelope = pb::Envelope {
            signature: signing::sign(&w.lefoe.signing, Purpose::Envelope, &header),
            header,
            ciphertext: w.envelope.ciphertext.clone(),
        }
        .encode_to_vec();
        let _ = admit(w, &envelope);
        let _ = open(w, &envelope);
    }

    #[test]
    fn signed_bodies_and_bodies_at_the_recipient(
        plaintext in input(vec![pb::SignedBody {
            signature: signing::sign(&world().lefoe.signing, Purpose::Body, &world().body),
            body: world().body.clone(),
        }.encode_to_vec()]),
        body in input(vec![world().body.clone()]),
    ) {
        let w = world();
        let to: NodeAddr = w.astra.address.clone();
        let id = MessageId::random();
        let now = time::now_ms();
        let unsigned = craft::with_plaintext(&w.lefoe, &w.directory, &to, id, now, &plaintext)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let _ = trm_node::open::open(&w.astra, &w.directory, unsigned, MAX_BYTES);
        let id = MessageId::random();
        let signed = craft::with_body_bytes(&w.lefoe, &w.directory, &to, id, now, body)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let _ = trm_node::open::open(&w.astra, &w.directory, signed, MAX_BYTES);
    }

    #[test]
    fn receipts_as_sent_and_signed_again_after_mutation(
        bytes in input(vec![world().receipt.encode_to_vec()]),
        inner in input(vec![world().receipt.receipt.clone()]),
    ) {
        let w = world();
        let keys = [w.astra.signing.verifying_key()];
        if let Ok(signed) = pb::SignedReceipt::decode(bytes.as_slice()) {
            let verified = receipt::verify(&signed, &keys);
            if signed != w.receipt {
                prop_assert!(
                    verified.is_err() || signed.receipt == w.receipt.receipt,
                    "a changed receipt verified"
                );
            }
        }
        let resigned = pb::SignedReceipt {
            signature: signing::sign(&w.astra.signing, Purpose::Receipt, &inner),
            receipt: inner,
        };
        if let Ok(verified) = receipt::verify(&resigned, &keys) {
            let r = &verified.receipt;
            if let (Ok(from), Ok(to)) = (r.from.parse::<NodeAddr>(), r.to.parse::<NodeAddr>())
                && let Ok(attester) = receipt::attester(verified.kind(), &r.signer, &from, &to)
            {
                let _ = receipt::attester_keys(&w.directory, &attester, time::now_ms());
            }
        }
    }

    #[test]
    fn signed_directories_as_sent_and_signed_again_after_mutation(
        bytes in input(vec![w_signed_directory()]),
        inner in input(vec![world().directory.signed().directory.clone()]),
    ) {
        let w = world();
        let key = w.federation.authority.verifying_key();
        let now = time::now_ms();
        if let Ok(signed) = pb::SignedDirectory::decode(bytes.as_slice()) {
            let changed = signed.directory != w.directory.signed().directory;
            let verified = Directory::verify(signed, &key, &w.federation.federation, now);
            if changed {
                prop_assert!(verified.is_err(), "a changed directory verified");
            }
        }
        let resigned = pb::SignedDirectory {
            signature: signing::sign(&w.federation.authority, Purpose::Directory, &inner),
            directory: inner,
        };
        if let Ok(directory) = Directory::verify(resigned, &key, &w.federation.federation, now) {
            for node in directory.nodes() {
                let kind = pb::MessageKind::Referral;
                let _ = directory.may_send(&node.address, &w.astra.address, kind, now);
            }
        }
    }
}

fn w_signed_directory() -> Vec<u8> {
    world().directory.signed().encode_to_vec()
}

/// A node's checkpoint note over `entries`, cosigned by a witness, with both verifiers.
fn notes() -> (Vec<String>, Vec<NoteVerifier>) {
    let node = SigningKey::from_bytes(&[7; 32]);
    let witness = SigningKey::from_bytes(&[8; 32]);
    let origin = "trm/trm-fuzz/astra@rs";
    let witness_name = "trm/trm-fuzz/lefoe-ibf@at";
    let tree = MerkleTree::from_leaves([b"one".as_slice(), b"two", b"three"]);
    let checkpoint = Checkpoint {
        origin: origin.into(),
        size: tree.size(),
        root: tree.root(),
    };
    let verifiers: Vec<NoteVerifier> = [
        NoteVerifier::new(origin, SignatureKind::Ed25519, node.verifying_key()),
        NoteVerifier::new(
            witness_name,
            SignatureKind::CosignatureV1,
            witness.verifying_key(),
        ),
    ]
    .into_iter()
    .filter_map(Result::ok)
    .collect();
    let mut notes = Vec::new();
    if let Ok(note) = checkpoint::sign(&checkpoint, origin, &node) {
        if let Ok(opened) = checkpoint::open(&note, &verifiers)
            && let Ok(cosigned) = checkpoint::cosign(&opened, witness_name, &witness, 1_700_000_000)
        {
            notes.push(cosigned);
        }
        notes.push(note);
    }
    (notes, verifiers)
}

/// Three chained log entries, as a node stores them.
fn chained_entries() -> Vec<Vec<u8>> {
    let mut previous = [0u8; 32];
    (0..3u64)
        .map(|index| {
            let bytes = pb::LogEntry {
                index,
                prev_hash: previous.to_vec(),
                at_ms: 1_000 + index,
                event: pb::LogEvent::Accepted.into(),
                message_id: format!("{index:032x}"),
                counterparty: LEFOE.into(),
                ..Default::default()
            }
            .encode_to_vec();
            previous = entry_hash(&bytes);
            bytes
        })
        .collect()
}

/// A signed bundle of Astra's three entries, and the trust that verifies it.
fn bundle() -> (Vec<u8>, trm_audit::verify::Trust) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let entries = chained_entries();
    let tree = MerkleTree::from_leaves(&entries);
    let origin = "trm/trm-fuzz/astra@rs";
    let note = checkpoint::sign(
        &Checkpoint {
            origin: origin.into(),
            size: tree.size(),
            root: tree.root(),
        },
        origin,
        &key,
    )
    .unwrap_or_default();
    let bytes = pb::LogBundle {
        format: trm_audit::verify::bundle::FORMAT,
        federation: "trm-fuzz".into(),
        node: ASTRA.into(),
        exported_at_ms: 10_000,
        checkpoints: vec![note],
        entries,
        ..Default::default()
    }
    .encode_to_vec();
    let trust = trm_audit::verify::Trust::new(
        "trm-fuzz",
        HashMap::from([(ASTRA.to_owned(), vec![key.verifying_key()])]),
    );
    (bytes, trust)
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks(32)
        .map(|chunk| {
            let mut hash = [0u8; 32];
            for (to, from) in hash.iter_mut().zip(chunk) {
                *to = *from;
            }
            hash
        })
        .collect()
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn signed_notes_checkpoints_and_cosignatures(
        text in input(notes().0.into_iter().map(String::into_bytes).collect()),
        vkey in input(notes().1.iter().map(|v| v.to_vkey().into_bytes()).collect()),
    ) {
        let (originals, verifiers) = notes();
        let text = String::from_utf8_lossy(&text);
        // Whatever opens carries the checkpoint that was signed: the signatures cover it.
        if let Ok(opened) = checkpoint::open(&text, &verifiers) {
            let signed = originals
                .last()
                .and_then(|note| Checkpoint::from_note(note).ok());
            prop_assert_eq!(Some(opened.checkpoint()), signed.as_ref(), "{:?}", text);
        }
        let _ = Checkpoint::from_note(&text);
        let _ = Checkpoint::parse(&text);
        let _ = NoteVerifier::from_vkey(&String::from_utf8_lossy(&vkey));
    }

    #[test]
    fn consistency_and_inclusion_proofs(
        size1 in prop_oneof![0u64..64, any::<u64>()],
        size2 in prop_oneof![0u64..64, any::<u64>()],
        index in prop_oneof![0u64..64, any::<u64>()],
        proof in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let tree = MerkleTree::from_leaves([b"one".as_slice(), b"two", b"three"]);
        let proof = hashes(&proof);
        let _ = merkle::verify_consistency(size1, size2, &tree.root(), &tree.root(), &proof);
        let _ = merkle::verify_inclusion(&tree.root(), index, size2, &proof, &tree.root());
    }

    #[test]
    fn audit_bundles_and_their_entries(
        bytes in input(vec![bundle().0]),
        entry in input(chained_entries()),
        which in 0usize..3,
    ) {
        let (original, trust) = bundle();
        let _ = trm_audit::verify::verify(vec![("fuzzed.bundle".into(), bytes)], &trust);
        let mut decoded = pb::LogBundle::decode(original.as_slice())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Some(slot) = decoded.entries.get_mut(which) {
            *slot = entry;
        }
        let changed = vec![("entry.bundle".into(), decoded.encode_to_vec())];
        let _ = trm_audit::verify::verify(changed, &trust);
    }
}

/// Panics anywhere in this process (the brokers run in it), counted by a panic hook.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
}

/// Inputs drawn from `strategy` up front, for the async network target.
fn draw(strategy: impl Strategy<Value = Vec<u8>>, count: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut runner = TestRunner::new(config(count));
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .map(|tree| proptest::strategy::ValueTree::current(&tree))
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

/// Answers a broker may give to bad input: a refusal that names its reason, never an internal
/// error or a dropped connection. tonic itself answers bytes that are not the request message
/// with INTERNAL "failed to decode Protobuf message", before any broker code runs.
fn acceptable(status: &tonic::Status) -> bool {
    match status.code() {
        Code::Internal => status
            .message()
            .starts_with("failed to decode Protobuf message"),
        Code::Unknown | Code::Unavailable | Code::Cancelled | Code::DataLoss => false,
        _ => true,
    }
}

async fn call_raw(
    channel: tonic::transport::Channel,
    path: &'static str,
    bytes: Vec<u8>,
) -> Result<Vec<u8>, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    Ok(grpc
        .unary(tonic::Request::new(bytes), path, raw::RawCodec)
        .await?
        .into_inner())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_batches_and_submissions_to_a_real_broker() -> anyhow::Result<()> {
    count_panics();
    let dir = tempfile::tempdir()?;
    let mut fed = federation_at(dir.path()).await?;
    fed.start_broker(RS).await?;
    fed.start_broker(AT).await?;
    let directory = craft::directory(&fed.federation)?;
    let lefoe = craft::keys(&fed.federation, LEFOE)?;
    let envelope = craft::sealed(&lefoe, &directory, &fixtures::referral(ASTRA)?)?;
    // A DELIVERED receipt by a node homed on `at` about a message from `rs`, as `at` relays it.
    let delivered = receipt::sign(
        &pb::Receipt {
            kind: pb::ReceiptKind::Delivered.into(),
            message_id: MessageId::random().to_string(),
            from: ASTRA.into(),
            to: LEFOE.into(),
            envelope_digest: vec![1; 32],
            signer: LEFOE.into(),
            at_ms: time::now_ms(),
            ..Default::default()
        },
        &lefoe.signing,
    );
    let batch = pb::RelayBatch {
        items: vec![
            pb::RelayItem {
                item: Some(pb::relay_item::Item::Envelope(envelope.clone())),
            },
            pb::RelayItem {
                item: Some(pb::relay_item::Item::Receipt(delivered)),
            },
        ],
        directory_version: directory.version(),
    }
    .encode_to_vec();
    let count = (cases() / 4).max(25);
    let batches = draw(input(vec![batch]), count)?;
    let submissions = draw(input(vec![envelope.encode_to_vec()]), count)?;

    let at = fed
        .federation
        .broker(AT)
        .ok_or_else(|| anyhow::anyhow!("no broker {AT}"))?;
    let as_peer = raw::channel(
        fed.broker_addr(RS)?,
        RS,
        &fed.federation.ca_pem,
        Some((&at.cert_pem, &at.key_pem)),
    )
    .await?;
    let as_node = fixtures::channel_as(&fed, LEFOE).await?;
    for bytes in batches {
        let answer = call_raw(as_peer.clone(), "/trm.v1.BrokerPeer/Relay", bytes.clone()).await;
        match answer {
            Ok(result) => {
                pb::RelayResult::decode(result.as_slice())?;
            }
            Err(status) => anyhow::ensure!(
                acceptable(&status),
                "relay batch {} answered {status:?}",
                hex::encode(&bytes)
            ),
        }
    }
    for bytes in submissions {
        if let Err(status) = raw::submit_bytes(as_node.clone(), bytes.clone()).await {
            anyhow::ensure!(
                acceptable(&status),
                "submission {} answered {status:?}",
                hex::encode(&bytes)
            );
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a broker panicked");
    // The broker still takes a genuine envelope.
    let fresh = craft::sealed(&lefoe, &directory, &fixtures::referral(ASTRA)?)?;
    let receipt = raw::broker(as_node).submit(fresh).await?.into_inner();
    assert_eq!(receipt::peek(&receipt)?.kind(), pb::ReceiptKind::Accepted);
    fed.shutdown().await?;
    Ok(())
}
