//! `signer` against real GnuPG and sqv. One test binary, so the GnuPG keys (an RSA-4096
//! among them) are made once.

mod exit_codes;
mod implementations;
mod interop;
mod key_fixes;
mod kms;
mod large_file;
mod odd_input;
mod operator;
mod process;
mod secrets;

use std::path::Path;
use std::process::Output;

use relsign_tests::keys::KeyFile;
use relsign_tests::signer;

/// Signs `inputs` with `key` into `out`, the passphrase coming from a file.
pub fn sign_with(key: &KeyFile, work: &Path, inputs: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["sign".into(), "--key-file".into(), key.secret.display().to_string()];
    if !key.passphrase.is_empty() {
        let pass = work.join("passphrase");
        std::fs::write(&pass, key.passphrase).unwrap();
        args.extend(["--passphrase-file".into(), pass.display().to_string()]);
    }
    args.extend(["--out".into(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    signer(&args, &[])
}
