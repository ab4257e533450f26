//! Which keys relsign signs with, over which hash, and why the others are refused.
//!
//! A signature is only worth what its users' verifiers make of it, and the least capable of
//! them is GnuPG 2.2 (Debian 12, Ubuntu 22.04, RHEL 9): it rejects an ECDSA signature whose
//! hash is shorter than the curve, and it cannot read RFC 9580 keys at all. So the key
//! decides the hash, and a key GnuPG 2.2 cannot verify is refused before anything is read,
//! instead of producing signatures that only relsign accepts.

use openpgp::crypto::mpi::PublicKey;
use openpgp::packet::key::{KeyParts, KeyRole};
use openpgp::packet::Key;
use openpgp::types::{Curve, HashAlgorithm};
use sequoia_openpgp as openpgp;

/// How relsign signs with a key it accepts.
#[derive(Debug, Clone)]
pub struct Suite {
    /// What users call the key: `RSA 4096`, `ECDSA P-384`, `Ed25519`.
    pub name: String,
    /// The hash the signatures are made over.
    pub hash: HashAlgorithm,
    /// An RFC 9580 algorithm (27 or 28), accepted only when the user asked for it.
    pub rfc9580: bool,
}

/// Why a key is refused: what it is, and why no signature by it would serve.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub algorithm: String,
    pub why: String,
}

/// The shortest hash (in bits) a signature by this key may use: what GnuPG enforces for
/// ECDSA (P-521 is special-cased to 512, the longest hash there is) and RFC 9580 for EdDSA.
pub(crate) fn min_hash_bits<P: KeyParts, R: KeyRole>(key: &Key<P, R>) -> usize {
    match key.mpis() {
        PublicKey::ECDSA { curve, .. } => curve_hash(curve).map(hash_bits).unwrap_or(512),
        PublicKey::EdDSA { .. } | PublicKey::Ed25519 { .. } => 256,
        PublicKey::Ed448 { .. } => 512,
        _ => 0,
    }
}

/// `SHA-384` rather than sequoia's `SHA384`, as the standards and GnuPG's docs spell it.
pub fn hash_name(hash: HashAlgorithm) -> String {
    let name = hash.to_string();
    match name.strip_prefix("SHA") {
        Some(bits) if bits.len() == 3 && bits.bytes().all(|b| b.is_ascii_digit()) => format!("SHA-{bits}"),
        _ => name,
    }
}

pub(crate) fn hash_bits(hash: HashAlgorithm) -> usize {
    hash.digest_size().map(|bytes| bytes * 8).unwrap_or(0)
}

/// The hash as long as the curve (SHA-384 for P-384, SHA-512 for P-521).
fn curve_hash(curve: &Curve) -> Option<HashAlgorithm> {
    match curve {
        Curve::NistP256 | Curve::BrainpoolP256 => Some(HashAlgorithm::SHA256),
        Curve::NistP384 | Curve::BrainpoolP384 => Some(HashAlgorithm::SHA384),
        Curve::NistP521 | Curve::BrainpoolP512 => Some(HashAlgorithm::SHA512),
        _ => None,
    }
}

fn curve_name(curve: &Curve) -> String {
    match curve {
        // sequoia knows it only by its OID; GnuPG and OpenSSL call it secp256k1.
        Curve::Unknown(oid) if **oid == [0x2B, 0x81, 0x04, 0x00, 0x0A] => "secp256k1".into(),
        Curve::Unknown(_) => curve.to_string().replacen("Unknown curve", "curve with OID", 1),
        Curve::NistP256 => "P-256".into(),
        Curve::NistP384 => "P-384".into(),
        Curve::NistP521 => "P-521".into(),
        other => other.to_string(),
    }
}

fn refuse(algorithm: impl Into<String>, why: impl Into<String>) -> Result<Suite, Refusal> {
    Err(Refusal { algorithm: algorithm.into(), why: why.into() })
}

const UNSUPPORTED_CURVE: &str =
    "relsign's OpenPGP library (sequoia over OpenSSL) cannot use this curve, and sqv cannot either";

