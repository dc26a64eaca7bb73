//! `trm-node`: runs one organisation's node from a configuration file; see [`trm_node::cli`].

/// mimalloc rather than glibc's malloc: the storage engine allocates a value for every record of
/// every page it reads, on several threads at once, and glibc's malloc makes a thread that frees
/// what another allocated wait for that thread's arena. With mimalloc the handover log's check
/// at start takes about half the time, and a referral's way to its receipt less (BENCHMARKS.md,
/// "The handover log's check, and the node's allocator"). The broker keeps glibc's: it held
/// twice the memory with a queue on mimalloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trm_node::cli::main()
}
