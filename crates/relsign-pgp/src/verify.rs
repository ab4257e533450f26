//! Checking detached signatures against the certificates a user trusts, with the reason
//! when one does not verify.

use std::fmt;
use std::io::{self, Read};
use std::time::SystemTime;

use openpgp::cert::Cert;
use openpgp::packet::key::{KeyParts, KeyRole};
use openpgp::packet::{Key, Signature};
use openpgp::parse::stream::{
    DetachedVerifierBuilder, GoodChecksum, MessageLayer, MessageStructure, VerificationError,
    VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, Policy};
use openpgp::KeyHandle;
use sequoia_openpgp as openpgp;

use crate::algorithm::{hash_bits, hash_name, min_hash_bits, suite};
use crate::key::load_certificates;
use crate::key::policy;
use crate::{Error, SecretScan, Sha256, Sha256Hasher};

/// A signature that verified, and the digest of the bytes it covers.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The (sub)key that made the signature.
    pub fingerprint: String,
    /// The certificate it belongs to.
    pub primary: String,
    pub created: SystemTime,
    pub sha256: Sha256,
    pub size: u64,
}

/// Why a signature does not verify.
#[derive(Debug)]
pub enum Rejection {
    /// The data or the signature was changed after signing.
    BadSignature(String),
    /// The signature is intact but made in a way the policy (and GnuPG) rejects: a weak
    /// hash, or one shorter than the key's curve.
    Policy(String),
    /// Made by a key none of the given certificates holds.
    UnknownKey(String),
    /// The signing key or its certificate had expired when the signature was made.
    KeyExpired(String),
    /// The signing key or its certificate is revoked.
    KeyRevoked(String),
    /// The key cannot be used for this signature for another reason.
    BadKey(String),
    /// The `.asc` is not an OpenPGP signature.
    Malformed(String),
    /// The `.asc` holds no signature at all.
    NoSignature,
    /// The data could not be read.
    Read(io::Error),
    /// The data is an OpenPGP secret key, which is never published.
    SecretMaterial,
    /// A good signature by a certificate `--signer-fingerprint` does not name.
    NotAllowed(String),
    /// A file of the release could not be read.
    Unreadable { path: std::path::PathBuf, source: io::Error },
    /// The checksum list has no signature beside it.
    UnsignedSums { signature: std::path::PathBuf, source: io::Error },
    /// The checksum list is signed but is not text.
    SumsNotText,
    /// The checksum list is signed but cannot be read as one.
    BadSums(crate::Error),
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::BadSignature(d) => {
                write!(f, "BAD signature: the file or its .asc was changed after signing ({d})")
            }
            Rejection::UnknownKey(k) => {
                write!(f, "made by key {k}, which no --cert holds: pass the signer's certificate")
            }
            Rejection::Policy(d) => write!(f, "signature rejected by policy: {d}"),
            Rejection::KeyExpired(d) => write!(f, "signing key had expired: {d}"),
            Rejection::KeyRevoked(d) => write!(f, "signing key is revoked: {d}"),
            Rejection::BadKey(d) => write!(f, "signing key not valid: {d}"),
            Rejection::Malformed(d) => write!(f, "not an OpenPGP signature: {d}"),
            Rejection::NoSignature => write!(f, "the .asc holds no signature"),
            Rejection::Read(e) => write!(f, "cannot read: {e}"),
            Rejection::SecretMaterial => write!(
                f,
                "holds OpenPGP secret-key material, which is never published: remove it from the release and sign again"
            ),
            Rejection::NotAllowed(k) => {
                write!(f, "made by key {k}, which no --signer-fingerprint names: pass the signer's fingerprint")
            }
            Rejection::Unreadable { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Rejection::UnsignedSums { signature, source } => {
                write!(f, "no signature for the checksum list ({}: {source})", signature.display())
            }
            Rejection::SumsNotText => write!(f, "the checksum list is not UTF-8 text"),
            Rejection::BadSums(e) => match relsign_error::Contract::fix(e).text() {
                Some(fix) => write!(f, "{e}: {fix}"),
                None => write!(f, "{e}"),
            },
        }
    }
}

