//! A KMS key as relsign sees it: what `DescribeKey` says of it (spec, usage, state,
//! creation time), whether it can make OpenPGP signatures and with which KMS algorithm,
//! and its public key as an OpenPGP v4 key.

use std::time::{Duration, SystemTime};

use aws_sdk_kms::types::KeyMetadata;
use openpgp::packet::key::{Key4, PublicParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::types::{HashAlgorithm, PublicKeyAlgorithm};
use sequoia_openpgp as openpgp;

use crate::Error;

/// What `DescribeKey` reports of a key.
#[derive(Debug, Clone)]
pub struct KeyFacts {
    /// As the user named it (ARN, key id or alias).
    pub id: String,
    /// The key's ARN, which every later call uses.
    pub arn: String,
    /// `RSA_4096`, `ECC_NIST_P384`, ...
    pub spec: String,
    /// `SIGN_VERIFY`, `ENCRYPT_DECRYPT`, ...
    pub usage: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// When KMS made the key: the OpenPGP key's creation time, so its fingerprint.
    pub created: SystemTime,
    pub deletion: Option<SystemTime>,
}

/// How a key signs: the KMS algorithm and the OpenPGP hash it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    pub algorithm: &'static str,
    pub hash: HashAlgorithm,
}

impl KeyFacts {
    pub(crate) fn from_metadata(id: &str, m: &KeyMetadata) -> KeyFacts {
        let time = |t: &aws_sdk_kms::primitives::DateTime| {
            // OpenPGP counts whole seconds: the fraction would only move the fingerprint.
            SystemTime::UNIX_EPOCH + Duration::from_secs(t.secs().max(0) as u64)
        };
        KeyFacts {
            id: id.to_string(),
            arn: m.arn().unwrap_or(m.key_id()).to_string(),
            spec: m.key_spec().map(|s| s.as_str().to_string()).unwrap_or_default(),
            usage: m.key_usage().map(|u| u.as_str().to_string()).unwrap_or_default(),
            state: m.key_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
            created: m.creation_date().map(time).unwrap_or(SystemTime::UNIX_EPOCH),
            deletion: m.deletion_date().map(time),
        }
    }

    /// The scheme the key signs with, or why it cannot make signatures GnuPG and sqv accept.
    /// RSA signs over SHA-256 (PKCS #1 v1.5, as GnuPG does); ECDSA over the hash as long as
    /// the curve, which GnuPG requires.
    pub fn scheme(&self) -> Result<Scheme, Error> {
        let scheme = match (self.usage.as_str(), self.spec.as_str()) {
            ("SIGN_VERIFY", "RSA_2048" | "RSA_3072" | "RSA_4096") => {
                Scheme { algorithm: "RSASSA_PKCS1_V1_5_SHA_256", hash: HashAlgorithm::SHA256 }
            }
            ("SIGN_VERIFY", "ECC_NIST_P256") => {
                Scheme { algorithm: "ECDSA_SHA_256", hash: HashAlgorithm::SHA256 }
            }
            ("SIGN_VERIFY", "ECC_NIST_P384") => {
                Scheme { algorithm: "ECDSA_SHA_384", hash: HashAlgorithm::SHA384 }
            }
            _ => {
                return Err(Error::Unsupported {
                    key: self.id.clone(),
                    spec: self.spec.clone(),
                    usage: self.usage.clone(),
                })
            }
        };
        Ok(scheme)
    }

    /// Whether the key can sign now, as its state says.
    pub fn usable(&self) -> Result<Scheme, Error> {
        let key = self.id.clone();
        match self.state.as_str() {
            "Enabled" => self.scheme(),
            "Disabled" => Err(Error::Disabled { key }),
            "PendingDeletion" | "PendingReplicaDeletion" => {
                let when = self
                    .deletion
                    .map(|t| {
                        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
                        format!(" (deleted at {})", aws_sdk_kms::primitives::DateTime::from_secs(secs as i64))
                    })
                    .unwrap_or_default();
                Err(Error::PendingDeletion { key, when })
            }
            state => Err(Error::NotEnabled { key, state: state.to_string() }),
        }
    }

    /// The OpenPGP v4 public key: KMS's public key, created when KMS made the key.
    pub(crate) fn openpgp_key(&self, spki_der: &[u8]) -> Result<Key<PublicParts, UnspecifiedRole>, Error> {
        let malformed =
            |detail: String| Error::Malformed { key: self.id.clone(), what: "public key", detail };
        let mpis = crate::asn1::public_key(spki_der).map_err(malformed)?;
        let algorithm = match mpis {
            openpgp::crypto::mpi::PublicKey::RSA { .. } => PublicKeyAlgorithm::RSAEncryptSign,
            _ => PublicKeyAlgorithm::ECDSA,
        };
        let key = Key4::new(self.created, algorithm, mpis).map_err(|e| malformed(e.to_string()))?;
        Ok(key.into())
    }
}
