//! The fault tool's short run, as CI runs it: a federation of real broker and node processes
//! under load, a few rounds of faults chosen by a fixed seed, and no violation: every
//! acknowledged referral delivered exactly once with its receipts, the logs intact.

use std::time::Duration;

use trm_tests::faults::{self, Kind, Options, cluster::Programs};

#[tokio::test(flavor = "multi_thread")]
async fn a_short_run_under_faults_loses_nothing_and_recovers() -> anyhow::Result<()> {
    let programs = Programs {
        broker: env!("CARGO_BIN_EXE_broker-process").into(),
        node: env!("CARGO_BIN_EXE_node-process").into(),
    };
    let mut options = Options::new(4, 20261201);
    options.kinds = vec![Kind::Kill, Kind::Link];
    options.drain_limit = Duration::from_secs(40);
    options.lead = Duration::from_secs(1);
    let figures = faults::run(&options, programs).await?;
    let report = figures.render();
    println!("{report}");
    assert_eq!(figures.rounds, 4, "{report}");
    assert!(figures.messages >= 20, "{report}");
    assert_eq!(figures.recoveries.values().map(Vec::len).sum::<usize>(), 4);
    assert!(figures.violations.is_empty(), "{report}");
    Ok(())
}
