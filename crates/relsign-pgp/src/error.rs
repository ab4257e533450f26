//! The one error type of relsign-pgp. Each message says what is wrong and what to do.

use std::path::PathBuf;

/// What went wrong, in words a release engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no OpenPGP key found in {origin}: expected an armored secret key as `gpg --armor --export-secret-key KEYID` writes it")]
    NoKeyMaterial { origin: String },

    #[error("no OpenPGP certificate found in {origin}: expected a public key as `gpg --armor --export KEYID` writes it")]
    NoCertificate { origin: String },

    #[error(
        "cannot read the OpenPGP data in {origin} ({detail}): it is damaged or truncated; export it again"
    )]
    Malformed { origin: String, detail: String },

    #[error("{origin} holds only the public certificate {fingerprint}, not its secret key: export it with `gpg --armor --export-secret-key {fingerprint}`")]
    PublicKeyOnly { origin: String, fingerprint: String },

    #[error("{origin} holds {count} keys ({fingerprints}): choose one with --signing-key FINGERPRINT")]
    AmbiguousKey { origin: String, count: usize, fingerprints: String },

    #[error("no key {wanted} in {origin} (it holds {available}): check --signing-key")]
    SigningKeyNotFound { origin: String, wanted: String, available: String },

    #[error("key {fingerprint} cannot sign (no signing-capable primary key or subkey): add one with `gpg --quick-add-key {fingerprint} rsa4096 sign` or use another key")]
    NoSigningCapability { fingerprint: String },

    #[error("key {fingerprint} expired on {when}: extend it with `gpg --quick-set-expire {fingerprint} 1y '*'` (and for the primary key) and store the new export")]
    KeyExpired { fingerprint: String, when: String },

    #[error("key {fingerprint} is revoked ({reason}): sign with a valid key")]
    KeyRevoked { fingerprint: String, reason: String },

    #[error("the secret part of signing key {fingerprint} is not in this export (GnuPG stub or public key only): export it with `gpg --armor --export-secret-subkeys {fingerprint}!` or `--export-secret-key`")]
    SecretNotExported { fingerprint: String },

    #[error("key {fingerprint} is protected by a passphrase but none was given: pass --passphrase-file, set the variable named by --passphrase-env, or use a passphrase secret")]
    PassphraseRequired { fingerprint: String },

    #[error("the passphrase is empty but key {fingerprint} is protected: check that the passphrase secret or variable is filled")]
    EmptyPassphrase { fingerprint: String },

    #[error("wrong passphrase for key {fingerprint}: check the passphrase secret matches this key")]
    WrongPassphrase { fingerprint: String },

    #[error("key {fingerprint} is not usable here ({detail}): use an RSA, Ed25519 or NIST P-256 key made by GnuPG")]
    UnsupportedKey { fingerprint: String, detail: String },

    #[error("certificate {fingerprint} is not valid under the standard policy ({detail}): refresh its self-signatures with GnuPG (`gpg --quick-set-expire`) or use another key")]
    InvalidCertificate { fingerprint: String, detail: String },

    #[error("--signer-fingerprint {wanted} is in no --cert (they hold {available}): check the fingerprint")]
    SignerNotCertified { wanted: String, available: String },

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("signing failed with key {fingerprint}: {detail}")]
    Sign { fingerprint: String, detail: String },

    #[error("{origin} line {line}: {detail}: regenerate it with `signer sign`")]
    SumsMalformed { origin: String, line: usize, detail: String },

    #[error("{origin} is not a relsign manifest ({detail})")]
    ManifestMalformed { origin: String, detail: String },
}

/// The kind of problem, for callers that map errors to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key or certificate material cannot be used.
    Key,
    /// A file could not be read or parsed.
    Input,
    /// The crypto backend failed.
    Internal,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Read { .. } | Error::SumsMalformed { .. } | Error::ManifestMalformed { .. } => {
                ErrorKind::Input
            }
            Error::Sign { .. } => ErrorKind::Internal,
            _ => ErrorKind::Key,
        }
    }
}
