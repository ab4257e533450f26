//! What KMS says in DER, turned into OpenPGP: a public key (SubjectPublicKeyInfo holding
//! an RSAPublicKey or a SEC1 point) and an ECDSA signature (ECDSA-Sig-Value), parsed with
//! RustCrypto's `der` and `spki`.

use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode, Sequence};
use openpgp::crypto::mpi::{self, MPI};
use openpgp::types::Curve;
use sequoia_openpgp as openpgp;
use spki::SubjectPublicKeyInfoRef;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// `SEQUENCE { INTEGER, INTEGER }`: both RFC 8017's RSAPublicKey (modulus, exponent) and
/// RFC 5480's ECDSA-Sig-Value (r, s).
#[derive(Sequence)]
struct TwoIntegers<'a> {
    first: UintRef<'a>,
    second: UintRef<'a>,
}

/// The public key's OpenPGP form.
pub(crate) fn public_key(spki_der: &[u8]) -> Result<mpi::PublicKey, String> {
    let info = SubjectPublicKeyInfoRef::from_der(spki_der).map_err(|e| e.to_string())?;
    let bits = info.subject_public_key.as_bytes().ok_or("the key's bit string is not whole bytes")?;
    if info.algorithm.oid == RSA_ENCRYPTION {
        let key = TwoIntegers::from_der(bits).map_err(|e| e.to_string())?;
        return Ok(mpi::PublicKey::RSA {
            n: MPI::new(key.first.as_bytes()),
            e: MPI::new(key.second.as_bytes()),
        });
    }
    if info.algorithm.oid != EC_PUBLIC_KEY {
        return Err(format!("algorithm {} is neither RSA nor an elliptic curve", info.algorithm.oid));
    }
    let curve_oid: ObjectIdentifier = info
        .algorithm
        .parameters
        .ok_or("the curve is not named")?
        .decode_as()
        .map_err(|e| format!("the curve is not named: {e}"))?;
    let (curve, field_bytes) = match curve_oid {
        SECP256R1 => (Curve::NistP256, 32),
        SECP384R1 => (Curve::NistP384, 48),
        other => return Err(format!("curve {other} is neither P-256 nor P-384")),
    };
    // SEC1 uncompressed, as KMS returns it: 0x04 || X || Y, which is OpenPGP's form too.
    if bits.len() != 1 + 2 * field_bytes || bits[0] != 0x04 {
        return Err(format!("the point is not an uncompressed {curve} point"));
    }
    Ok(mpi::PublicKey::ECDSA { curve, q: MPI::new(bits) })
}

/// An ECDSA signature's OpenPGP form (two MPIs).
pub(crate) fn ecdsa_signature(sig_der: &[u8]) -> Result<mpi::Signature, String> {
    let sig = TwoIntegers::from_der(sig_der).map_err(|e| e.to_string())?;
    Ok(mpi::Signature::ECDSA { r: MPI::new(sig.first.as_bytes()), s: MPI::new(sig.second.as_bytes()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecdsa_signature_keeps_its_integers_without_der_padding() {
        // SEQUENCE { INTEGER 0x00ff.. (padded: top bit set), INTEGER 0x01 }
        let der = [0x30, 0x08, 0x02, 0x03, 0x00, 0xff, 0x10, 0x02, 0x01, 0x01];
        let mpi::Signature::ECDSA { r, s } = ecdsa_signature(&der).unwrap() else { panic!("not ECDSA") };
        assert_eq!((r.value(), s.value()), (&[0xff, 0x10][..], &[0x01][..]));
        assert!(ecdsa_signature(&der[..9]).is_err(), "a truncated signature is refused");
    }
}
