//! `trm demo`: a whole case, end to end, on this machine, with no set-up. Two countries'
//! brokers (Austria's and Serbia's) and two organisations' nodes run on loopback with mutual
//! TLS; LEFÖ-IBF (Vienna) refers a Serbian woman identified in Austria to Astra (Belgrade),
//! the envelope crossing both brokers, and the demo shows each piece of evidence, then the
//! case's life ([`crate::lifecycle`]: acceptance, return, follow-ups, court travel) and the
//! person's withdrawal of consent, after which Astra holds nothing readable of what LEFÖ-IBF
//! disclosed (it keeps its own answers until its retention). It succeeds only if every step
//! checks out.

pub mod web;

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use trm_proto::pb;

use crate::lifecycle::{self, Party};
use crate::local::LocalFederation;
use crate::wait::{tree_contains, wait_for};

/// LEFÖ-IBF, Vienna: refers the case.
pub const SENDER: &str = "lefoe-ibf@at";
/// Astra, Belgrade: takes the case.
pub const RECIPIENT: &str = "astra@rs";
/// A unique string placed in the referral's notes, searched for in every store afterwards.
const CANARY: &str = "CANARY-7f3a9c-do-not-leak";

/// What the demo borrows from the caseworker's `trm`: its referral file format and how it
/// shows the nodes' answers to people. `trm demo` supplies it, so that this crate does not
/// depend on the command line (which depends on this crate for the demo).
pub trait Front {
    /// The filled-in example referral file (`trm template referral`), addressed to `astra@rs`.
    fn referral_template(&self) -> &'static str;
    /// Parses and checks a referral file into the request that sends it.
    fn parse_referral(&self, text: &str) -> anyhow::Result<pb::SendRequest>;
    /// `trm inbox`.
    fn inbox(&self, messages: &[pb::MessageSummary]) -> String;
    /// `trm show`.
    fn message(&self, response: &pb::ShowResponse) -> String;
    /// `trm status`.
    fn status(&self, response: &pb::StatusResponse) -> String;
    /// `trm inbox --overdue`.
    fn overdue(&self, response: &pb::OverdueResponse) -> String;
    /// `trm case`.
    fn case(&self, response: &pb::CaseResponse) -> String;
    /// `trm log`.
    fn log(&self, entries: &[pb::LogEntryView]) -> String;
    /// `trm log verify`.
    fn verify(&self, response: &pb::VerifyLogResponse) -> String;
}

/// The demo referral: the template, addressed within the demo federation, with a canary.
pub fn demo_referral(front: &dyn Front) -> anyhow::Result<pb::SendRequest> {
    let text = front
        .referral_template()
        .replace("astra@rs", RECIPIENT)
        .replace(
            "will be called to testify",
            &format!("{CANARY}; will be called to testify"),
        );
    front.parse_referral(&text)
}