/// Checks signatures against a fixed set of certificates.
#[derive(Default)]
pub struct Verifier {
    certs: Vec<Cert>,
    /// When set, only certificates with one of these fingerprints (primary or subkey) may
    /// have made a signature (`--signer-fingerprint`).
    signers: Option<Vec<String>>,
}

impl Verifier {
    /// A verifier trusting the certificates in these files (`--cert`).
    pub fn from_files(paths: &[std::path::PathBuf]) -> Result<Verifier, Error> {
        let mut verifier = Verifier::default();
        for path in paths {
            let bytes = crate::read_capped(path, crate::MAX_CERTIFICATE)
                .map_err(|source| Error::Read { path: path.clone(), source })?;
            verifier.add_certificates(&bytes, &format!("certificate {}", path.display()))?;
        }
        Ok(verifier)
    }

    /// The verifier of `--cert` and `--signer-fingerprint`, as `signer verify` and copier's
    /// gate use it. With several certificates and no fingerprint named, any of them may
    /// sign: [`Verifier::ambiguity`] says so, for the caller to warn.
    pub fn for_release(certs: &[std::path::PathBuf], signers: &[String]) -> Result<Verifier, Error> {
        let mut verifier = Verifier::from_files(certs)?;
        if !signers.is_empty() {
            verifier.only_signers(signers)?;
        }
        Ok(verifier)
    }

    /// Only the certificates `fingerprints` name (primary or subkey, hex, any case) may sign.
    /// Every name must match a certificate given, so a typo cannot pass everything over.
    pub fn only_signers(&mut self, fingerprints: &[String]) -> Result<(), Error> {
        let wanted: Vec<String> =
            fingerprints.iter().map(|f| f.replace(' ', "").to_ascii_uppercase()).collect();
        for w in &wanted {
            let known = self.certs.iter().any(|c| c.keys().any(|k| k.key().fingerprint().to_hex() == *w));
            if !known {
                return Err(Error::SignerNotCertified {
                    wanted: w.clone(),
                    available: self.fingerprints().join(", "),
                });
            }
        }
        self.signers = Some(wanted);
        Ok(())
    }

