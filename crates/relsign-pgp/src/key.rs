//! Loading a secret key as GnuPG exports it, choosing the signing key as GnuPG would, and
//! unlocking it in memory.

use std::time::SystemTime;

use openpgp::cert::prelude::*;
use openpgp::crypto::{KeyPair, Password, S2K};
use openpgp::packet::key::{PublicParts, SecretKeyMaterial, SecretParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::parse::Parse;
use openpgp::policy::{Policy, StandardPolicy};
use openpgp::serialize::SerializeInto;
use openpgp::types::RevocationStatus;
use openpgp::{Fingerprint, KeyHandle};
use sequoia_openpgp as openpgp;

use crate::algorithm::{suite, Refusal, Suite};
use crate::error::{add_signing_subkey, make_key};
use crate::Error;

/// A passphrase held in memory that is zeroed when dropped.
pub struct Passphrase(Password);

impl Passphrase {
    pub fn new(bytes: Vec<u8>) -> Passphrase {
        Passphrase(Password::from(bytes))
    }

    fn is_empty(&self) -> bool {
        self.0.map(|p| p.is_empty())
    }

    /// The passphrase without one trailing newline, if it has one: secrets pasted into a
    /// console or written with `echo` often carry it.
    fn without_trailing_newline(&self) -> Option<Passphrase> {
        self.0.map(|p| {
            let trimmed = p.strip_suffix(b"\r\n").or_else(|| p.strip_suffix(b"\n"))?;
            Some(Passphrase::new(trimmed.to_vec()))
        })
    }
}

impl Passphrase {
    /// What every artifact is searched for, so that the passphrase is never published: the
    /// passphrase as it unlocks the key (one trailing newline off), if it has at least
    /// [`MIN_SCANNED_PASSPHRASE`] bytes. Shorter strings turn up by chance in large files.
    pub fn needle(&self) -> Option<crate::PassphraseNeedle> {
        let bytes: Vec<u8> = match self.without_trailing_newline() {
            Some(trimmed) => trimmed.0.map(|p| p.to_vec()),
            None => self.0.map(|p| p.to_vec()),
        };
        crate::PassphraseNeedle::new(bytes)
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// The certificates read from one key source (a file, a secret), with where they came from
/// for error messages.
pub struct KeyRing {
    origin: String,
    certs: Vec<Cert>,
}

/// An unlocked signing key, ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    pub(crate) backend: Backend,
    pub(crate) suite: Suite,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) primary: Fingerprint,
    pub(crate) user_id: Option<String>,
    /// What every signature is checked with before it is handed out.
    pub(crate) certified: Certified,
}

/// The signing key as its certificate holds it, and where that certificate came from.
#[derive(Clone)]
pub(crate) struct Certified {
    pub(crate) key: Key<PublicParts, UnspecifiedRole>,
    pub(crate) origin: String,
}

/// What makes the signatures: the secret in memory, or a signer that holds it elsewhere.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per run, moved rarely: a Box would buy nothing
pub(crate) enum Backend {
    Memory {
        keypair: KeyPair,
        /// The fast path for RSA keys; `None` for other algorithms.
        rsa: Option<crate::rsa::CrtRsa>,
    },
    External(Box<dyn crate::device::ExternalSigner>),
}

impl Backend {
    pub(crate) fn signer(&mut self) -> &mut dyn openpgp::crypto::Signer {
        match self {
            Backend::Memory { rsa: Some(rsa), .. } => rsa,
            Backend::Memory { keypair, .. } => keypair,
            Backend::External(signer) => signer.as_mut(),
        }
    }
}

impl SigningKey {
    /// The fingerprint of the (sub)key that makes the signatures.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.to_hex()
    }

    /// The fingerprint of the certificate, which users know the key by.
    pub fn primary_fingerprint(&self) -> String {
        self.primary.to_hex()
    }

    /// The primary user ID, for display.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// What the key is and how it signs: `ECDSA P-384`, over SHA-384.
    pub fn suite(&self) -> &Suite {
        &self.suite
    }
}

