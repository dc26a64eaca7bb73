//! What a referral's path costs in signatures and encryption alone, and the rate that alone
//! allows on this machine's cores: a floor under the end-to-end figure that no storage or
//! transport work can lower.
//!
//! One referral's chain, each step the real function its process calls, one step after another
//! on one core:
//! 1. the sender seals it (body signed, content encrypted to the addressee with age, header
//!    signed);
//! 2. the broker checks the header's signature and signs an ACCEPTED receipt, which the sender
//!    checks;
//! 3. the addressee opens it (header and body signatures checked, content decrypted);
//! 4. the addressee seals its DELIVERED receipt's private part to the sender (age) and signs the
//!    receipt;
//! 5. the broker checks that receipt's signature;
//! 6. the sender checks it and decrypts its private part.
//!
//! A drain (a queue delivered to its addressee) makes steps 3 to 5 for each referral, in the
//! addressee and the broker: the row names that part's floor too.
//!
//! Hashing outside signatures, TLS and everything stored are left out: the floor is what the
//! federation's trust model requires of any implementation on these primitives.

use std::time::{Duration, Instant};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use trm_node::keys::NodeKeys;
use trm_proto::directory::Directory;
use trm_proto::envelope::UnverifiedEnvelope;
use trm_proto::{pb, receipt};

use super::report::{self, Row};
use super::stats::Latencies;
use crate::craft;

/// Referrals taken through the chain for the floor.
const SAMPLES: usize = 200;

/// The steps of the chain, as the floor's row names them.
const STEPS: [&str; 6] = [
    "sealed",
    "accepted",
    "opened",
    "DELIVERED made",
    "DELIVERED checked by the broker",
    "DELIVERED checked by the sender",
];

/// The steps a drain makes for each referral (see the module's documentation).
const DRAIN_STEPS: std::ops::Range<usize> = 2..5;

/// The median time of each step, milliseconds, in the order of [`STEPS`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Floor {
    /// Per step.
    pub steps: [f64; STEPS.len()],
}

impl Floor {
    /// One referral's crypto, milliseconds: the sum of the steps' medians.
    pub fn total(&self) -> f64 {
        self.steps.iter().sum()
    }

    /// The drain's part of one referral's crypto, milliseconds ([`DRAIN_STEPS`]).
    pub fn drain_total(&self) -> f64 {
        self.steps[DRAIN_STEPS].iter().sum()
    }

    /// The most referrals per second `cores` cores could carry at this cost and no other.
    pub fn bound(&self, cores: usize) -> f64 {
        per_second(self.total(), cores)
    }

    /// The floor as a report row keyed `key`, about `size`-byte referrals on `cores` cores.
    pub fn row(&self, key: String, size: usize, cores: usize) -> Row {
        let steps: Vec<String> = STEPS
            .iter()
            .zip(self.steps)
            .map(|(name, ms)| format!("{name} {ms:.3}"))
            .collect();
        Row::new(
            key,
            format!(
                "the signatures and encryption one {size}-byte referral's path makes, each step \
                 the real function of the process that does it, one referral at a time on one \
                 core, {SAMPLES} referrals (medians, ms): {}",
                steps.join(", ")
            ),
            format!(
                "{:.2} ms per referral; a drain's part (opened, DELIVERED made and checked by \
                 the broker) {:.2} ms",
                self.total(),
                self.drain_total()
            ),
            "-",
        )
        .against(format!(
            "{cores} cores carry at most {}/s at this cost alone, and drain at most {}/s",
            report::thousands(self.bound(cores)),
            report::thousands(per_second(self.drain_total(), cores))
        ))
    }
}

/// How many times per second `cores` cores can spend `ms` milliseconds; 0 for no cost.
fn per_second(ms: f64, cores: usize) -> f64 {
    if ms > 0.0 {
        cores as f64 * 1e3 / ms
    } else {
        0.0
    }
}

