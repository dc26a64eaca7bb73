//! `trm-broker`: runs one broker from a configuration file; see [`trm_broker::cli`].

fn main() -> std::process::ExitCode {
    trm_broker::cli::main()
}