impl SigningKey {
    /// Checks that `bytes` (from `origin`, the user's `--cert`) holds this key's certificate,
    /// takes its primary user ID for the manifest, and checks every signature with it from
    /// now on.
    pub fn with_certificate(mut self, bytes: &[u8], origin: &str) -> Result<SigningKey, Error> {
        let certs = load_certificates(bytes, origin)?;
        let found = certs.iter().find_map(|c| {
            let ka = c.keys().find(|k| k.key().fingerprint() == self.fingerprint)?;
            Some((c, ka.key().clone().parts_into_public().role_into_unspecified()))
        });
        let Some((cert, key)) = found else {
            return Err(Error::CertificateMismatch {
                origin: origin.to_string(),
                key: self.fingerprint.to_hex(),
                found: certs.iter().map(|c| c.fingerprint().to_hex()).collect::<Vec<_>>().join(", "),
                external: matches!(self.backend, Backend::External(_)),
            });
        };
        self.primary = cert.fingerprint();
        let policy = policy();
        self.user_id = cert.with_policy(&policy, None).ok().and_then(|vc| {
            vc.primary_userid().ok().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
        });
        self.certified =
            Certified { key, origin: format!("certificate {} in {origin}", self.primary.to_hex()) };
        Ok(self)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("fingerprint", &self.fingerprint.to_hex())
            .field("primary", &self.primary.to_hex())
            .finish_non_exhaustive()
    }
}

pub(crate) fn policy() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

/// Reads every certificate (public or secret) in `bytes`, armored or binary.
pub(crate) fn load_certificates(bytes: &[u8], origin: &str) -> Result<Vec<Cert>, Error> {
    let malformed =
        |e: anyhow::Error| Error::Malformed { origin: origin.to_string(), detail: root_cause(&e) };
    // Neither armor nor a binary OpenPGP packet (whose first byte has the top bit set):
    // say so plainly instead of reporting a parse error deep inside the data.
    let armored = bytes.windows(10).any(|w| w == b"-----BEGIN");
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if !armored && first.is_none_or(|b| b & 0x80 == 0) {
        return Err(Error::NoKeyMaterial { origin: origin.to_string() });
    }
    if armored && crate::inspect::armor_checksum_mismatch(bytes) {
        return Err(Error::Malformed {
            origin: origin.to_string(),
            detail: "its armor checksum does not match its content".into(),
        });
    }
    let parser = CertParser::from_bytes(bytes).map_err(malformed)?;
    let mut certs = Vec::new();
    for cert in parser {
        certs.push(cert.map_err(malformed)?);
    }
    if certs.is_empty() {
        return Err(Error::NoKeyMaterial { origin: origin.to_string() });
    }
    Ok(certs)
}

/// The public certificates for `certs`, armored, as users publish them.
fn export_certificates(certs: &[Cert]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    for cert in certs {
        let armored = cert
            .armored()
            .to_vec()
            .map_err(|e| Error::Sign { fingerprint: cert.fingerprint().to_hex(), detail: e.to_string() })?;
        out.extend_from_slice(&armored);
    }
    Ok(out)
}

fn root_cause(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        msg.push_str(": ");
        msg.push_str(&cause.to_string());
    }
    msg
}

