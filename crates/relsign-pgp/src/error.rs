//! The one error type of relsign-pgp: each error is a problem (its message) and what to do
//! about it ([`Error::fix`]), kept apart so that `check` can show them apart.

use std::path::PathBuf;

/// What went wrong, in words a release engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no OpenPGP key found in {origin}")]
    NoKeyMaterial { origin: String },

    #[error("no OpenPGP certificate found in {origin}")]
    NoCertificate { origin: String },

    #[error("cannot read the OpenPGP data in {origin} ({detail})")]
    Malformed { origin: String, detail: String },

    #[error("{origin} holds only the public certificate {fingerprint}, not its secret key")]
    PublicKeyOnly { origin: String, fingerprint: String },

    #[error("{origin} holds {count} keys ({fingerprints})")]
    AmbiguousKey { origin: String, count: usize, fingerprints: String },

    #[error("no key {wanted} in {origin} (it holds {available})")]
    SigningKeyNotFound { origin: String, wanted: String, available: String },

    #[error("certificate {fingerprint} cannot sign (no signing-capable primary key or subkey)")]
    NoSigningCapability { fingerprint: String },

    #[error("{fingerprint} is a subkey of {primary} for {usage} only, so it cannot sign")]
    NotASigningKey { fingerprint: String, primary: String, usage: String, fix: String },

    #[error("certificate {fingerprint} expired on {when}")]
    KeyExpired { fingerprint: String, when: String },

    #[error("signing subkey {fingerprint} of {primary} expired on {when}")]
    SubkeyExpired { fingerprint: String, primary: String, when: String, alternative: String },

    #[error("certificate {fingerprint} is revoked ({reason})")]
    KeyRevoked { fingerprint: String, reason: String, instead: &'static str },

    #[error("signing subkey {fingerprint} of {primary} is revoked ({reason})")]
    SubkeyRevoked { fingerprint: String, primary: String, reason: String, alternative: String },

    #[error("key {fingerprint} is {algorithm}, which relsign does not sign with")]
    RefusedAlgorithm { fingerprint: String, algorithm: String, why: String, instead: String },

    #[error(
        "the secret part of signing key {fingerprint} is not in this export (GnuPG stub or public key only)"
    )]
    SecretNotExported { fingerprint: String, primary: String },

    #[error("key {fingerprint} is protected by a passphrase but none was given")]
    PassphraseRequired { fingerprint: String },

    #[error("the passphrase is empty but key {fingerprint} is protected")]
    EmptyPassphrase { fingerprint: String },

    #[error("wrong passphrase for key {fingerprint}")]
    WrongPassphrase { fingerprint: String },

    #[error("key {fingerprint} is not usable here ({detail})")]
    UnsupportedKey { fingerprint: String, detail: String },

    #[error("certificate {fingerprint} is not valid under the standard policy ({detail})")]
    InvalidCertificate { fingerprint: String, detail: String },

    #[error("--signer-fingerprint {wanted} is in no --cert (they hold {available})")]
    SignerNotCertified { wanted: String, available: String },

    #[error("{origin} holds no certificate of key {key} (it holds {found})")]
    CertificateMismatch { origin: String, key: String, found: String, external: bool },

    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },

    #[error("signing failed with key {fingerprint}: {detail}")]
    Sign { fingerprint: String, detail: String },

    #[error("the signature of {what} by key {fingerprint} does not verify with {against} ({detail}); nothing was written")]
    SignatureNotVerified {
        what: String,
        fingerprint: String,
        against: String,
        detail: String,
        external: bool,
    },

    /// An external signer (a KMS) refused or failed; `source` is its own error, which
    /// relsign-cli reports with its own fix and exit code.
    #[error("signing failed with key {fingerprint}: {source}")]
    External { fingerprint: String, source: anyhow::Error },

    #[error("{origin} line {line}: {detail}")]
    SumsMalformed { origin: String, line: usize, detail: String },

    #[error("{origin} is not a relsign manifest ({detail})")]
    ManifestMalformed { origin: String, detail: String },

    #[error("{origin} is not a relsign release pointer ({detail})")]
    PointerMalformed { origin: String, detail: String },
}

