//! `node-process`: the `trm-node` program itself (run, `backup`, `restore`), built inside this
//! package so that integration tests can start it as a real process.

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