fn when(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Why a signing-capable key cannot be used, in order of what to tell the user first.
enum Unusable {
    NoSecret(Fingerprint),
    Expired(Fingerprint, Option<SystemTime>),
    Algorithm(Fingerprint, Refusal),
    Revoked(Fingerprint, String),
}

impl Unusable {
    fn fingerprint(&self) -> &Fingerprint {
        match self {
            Unusable::NoSecret(f)
            | Unusable::Expired(f, _)
            | Unusable::Algorithm(f, _)
            | Unusable::Revoked(f, _) => f,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Unusable::NoSecret(..) => 0,
            Unusable::Expired(..) => 1,
            Unusable::Algorithm(..) => 2,
            Unusable::Revoked(..) => 3,
        }
    }
}

fn revocation_reason(status: &RevocationStatus) -> Option<String> {
    match status {
        RevocationStatus::Revoked(sigs) => Some(
            sigs.first()
                .and_then(|s| s.reason_for_revocation())
                .map(|(code, text)| {
                    let text = String::from_utf8_lossy(text);
                    if text.is_empty() {
                        code.to_string()
                    } else {
                        format!("{code}: {text}")
                    }
                })
                .unwrap_or_else(|| "no reason given".to_string()),
        ),
        _ => None,
    }
}

fn is_gnupg_stub(secret: &SecretKeyMaterial) -> bool {
    match secret {
        // GnuPG's "gnu-dummy" (secret not exported) and "divert-to-card" use S2K 101.
        SecretKeyMaterial::Encrypted(e) => matches!(e.s2k(), S2K::Private { tag: 101, .. }),
        _ => false,
    }
}

impl KeyRing {
    /// Reads the key data, which should hold secret keys as `gpg --export-secret-key` writes.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<KeyRing, Error> {
        let certs = load_certificates(bytes, origin)?;
        Ok(KeyRing { origin: origin.to_string(), certs })
    }

    /// The armored public certificates (all, or the one `wanted` names), as users publish
    /// them. Needs no passphrase.
    pub fn public_certificates(&self, wanted: Option<&str>) -> Result<Vec<u8>, Error> {
        match wanted {
            None => export_certificates(&self.certs),
            Some(w) => {
                let (cert, _) = self.choose(Some(w))?;
                export_certificates(std::slice::from_ref(cert))
            }
        }
    }

    /// Chooses the certificate (and, if `wanted` names a subkey, that subkey).
    fn choose(&self, wanted: Option<&str>) -> Result<(&Cert, Option<Fingerprint>), Error> {
        let Some(wanted) = wanted else {
            return match self.certs.as_slice() {
                [one] => Ok((one, None)),
                many => Err(Error::AmbiguousKey {
                    origin: self.origin.clone(),
                    count: many.len(),
                    fingerprints: self.fingerprints(),
                }),
            };
        };
        let not_found = || Error::SigningKeyNotFound {
            origin: self.origin.clone(),
            wanted: wanted.to_string(),
            available: self.fingerprints(),
        };
        // Accept what people paste: spaces, a 0x prefix, GnuPG's trailing '!'.
        let cleaned: String =
            wanted.trim_start_matches("0x").chars().filter(|c| !c.is_whitespace() && *c != '!').collect();
        let handle: KeyHandle = cleaned.parse().map_err(|_| not_found())?;
        for cert in &self.certs {
            if cert.key_handle().aliases(&handle) {
                return Ok((cert, None));
            }
            if let Some(ka) = cert.keys().key_handle(handle.clone()).next() {
                return Ok((cert, Some(ka.key().fingerprint())));
            }
        }
        Err(not_found())
    }

    fn fingerprints(&self) -> String {
        self.certs.iter().map(|c| c.fingerprint().to_hex()).collect::<Vec<_>>().join(", ")
    }

    /// Selects the key GnuPG would sign with (the newest alive, unrevoked, signing-capable
    /// key whose secret is present and whose algorithm every verifier reads) or the one
    /// `wanted` names, and unlocks it.
    pub fn signing_key(
        &self,
        wanted: Option<&str>,
        passphrase: Option<&Passphrase>,
    ) -> Result<SigningKey, Error> {
        self.select(wanted, false)?.unlock(passphrase)
    }

    /// Selects the signing key without unlocking it: its algorithm, and so the hash every
    /// artifact is read into, is known before the passphrase is stretched.
    pub fn select(&self, wanted: Option<&str>, allow_rfc9580: bool) -> Result<SelectedKey, Error> {
        let (cert, only) = self.choose(wanted)?;
        let (key, suite) = select(cert, only.as_ref(), &self.origin, allow_rfc9580)?;
        let policy = policy();
        let user_id = cert.with_policy(&policy, None).ok().and_then(|vc| {
            vc.primary_userid().ok().map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
        });
        let origin = format!("certificate {} in {}", cert.fingerprint().to_hex(), self.origin);
        Ok(SelectedKey { key, suite, primary: cert.fingerprint(), user_id, origin })
    }
}

/// The key a run will sign with, still locked.
pub struct SelectedKey {
    key: Key<SecretParts, UnspecifiedRole>,
    suite: Suite,
    primary: Fingerprint,
    user_id: Option<String>,
    /// The certificate the key was selected from, for errors.
    origin: String,
}

impl SelectedKey {
    pub fn suite(&self) -> &Suite {
        &self.suite
    }

    pub fn fingerprint(&self) -> String {
        self.key.fingerprint().to_hex()
    }

    /// Decrypts the secret with `passphrase` (a full S2K: some 150 ms for a GnuPG export).
    pub fn unlock(self, passphrase: Option<&Passphrase>) -> Result<SigningKey, Error> {
        let fingerprint = self.key.fingerprint();
        let certified = Certified { key: self.key.clone().parts_into_public(), origin: self.origin };
        let keypair = unlock(self.key, passphrase)?;
        let rsa = crate::rsa::CrtRsa::new(&keypair);
        Ok(SigningKey {
            backend: Backend::Memory { keypair, rsa },
            suite: self.suite,
            fingerprint,
            primary: self.primary,
            user_id: self.user_id,
            certified,
        })
    }
}

impl std::fmt::Debug for SelectedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectedKey")
            .field("fingerprint", &self.key.fingerprint().to_hex())
            .field("suite", &self.suite.name)
            .finish_non_exhaustive()
    }
}