    /// The primary fingerprints of the certificates trusted.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs.iter().map(|c| c.fingerprint().to_hex()).collect()
    }

    /// The trusted certificates as one binary OpenPGP keyring (public parts, exportable
    /// signatures only): what `gpgv --keyring` and `sqv --keyring` read.
    pub fn keyring(&self) -> Result<Vec<u8>, Error> {
        use openpgp::serialize::Serialize;
        let mut out = Vec::new();
        for cert in &self.certs {
            cert.export(&mut out).map_err(|e| Error::InvalidCertificate {
                fingerprint: cert.fingerprint().to_hex(),
                detail: e.to_string(),
            })?;
        }
        Ok(out)
    }

    /// A warning when several certificates may sign and none was named: any of them would
    /// be accepted for any file.
    pub fn ambiguity(&self) -> Option<String> {
        (self.certs.len() > 1 && self.signers.is_none()).then(|| {
            format!(
                "{} certificates may sign ({}): name the release key with --signer-fingerprint",
                self.certs.len(),
                self.fingerprints().join(", ")
            )
        })
    }

    fn allowed(&self, cert: &Cert) -> bool {
        match &self.signers {
            None => true,
            Some(list) => cert.keys().any(|k| list.contains(&k.key().fingerprint().to_hex())),
        }
    }

    /// Adds the certificates in `bytes` (armored or binary). Only the public parts are
    /// kept: they are all verification needs.
    pub fn add_certificates(&mut self, bytes: &[u8], origin: &str) -> Result<usize, Error> {
        let certs = load_certificates(bytes, origin).map_err(|e| match e {
            // The loader speaks of secret keys, which is what signing reads.
            Error::NoKeyMaterial { origin } => Error::NoCertificate { origin },
            other => other,
        })?;
        let n = certs.len();
        self.certs.extend(certs.into_iter().map(|c| c.strip_secret_key_material()));
        Ok(n)
    }

    /// Verifies `signature` (the content of an `.asc`) over what `data` yields, and
    /// returns the data's SHA-256 computed in the same read.
    pub fn verify(&self, signature: &[u8], data: impl Read + Send + Sync) -> Result<Verified, Rejection> {
        let policy = policy();
        let mut helper = Helper { verifier: self, outcome: None };
        let mut reader = DigestingReader {
            inner: data,
            hasher: Sha256Hasher::new(),
            secret: SecretScan::new(),
            size: 0,
            error: None,
        };
        // Every armor block's signatures, as GnuPG reads them, not the first block's alone.
        let packets = crate::inspect::dearmor_all(signature).map_err(Rejection::Malformed)?;
        let builder =
            DetachedVerifierBuilder::from_bytes(&packets).map_err(|e| Rejection::Malformed(e.to_string()))?;
        let mut verifier = builder
            .with_policy(&policy, None, &mut helper)
            .map_err(|e| Rejection::Malformed(e.to_string()))?;
        let result = verifier.verify_reader(&mut reader);
        drop(verifier);
        if let Some(e) = reader.error.take() {
            return Err(Rejection::Read(e));
        }
        if let Err(e) = result {
            return Err(Rejection::Malformed(e.to_string()));
        }
        let sha256 = reader.hasher.finish();
        if reader.secret.finish() {
            return Err(Rejection::SecretMaterial);
        }
        match helper.outcome {
            Some(Ok((fingerprint, primary, created))) => {
                Ok(Verified { fingerprint, primary, created, sha256, size: reader.size })
            }
            Some(Err(f)) => Err(f),
            None => Err(Rejection::NoSignature),
        }
    }
}

type Outcome = Result<(String, String, SystemTime), Rejection>;

struct Helper<'a> {
    verifier: &'a Verifier,
    outcome: Option<Outcome>,
}

