//! `relsign`: signer and copier in one binary, chosen by the name it runs under (`signer`
//! and `copier` are links to it) or by its first argument (`relsign signer sign ...`).
//!
//! Both programs link the same OpenPGP, AWS and TLS code; one file instead of two halves
//! the size of the signing image, the tarball and the .deb.

use std::ffi::OsString;
use std::path::Path;

const USAGE: &str =
    "relsign: run it as signer or copier (links named so), or as `relsign signer ...` / `relsign copier ...`";

fn main() {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let program = args.first().and_then(|a| Path::new(a).file_name()).and_then(|n| n.to_str()).unwrap_or("");
    let code = match program {
        "signer" => signer::main_from(args),
        "copier" => copier::main_from(args),
        _ => match args.get(1).and_then(|a| a.to_str()) {
            Some("signer") => {
                args.remove(0);
                signer::main_from(args)
            }
            Some("copier") => {
                args.remove(0);
                copier::main_from(args)
            }
            Some("--version" | "-V") => {
                println!("relsign {}", env!("CARGO_PKG_VERSION"));
                0
            }
            _ => {
                eprintln!("{USAGE}");
                2
            }
        },
    };
    std::process::exit(code)
}