fn step(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

/// Runs the demo in `root` (a temporary folder unless the user keeps one).
pub async fn run(root: &Path, front: &dyn Front) -> anyhow::Result<()> {
    step(
        1,
        "A development federation: CA, keys, certificates, signed directory",
    );
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
    println!("   written to {}", fed.federation.dir.display());
    println!(
        "   brokers `at` on {} and `rs` on {}; nodes {SENDER} (Vienna) and {RECIPIENT} (Belgrade)",
        fed.broker_addr("at")?,
        fed.broker_addr("rs")?
    );
    fed.start_broker("at").await?;
    fed.start_broker("rs").await?;
    fed.start_node(SENDER).await?;
    fed.start_node(RECIPIENT).await?;

    step(
        2,
        "LEFÖ-IBF refers case AT-LEFOE-2026-0042 to Astra (signed, end-to-end encrypted)",
    );
    let request = demo_referral(front)?;
    let mut lefoe = fed.client(SENDER).await?;
    let mut astra = fed.client(RECIPIENT).await?;
    let sent = lefoe.send(request).await?.into_inner();
    let id = sent.message_id.clone();
    println!("   message {id}, handover-log entry {}", sent.log_index);

    let delivered =
        |status: &pb::StatusResponse| status.evidence.iter().any(|e| e.step == "delivered");
    wait_for(Duration::from_secs(30), "the delivery receipt", || {
        let mut lefoe = lefoe.clone();
        let id = id.clone();
        async move {
            let status = lefoe
                .status(pb::StatusRequest { message_id: id })
                .await?
                .into_inner();
            Ok(delivered(&status))
        }
    })
    .await?;
    let status = lefoe
        .status(pb::StatusRequest {
            message_id: id.clone(),
        })
        .await?
        .into_inner();

    step(
        3,
        "The brokers' signed receipts: each stored the envelope before it answered",
    );
    for wanted in ["accepted", "relayed"] {
        let receipt = status
            .evidence
            .iter()
            .find(|e| e.step == wanted)
            .with_context(|| format!("no {wanted} receipt"))?;
        // The detail says what the broker did ("stored by broker at"): the wire's name of the
        // step, "accepted", is kept for the partner's answer to the referral.
        println!("   {} [signed receipt]", receipt.detail);
    }

    step(4, "Astra's inbox and its decrypted, verified view");
    let inbox = astra
        .inbox(pb::InboxRequest { limit: 10 })
        .await?
        .into_inner();
    print!("{}", front.inbox(&inbox.messages));
    ensure!(
        inbox.messages.iter().any(|m| m.message_id == id),
        "referral not in Astra's inbox"
    );
    let shown = astra
        .show(pb::ShowRequest {
            message_id: id.clone(),
        })
        .await?
        .into_inner();
    print!("{}", front.message(&shown));
    let notes = match shown.body.as_ref().and_then(|b| b.content.as_ref()) {
        Some(pb::body::Content::Referral(r)) => r.notes.clone(),
        _ => String::new(),
    };
    ensure!(
        notes.contains(CANARY),
        "decrypted referral lost its content"
    );

    step(
        5,
        "The delivery receipt, signed by Astra, in LEFÖ-IBF's evidence",
    );
    print!("{}", front.status(&status));

    step(
        6,
        "Deadlines: what LEFÖ-IBF's node would list as overdue in 3 days without an answer",
    );
    let in_three_days = trm_proto::time::now_ms() + 3 * 24 * 3600 * 1000;
    let overdue = lefoe
        .overdue(pb::OverdueRequest {
            at_ms: in_three_days,
            limit: 0,
        })
        .await?
        .into_inner();
    print!("{}", front.overdue(&overdue));
    ensure!(
        overdue
            .items
            .iter()
            .any(|o| o.item.as_ref().is_some_and(|i| i.message_id == id)),
        "the urgent referral is not listed as overdue after its 48 hours"
    );

    step(
        7,
        "The case's life: every message delivered and shown on the other side",
    );
    let case_ref = shown
        .summary
        .as_ref()
        .map(|s| s.case_ref.clone())
        .unwrap_or_default();
    let mut lefoe_party = Party {
        address: SENDER.into(),
        admin: lefoe.clone(),
        cases: fed.cases_client(SENDER).await?,
    };
    let mut astra_party = Party {
        address: RECIPIENT.into(),
        admin: astra.clone(),
        cases: fed.cases_client(RECIPIENT).await?,
    };
    lifecycle::run(
        &mut lefoe_party,
        &mut astra_party,
        &case_ref,
        &id,
        |who, what| {
            println!("   {who} {what}");
        },
    )
    .await?;
    let case = astra_party
        .cases
        .case(pb::CaseRequest {
            case_ref: case_ref.clone(),
            counterparty: SENDER.into(),
            content: false,
        })
        .await?
        .into_inner();
    println!("\n   Astra's view (trm case {case_ref}):");
    for line in front.case(&case).lines() {
        println!("   {line}");
    }

    step(
        8,
        "She withdraws her consent: Astra erases what LEFÖ-IBF disclosed and acknowledges",
    );
    let withdrawal = lifecycle::send(
        &mut lefoe_party,
        &astra_party,
        &case_ref,
        pb::Priority::Urgent,
        pb::body::Content::ConsentWithdrawal(pb::ConsentWithdrawal {
            withdrawn_at_ms: trm_proto::time::now_ms(),
            recorded_by_role: "LEFÖ-IBF caseworker".into(),
            notes: String::new(),
        }),
    )
    .await?;
    let status = lefoe
        .status(pb::StatusRequest {
            message_id: withdrawal,
        })
        .await?
        .into_inner();
    let acknowledgement = status
        .evidence
        .iter()
        .find(|e| e.step == "delivered")
        .context("no acknowledgement")?;
    println!(
        "   acknowledged by {}: {}",
        acknowledgement.attested_by, acknowledgement.detail
    );
    let shown = astra
        .show(pb::ShowRequest {
            message_id: id.clone(),
        })
        .await?
        .into_inner();
    ensure!(shown.body.is_none(), "Astra can still read the referral");
    println!("   Astra's copy of the referral: {}", shown.erased);

    step(9, "Both handover logs verify (hash chain, metadata only)");
    for (who, client) in [(SENDER, &mut lefoe), (RECIPIENT, &mut astra)] {
        let entries = client
            .log(pb::LogRequest {
                from_index: 0,
                limit: 100,
            })
            .await?
            .into_inner();
        println!("   {who}:");
        for line in front.log(&entries.entries).lines() {
            println!("   {line}");
        }
        let verified = client
            .verify_log(pb::VerifyLogRequest {})
            .await?
            .into_inner();
        print!("   {}", front.verify(&verified));
        ensure!(verified.ok, "{who}'s handover log does not verify");
    }

    fed.shutdown().await?;

    step(
        10,
        "No plaintext at rest: the canary in the notes is searched for in every store",
    );
    for broker in ["at", "rs"] {
        let broker_dir = fed_dir(root, &format!("brokers/{broker}"));
        ensure!(
            !tree_contains(&broker_dir, CANARY.as_bytes())?,
            "broker {broker}'s data contains plaintext"
        );
        println!(
            "   broker {broker} data ({}): no plaintext",
            broker_dir.display()
        );
    }
    for node in [SENDER, RECIPIENT] {
        let dir = fed_dir(root, &format!("nodes/{node}"));
        ensure!(
            !tree_contains(&dir, CANARY.as_bytes())?,
            "{node}'s data contains plaintext"
        );
        println!("   {node} data: no plaintext (content is kept encrypted to a per-case key)");
    }
    // A withdrawal erases what LEFÖ-IBF disclosed; Astra keeps its own answers, under their
    // own key, until its retention erases them.
    let astra_vault = trm_node::vault::Vault::open(&fed_dir(root, &format!("nodes/{RECIPIENT}")))?;
    let disclosed = trm_node::cases::case_key(SENDER, &case_ref);
    ensure!(
        !astra_vault.has_key(&disclosed),
        "Astra still holds the key of what {SENDER} disclosed"
    );
    println!(
        "   {RECIPIENT}: the key of what {SENDER} disclosed is destroyed; that ciphertext can never be read again"
    );
    println!(
        "\nDemo complete: a case from referral to follow-up and court travel, receipts verified, \
         consent withdrawn and content erased, logs intact, no plaintext at rest."
    );
    Ok(())
}

fn fed_dir(root: &Path, sub: &str) -> std::path::PathBuf {
    root.join("data").join(sub)
}
