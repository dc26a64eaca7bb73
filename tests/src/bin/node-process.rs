//! The `trm-node` program, built inside this package so that the fault tool and its test can run
//! it as a real process and kill it (cargo only tells a package's tests where its own binaries
//! are).

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