impl VerificationHelper for &mut Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.verifier.certs.to_vec())
    }

    /// Every signature in the `.asc` must be good and made by an allowed certificate, as
    /// `gpg --verify` fails on any bad one: a good signature followed by a bad one, or by
    /// one of an unknown key, is refused.
    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            let MessageLayer::SignatureGroup { results } = layer else {
                continue;
            };
            for result in results {
                let outcome = match result {
                    Ok(GoodChecksum { ka, .. }) if !self.verifier.allowed(ka.cert()) => {
                        Err(Rejection::NotAllowed(ka.key().fingerprint().to_hex()))
                    }
                    Ok(GoodChecksum { sig, ka }) => match too_short(sig, ka.key()) {
                        Some(why) => Err(Rejection::Policy(why)),
                        None => Ok((
                            ka.key().fingerprint().to_hex(),
                            ka.cert().fingerprint().to_hex(),
                            sig.signature_creation_time().unwrap_or(SystemTime::UNIX_EPOCH),
                        )),
                    },
                    // GnuPG judges the hash before the digest: a weak signature is reported
                    // as weak even when the file was changed too.
                    Err(VerificationError::BadSignature { sig, ka, error }) => match weak(sig, ka.key()) {
                        Some(why) => Err(Rejection::Policy(why)),
                        None => Err(classify(VerificationError::BadSignature { sig, ka, error })),
                    },
                    Err(e) => Err(classify(e)),
                };
                let failed = outcome.is_err();
                if failed || self.outcome.is_none() {
                    self.outcome = Some(outcome);
                }
                if failed {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

fn classify(e: VerificationError) -> Rejection {
    let detail = |error: &anyhow::Error| error.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ");
    match e {
        VerificationError::MissingKey { sig } => Rejection::UnknownKey(
            sig.get_issuers().first().map(|h| h.to_hex()).unwrap_or_else(|| "(no issuer)".into()),
        ),
        VerificationError::BadSignature { sig, error, .. } => match error.downcast_ref::<openpgp::Error>() {
            Some(openpgp::Error::PolicyViolation(..)) => Rejection::Policy(format!(
                "made over {}: {}; sign it again with a current tool",
                hash_name(sig.hash_algo()),
                detail(&error)
            )),
            Some(openpgp::Error::NotYetLive(_)) | Some(openpgp::Error::Expired(_)) => {
                Rejection::BadKey(format!("the signature itself is not valid now: {}", detail(&error)))
            }
            _ => Rejection::BadSignature(detail(&error)),
        },
        VerificationError::BadKey { ka, error, .. } => {
            let msg = detail(&error);
            let who = ka.key().fingerprint().to_hex();
            match error.downcast_ref::<openpgp::Error>() {
                Some(openpgp::Error::Expired(_)) => Rejection::KeyExpired(format!("{who}: {msg}")),
                _ if msg.contains("revoked") => Rejection::KeyRevoked(format!("{who}: {msg}")),
                _ => Rejection::BadKey(format!("{who}: {msg}")),
            }
        }
        VerificationError::UnboundKey { cert, error, .. } => {
            Rejection::BadKey(format!("{}: {}", cert.fingerprint().to_hex(), detail(&error)))
        }
        VerificationError::MalformedSignature { error, .. } => Rejection::Malformed(detail(&error)),
        VerificationError::UnknownSignature { sig } => Rejection::Malformed(sig.error().to_string()),
        other => Rejection::Malformed(other.to_string()),
    }
}

/// Why the policy rejects the signature's hash, whether or not its digest matches: too
/// short for the key, or broken (SHA-1, MD5), which sequoia's policy judges only after the
/// digest comparison.
fn weak<P: KeyParts, R: KeyRole>(sig: &Signature, key: &Key<P, R>) -> Option<String> {
    too_short(sig, key).or_else(|| {
        policy().signature(sig, HashAlgoSecurity::CollisionResistance).err().map(|e| {
            format!("made over {}: {e}; sign it again with a current tool", hash_name(sig.hash_algo()))
        })
    })
}

/// Why the signature's hash is too short for its key, as GnuPG says it: an ECDSA
/// signature needs a hash as long as the curve, an EdDSA one at least 256 bits.
fn too_short<P: KeyParts, R: KeyRole>(sig: &Signature, key: &Key<P, R>) -> Option<String> {
    let need = min_hash_bits(key);
    let have = hash_bits(sig.hash_algo());
    (have < need).then(|| {
        let algorithm = suite(key, true).map(|s| s.name).unwrap_or_else(|r| r.algorithm);
        // GnuPG's own check ("ECDSA key ... requires a 384 bit or larger hash").
        let gnupg = if algorithm.starts_with("ECDSA") { ", as GnuPG requires" } else { "" };
        format!(
            "made over {} ({have} bits) by {algorithm} key {}, which needs a hash of at least {need} bits{gnupg}: \
             sign it again over a long enough hash (signer picks it from the key)",
            hash_name(sig.hash_algo()),
            key.fingerprint().to_hex()
        )
    })
}

/// Hands the data to the verifier while computing its plain SHA-256, so verifying a file
/// and checking it against `SHA256SUMS` is one read.
struct DigestingReader<R> {
    inner: R,
    hasher: Sha256Hasher,
    secret: SecretScan,
    size: u64,
    error: Option<io::Error>,
}

impl<R: Read> Read for DigestingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.secret.update(&buf[..n]);
                self.size += n as u64;
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let kept = io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(kept)
            }
        }
    }
}
