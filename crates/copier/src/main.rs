//! `copier`: publishes a signed release folder to S3, refusing anything whose signatures
//! do not verify when asked to gate, skipping what is already there, never leaving half an
//! object or an orphan multipart upload behind.
//!
//! A thin binary over relsign-s3 (the transfer engine), relsign-pgp (the gate) and
//! relsign-aws (the clients).

mod cli;
mod publish;
mod report;

use clap::Parser;
use relsign_cli::Exit;

fn main() {
    let args = cli::Args::parse();
    match publish::run(args) {
        Ok(Exit::Ok) => {}
        Ok(exit) => std::process::exit(exit.code()),
        Err(failure) => {
            failure.report("copier");
            std::process::exit(failure.exit.code());
        }
    }
}
