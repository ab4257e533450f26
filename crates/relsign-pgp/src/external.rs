//! Keys whose secret never leaves the device that holds it (a KMS, an HSM): a
//! [`SigningKey`] over any sequoia `Signer`, and the self-signed certificate users verify
//! such a key's signatures with.
//!
//! The OpenPGP key is the device's public key with the device's creation time, so its
//! fingerprint is the same on every machine and in every run.

use std::time::{Duration, SystemTime};

use openpgp::cert::Cert;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{Packet, UserID};
use openpgp::serialize::SerializeInto;
use openpgp::types::{Features, HashAlgorithm, KeyFlags, SignatureType, SymmetricAlgorithm};
use openpgp::Fingerprint;
use sequoia_openpgp as openpgp;

use crate::algorithm::{suite, Suite};
use crate::device::ExternalSigner;
use crate::key::{Backend, Certified};
use crate::{Error, SigningKey};
use relsign_error::Fix;

/// The suite of an external key, refusing what GnuPG 2.2 and sqv cannot verify.
fn external_suite(signer: &dyn ExternalSigner) -> Result<(Suite, Fingerprint), Error> {
    let public = signer.public();
    let fingerprint = public.fingerprint();
    let suite = suite(public, false).map_err(|r| Error::RefusedAlgorithm {
        fingerprint: fingerprint.to_hex(),
        algorithm: r.algorithm,
        why: r.why,
        instead: Fix::say("use an RSA 2048 to 4096 or a NIST P-256 or P-384 key"),
    })?;
    Ok((suite, fingerprint))
}

impl SigningKey {
    /// A signing key whose signatures `signer` makes; the key is its own certificate's
    /// primary key, as [`self_certify`] makes it.
    pub fn external(signer: Box<dyn ExternalSigner>) -> Result<SigningKey, Error> {
        let (suite, fingerprint) = external_suite(signer.as_ref())?;
        let certified =
            Certified { key: signer.public().clone(), origin: "its public key as the device gave it".into() };
        Ok(SigningKey {
            backend: Backend::External(signer),
            suite,
            primary: fingerprint.clone(),
            fingerprint,
            user_id: None,
            certified,
        })
    }
}

/// The armored v4 certificate of the key `signer` holds: its public key as the primary key
/// (created when the device created it), `user_id`, and a positive certification the key
/// makes itself, for signing and certifying, valid for `expires` from `now` (or forever).
pub fn self_certify(
    signer: &mut dyn ExternalSigner,
    user_id: &str,
    expires: Option<Duration>,
    now: SystemTime,
) -> Result<Vec<u8>, Error> {
    let (suite, fingerprint) = external_suite(signer)?;
    let fail = |e: anyhow::Error| Error::Sign { fingerprint: fingerprint.to_hex(), detail: e.to_string() };
    let primary = signer.public().clone().role_into_primary();
    let created = primary.creation_time();
    // A clock a little behind the device's must not date the signature before the key.
    let now = now.max(created);
    let cert = Cert::try_from(vec![Packet::from(primary)]).map_err(fail)?;
    let mut builder = SignatureBuilder::new(SignatureType::PositiveCertification)
        .set_hash_algo(suite.hash)
        .set_signature_creation_time(now)
        .and_then(|b| b.set_key_flags(KeyFlags::empty().set_signing().set_certification()))
        .and_then(|b| b.set_primary_userid(true))
        .and_then(|b| b.set_features(Features::empty().set_seipdv1()))
        .and_then(|b| {
            b.set_preferred_hash_algorithms(vec![
                HashAlgorithm::SHA512,
                HashAlgorithm::SHA384,
                HashAlgorithm::SHA256,
            ])
        })
        .and_then(|b| {
            b.set_preferred_symmetric_algorithms(vec![SymmetricAlgorithm::AES256, SymmetricAlgorithm::AES128])
        })
        .map_err(fail)?;
    if let Some(valid_for) = expires {
        // OpenPGP counts the validity from the key's creation, users from today.
        let age = now.duration_since(created).unwrap_or_default();
        builder = builder.set_key_validity_period(age + valid_for).map_err(fail)?;
    }
    let uid = UserID::from(user_id);
    let binding = uid
        .bind(signer, &cert, builder)
        .map_err(|source| Error::External { fingerprint: fingerprint.to_hex(), source })?;
    // The device's answer is checked like every signature it makes: a certificate whose
    // self-signature does not verify is useless to every user.
    let public = signer.public().clone();
    if let Err(e) = binding.verify_userid_binding(&public, cert.primary_key().key(), &uid) {
        return Err(Error::SignatureNotVerified {
            what: "the certificate's self-signature".into(),
            fingerprint: fingerprint.to_hex(),
            against: "its public key as the device gave it".into(),
            detail: e.to_string(),
            external: true,
        });
    }
    let (cert, _) = cert.insert_packets(vec![Packet::from(uid), binding.into()]).map_err(fail)?;
    let armored = cert.armored().to_vec().map_err(fail)?;
    Ok(armored)
}
