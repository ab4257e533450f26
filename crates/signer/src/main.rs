//! `signer`; see the library for what it does.

fn main() {
    std::process::exit(signer::main_from(std::env::args_os()))
}
