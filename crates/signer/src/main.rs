//! `signer`: signs release artifacts with detached, armored OpenPGP signatures that
//! `gpg --verify` and `sqv` accept, writes the signed checksum list, and verifies it all.
//!
//! A thin binary: it parses arguments and calls relsign-pgp and relsign-codebuild.

mod cli;
mod export_cert;
mod key_source;
mod sign;
mod verify;

use clap::Parser;
use relsign_cli::Exit;

fn main() {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Sign(args) => sign::run(args),
        cli::Command::Verify(args) => verify::run(args),
        cli::Command::ExportCert(args) => export_cert::run(args),
    };
    match result {
        Ok(Exit::Ok) => {}
        Ok(exit) => std::process::exit(exit.code()),
        Err(failure) => {
            failure.report("signer");
            std::process::exit(failure.exit.code());
        }
    }
}
