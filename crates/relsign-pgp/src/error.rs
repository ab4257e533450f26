//! The one error type of relsign-pgp: each error is a problem (its message), its exit code
//! and what to do about it (relsign-error's [`Contract`]), kept apart so that `check` can
//! show them apart.

use std::path::PathBuf;

use relsign_error::{Contract, Exit, Fix, Reported};

/// What a device's own error says, whole; anything else as a failure to sign with the key.
fn external_message(fingerprint: &str, source: &anyhow::Error) -> String {
    match source.downcast_ref::<Reported>() {
        Some(reported) => reported.message.clone(),
        None => format!("signing failed with key {fingerprint}: {source}"),
    }
}

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
    NotASigningKey { fingerprint: String, primary: String, usage: String, alternative: Option<String> },

    #[error("certificate {fingerprint} expired on {when}")]
    KeyExpired { fingerprint: String, when: String },

    #[error("signing subkey {fingerprint} of {primary} expired on {when}")]
    SubkeyExpired { fingerprint: String, primary: String, when: String, alternative: Option<String> },

    #[error("certificate {fingerprint} is revoked ({reason})")]
    KeyRevoked { fingerprint: String, reason: String },

    #[error("signing subkey {fingerprint} of {primary} is revoked ({reason})")]
    SubkeyRevoked { fingerprint: String, primary: String, reason: String, alternative: Option<String> },

    #[error("key {fingerprint} is {algorithm}, which relsign does not sign with")]
    RefusedAlgorithm { fingerprint: String, algorithm: String, why: String, instead: Fix },

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

    /// An external signer (a KMS) refused or failed; `source` is its own error, which keeps
    /// its own message, fix and exit code when it comes as a relsign-error `Reported`.
    #[error("{}", external_message(fingerprint, source))]
    External { fingerprint: String, source: anyhow::Error },

    #[error("{origin} line {line}: {detail}")]
    SumsMalformed { origin: String, line: usize, detail: String },

    #[error("{origin} is not a relsign manifest ({detail})")]
    ManifestMalformed { origin: String, detail: String },
}

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::NoKeyMaterial { .. } => Fix::run("expected an armored secret key as this writes it", export_secret("KEYID")),
            Error::NoCertificate { .. } => Fix::run("expected a public key as this writes it", export_public("KEYID")),
            Error::Malformed { .. } => "it is damaged or truncated; export it again".into(),
            Error::PublicKeyOnly { fingerprint, .. } => Fix::run("export it", export_secret(fingerprint)),
            Error::AmbiguousKey { .. } => Fix::run("choose one", ["signer", "sign", "--signing-key", "FINGERPRINT"]),
            Error::SigningKeyNotFound { .. } => "check --signing-key".into(),
            Error::NoSigningCapability { fingerprint } => add_signing_subkey(fingerprint),
            Error::NotASigningKey { primary, alternative, .. } => match alternative {
                Some(subkey) => sign_with(subkey, "sign with its signing subkey instead"),
                None => add_signing_subkey(primary),
            },
            Error::KeyExpired { fingerprint, .. } => {
                Fix::run("extend it", ["gpg", "--quick-set-expire", fingerprint, "1y"])
                    .then_run("store the new export", export_secret(fingerprint))
            }
            Error::SubkeyExpired { fingerprint, primary, alternative, .. } => {
                Fix::run("extend it", ["gpg", "--quick-set-expire", primary, "1y", fingerprint])
                    .then_run("store the new export", export_secret(primary))
                    .then(or_sign_with(alternative))
            }
            Error::KeyRevoked { .. } => {
                Fix::say("it can never sign again").then(make_key()).then_say("store it and publish its certificate")
            }
            Error::SubkeyRevoked { primary, alternative, .. } => {
                add_signing_subkey(primary).then(or_sign_with(alternative))
            }
            Error::RefusedAlgorithm { why, instead, .. } => Fix::say(why).then(instead.clone()),
            Error::SecretNotExported { fingerprint, primary } => {
                Fix::run("on the machine holding it, export it", export_secret(primary))
                    .then_run("or export the subkey alone", ["gpg", "--armor", "--export-secret-subkeys", &format!("{fingerprint}!")])
            }
            Error::PassphraseRequired { .. } => "pass --passphrase-file, set the variable named by --passphrase-env, or use a passphrase secret".into(),
            Error::EmptyPassphrase { .. } => "check that the passphrase secret or variable is filled".into(),
            Error::WrongPassphrase { .. } => "check the passphrase secret matches this key".into(),
            Error::UnsupportedKey { .. } => "use an RSA, Ed25519 or NIST P-256/384/521 key made by GnuPG".into(),
            Error::InvalidCertificate { fingerprint, .. } => {
                Fix::run("refresh its self-signatures", ["gpg", "--quick-set-expire", fingerprint, "1y"])
                    .then_say("or use another key")
            }
            Error::SignerNotCertified { .. } => "check the fingerprint".into(),
            Error::CertificateMismatch { external: true, key, .. } => {
                Fix::run("pass the certificate made for this key", ["signer", "kms-cert", "--kms-key-id", key])
                    .then_say("or drop --cert")
            }
            Error::CertificateMismatch { key, .. } => {
                Fix::run("pass the certificate of the key that signs", export_public(key))
                    .then_say("or the key of this certificate, or drop --cert")
            }
            Error::Read { .. } => Fix::none(),
            Error::Sign { .. } => Fix::none(),
            Error::SignatureNotVerified { external: true, .. } => "KMS's answer was changed on the way or made by another key: check AWS_ENDPOINT_URL* and any proxy between here and KMS, then sign again".into(),
            Error::SignatureNotVerified { fingerprint, .. } => {
                Fix::say("the secret key does not match its certificate (damaged export?)")
                    .then_run("export it again", export_secret(fingerprint))
            }
            Error::External { source, .. } => match source.downcast_ref::<Reported>() {
                Some(reported) => reported.fix.clone(),
                None => Fix::none(),
            },
            Error::SumsMalformed { .. } => Fix::run("regenerate it", ["signer", "sign"]),
            Error::ManifestMalformed { .. } => Fix::none(),
        }
    }

    /// Key material that cannot be used is exit 4; an unreadable file exit 3.
    fn exit(&self) -> Exit {
        match self {
            Error::Read { .. } | Error::SumsMalformed { .. } | Error::ManifestMalformed { .. } => Exit::Input,
            // What the device holding the key (a KMS) said, with its own exit code.
            Error::External { source, .. } => {
                source.downcast_ref::<Reported>().map_or(Exit::Internal, |reported| reported.exit)
            }
            Error::Sign { .. } => Exit::Internal,
            Error::SignatureNotVerified { external: true, .. } => Exit::Remote,
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
            | Error::SignatureNotVerified { .. } => Exit::Key,
        }
    }
}

