//! `signer export-cert`: the public certificate users verify with.

use std::io::Write;

use relsign_cli::{Exit, Failure};

use crate::cli::ExportCertArgs;
use crate::key_source;

pub fn run(args: ExportCertArgs) -> Result<Exit, Failure> {
    let ring = key_source::key_ring(&args.key, &args.aws)?;
    let armored = ring.public_certificates(args.key.signing_key.as_deref())?;
    match &args.output {
        Some(path) => std::fs::write(path, &armored).map_err(|e| {
            Failure::new(Exit::Output, format!("cannot write {}: {e}", path.display()))
                .with_fix("check --output")
        })?,
        None => std::io::stdout()
            .write_all(&armored)
            .map_err(|e| Failure::new(Exit::Output, format!("cannot write to stdout: {e}")))?,
    }
    Ok(Exit::Ok)
}