fn refused(fingerprint: &Fingerprint, r: Refusal, primary: &Fingerprint) -> Error {
    let instead = if fingerprint == primary {
        make_key()
    } else {
        add_signing_subkey(&primary.to_hex()).then(make_key())
    };
    Error::RefusedAlgorithm { fingerprint: fingerprint.to_hex(), algorithm: r.algorithm, why: r.why, instead }
}

/// Whether any self-signature of `ka` (verified or not) marks it for signing: a key of an
/// algorithm sequoia cannot verify with (its back-signature fails) never reaches the policy's
/// key list, yet the user meant it to sign.
fn claims_signing(ka: &SubordinateKeyAmalgamation<'_, PublicParts>) -> bool {
    ka.self_signatures().any(|s| s.key_flags().is_some_and(|f| f.for_signing()))
}

/// What a subkey is for, as its self-signature says.
fn usage(ka: &SubordinateKeyAmalgamation<'_, PublicParts>) -> String {
    let flags = ka.self_signatures().find_map(|s| s.key_flags());
    let mut uses = Vec::new();
    if let Some(f) = flags {
        if f.for_transport_encryption() || f.for_storage_encryption() {
            uses.push("encryption");
        }
        if f.for_certification() {
            uses.push("certification");
        }
        if f.for_authentication() {
            uses.push("authentication");
        }
    }
    if uses.is_empty() {
        "no declared use".to_string()
    } else {
        uses.join(" and ")
    }
}

fn select(
    cert: &Cert,
    only: Option<&Fingerprint>,
    origin: &str,
    allow_rfc9580: bool,
) -> Result<(Key<SecretParts, UnspecifiedRole>, Suite), Error> {
    let primary = cert.fingerprint();
    let fpr = primary.to_hex();
    if !cert.is_tsk() {
        return Err(Error::PublicKeyOnly { origin: origin.to_string(), fingerprint: fpr });
    }
    // Before the policy: a primary key GnuPG 2.2 cannot read makes the whole certificate
    // unreadable to it, whichever key signs; and one sequoia cannot verify with would be
    // reported as a missing binding signature, which is not the cause.
    if let Err(r) = suite(cert.primary_key().key(), allow_rfc9580) {
        return Err(refused(&primary, r, &primary));
    }
    let policy = policy();
    let vc = cert
        .with_policy(&policy as &dyn Policy, None)
        .map_err(|e| Error::InvalidCertificate { fingerprint: fpr.clone(), detail: root_cause(&e) })?;
    if let Some(reason) = revocation_reason(&vc.revocation_status()) {
        return Err(Error::KeyRevoked { fingerprint: fpr, reason });
    }
    if vc.alive().is_err() {
        let expiry = vc.primary_key().key_expiration_time();
        return Err(Error::KeyExpired {
            fingerprint: fpr,
            when: expiry.map(when).unwrap_or_else(|| "an unknown date".into()),
        });
    }

    let mut best: Option<(Key<SecretParts, UnspecifiedRole>, Suite)> = None;
    let mut unusable = Vec::new();
    for ka in vc.keys().for_signing() {
        let key_fpr = ka.key().fingerprint();
        if only.is_some_and(|f| *f != key_fpr) {
            continue;
        }
        if let Some(reason) = revocation_reason(&ka.revocation_status()) {
            unusable.push(Unusable::Revoked(key_fpr, reason));
            continue;
        }
        if ka.alive().is_err() {
            unusable.push(Unusable::Expired(key_fpr, ka.key_expiration_time()));
            continue;
        }
        let suite = match suite(ka.key(), allow_rfc9580) {
            Ok(s) => s,
            Err(r) => {
                unusable.push(Unusable::Algorithm(key_fpr, r));
                continue;
            }
        };
        let secret = match ka.key().clone().parts_into_secret() {
            Ok(k) if !is_gnupg_stub(k.secret()) => k,
            _ => {
                unusable.push(Unusable::NoSecret(key_fpr));
                continue;
            }
        };
        let newer = best.as_ref().is_none_or(|(b, _)| secret.creation_time() > b.creation_time());
        if newer {
            best = Some((secret.role_into_unspecified(), suite));
        }
    }
    if let Some(found) = best {
        return Ok(found);
    }
    // Signing subkeys the policy dropped because sequoia cannot check their binding (an
    // unknown curve): their algorithm is the cause to report.
    for ka in cert.keys().subkeys() {
        let key_fpr = ka.key().fingerprint();
        let listed = unusable.iter().any(|u| u.fingerprint() == &key_fpr);
        if listed || only.is_some_and(|f| *f != key_fpr) || !claims_signing(&ka) {
            continue;
        }
        if let Err(r) = suite(ka.key(), allow_rfc9580) {
            unusable.push(Unusable::Algorithm(key_fpr, r));
        }
    }
    // Another key of this certificate that would sign, to offer when --signing-key named
    // one that cannot.
    let alternative = || match only {
        Some(f) => select(cert, None, origin, allow_rfc9580)
            .ok()
            .filter(|(k, _)| k.fingerprint() != *f)
            .map(|(k, _)| k.fingerprint().to_hex()),
        None => None,
    };
    // Tell the most useful reason first: a missing secret is fixed by a re-export, an
    // expired key by extending it, an algorithm or a revocation only by another key.
    unusable.sort_by_key(Unusable::rank);
    Err(match unusable.into_iter().next() {
        None => match only.filter(|f| **f != primary) {
            Some(f) => not_a_signing_key(cert, f, &primary, alternative()),
            None => Error::NoSigningCapability { fingerprint: fpr },
        },
        Some(Unusable::NoSecret(f)) => Error::SecretNotExported { fingerprint: f.to_hex(), primary: fpr },
        Some(Unusable::Expired(f, t)) => {
            let when = t.map(when).unwrap_or_else(|| "an unknown date".into());
            if f == primary {
                Error::KeyExpired { fingerprint: fpr, when }
            } else {
                Error::SubkeyExpired {
                    fingerprint: f.to_hex(),
                    primary: fpr,
                    when,
                    alternative: alternative(),
                }
            }
        }
        Some(Unusable::Algorithm(f, r)) => refused(&f, r, &primary),
        Some(Unusable::Revoked(f, reason)) => {
            Error::SubkeyRevoked { fingerprint: f.to_hex(), primary: fpr, reason, alternative: alternative() }
        }
    })
}

