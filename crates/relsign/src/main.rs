//! `relsign`: signer and copier in one binary, chosen by the name it runs under (`signer`
//! and `copier` are links to it) or by its first argument (`relsign signer sign ...`), and
//! `relsign check-pipeline`, the wiring check of a release pipeline template.
//!
//! Both programs link the same OpenPGP, AWS and TLS code; one file instead of two halves
//! the size of the signing image, the tarball and the .deb.

mod check_pipeline;
mod docs;
mod fixes;
mod layout;

#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::ffi::OsString;
use std::path::Path;

const USAGE: &str = "relsign: run it as signer or copier (links named so), or as `relsign signer ...` / \
                     `relsign copier ...`; `relsign check-pipeline TEMPLATE` checks a pipeline's \
                     wiring; `relsign generate DIR` writes completions and man pages; \
                     `relsign generate-docs [--check]` the reference docs made from the code";

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
            Some("check-pipeline") => {
                args.remove(0);
                check_pipeline::main_from(args)
            }
            Some("generate-docs") => docs::main_from(&args[2..]),
            Some("generate") => match args.get(2) {
                Some(dir) => generate(Path::new(dir)),
                None => {
                    eprintln!("relsign: usage: relsign generate DIR (writes completions and man pages)");
                    2
                }
            },
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

/// Writes shell completions and man pages for both programs under `dir`, laid out as they
/// install: `share/bash-completion/completions/`, `share/zsh/vendor-completions/`,
/// `share/fish/vendor_completions.d/` and `share/man/man1/` (the packages copy `share/`).
fn generate(dir: &Path) -> i32 {
    use clap_complete::Shell;
    let result = (|| -> std::io::Result<()> {
        let share = dir.join("share");
        let man = share.join("man/man1");
        std::fs::create_dir_all(&man)?;
        for (name, command) in [("signer", signer::command()), ("copier", copier::command())] {
            for (shell, folder, file) in [
                (Shell::Bash, "bash-completion/completions", name.to_string()),
                (Shell::Zsh, "zsh/vendor-completions", format!("_{name}")),
                (Shell::Fish, "fish/vendor_completions.d", format!("{name}.fish")),
            ] {
                let folder = share.join(folder);
                std::fs::create_dir_all(&folder)?;
                let mut out = std::fs::File::create(folder.join(file))?;
                clap_complete::generate(shell, &mut command.clone(), name, &mut out);
            }
            // One page for the program and one per subcommand (signer-sign.1, ...).
            clap_mangen::generate_to(command, &man)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("relsign: cannot write completions and man pages into {}: {e}", dir.display());
            6
        }
    }
}
