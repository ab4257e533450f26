//! Reading the secret key and its passphrase from where the user keeps them.

use std::path::Path;

use relsign_cli::{Exit, Failure};
use relsign_pgp::{KeyRing, Passphrase, SigningKey};

use crate::cli::{KeyArgs, PassphraseArgs};

fn read_key_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::new(
            Exit::Key,
            format!(
                "cannot read key file {}: {e}: check --key-file",
                path.display()
            ),
        )
    })
}

/// The certificates of the key file named by `--key-file`.
pub fn key_ring(key: &KeyArgs) -> Result<KeyRing, Failure> {
    let Some(path) = &key.key_file else {
        return Err(Failure::new(
            Exit::Usage,
            "no key given: pass --key-file FILE (or set SIGNER_KEY_FILE)",
        ));
    };
    let bytes = read_key_file(path)?;
    Ok(KeyRing::from_bytes(
        &bytes,
        &format!("key file {}", path.display()),
    )?)
}

/// The passphrase from `--passphrase-file`, else from the variable `--passphrase-env` names.
fn passphrase(args: &PassphraseArgs) -> Result<Option<Passphrase>, Failure> {
    if let Some(path) = &args.passphrase_file {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::new(
                Exit::Key,
                format!(
                    "cannot read passphrase file {}: {e}: check --passphrase-file",
                    path.display()
                ),
            )
        })?;
        return Ok(Some(Passphrase::new(bytes)));
    }
    use std::os::unix::ffi::OsStringExt;
    Ok(std::env::var_os(&args.passphrase_env).map(|v| Passphrase::new(v.into_vec())))
}

/// Loads, selects and unlocks the signing key.
pub fn signing_key(key: &KeyArgs, pass: &PassphraseArgs) -> Result<SigningKey, Failure> {
    let ring = key_ring(key)?;
    let passphrase = passphrase(pass)?;
    Ok(ring.signing_key(key.signing_key.as_deref(), passphrase.as_ref())?)
}
