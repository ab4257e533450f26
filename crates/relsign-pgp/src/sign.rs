//! Detached signatures over the hash the key needs, armored as `gpg --detach-sign --armor`
//! writes them.
//!
//! The caller reads each file once and feeds a [`SignatureHasher`]; finishing it gives
//! both the signature and the file's plain SHA-256, so the checksum list costs no second
//! pass: for a SHA-256 signature the hash context is cloned before the signature's trailer
//! is hashed in; for a longer hash (ECDSA P-384, P-521) a SHA-256 is fed beside it.

use std::io::{self, Write};

use openpgp::armor;
use openpgp::crypto::hash;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::Packet;
use openpgp::serialize::Serialize;
use openpgp::types::{HashAlgorithm, SignatureType};
use sequoia_openpgp as openpgp;

use crate::{Error, Sha256, Sha256Hasher, SigningKey};

/// Bytes fed so far into a signature over one file.
pub struct SignatureHasher {
    ctx: hash::Context,
    /// The file's SHA-256 when the signature is over another hash.
    sha256: Option<Sha256Hasher>,
    size: u64,
}

impl SignatureHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.ctx.update(bytes);
        if let Some(h) = self.sha256.as_mut() {
            h.update(bytes);
        }
        self.size += bytes.len() as u64;
    }

    /// The hash this signature is made over.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.ctx.algo()
    }
}

/// One file's signature and digest.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The armored detached signature, the content of `<artifact>.asc`.
    pub signature: Vec<u8>,
    /// The plain SHA-256 of the signed bytes, for `SHA256SUMS`.
    pub sha256: Sha256,
    /// How many bytes were signed.
    pub size: u64,
}

impl SignatureHasher {
    /// Starts a v4 signature over `hash`, before the key itself is unlocked, so the
    /// artifacts are read while its passphrase is stretched. `hash` is the one the chosen
    /// key needs ([`crate::SelectedKey::suite`]); relsign makes v4 signatures only.
    pub fn new(hash: HashAlgorithm) -> Result<SignatureHasher, Error> {
        let ctx = hash
            .context()
            .map_err(|e| Error::Sign { fingerprint: String::new(), detail: e.to_string() })?
            .for_signature(4);
        let sha256 = (hash != HashAlgorithm::SHA256).then(Sha256Hasher::new);
        Ok(SignatureHasher { ctx, sha256, size: 0 })
    }
}

impl SigningKey {
    /// Starts a signature by this key.
    pub fn hasher(&self) -> Result<SignatureHasher, Error> {
        SignatureHasher::new(self.suite.hash)
    }

    /// Finishes the signature over everything fed to `hasher` (the bytes of `what`, named in
    /// errors), and checks it with the key's certificate before handing it out: a signer
    /// that answered wrongly (a KMS reply changed on the way, another key's signature, a
    /// damaged secret) must never become an `.asc`.
    pub fn finish(&mut self, hasher: SignatureHasher, what: &str) -> Result<Signed, Error> {
        let fingerprint = self.fingerprint();
        let fail = |e: anyhow::Error| Error::Sign { fingerprint: fingerprint.clone(), detail: e.to_string() };
        if hasher.algorithm() != self.suite.hash {
            return Err(fail(anyhow::anyhow!(
                "hashed with {} but the key signs over {}",
                hasher.algorithm(),
                self.suite.hash
            )));
        }
        let sha256 = match hasher.sha256 {
            Some(h) => h.finish(),
            None => Sha256::from_slice(&hasher.ctx.clone().into_digest().map_err(fail)?),
        };
        let builder = SignatureBuilder::new(SignatureType::Binary);
        let external = matches!(self.backend, crate::key::Backend::External(_));
        let check = hasher.ctx.clone();
        let sig = builder.sign_hash(self.backend.signer(), hasher.ctx).map_err(|e| match external {
            // What the device said (access denied, throttled) is the error to report.
            true => Error::External { fingerprint: fingerprint.clone(), source: e },
            false => fail(e),
        })?;
        // With the certificate's key, not the signer's own idea of its public key: for a
        // KMS key, the one fetched and matched to --cert; for a secret key, its certificate's.
        if let Err(e) = sig.verify_hash(&self.certified.key, check) {
            return Err(Error::SignatureNotVerified {
                what: what.to_string(),
                fingerprint,
                against: self.certified.origin.clone(),
                detail: e.to_string(),
                external,
            });
        }
        let mut signature = Vec::with_capacity(1024);
        let mut w = armor::Writer::new(&mut signature, armor::Kind::Signature).map_err(|e| fail(e.into()))?;
        Packet::from(sig).serialize(&mut w).map_err(fail)?;
        w.finalize().map_err(|e| fail(e.into()))?;
        Ok(Signed { signature, sha256, size: hasher.size })
    }

    /// Signs a small in-memory file named `what`, such as the checksum list.
    pub fn sign_bytes(&mut self, bytes: &[u8], what: &str) -> Result<Signed, Error> {
        let mut hasher = self.hasher()?;
        hasher.update(bytes);
        self.finish(hasher, what)
    }
}

impl Write for SignatureHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use openpgp::cert::CertBuilder;
    use openpgp::serialize::SerializeInto;

    use super::*;
    use crate::KeyRing;

    fn ring(uid: &str) -> KeyRing {
        let (cert, _) = CertBuilder::general_purpose(Some(uid)).generate().unwrap();
        let armored = cert.as_tsk().armored().to_vec().unwrap();
        KeyRing::from_bytes(&armored, uid).unwrap()
    }

    /// A signature that does not verify with the certificate's key (here: the key checked
    /// against another certificate's) is refused, naming the file and the key.
    #[test]
    fn a_signature_the_certificate_does_not_verify_is_refused() {
        let mut key = ring("a@example.org").signing_key(None, None).unwrap();
        assert!(key.sign_bytes(b"data", "a.tar").is_ok());
        let other = ring("b@example.org").signing_key(None, None).unwrap();
        key.certified = other.certified.clone();
        match key.sign_bytes(b"data", "a.tar") {
            Err(e @ Error::SignatureNotVerified { external: false, .. }) => {
                let line = e.to_string();
                assert!(line.contains("a.tar") && line.contains(&key.fingerprint()), "{line}");
            }
            other => panic!("not refused: {other:?}"),
        }
    }
}
