//! `trm-node`: runs one organisation's node from a configuration file; see [`trm_node::cli`].

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
