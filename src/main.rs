//! The `domus` binary: everything lives in the library; see `cli`.

/// mimalloc instead of the system allocator: a multiget or PROPFIND of thousands of
/// resources allocates and frees many small strings, where glibc's malloc costs about a
/// fifth of the server's instructions (measured; docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(domus::cli::run());
}
