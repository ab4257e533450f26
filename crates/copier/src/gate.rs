//! The gate's check: every file of the release against the certificates, before anything
//! is uploaded (publish.rs) or to say whether a run would pass (check.rs).

use relsign_cli::Failure;
use relsign_pgp::{verify_folder, FolderOptions, FolderReport};

use crate::cli::Args;
use crate::settings;

/// Every file of `--from` checked against `--cert`, as the gate (and `copier check`) needs.
pub(crate) fn verify_release(args: &Args, jobs: usize) -> Result<FolderReport, Failure> {
    let verifier = settings::verifier(args)?;
    Ok(verify_folder(&args.from, &verifier, FolderOptions { require_sums: true, jobs })?)
}
