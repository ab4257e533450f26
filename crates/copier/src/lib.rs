//! `copier`: publishes a signed release folder to S3, refusing anything whose signatures
//! do not verify when asked to gate, skipping what is already there, never leaving half an
//! object or an orphan multipart upload behind.
//!
//! A thin binary over relsign-s3 (the transfer engine), relsign-pgp (the gate) and
//! relsign-aws (the clients). The library form lets the multi-call `relsign` binary hold
//! signer and copier in one file.

mod cli;
mod publish;
mod report;

use clap::Parser;

/// Runs copier with these arguments (the first is the program name); returns the exit code.
pub fn main_from<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    // Before anything else, and so before any secret is loaded.
    relsign_cli::harden_or_warn("copier");
    let args = cli::Args::parse_from(args);
    relsign_cli::exit_code("copier", publish::run(args))
}
