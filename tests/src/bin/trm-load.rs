//! `trm-load`: the project's load tool. Starts real `trm-broker` and `trm-node` processes on
//! loopback, measures broker acceptance, the end-to-end path, latency at offered rates (each on
//! the embedded store and on a JetStream cluster, side by side), send
//! cost as stores fill, broker memory with a large queue and its drain, and the handover log,
//! each over repetitions, beside a ceiling measured in the same run (a raw tonic mutual-TLS
//! server storing into the broker's storage engine with group commit), and prints the figures:
//! never asserted.
//!
//! Run with `cargo run --release -p trm-tests --bin trm-load` (the full run that
//! `BENCHMARKS.md` records), or `-- --short` for the quick run CI makes; `--help` lists the
//! options. `trm-load ceiling` is the ceiling server the tool starts for itself.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use trm_tests::load::{self, Options, Scenario, Tools};

/// The node's allocator (see `trm-node`'s `main`), for the node's work measured in this process:
/// the handover log's appends and check, sealing and opening. The ceiling server, which is this
/// program too, runs on it as well; the broker does not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Measures a federation of real processes under load, against its own ceiling.
#[derive(Parser)]
#[command(name = "trm-load", args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the ceiling (started by the tool itself): a raw tonic mutual-TLS server on the
    /// broker's TLS material, storing each submission into the broker's storage engine with
    /// group commit.
    Ceiling {
        /// The broker's configuration file, for its certificate, key and CA.
        #[arg(long)]
        broker_config: PathBuf,
        /// Where to keep the database.
        #[arg(long)]
        data: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The quick run for CI: every row, small counts, one repetition.
    #[arg(long)]
    short: bool,
    /// Repetitions of each measurement.
    #[arg(long)]
    reps: Option<usize>,
    /// Scenarios to run, comma-separated: accept, e2e, queue, log.
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<Scenario>>,
    /// Broker stores the accept and e2e scenarios run on, one pass each, comma-separated:
    /// embedded, jetstream (a 3-server NATS cluster on loopback, started by the tool; needs
    /// nats-server, `TRM_NATS_SERVER` or where `cargo xtask test` installs it). Default: both.
    #[arg(long, value_delimiter = ',')]
    stores: Option<Vec<load::Store>>,
    /// Envelope sizes for broker acceptance, bytes, comma-separated.
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Envelopes per acceptance measurement.
    #[arg(long)]
    accept_count: Option<usize>,
    /// Envelopes per acceptance measurement on the JetStream store.
    #[arg(long)]
    jetstream_accept_count: Option<usize>,
    /// Referrals per end-to-end measurement on the JetStream store.
    #[arg(long)]
    jetstream_e2e_count: Option<usize>,
    /// Concurrent callers submitting to the broker and to the ceiling.
    #[arg(long)]
    callers: Option<usize>,
    /// Connections those callers share.
    #[arg(long)]
    connections: Option<usize>,
    /// Referrals per end-to-end measurement.
    #[arg(long)]
    e2e_count: Option<usize>,
    /// Envelope size of the end-to-end, latency and queue referrals, bytes.
    #[arg(long)]
    e2e_size: Option<usize>,
    /// Handling code of the end-to-end, latency and queue referrals: H0, H1, H2 (the
    /// default: the recipient indexes their content for the onward-sharing check) or H3.
    #[arg(long, value_parser = parse_handling)]
    handling: Option<trm_proto::pb::HandlingCode>,
    /// Concurrent `Send` callers for the end-to-end figure.
    #[arg(long)]
    senders: Option<usize>,
    /// Offered rates for the latency figures, referrals per second, comma-separated.
    #[arg(long, value_delimiter = ',')]
    rates: Option<Vec<f64>>,
    /// Seconds each offered rate is held.
    #[arg(long)]
    rate_secs: Option<f64>,
    /// Envelopes queued for a stopped node (broker memory, drain, the most stored messages).
    #[arg(long)]
    queue: Option<usize>,
    /// The middle count of stored messages for the send cost.
    #[arg(long)]
    mid: Option<usize>,
    /// `Send` calls timed at each count of stored messages.
    #[arg(long)]
    send_samples: Option<usize>,
    /// Handover-log entries appended per repetition.
    #[arg(long)]
    appends: Option<usize>,
    /// Concurrent handover-log appenders.
    #[arg(long)]
    appenders: Option<usize>,
    /// Handover-log entries verified.
    #[arg(long)]
    verify: Option<usize>,
    /// Seconds a queue or a batch of referrals may take to arrive before the run gives up.
    #[arg(long)]
    drain_limit_secs: Option<u64>,
    /// Seconds the whole run may take before it stops.
    #[arg(long)]
    time_limit_secs: Option<u64>,
    /// Also write the table into this Markdown file, between its `trm-load figures` markers
    /// (BENCHMARKS.md), with the command and the date.
    #[arg(long)]
    write: Option<PathBuf>,
    /// Where to run (configurations, stores, logs); a temporary folder otherwise, removed at
    /// the end.
    #[arg(long)]
    folder: Option<PathBuf>,
}

