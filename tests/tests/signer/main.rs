//! `signer` against real GnuPG and sqv. One test binary, so the GnuPG keys (an RSA-4096
//! among them) are made once.

mod exit_codes;
mod implementations;
mod integrity;
mod interop;
mod key_fixes;
mod kms;
mod large_file;
mod odd_input;
mod operator;
mod pointer;
mod process;
mod provenance;
mod secrets;
mod verify_script;

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use relsign_tests::keys::KeyFile;
use relsign_tests::local_aws::LocalAws;
use relsign_tests::TestCommand;

/// Signs `inputs` with `key` into `out` (the passphrase from a file in `work`), with
/// `extra` flags.
pub fn sign_with(key: &KeyFile, work: &Path, inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    TestCommand::sign(key, work).arg("--out").arg(out).args(extra).args(inputs).output()
}

/// The one moto server of this test binary (tests keep apart by secret names).
pub fn moto() -> &'static LocalAws {
    static MOTO: OnceLock<LocalAws> = OnceLock::new();
    MOTO.get_or_init(LocalAws::moto)
}