/// The suite relsign signs with for `key`, or why it refuses the key. `allow_rfc9580`
/// accepts the RFC 9580 EdDSA algorithms on v4 keys, for users whose every verifier reads them.
pub fn suite<P: KeyParts, R: KeyRole>(key: &Key<P, R>, allow_rfc9580: bool) -> Result<Suite, Refusal> {
    let sha256 = |name: String| Ok(Suite { name, hash: HashAlgorithm::SHA256, rfc9580: false });
    if key.version() != 4 {
        return refuse(
            format!("a v{} key ({})", key.version(), key.pk_algo()),
            "GnuPG 2.2, sqv and PGPy cannot read keys other than v4, and relsign makes v4 signatures only",
        );
    }
    match key.mpis() {
        PublicKey::RSA { n, .. } if n.bits() < 2048 => refuse(
            format!("RSA {}", n.bits()),
            "RSA keys shorter than 2048 bits are rejected by sequoia's standard policy and by sqv",
        ),
        PublicKey::RSA { n, .. } => sha256(format!("RSA {}", n.bits())),
        PublicKey::DSA { p, .. } => refuse(format!("DSA {}", p.bits()), "DSA is deprecated by RFC 9580"),
        PublicKey::ECDSA { curve, .. } => match curve_hash(curve) {
            Some(hash) if curve.is_supported() => {
                Ok(Suite { name: format!("ECDSA {}", curve_name(curve)), hash, rfc9580: false })
            }
            _ => refuse(format!("ECDSA {}", curve_name(curve)), UNSUPPORTED_CURVE),
        },
        PublicKey::EdDSA { curve: Curve::Ed25519, .. } => sha256("Ed25519".into()),
        PublicKey::EdDSA { curve, .. } => refuse(format!("EdDSA {}", curve_name(curve)), UNSUPPORTED_CURVE),
        PublicKey::Ed25519 { .. } | PublicKey::Ed448 { .. } => {
            let (name, number, hash) = match key.mpis() {
                PublicKey::Ed25519 { .. } => ("Ed25519", 27, HashAlgorithm::SHA256),
                _ => ("Ed448", 28, HashAlgorithm::SHA512),
            };
            if allow_rfc9580 {
                return Ok(Suite { name: format!("{name} (RFC 9580)"), hash, rfc9580: true });
            }
            refuse(
                format!(
                    "{name} in the RFC 9580 format (algorithm {number}, as OpenPGP.js 6 makes by default)"
                ),
                "GnuPG 2.2, sqv, rnp 0.16 and PGPy cannot verify its signatures (pass --allow-rfc9580 \
                 only if every verifier of your releases reads RFC 9580 keys; with OpenPGP.js, make \
                 the key with `type: 'ecc', curve: 'ed25519Legacy'`)",
            )
        }
        _ => refuse(
            format!("{} (algorithm {})", key.pk_algo(), u8::from(key.pk_algo())),
            "it cannot make signatures that GnuPG 2.2 and sqv verify",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::prelude::*;
    use openpgp::Profile;

    fn primary(suite_of: CipherSuite, profile: Profile) -> Cert {
        let builder = CertBuilder::new().set_cipher_suite(suite_of).set_profile(profile).expect("profile");
        builder.generate().expect("key generation").0
    }

    #[test]
    fn the_hash_is_as_long_as_the_curve() {
        use HashAlgorithm::*;
        for (cipher_suite, name, hash) in [
            (CipherSuite::RSA2k, "RSA 2048", SHA256),
            (CipherSuite::Cv25519, "Ed25519", SHA256),
            (CipherSuite::P256, "ECDSA P-256", SHA256),
            (CipherSuite::P384, "ECDSA P-384", SHA384),
            (CipherSuite::P521, "ECDSA P-521", SHA512),
        ] {
            let cert = primary(cipher_suite, Profile::RFC4880);
            let s = suite(cert.primary_key().key(), false).unwrap_or_else(|r| panic!("{name}: {r:?}"));
            assert_eq!((s.name.as_str(), s.hash, s.rfc9580), (name, hash, false));
            assert!(hash_bits(s.hash) >= min_hash_bits(cert.primary_key().key()), "{name}");
        }
    }

    #[test]
    fn rfc9580_algorithms_need_the_flag_and_v6_keys_are_always_refused() {
        let ed448 = primary(CipherSuite::Cv448, Profile::RFC4880);
        let refused = suite(ed448.primary_key().key(), false).unwrap_err();
        assert!(refused.algorithm.contains("algorithm 28"), "{refused:?}");
        let allowed = suite(ed448.primary_key().key(), true).expect("allowed with the flag");
        assert_eq!((allowed.hash, allowed.rfc9580), (HashAlgorithm::SHA512, true));

        let v6 = primary(CipherSuite::Cv25519, Profile::RFC9580);
        for allow in [false, true] {
            let refused = suite(v6.primary_key().key(), allow).unwrap_err();
            assert!(refused.algorithm.starts_with("a v6 key"), "{refused:?}");
        }
    }

    #[test]
    fn hash_names_are_spelled_as_in_the_standards() {
        assert_eq!(hash_name(HashAlgorithm::SHA384), "SHA-384");
        assert_eq!(hash_name(HashAlgorithm::SHA1), "SHA1");
    }
}
