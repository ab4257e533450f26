//! `signer`: signs release artifacts with detached, armored OpenPGP signatures that
//! `gpg --verify` and `sqv` accept, seals the release with a signed checksum list and a
//! manifest, checks a setup before a run (`check`), verifies a release (`verify`) and
//! exports the certificate users verify with (`export-cert`).
//!
//! A thin binary: flags in `cli`, one module a subcommand, over relsign-codebuild (which
//! files are artifacts, the output folder), relsign-aws (the key's secrets) and relsign-pgp
//! (keys, signatures and the release format). The library form lets the multi-call
//! `relsign` binary hold signer and copier in one file.

mod check;
mod cli;
mod early;
mod export_cert;
mod key_source;
mod kms_cert;
mod kms_source;
mod published;
mod settings;
mod sign;
mod verify;
mod verify_script;

use clap::{CommandFactory, Parser};

/// The command line's definition, for completions and man pages.
pub fn command() -> clap::Command {
    cli::Cli::command()
}

/// Variables renamed, read under their old names too (pipelines set them): (old, new). The
/// old flags are hidden aliases of the new ones (`cli.rs`); a variable needs this, since a
/// flag reads one. The new name wins when both are set.
const RENAMED_VARIABLES: [(&str, &str); 1] = [("SIGNER_AWS_MAX_ATTEMPTS", "SIGNER_MAX_ATTEMPTS")];

fn read_renamed_variables() {
    for (old, new) in RENAMED_VARIABLES {
        if let (Some(value), None) = (std::env::var_os(old), std::env::var_os(new)) {
            // At the start of the process, before any thread that could read the
            // environment: setting it here races nothing.
            std::env::set_var(new, value);
        }
    }
}

/// Runs signer with these arguments (the first is the program name); returns the exit code.
pub fn main_from<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // Before anything else, and so before any secret is loaded.
    relsign_cli::harden_or_warn("signer");
    relsign_cli::quiet_library_backtraces();
    read_renamed_variables();
    let cli = cli::Cli::parse_from(args);
    relsign_cli::logging::init("signer", &cli.log);
    let result = match cli.command {
        cli::Command::Sign(args) => sign::run(args),
        cli::Command::Verify(args) => verify::run(args),
        cli::Command::Check(args) => check::run(args),
        cli::Command::ExportCert(args) => export_cert::run(args),
        cli::Command::KmsCert(args) => kms_cert::run(args),
        cli::Command::VerifyScript(args) => verify_script::run(args),
    };
    relsign_cli::exit_code("signer", result)
}