impl RunArgs {
    fn options(self) -> Result<Options, String> {
        let mut o = if self.short {
            Options::short()
        } else {
            Options::full()
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { o.$field = v; } )* };
        }
        set!(
            reps,
            scenarios,
            stores,
            sizes,
            accept_count,
            jetstream_accept_count,
            jetstream_e2e_count,
            callers,
            connections,
            e2e_count,
            e2e_size,
            handling,
            senders,
            rates,
            queue,
            mid,
            send_samples,
            appends,
            appenders,
            verify
        );
        if let Some(secs) = self.rate_secs {
            o.rate_time = Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    format!("--rate-secs: {secs} is not a positive number of seconds")
                })?;
        }
        if let Some(secs) = self.drain_limit_secs {
            o.drain_limit = Duration::from_secs(secs);
        }
        o.folder = self.folder;
        o.validate()?;
        Ok(o)
    }
}

fn parse_handling(s: &str) -> Result<trm_proto::pb::HandlingCode, String> {
    trm_proto::pb::HandlingCode::from_str_name(&format!("HANDLING_CODE_{}", s.to_ascii_uppercase()))
        .filter(|c| *c != trm_proto::pb::HandlingCode::Unspecified)
        .ok_or_else(|| format!("{s:?} is not a handling code: use H0, H1, H2 or H3"))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Ceiling {
        broker_config,
        data,
    }) = args.command
    {
        return match load::ceiling::serve(&broker_config, &data).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("trm-load ceiling: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let short = args.run.short;
    let write = args.run.write.clone();
    let limit =
        Duration::from_secs(
            args.run
                .time_limit_secs
                .unwrap_or(if short { 300 } else { 7_200 }),
        );
    let options = match args.run.options() {
        Ok(o) => o,
        Err(problem) => {
            eprintln!("trm-load: {problem}");
            return ExitCode::from(2);
        }
    };
    let tools = match Tools::beside_current() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("trm-load: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Interrupted or out of time, the run is dropped: its processes are killed.
    let outcome = tokio::select! {
        outcome = tokio::time::timeout(limit, load::run(&options, &tools)) => outcome,
        () = interrupted() => {
            eprintln!("trm-load: interrupted");
            return ExitCode::from(130);
        }
    };
    match outcome {
        Ok(Ok(report)) => {
            let command: Vec<String> = std::env::args().skip(1).collect();
            println!(
                "\n## Figures (trm-load {})\n\n{}",
                command.join(" "),
                report.table()
            );
            match write {
                Some(path) => match write_figures(&path, &command, &report) {
                    Ok(()) => {
                        println!("figures written into {}", path.display());
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("trm-load: {e:#}");
                        ExitCode::from(1)
                    }
                },
                None => ExitCode::SUCCESS,
            }
        }
        Ok(Err(e)) => {
            eprintln!("trm-load: the run could not go on: {e:#}");
            ExitCode::from(1)
        }
        Err(_) => {
            eprintln!("trm-load: the run took longer than its limit of {limit:?} and was stopped");
            ExitCode::from(1)
        }
    }
}

/// Puts the table into the Markdown file at `path`, between its markers.
fn write_figures(
    path: &std::path::Path,
    command: &[String],
    report: &load::report::Report,
) -> anyhow::Result<()> {
    let document = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let figures = format!(
        "Run {date} on {} CPUs with `trm-load {}`:\n\n{}",
        std::thread::available_parallelism().map_or(0, usize::from),
        command.join(" "),
        report.table()
    );
    let updated = load::report::splice(&document, &figures).ok_or_else(|| {
        anyhow::anyhow!(
            "{} has no `{}` … `{}` markers to write the figures between",
            path.display(),
            load::report::BEGIN,
            load::report::END
        )
    })?;
    std::fs::write(path, updated)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn interrupted() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
