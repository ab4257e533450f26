//! `copier`; see the library for what it does.

fn main() {
    std::process::exit(copier::main_from(std::env::args_os()))
}
