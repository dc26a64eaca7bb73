//! A node's store filled with many received messages, quickly, before the node starts; and the
//! cost of a send from a node with that many messages stored (for the load tool).
//!
//! [`fill`] stores messages as the node stores a verified delivery (the signed body bound to
//! its header, sealed to its case's key, a RECEIVED entry logged, a DELIVERED receipt
//! recorded), each in its own case, from
//! the partners given, two in three under handling code H2 (so the onward-sharing check has
//! their content to compare with), in batches that share the store's flushes. [`send_cost`]
//! times sends through the node's admin socket, each a new referral to a partner.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use prost::Message as _;
use rand::Rng as _;
use trm_node::store::{EntryFacts, NodeStore};
use trm_proto::addr::{MessageId, NodeAddr};
use trm_proto::envelope::Header;
use trm_proto::pb;
use trm_proto::pb::body::Content;

use crate::fixtures::{self, ASTRA, LEFOE, OPEN_GATE};

/// How many messages one batch stores at once.
const BATCH: usize = 256;

/// Words the filled notes are made of.
const WORDS: [&str; 16] = [
    "shelter",
    "interview",
    "recruiter",
    "transport",
    "document",
    "medical",
    "legal",
    "family",
    "return",
    "assessment",
    "consent",
    "police",
    "village",
    "employer",
    "debt",
    "contact",
];

/// Free text of about `chars` characters, different for each message.
fn notes(n: usize, chars: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut text = format!("record {n}:");
    while text.len() < chars {
        text.push(' ');
        text.push_str(
            WORDS
                .get(rng.gen_range(0..WORDS.len()))
                .copied()
                .unwrap_or("x"),
        );
    }
    text
}

/// Free text of about `chars` characters that shares no passage with [`notes`].
fn own_words(n: usize, chars: usize) -> String {
    let mut text = format!("update {n}:");
    let mut i = 0;
    while text.len() < chars {
        text.push_str(&format!(" item{n}x{i}"));
        i += 1;
    }
    text
}

/// One received referral, stored as the node stores a verified delivery.
async fn receive_one(
    store: &NodeStore,
    own: &str,
    from: &str,
    n: usize,
    code: pb::HandlingCode,
    text: String,
) -> anyhow::Result<()> {
    let id = MessageId::random();
    let header = Header {
        message_id: id.clone(),
        from: from.parse::<NodeAddr>()?,
        to: own.parse::<NodeAddr>()?,
        created_at_ms: trm_proto::time::now_ms(),
        expires_at_ms: trm_proto::time::now_ms() + 86_400_000,
        priority: pb::Priority::Routine,
        kind: pb::MessageKind::Referral,
        ciphertext_sha256: [0; 32],
        recipient_key_id: String::new(),
    };
    let content = Content::Referral(pb::Referral {
        notes: text,
        handling_code: code.into(),
        ..Default::default()
    });
    let case_ref = format!("FILL-{n}-{}", id.to_string().get(..8).unwrap_or_default());
    let body = pb::Body {
        from: from.to_owned(),
        to: own.to_owned(),
        message_id: id.to_string(),
        created_at_ms: header.created_at_ms,
        case_ref: case_ref.clone(),
        kind: pb::MessageKind::Referral.into(),
        content: Some(content.clone()),
        code_lists: trm_proto::CODE_LISTS_VERSION.to_owned(),
        ..Default::default()
    };
    let signed_body = pb::SignedBody {
        body: body.encode_to_vec(),
        signature: vec![0; 64],
    }
    .encode_to_vec();
    let envelope = pb::Envelope {
        header: header.to_pb().encode_to_vec(),
        ..Default::default()
    };
    let digest = trm_proto::envelope::digest(&envelope.header);
    let facts = EntryFacts {
        header: &header,
        digest: &digest,
        case_ref: &case_ref,
        flags: trm_node::audit::flags(&body, pb::Priority::Routine),
        content: Some(&content),
        sequence: 0,
    };
    // Its DELIVERED receipt, unsigned as its body is: it never leaves the filled store.
    let delivered = |_, _| pb::SignedReceipt {
        receipt: pb::Receipt {
            kind: pb::ReceiptKind::Delivered.into(),
            message_id: id.to_string(),
            from: from.to_owned(),
            to: own.to_owned(),
            envelope_digest: digest.to_vec(),
            signer: own.to_owned(),
            ..Default::default()
        }
        .encode_to_vec(),
        signature: vec![0; 64],
    };
    store
        .record_received(
            &envelope,
            &facts,
            &signed_body,
            trm_proto::time::now_ms(),
            delivered,
        )
        .await?;
    Ok(())
}

/// Stores `count` received messages of about `chars` characters of notes each in the store
/// in `data_dir` (the node `own` must not be running), from `partners` in turn.
pub async fn fill(
    data_dir: &Path,
    own: &str,
    partners: &[&str],
    count: usize,
    chars: usize,
) -> anyhow::Result<()> {
    let store = NodeStore::open(data_dir)?;
    let mut n = 0;
    while n < count {
        let mut batch = tokio::task::JoinSet::new();
        for n in n..count.min(n + BATCH) {
            let from = partners
                .get(n % partners.len().max(1))
                .copied()
                .unwrap_or(ASTRA)
                .to_owned();
            let code = if n % 3 == 0 {
                pb::HandlingCode::H0
            } else {
                pb::HandlingCode::H2
            };
            let (store, own) = (store.clone(), own.to_owned());
            batch.spawn(
                async move { receive_one(&store, &own, &from, n, code, notes(n, chars)).await },
            );
        }
        while let Some(done) = batch.join_next().await {
            done??;
        }
        n = count.min(n + BATCH);
    }
    Ok(())
}

/// The time each of `sends` sends takes (admin call to answer: checked, sealed, stored,
/// logged, queued, on disk) from [`LEFOE`] with `stored` messages of about `chars` characters
/// in its store, with the broker running; sorted.
pub async fn send_cost(stored: usize, sends: usize, chars: usize) -> anyhow::Result<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    let mut fed = fixtures::federation(dir.path()).await?;
    fill(
        &fed.node_data_dir(LEFOE),
        LEFOE,
        &[ASTRA, OPEN_GATE],
        stored,
        chars,
    )
    .await?;
    fixtures::start(&mut fed, &[LEFOE]).await?;
    let mut client = fed.client(LEFOE).await?;
    let mut times = Vec::with_capacity(sends);
    for n in 0..sends {
        let mut request = fixtures::referral(ASTRA)?;
        request.case_ref = format!("AT-LEFOE-COST-{n}");
        if let Some(Content::Referral(r)) = request.body.as_mut().and_then(|b| b.content.as_mut()) {
            r.notes = own_words(n, chars);
        }
        let started = Instant::now();
        client.send(request).await.context("send")?;
        times.push(started.elapsed());
    }
    fed.shutdown().await?;
    times.sort();
    Ok(times)
}
