//! The `trm-node` program, built inside this package so that integration tests can run a node
//! as a real process (its own log, its own signals) and kill it.

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