/// `gpg --armor --export-secret-key KEY`: the stored export users replace after a fix.
fn export_secret(key: &str) -> [&str; 4] {
    ["gpg", "--armor", "--export-secret-key", key]
}

fn export_public(key: &str) -> [&str; 4] {
    ["gpg", "--armor", "--export", key]
}

pub(crate) fn add_signing_subkey(primary: &str) -> Fix {
    Fix::run("add a signing subkey", ["gpg", "--quick-add-key", primary, "ed25519", "sign", "2y"])
        .then_run("store the new export", export_secret(primary))
        .then_say("publish the updated certificate")
}

fn sign_with(subkey: &str, purpose: &str) -> Fix {
    Fix::run(purpose, ["signer", "sign", "--signing-key", subkey])
}

/// Another valid signing key of the same certificate, offered beside the fix.
fn or_sign_with(alternative: &Option<String>) -> Fix {
    match alternative {
        Some(subkey) => sign_with(subkey, "or sign with the valid subkey instead"),
        None => Fix::none(),
    }
}

/// What GnuPG makes and every verifier reads: the advice of every key refused for what it is.
pub(crate) fn make_key() -> Fix {
    Fix::run(
        "make an Ed25519 or RSA key with GnuPG",
        ["gpg", "--quick-gen-key", "Release Signing <release@example.org>", "ed25519", "sign,cert", "2y"],
    )
}

impl Error {
    /// One error of each kind whose fix runs a command, for the test that runs every
    /// suggested `gpg` command in a throwaway GnuPG home and parses every suggested
    /// `signer` command against its flags (crates/relsign/src/fixes.rs). `primary` and
    /// `subkey` are the fingerprints of a real key and its signing subkey there. An error
    /// whose fix gains a command gets its example here.
    #[doc(hidden)]
    pub fn examples(primary: &str, subkey: &str) -> Vec<Error> {
        let (p, k) = (primary.to_string(), subkey.to_string());
        let s = String::new;
        vec![
            Error::NoKeyMaterial { origin: s() },
            Error::NoCertificate { origin: s() },
            Error::PublicKeyOnly { origin: s(), fingerprint: p.clone() },
            Error::AmbiguousKey { origin: s(), count: 2, fingerprints: s() },
            Error::NoSigningCapability { fingerprint: p.clone() },
            Error::NotASigningKey {
                fingerprint: k.clone(),
                primary: p.clone(),
                usage: s(),
                alternative: None,
            },
            Error::NotASigningKey {
                fingerprint: k.clone(),
                primary: p.clone(),
                usage: s(),
                alternative: Some(k.clone()),
            },
            Error::KeyExpired { fingerprint: p.clone(), when: s() },
            Error::SubkeyExpired {
                fingerprint: k.clone(),
                primary: p.clone(),
                when: s(),
                alternative: Some(k.clone()),
            },
            Error::KeyRevoked { fingerprint: p.clone(), reason: s() },
            Error::SubkeyRevoked {
                fingerprint: k.clone(),
                primary: p.clone(),
                reason: s(),
                alternative: Some(k.clone()),
            },
            Error::RefusedAlgorithm { fingerprint: p.clone(), algorithm: s(), why: s(), instead: make_key() },
            Error::RefusedAlgorithm {
                fingerprint: k.clone(),
                algorithm: s(),
                why: s(),
                instead: add_signing_subkey(&p).then(make_key()),
            },
            Error::SecretNotExported { fingerprint: k.clone(), primary: p.clone() },
            Error::InvalidCertificate { fingerprint: p.clone(), detail: s() },
            Error::CertificateMismatch { origin: s(), key: p.clone(), found: s(), external: true },
            Error::CertificateMismatch { origin: s(), key: p.clone(), found: s(), external: false },
            Error::SignatureNotVerified {
                what: s(),
                fingerprint: p,
                against: s(),
                detail: s(),
                external: false,
            },
            Error::SumsMalformed { origin: s(), line: 1, detail: s() },
        ]
    }
}