/// `--signing-key` named a subkey that is not for signing (an encryption subkey, say).
fn not_a_signing_key(
    cert: &Cert,
    wanted: &Fingerprint,
    primary: &Fingerprint,
    alternative: Option<String>,
) -> Error {
    let usage = cert
        .keys()
        .subkeys()
        .find(|ka| ka.key().fingerprint() == *wanted)
        .map(|ka| usage(&ka))
        .unwrap_or_else(|| "no declared use".into());
    Error::NotASigningKey { fingerprint: wanted.to_hex(), primary: primary.to_hex(), usage, alternative }
}

fn unlock(key: Key<SecretParts, UnspecifiedRole>, passphrase: Option<&Passphrase>) -> Result<KeyPair, Error> {
    let fingerprint = key.fingerprint().to_hex();
    let unsupported =
        |e: anyhow::Error| Error::UnsupportedKey { fingerprint: fingerprint.clone(), detail: root_cause(&e) };
    let key = match key.secret() {
        SecretKeyMaterial::Unencrypted(_) => key,
        SecretKeyMaterial::Encrypted(e) => {
            if !e.s2k().is_supported() {
                return Err(Error::UnsupportedKey {
                    fingerprint,
                    detail: format!("secret protected with unsupported S2K {:?}", e.s2k()),
                });
            }
            let Some(passphrase) = passphrase else {
                return Err(Error::PassphraseRequired { fingerprint });
            };
            if passphrase.is_empty() {
                return Err(Error::EmptyPassphrase { fingerprint });
            }
            // A passphrase file usually ends with a newline, and GnuPG's --passphrase-file
            // reads the first line only: try that first, the bytes as given second. Each try
            // is a full S2K (65 MB of SHA-1 for a GnuPG export), so the order matters.
            let trimmed = passphrase.without_trailing_newline().filter(|p| !p.is_empty());
            let (first_try, second_try) = match &trimmed {
                Some(line) => (line, Some(passphrase)),
                None => (passphrase, None),
            };
            match key.clone().decrypt_secret(&first_try.0) {
                Ok(k) => k,
                Err(first) => match second_try.and_then(|p| key.clone().decrypt_secret(&p.0).ok()) {
                    Some(k) => k,
                    None if is_wrong_password(&first) => return Err(Error::WrongPassphrase { fingerprint }),
                    None => return Err(unsupported(first)),
                },
            }
        }
    };
    key.into_keypair().map_err(unsupported)
}

/// sequoia reports a wrong passphrase as a failed checksum or garbled key material.
fn is_wrong_password(e: &anyhow::Error) -> bool {
    !matches!(
        e.downcast_ref::<openpgp::Error>(),
        Some(openpgp::Error::UnsupportedSymmetricAlgorithm(_))
            | Some(openpgp::Error::UnsupportedAEADAlgorithm(_))
            | Some(openpgp::Error::UnsupportedPublicKeyAlgorithm(_))
    )
}