/// Takes [`SAMPLES`] referrals of `request` (each its own case) from `sender` to `recipient`
/// through the chain, timing each step.
pub fn measure(
    sender: &NodeKeys,
    recipient: &NodeKeys,
    directory: &Directory,
    request: &pb::SendRequest,
) -> anyhow::Result<Floor> {
    let broker = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let broker_keys = [broker.verifying_key()];
    let sender_keys = [sender.signing.verifying_key()];
    let recipient_keys = [recipient.signing.verifying_key()];
    let mut times: [Vec<Duration>; STEPS.len()] = Default::default();
    let mut step = |n: usize, started: Instant| {
        if let Some(samples) = times.get_mut(n) {
            samples.push(started.elapsed());
        }
    };
    for n in 0..SAMPLES {
        let mut request = request.clone();
        request.case_ref = format!("AT-LOAD-FLOOR-{n}");

        let started = Instant::now();
        let envelope = craft::sealed(sender, directory, &request)?;
        step(0, started);

        let started = Instant::now();
        let header = UnverifiedEnvelope::parse(envelope.clone(), usize::MAX)?
            .verify(&sender_keys)?
            .header()
            .clone();
        let template = pb::Receipt {
            message_id: header.message_id.to_string(),
            from: header.from.to_string(),
            to: header.to.to_string(),
            envelope_digest: trm_proto::envelope::digest(&envelope.header).to_vec(),
            at_ms: trm_proto::time::now_ms(),
            ..Default::default()
        };
        let accepted = receipt::sign(
            &pb::Receipt {
                kind: pb::ReceiptKind::Accepted.into(),
                signer: "marri".into(),
                ..template.clone()
            },
            &broker,
        );
        receipt::verify(&accepted, &broker_keys)?;
        step(1, started);

        let started = Instant::now();
        trm_node::open::open(recipient, directory, envelope, usize::MAX)?;
        step(2, started);

        let started = Instant::now();
        let private = trm_node::receipt_private::seal(
            pb::ReceiptPrivate {
                log_index: n as u64,
                ..Default::default()
            },
            directory,
            &header.from.to_string(),
        )?;
        let delivered = receipt::sign(
            &pb::Receipt {
                kind: pb::ReceiptKind::Delivered.into(),
                signer: header.to.to_string(),
                sealed_for_sender: private.ciphertext,
                private_sha256: private.digest,
                ..template
            },
            &recipient.signing,
        );
        step(3, started);

        let started = Instant::now();
        receipt::verify(&delivered, &recipient_keys)?;
        step(4, started);

        let started = Instant::now();
        let verified = receipt::verify(&delivered, &recipient_keys)?;
        let opened = trm_node::receipt_private::open(&verified, sender)?;
        step(5, started);
        if opened.receipt.log_index != n as u64 {
            anyhow::bail!("the DELIVERED receipt's private part did not come back whole");
        }
    }
    let mut floor = Floor::default();
    for (median, samples) in floor.steps.iter_mut().zip(times) {
        *median = Latencies::of(samples).p50;
    }
    Ok(floor)
}

/// The cores this process may run on.
pub fn cores() -> anyhow::Result<usize> {
    Ok(std::thread::available_parallelism()
        .context("how many cores this machine has")?
        .get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_is_the_cores_time_over_one_referrals() {
        let floor = Floor {
            steps: [0.25, 0.1, 0.25, 0.15, 0.1, 0.15],
        };
        assert!((floor.total() - 1.0).abs() < 1e-9);
        assert!((floor.bound(2) - 2000.0).abs() < 1e-6);
        assert_eq!(Floor::default().bound(2), 0.0);
    }

    #[test]
    fn a_drain_costs_the_opening_and_the_delivered_receipt_made_and_checked_by_the_broker() {
        let floor = Floor {
            steps: [0.25, 0.1, 0.25, 0.15, 0.1, 0.15],
        };
        assert!((floor.drain_total() - 0.5).abs() < 1e-9);
        let row = floor.row("crypto-floor".into(), 8192, 2);
        assert!(row.ratio.contains("drain at most 4,000/s"), "{}", row.ratio);
    }
}