impl Error {
    /// What to do about it, apart from the problem itself: the one-line report joins
    /// them as `problem: fix`, and `check` shows them on separate lines.
    pub fn fix(&self) -> Option<String> {
        match self {
            Error::NoKeyMaterial { .. } => Some("expected an armored secret key as `gpg --armor --export-secret-key KEYID` writes it".to_string()),
            Error::NoCertificate { .. } => Some("expected a public key as `gpg --armor --export KEYID` writes it".to_string()),
            Error::Malformed { .. } => Some("it is damaged or truncated; export it again".to_string()),
            Error::PublicKeyOnly { fingerprint, .. } => Some(format!("export it with `gpg --armor --export-secret-key {fingerprint}`")),
            Error::AmbiguousKey { .. } => Some("choose one with --signing-key FINGERPRINT".to_string()),
            Error::SigningKeyNotFound { .. } => Some("check --signing-key".to_string()),
            Error::NoSigningCapability { fingerprint } => Some(format!("add a signing subkey with `gpg --quick-add-key {fingerprint} ed25519 sign 2y`, then store the new export (`gpg --armor --export-secret-key {fingerprint}`) and publish the updated certificate")),
            Error::NotASigningKey { fix, .. } => Some(fix.clone()),
            Error::KeyExpired { fingerprint, .. } => Some(format!("extend it with `gpg --quick-set-expire {fingerprint} 1y`, then store the new export (`gpg --armor --export-secret-key {fingerprint}`)")),
            Error::SubkeyExpired { fingerprint, primary, alternative, .. } => Some(format!("extend it with `gpg --quick-set-expire {primary} 1y {fingerprint}`, then store the new export (`gpg --armor --export-secret-key {primary}`){alternative}")),
            Error::KeyRevoked { instead, .. } => Some(format!("it can never sign again; {instead}, then store it and publish its certificate")),
            Error::SubkeyRevoked { primary, alternative, .. } => Some(format!("add a new one with `gpg --quick-add-key {primary} ed25519 sign 2y`, then store the new export (`gpg --armor --export-secret-key {primary}`) and publish the updated certificate{alternative}")),
            Error::RefusedAlgorithm { why, instead, .. } => Some(format!("{why}; {instead}")),
            Error::SecretNotExported { fingerprint, primary } => Some(format!("on the machine holding it, export it with `gpg --armor --export-secret-key {primary}` (or `gpg --armor --export-secret-subkeys {fingerprint}!` for the subkey alone)")),
            Error::PassphraseRequired { .. } => Some("pass --passphrase-file, set the variable named by --passphrase-env, or use a passphrase secret".to_string()),
            Error::EmptyPassphrase { .. } => Some("check that the passphrase secret or variable is filled".to_string()),
            Error::WrongPassphrase { .. } => Some("check the passphrase secret matches this key".to_string()),
            Error::UnsupportedKey { .. } => Some("use an RSA, Ed25519 or NIST P-256/384/521 key made by GnuPG".to_string()),
            Error::InvalidCertificate { fingerprint, .. } => Some(format!("refresh its self-signatures with `gpg --quick-set-expire {fingerprint} 1y` or use another key")),
            Error::SignerNotCertified { .. } => Some("check the fingerprint".to_string()),
            Error::CertificateMismatch { external: true, .. } => {
                Some("pass the certificate `signer kms-cert` made for this key, or drop --cert".to_string())
            }
            Error::CertificateMismatch { key, .. } => Some(format!(
                "pass the certificate of the key that signs (`gpg --armor --export {key}`), or the key of this certificate, or drop --cert"
            )),
            Error::Read { .. } => None,
            Error::Sign { .. } => None,
            Error::SignatureNotVerified { external: true, .. } => Some("KMS's answer was changed on the way or made by another key: check AWS_ENDPOINT_URL* and any proxy between here and KMS, then sign again".to_string()),
            Error::SignatureNotVerified { fingerprint, .. } => Some(format!("the secret key does not match its certificate (damaged export?): export it again with `gpg --armor --export-secret-key {fingerprint}`")),
            Error::External { .. } => None,
            Error::SumsMalformed { .. } => Some("regenerate it with `signer sign`".to_string()),
            Error::ManifestMalformed { .. } => None,
            Error::PointerMalformed { .. } => Some("sign the release again with `signer sign --release-version VERSION`".to_string()),
        }
    }
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
    /// The device holding the key (a KMS) answered with a signature that does not verify.
    Remote,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Read { .. }
            | Error::SumsMalformed { .. }
            | Error::ManifestMalformed { .. }
            | Error::PointerMalformed { .. } => ErrorKind::Input,
            Error::Sign { .. } | Error::External { .. } => ErrorKind::Internal,
            Error::SignatureNotVerified { external: true, .. } => ErrorKind::Remote,
            Error::NoKeyMaterial { .. }
            | Error::NoCertificate { .. }
            | Error::Malformed { .. }
            | Error::PublicKeyOnly { .. }
            | Error::AmbiguousKey { .. }
            | Error::SigningKeyNotFound { .. }
            | Error::NoSigningCapability { .. }
            | Error::NotASigningKey { .. }
            | Error::KeyExpired { .. }
            | Error::SubkeyExpired { .. }
            | Error::KeyRevoked { .. }
            | Error::SubkeyRevoked { .. }
            | Error::RefusedAlgorithm { .. }
            | Error::SecretNotExported { .. }
            | Error::PassphraseRequired { .. }
            | Error::EmptyPassphrase { .. }
            | Error::WrongPassphrase { .. }
            | Error::UnsupportedKey { .. }
            | Error::InvalidCertificate { .. }
            | Error::SignerNotCertified { .. }
            | Error::CertificateMismatch { .. }
            | Error::SignatureNotVerified { .. } => ErrorKind::Key,
        }
    }
}
