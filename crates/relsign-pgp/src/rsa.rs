//! RSA signatures with the Chinese remainder theorem.
//!
//! sequoia's OpenSSL backend hands OpenSSL only `n`, `e` and `d` for every signature, so each
//! one is a full-size modular exponentiation: about 20 ms for RSA-4096 here, where OpenSSL with
//! the primes does two half-size ones in 5 ms. A release of many small files is made of little
//! else. This module gives OpenSSL the primes once per key (it derives the CRT exponents and
//! coefficient itself, `rsa-derive-from-pq`) and signs the same PKCS#1 v1.5 `DigestInfo` that
//! sequoia signs; RSA signatures are deterministic, so the output is byte for byte the same.
//! OpenSSL checks every CRT result before releasing it (a faulty half would leak a prime).

use std::ffi::CStr;
use std::sync::{Arc, OnceLock};

use openpgp::crypto::mpi::{self, PublicKey};
use openpgp::crypto::{KeyPair, Signer};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::types::HashAlgorithm;
use ossl::pkey::EvpPkey;
use ossl::signature::{OsslSignature, SigAlg, SigOp};
use ossl::{OsslContext, OsslParam, OsslParamBuilder};
use sequoia_openpgp as openpgp;

/// A signer for one RSA key, cheap to clone: the OpenSSL key is shared (OpenSSL keys are
/// safe to use from several threads at once).
#[derive(Clone)]
pub(crate) struct CrtRsa {
    public: Key<PublicParts, UnspecifiedRole>,
    pkey: Arc<EvpPkey>,
}

fn context() -> Option<&'static OsslContext> {
    static CONTEXT: OnceLock<Option<OsslContext>> = OnceLock::new();
    CONTEXT.get_or_init(|| OsslContext::new_lib_ctx_checked().ok()).as_ref()
}

impl CrtRsa {
    /// The CRT signer for `keypair`, or `None` when it is not an RSA key or OpenSSL refuses
    /// its primes (the caller then signs through sequoia, more slowly but just as well).
    pub(crate) fn new(keypair: &KeyPair) -> Option<CrtRsa> {
        let public = keypair.public().clone();
        let PublicKey::RSA { e, n } = public.mpis() else { return None };
        let pkey = keypair.secret().map(|secret| match secret {
            mpi::SecretKeyMaterial::RSA { d, p, q, .. } => {
                import(e.value(), n.value(), d.value(), p.value(), q.value())
            }
            _ => None,
        })?;
        let signer = CrtRsa { public, pkey: Arc::new(pkey) };
        signer.self_test().then_some(signer)
    }

    /// Signs a fixed digest and checks the signature with the public key, so a key OpenSSL
    /// imported wrongly can never produce a release signature.
    fn self_test(&self) -> bool {
        let digest = [0x5au8; 32];
        let mut signer = self.clone();
        match signer.sign(HashAlgorithm::SHA256, &digest) {
            Ok(sig) => self.public.verify(&sig, HashAlgorithm::SHA256, &digest).is_ok(),
            Err(_) => false,
        }
    }
}

fn import(e: &[u8], n: &[u8], d: &[u8], p: &[u8], q: &[u8]) -> Option<EvpPkey> {
    let mut builder = OsslParamBuilder::with_capacity(6);
    let names: [(&CStr, &[u8]); 5] =
        [(c"n", n), (c"e", e), (c"d", d), (c"rsa-factor1", p), (c"rsa-factor2", q)];
    for (name, value) in names {
        builder.add_bn(name, value).ok()?;
    }
    builder.add_owned_int(c"rsa-derive-from-pq", 1).ok()?;
    let mut params = builder.finalize();
    let pkey = EvpPkey::fromdata(context()?, c"RSA", openssl_sys::EVP_PKEY_KEYPAIR as _, &params);
    wipe(&mut params);
    pkey.ok()
}

/// Zeroes the buffers behind `params`: the builder keeps its own copies of `d`, `p` and `q`
/// and frees them without clearing.
fn wipe(params: &mut OsslParam) {
    let mut p = params.as_mut_ptr();
    // SAFETY: `params` is a finalized OSSL_PARAM array: every entry up to the one with a
    // null key points at `data_size` bytes the builder owns and that live as long as it.
    unsafe {
        while !(*p).key.is_null() {
            if !(*p).data.is_null() && (*p).data_size > 0 {
                ossl::zeromem(std::slice::from_raw_parts_mut((*p).data as *mut u8, (*p).data_size));
            }
            p = p.add(1);
        }
    }
}

impl Signer for CrtRsa {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        let mut info = Vec::with_capacity(32 + digest.len());
        info.extend_from_slice(hash_algo.oid()?);
        info.extend_from_slice(digest);
        let fail = |what: &str| anyhow::anyhow!("OpenSSL refused the RSA {what}");
        let ctx = context().ok_or_else(|| fail("library context"))?;
        let mut op = OsslSignature::new(ctx, SigOp::Sign, SigAlg::Rsa, &self.pkey, None)
            .map_err(|_| fail("signature setup"))?;
        let size = op.sign(&info, None).map_err(|_| fail("signature size"))?;
        let mut s = vec![0u8; size];
        let written = op.sign(&info, Some(&mut s)).map_err(|_| fail("signature"))?;
        s.truncate(written);
        Ok(mpi::Signature::RSA { s: s.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::prelude::*;
    use openpgp::policy::StandardPolicy;

    fn rsa_keypair() -> KeyPair {
        let (cert, _) = CertBuilder::new()
            .set_cipher_suite(CipherSuite::RSA2k)
            .add_signing_subkey()
            .generate()
            .expect("RSA key generation");
        let policy = StandardPolicy::new();
        let key = cert.keys().with_policy(&policy, None).for_signing().secret().next().expect("signing key");
        key.key().clone().into_keypair().expect("unencrypted key")
    }

    #[test]
    fn the_crt_signature_is_the_one_sequoia_makes() {
        let mut plain = rsa_keypair();
        let mut crt = CrtRsa::new(&plain).expect("OpenSSL takes the primes");
        for digest in [[0u8; 32], [0xffu8; 32], *b"relsign relsign relsign relsign!"] {
            let ours = crt.sign(HashAlgorithm::SHA256, &digest).expect("CRT signature");
            let theirs = plain.sign(HashAlgorithm::SHA256, &digest).expect("sequoia signature");
            assert_eq!(ours, theirs);
            plain.public().verify(&ours, HashAlgorithm::SHA256, &digest).expect("verifies");
        }
    }

    #[test]
    fn keys_that_are_not_rsa_keep_sequoias_signer() {
        let (cert, _) = CertBuilder::new().add_signing_subkey().generate().expect("key generation");
        let policy = StandardPolicy::new();
        let key = cert.keys().with_policy(&policy, None).for_signing().secret().next().expect("signing key");
        let keypair = key.key().clone().into_keypair().expect("unencrypted key");
        assert!(CrtRsa::new(&keypair).is_none());
    }
}
