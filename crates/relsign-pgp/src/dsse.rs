//! DSSE, the envelope in-toto attestations are signed in
//! (<https://github.com/secure-systems-lab/dsse>, protocol.md and envelope.md): the
//! payload, its type, and signatures over the pre-authentication encoding of both, made by
//! the release key through [`SigningKey::sign_message`] and checked by a [`Verifier`].
//!
//! Small serde structs rather than a crate: the `dsse` crate on crates.io is months old
//! with one yanked release and signs with its own Ed25519 only; `in-toto` 0.4 brings ring,
//! chrono and its own key types. Neither signs through sequoia's `Signer` (KMS included).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::verify::Rejection;
use crate::{Error, SigningKey, Verifier};

/// The payload type of an in-toto statement (in-toto attestation spec, envelope.md).
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// `PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, LEN the byte
/// length in ASCII decimal: what every signature covers, so the type cannot be swapped.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// One signature: the signing (sub)key's OpenPGP fingerprint and the signature, base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    pub keyid: String,
    pub sig: String,
}

/// The envelope as JSON holds it: payload base64 (standard alphabet, padded).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// An envelope whose signature verified: the payload and who signed it.
#[derive(Debug, Clone)]
pub struct VerifiedEnvelope {
    pub payload: Vec<u8>,
    /// The (sub)key that signed, and its certificate.
    pub fingerprint: String,
    pub primary: String,
}

impl Envelope {
    /// `payload` of `payload_type`, signed by `key`; `what` names it in errors.
    pub fn sign(
        key: &mut SigningKey,
        payload_type: &str,
        payload: &[u8],
        what: &str,
    ) -> Result<Envelope, Error> {
        let sig = key.sign_message(&pae(payload_type, payload), what)?;
        Ok(Envelope {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_string(),
            signatures: vec![EnvelopeSignature { keyid: sig.fingerprint, sig: STANDARD.encode(&sig.bytes) }],
        })
    }

    /// One JSON line, as `.intoto.jsonl` files hold envelopes (in-toto attestation spec,
    /// bundle.md).
    pub fn to_json_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("an envelope always serializes");
        line.push(b'\n');
        line
    }

    /// The envelope of a `.intoto.jsonl` file holding exactly one.
    pub fn from_json_lines(bytes: &[u8]) -> Result<Envelope, Rejection> {
        let bad = |d: String| Rejection::Provenance(d);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".into()))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        match lines.as_slice() {
            [line] => serde_json::from_str(line).map_err(|e| bad(format!("not a DSSE envelope: {e}"))),
            other => Err(bad(format!("holds {} envelopes, not one", other.len()))),
        }
    }

    /// Checks the signatures over the PAE with the verifier's certificates: one signature
    /// by a key it trusts (and `--signer-fingerprint` allows) must verify. Returns the
    /// payload only then.
    pub fn verify(&self, verifier: &Verifier) -> Result<VerifiedEnvelope, Rejection> {
        let payload = STANDARD
            .decode(&self.payload)
            .map_err(|e| Rejection::Provenance(format!("the payload is not base64: {e}")))?;
        let message = pae(&self.payload_type, &payload);
        let mut first_error = None;
        for s in &self.signatures {
            let outcome = STANDARD
                .decode(&s.sig)
                .map_err(|e| Rejection::Malformed(format!("a DSSE signature is not base64: {e}")))
                .and_then(|sig| verifier.verify_message(&s.keyid, &sig, &message));
            match outcome {
                Ok((fingerprint, primary)) => return Ok(VerifiedEnvelope { payload, fingerprint, primary }),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(Rejection::NoSignature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of DSSE's protocol.md.
    #[test]
    fn pae_is_the_one_dsse_documents() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }
}
