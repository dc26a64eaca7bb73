//! `trm demo` and `trm dev-federation` (feature `demo`): `trm_dev` runs the federation and the
//! case; this module gives it `trm`'s referral file format and output ([`Trm`]). `--web` runs
//! the federation with both organisations' consoles until Ctrl-C ([`run_web`]).

use std::path::Path;

use trm_proto::pb;

use crate::referral_file::{ReferralFile, TEMPLATE};
use crate::{case_view, render};

/// `trm`'s referral file format and output, as the demo shows them.
pub struct Trm;

impl trm_dev::demo::Front for Trm {
    fn referral_template(&self) -> &'static str {
        TEMPLATE
    }

    fn parse_referral(&self, text: &str) -> anyhow::Result<pb::SendRequest> {
        Ok(ReferralFile::parse(text, false)?.send_request()?)
    }

    fn inbox(&self, messages: &[pb::MessageSummary]) -> String {
        render::inbox(messages)
    }

    fn message(&self, response: &pb::ShowResponse) -> String {
        render::message(response)
    }

    fn status(&self, response: &pb::StatusResponse) -> String {
        render::status(response)
    }

    fn overdue(&self, response: &pb::OverdueResponse) -> String {
        case_view::overdue(response)
    }

    fn case(&self, response: &pb::CaseResponse) -> String {
        case_view::case(response)
    }

    fn log(&self, entries: &[pb::LogEntryView]) -> String {
        render::log(entries)
    }

    fn verify(&self, response: &pb::VerifyLogResponse) -> String {
        render::verify(response)
    }
}

/// The demo referral: the template, addressed within the demo federation, with a canary.
pub fn demo_referral() -> anyhow::Result<pb::SendRequest> {
    trm_dev::demo::demo_referral(&Trm)
}

/// Runs the demo in `root`.
pub async fn run(root: &Path) -> anyhow::Result<()> {
    trm_dev::demo::run(root, &Trm).await
}

/// Runs the demo federation with both consoles in `root` until Ctrl-C (`trm demo --web`).
pub async fn run_web(root: &Path) -> anyhow::Result<()> {
    trm_dev::demo::web::run(root, async {
        // Without a signal handler there is nothing to wait for: stop at once, cleanly.
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("cannot wait for Ctrl-C ({e}); stopping");
        }
    })
    .await
}
