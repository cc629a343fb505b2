//! The `domus` binary: everything lives in the library; see `cli`.

fn main() {
    std::process::exit(domus::cli::run());
}
