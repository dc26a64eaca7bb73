//! The `trm-broker` program, built inside this package so that integration tests can run it as
//! a real process and kill it (cargo only tells a package's tests where its own binaries are).

fn main() -> std::process::ExitCode {
    trm_broker::cli::main()
}
