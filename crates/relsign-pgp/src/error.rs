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

    #[error("certificate {fingerprint} cannot sign (no signing-capable primary key or subkey): add a signing subkey with `gpg --quick-add-key {fingerprint} ed25519 sign 2y`, then store the new export (`gpg --armor --export-secret-key {fingerprint}`) and publish the updated certificate")]
    NoSigningCapability { fingerprint: String },

    #[error("{fingerprint} is a subkey of {primary} for {usage} only, so it cannot sign: {fix}")]
    NotASigningKey { fingerprint: String, primary: String, usage: String, fix: String },

    #[error("certificate {fingerprint} expired on {when}: extend it with `gpg --quick-set-expire {fingerprint} 1y`, then store the new export (`gpg --armor --export-secret-key {fingerprint}`)")]
    KeyExpired { fingerprint: String, when: String },

    #[error("signing subkey {fingerprint} of {primary} expired on {when}: extend it with `gpg --quick-set-expire {primary} 1y {fingerprint}`, then store the new export (`gpg --armor --export-secret-key {primary}`){alternative}")]
    SubkeyExpired { fingerprint: String, primary: String, when: String, alternative: String },

    #[error("certificate {fingerprint} is revoked ({reason}): it can never sign again; {instead}, then store it and publish its certificate")]
    KeyRevoked { fingerprint: String, reason: String, instead: &'static str },

    #[error("signing subkey {fingerprint} of {primary} is revoked ({reason}): add a new one with `gpg --quick-add-key {primary} ed25519 sign 2y`, then store the new export (`gpg --armor --export-secret-key {primary}`) and publish the updated certificate{alternative}")]
    SubkeyRevoked { fingerprint: String, primary: String, reason: String, alternative: String },

    #[error("key {fingerprint} is {algorithm}, which relsign does not sign with: {why}; {instead}")]
    RefusedAlgorithm { fingerprint: String, algorithm: String, why: String, instead: String },

    #[error("the secret part of signing key {fingerprint} is not in this export (GnuPG stub or public key only): on the machine holding it, export it with `gpg --armor --export-secret-key {primary}` (or `gpg --armor --export-secret-subkeys {fingerprint}!` for the subkey alone)")]
    SecretNotExported { fingerprint: String, primary: String },

    #[error("key {fingerprint} is protected by a passphrase but none was given: pass --passphrase-file, set the variable named by --passphrase-env, or use a passphrase secret")]
    PassphraseRequired { fingerprint: String },

    #[error("the passphrase is empty but key {fingerprint} is protected: check that the passphrase secret or variable is filled")]
    EmptyPassphrase { fingerprint: String },

    #[error("wrong passphrase for key {fingerprint}: check the passphrase secret matches this key")]
    WrongPassphrase { fingerprint: String },

    #[error("key {fingerprint} is not usable here ({detail}): use an RSA, Ed25519 or NIST P-256/384/521 key made by GnuPG")]
    UnsupportedKey { fingerprint: String, detail: String },

    #[error("certificate {fingerprint} is not valid under the standard policy ({detail}): refresh its self-signatures with `gpg --quick-set-expire {fingerprint} 1y` or use another key")]
    InvalidCertificate { fingerprint: String, detail: String },

    #[error("--signer-fingerprint {wanted} is in no --cert (they hold {available}): check the fingerprint")]
    SignerNotCertified { wanted: String, available: String },

    #[error("{origin} holds no certificate of key {key} (it holds {found}): pass the certificate `signer kms-cert` made for this key, or drop --cert")]
    CertificateMismatch { origin: String, key: String, found: String },

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("signing failed with key {fingerprint}: {detail}")]
    Sign { fingerprint: String, detail: String },

    /// An external signer (a KMS) refused or failed; `source` is its own error.
    #[error("signing failed with key {fingerprint}: {source}")]
    External { fingerprint: String, source: anyhow::Error },

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
            Error::Sign { .. } | Error::External { .. } => ErrorKind::Internal,
            _ => ErrorKind::Key,
        }
    }
}
