//! `node-process`: the `trm-node` program itself (run, `backup`, `restore`), built inside this
//! package so that integration tests can start it as a real process.

/// The allocator `trm-node` has (see its `main`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
