//! Plain signatures over bytes ("sign these bytes"), by the same key and signer that make
//! the OpenPGP signatures: a secret key in memory or a key held elsewhere (KMS), through
//! sequoia's `Signer`. What DSSE envelopes carry, in the encodings every non-OpenPGP
//! verifier reads (securesystemslib's schemes): RSA PKCS#1 v1.5 over SHA-256, the signature
//! as long as the modulus; ECDSA over the curve's hash, DER-encoded `(r, s)`; Ed25519 over
//! the bytes themselves (no pre-hash), `R || S`.

use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use openpgp::crypto::mpi::{self, PublicKey, MPI};
use openpgp::packet::key::{KeyParts, KeyRole};
use openpgp::packet::Key;
use openpgp::types::{Curve, HashAlgorithm};
use sequoia_openpgp as openpgp;

use crate::{Error, SigningKey};

/// How a key signs plain bytes: the securesystemslib scheme name and the hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawScheme {
    /// `rsa-pkcs1v15-sha256`, `ecdsa-sha2-nistp256`, `ecdsa-sha2-nistp384`, `ed25519`.
    pub name: &'static str,
    /// The hash the signature is made over; `None` for Ed25519, which signs the bytes.
    pub hash: Option<HashAlgorithm>,
}

/// The scheme this key signs plain bytes with, or why it cannot.
pub fn raw_scheme<P: KeyParts, R: KeyRole>(key: &Key<P, R>) -> Result<RawScheme, String> {
    let hashed = |name, hash| Ok(RawScheme { name, hash: Some(hash) });
    match key.mpis() {
        PublicKey::RSA { .. } => hashed("rsa-pkcs1v15-sha256", HashAlgorithm::SHA256),
        PublicKey::ECDSA { curve: Curve::NistP256, .. } => hashed("ecdsa-sha2-nistp256", HashAlgorithm::SHA256),
        PublicKey::ECDSA { curve: Curve::NistP384, .. } => hashed("ecdsa-sha2-nistp384", HashAlgorithm::SHA384),
        PublicKey::ECDSA { curve: Curve::NistP521, .. } => hashed("ecdsa-sha2-nistp521", HashAlgorithm::SHA512),
        PublicKey::EdDSA { curve: Curve::Ed25519, .. } | PublicKey::Ed25519 { .. } => {
            Ok(RawScheme { name: "ed25519", hash: None })
        }
        other => Err(format!(
            "{} keys have no plain-signature scheme DSSE verifiers read (RSA, ECDSA P-256/P-384/P-521, Ed25519)",
            other.algo().map(|a| a.to_string()).unwrap_or_else(|| "these".into())
        )),
    }
}

/// `SEQUENCE { INTEGER r, INTEGER s }` (RFC 5480's ECDSA-Sig-Value).
#[derive(Sequence)]
struct EcdsaSig<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// What is handed to the signer: the digest, or for Ed25519 the message itself.
fn to_sign(scheme: RawScheme, message: &[u8]) -> Result<Vec<u8>, String> {
    match scheme.hash {
        Some(hash) => {
            let mut ctx = hash.context().map_err(|e| e.to_string())?.for_digest();
            ctx.update(message);
            ctx.into_digest().map_err(|e| e.to_string())
        }
        None => Ok(message.to_vec()),
    }
}

/// The sequoia signature in its plain encoding.
fn encode(sig: &mpi::Signature, modulus_bytes: usize) -> Result<Vec<u8>, String> {
    match sig {
        mpi::Signature::RSA { s } => Ok(s.value_padded(modulus_bytes).map_err(|e| e.to_string())?.to_vec()),
        mpi::Signature::ECDSA { r, s } => {
            let r = UintRef::new(r.value()).map_err(|e| e.to_string())?;
            let s = UintRef::new(s.value()).map_err(|e| e.to_string())?;
            let mut buf = [0u8; 160];
            let der = EcdsaSig { r, s }.encode_to_slice(&mut buf).map_err(|e| e.to_string())?;
            Ok(der.to_vec())
        }
        mpi::Signature::EdDSA { r, s } => {
            let mut out = r.value_padded(32).map_err(|e| e.to_string())?.to_vec();
            out.extend_from_slice(&s.value_padded(32).map_err(|e| e.to_string())?);
            Ok(out)
        }
        mpi::Signature::Ed25519 { s } => Ok(s.to_vec()),
        _ => Err("the signer answered with a signature of another algorithm".into()),
    }
}

/// The plain signature `bytes` back in sequoia's form, for a key like `key`.
fn decode<P: KeyParts, R: KeyRole>(key: &Key<P, R>, bytes: &[u8]) -> Result<mpi::Signature, String> {
    match key.mpis() {
        PublicKey::RSA { .. } => Ok(mpi::Signature::RSA { s: MPI::new(bytes) }),
        PublicKey::ECDSA { .. } => {
            let sig = EcdsaSig::from_der(bytes).map_err(|e| format!("not a DER ECDSA signature: {e}"))?;
            Ok(mpi::Signature::ECDSA { r: MPI::new(sig.r.as_bytes()), s: MPI::new(sig.s.as_bytes()) })
        }
        PublicKey::EdDSA { .. } | PublicKey::Ed25519 { .. } if bytes.len() != 64 => {
            Err(format!("an Ed25519 signature is 64 bytes, not {}", bytes.len()))
        }
        PublicKey::EdDSA { .. } => {
            Ok(mpi::Signature::EdDSA { r: MPI::new(&bytes[..32]), s: MPI::new(&bytes[32..]) })
        }
        PublicKey::Ed25519 { .. } => {
            Ok(mpi::Signature::Ed25519 { s: Box::new(bytes.try_into().expect("64 bytes, checked")) })
        }
        _ => Err("the key's algorithm has no plain-signature scheme".into()),
    }
}

/// Checks the plain signature `bytes` over `message` with `key`: the scheme follows the key.
pub(crate) fn verify_raw<P: KeyParts, R: KeyRole>(
    key: &Key<P, R>,
    bytes: &[u8],
    message: &[u8],
) -> Result<(), String> {
    let scheme = raw_scheme(key)?;
    let sig = decode(key, bytes)?;
    let signed = to_sign(scheme, message)?;
    // Ed25519 takes the message where the other algorithms take a digest; the hash named
    // here is then unused.
    let hash = scheme.hash.unwrap_or(HashAlgorithm::SHA512);
    key.verify(&sig, hash, &signed).map_err(|e| e.to_string())
}

/// A plain signature by a signing key.
#[derive(Debug, Clone)]
pub struct RawSignature {
    pub bytes: Vec<u8>,
    pub scheme: RawScheme,
    /// The fingerprint of the (sub)key that made it, upper-case hex.
    pub fingerprint: String,
}

impl SigningKey {
    /// Signs `message` itself (not an OpenPGP signature packet) with the key's plain
    /// scheme, and checks the result with the key's certificate before handing it out, as
    /// every OpenPGP signature is.
    pub fn sign_message(&mut self, message: &[u8], what: &str) -> Result<RawSignature, Error> {
        let fingerprint = self.fingerprint();
        let fail = |detail: String| Error::Sign { fingerprint: fingerprint.clone(), detail };
        let scheme = raw_scheme(&self.certified.key).map_err(&fail)?;
        let signed = to_sign(scheme, message).map_err(&fail)?;
        let hash = scheme.hash.unwrap_or(HashAlgorithm::SHA512);
        let external = matches!(self.backend, crate::key::Backend::External(_));
        let sig = self.backend.signer().sign(hash, &signed).map_err(|e| match external {
            true => Error::External { fingerprint: fingerprint.clone(), source: e },
            false => fail(e.to_string()),
        })?;
        let modulus = match self.certified.key.mpis() {
            PublicKey::RSA { n, .. } => n.value().len(),
            _ => 0,
        };
        let bytes = encode(&sig, modulus).map_err(&fail)?;
        if let Err(detail) = verify_raw(&self.certified.key, &bytes, message) {
            return Err(Error::SignatureNotVerified {
                what: what.to_string(),
                fingerprint,
                against: self.certified.origin.clone(),
                detail,
                external,
            });
        }
        Ok(RawSignature { bytes, scheme, fingerprint })
    }
}

#[cfg(test)]
mod tests {
    use openpgp::cert::{CertBuilder, CipherSuite};
    use openpgp::serialize::SerializeInto;

    use super::*;
    use crate::KeyRing;

    fn key(suite: CipherSuite) -> SigningKey {
        let (cert, _) =
            CertBuilder::general_purpose(Some("a@example.org")).set_cipher_suite(suite).generate().unwrap();
        let armored = cert.as_tsk().armored().to_vec().unwrap();
        KeyRing::from_bytes(&armored, "test").unwrap().signing_key(None, None).unwrap()
    }

    /// Every key shape signs and verifies plain bytes; one changed byte fails.
    #[test]
    fn each_key_shape_signs_plain_bytes_that_verify_and_a_changed_message_fails() {
        for (suite, name) in [
            (CipherSuite::RSA2k, "rsa-pkcs1v15-sha256"),
            (CipherSuite::P256, "ecdsa-sha2-nistp256"),
            (CipherSuite::P384, "ecdsa-sha2-nistp384"),
            (CipherSuite::Cv25519, "ed25519"),
        ] {
            let mut k = key(suite);
            let sig = k.sign_message(b"DSSEv1 1 a 1 b", "test").unwrap();
            assert_eq!(sig.scheme.name, name);
            assert!(verify_raw(&k.certified.key, &sig.bytes, b"DSSEv1 1 a 1 b").is_ok(), "{name}");
            assert!(verify_raw(&k.certified.key, &sig.bytes, b"DSSEv1 1 a 1 c").is_err(), "{name}");
        }
    }
}
