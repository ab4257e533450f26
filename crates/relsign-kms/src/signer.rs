//! The sequoia `Signer` over KMS `Sign`. sequoia signs synchronously and the SDK is async:
//! the signer owns a small tokio runtime and each `sign` blocks its (non-async) caller on
//! one request, at most [`MAX_IN_FLIGHT`] at once whatever the number of callers.

use std::sync::Arc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use openpgp::crypto::{mpi, Signer};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::types::HashAlgorithm;
use sequoia_openpgp as openpgp;
use tokio::sync::Semaphore;

use crate::error::classify;
use crate::key::{KeyFacts, Scheme};
use crate::Error;

/// Sign requests in flight at once: KMS counts every `Sign` against the account's
/// per-second cryptographic-operations quota (RSA and ECC keys each have their own); the
/// SDK's standard retry backs off when it is reached.
pub const MAX_IN_FLIGHT: usize = 8;

/// A KMS connection: the runtime its requests run on and one client.
pub struct Kms {
    runtime: Arc<tokio::runtime::Runtime>,
    config: aws_config::SdkConfig,
    client: aws_sdk_kms::Client,
    region: String,
}

/// Signs with one KMS key; clones share the connection and the in-flight bound.
#[derive(Clone)]
pub struct KmsSigner {
    shared: Arc<Shared>,
}

struct Shared {
    runtime: Arc<tokio::runtime::Runtime>,
    client: aws_sdk_kms::Client,
    region: String,
    facts: KeyFacts,
    scheme: Scheme,
    public: Key<PublicParts, UnspecifiedRole>,
    in_flight: Semaphore,
}

impl Kms {
    /// Connects with the standard AWS configuration chain (and `options`' overrides).
    pub fn connect(options: &relsign_aws::AwsOptions) -> Result<Kms, Error> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(
                |e| Error::Unreachable { key: String::new(), detail: format!("no async runtime: {e}") },
            )?;
        let config = runtime.block_on(relsign_aws::load(options))?;
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        Ok(Kms { client: aws_sdk_kms::Client::new(&config), config, runtime: Arc::new(runtime), region })
    }

    /// Who the requests are made as, for the preflight.
    pub fn identity(&self) -> Result<relsign_aws::Identity, Error> {
        Ok(self.runtime.block_on(relsign_aws::identity(&self.config))?)
    }

    /// What KMS says of the key `id` (ARN, key id or `alias/NAME`).
    pub fn describe(&self, id: &str) -> Result<KeyFacts, Error> {
        self.runtime.block_on(self.describe_async(id))
    }

    async fn describe_async(&self, id: &str) -> Result<KeyFacts, Error> {
        let out = self
            .client
            .describe_key()
            .key_id(id)
            .send()
            .await
            .map_err(|e| classify(id, &self.region, "DescribeKey", e))?;
        let metadata = out.key_metadata().ok_or_else(|| Error::Malformed {
            key: id.to_string(),
            what: "key description",
            detail: "no KeyMetadata".into(),
        })?;
        Ok(KeyFacts::from_metadata(id, metadata))
    }

    /// The signer for key `id`: described and its public key fetched at once, refused unless
    /// it is enabled and of a spec that makes OpenPGP signatures.
    pub fn signer(&self, id: &str) -> Result<KmsSigner, Error> {
        let (facts, public) = self.runtime.block_on(async {
            let public = async {
                self.client
                    .get_public_key()
                    .key_id(id)
                    .send()
                    .await
                    .map_err(|e| classify(id, &self.region, "GetPublicKey", e))
            };
            tokio::join!(self.describe_async(id), public)
        });
        let facts = facts?;
        let scheme = facts.usable()?;
        let public = public?;
        let der = public.public_key().ok_or_else(|| Error::Malformed {
            key: id.to_string(),
            what: "public key",
            detail: "no PublicKey".into(),
        })?;
        let public = facts.openpgp_key(der.as_ref())?;
        Ok(KmsSigner {
            shared: Arc::new(Shared {
                runtime: self.runtime.clone(),
                client: self.client.clone(),
                region: self.region.clone(),
                facts,
                scheme,
                public,
                in_flight: Semaphore::new(MAX_IN_FLIGHT),
            }),
        })
    }
}

impl KmsSigner {
    pub fn facts(&self) -> &KeyFacts {
        &self.shared.facts
    }

    pub fn scheme(&self) -> Scheme {
        self.shared.scheme
    }

    /// The OpenPGP fingerprint of the key.
    pub fn fingerprint(&self) -> String {
        self.shared.public.fingerprint().to_hex()
    }

    /// Signs a fixed digest (no artifact's) and verifies the signature here with the public
    /// key: proof that this role may sign and that KMS signs the digest as given.
    pub fn prove(&self) -> Result<(), Error> {
        let probe = [0x5a; 64];
        let probe = &probe[..self.shared.scheme.hash.digest_size().unwrap_or(32)];
        let signature = self.sign_digest(probe)?;
        self.shared.public.verify(&signature, self.shared.scheme.hash, probe).map_err(|e| Error::Malformed {
            key: self.shared.facts.id.clone(),
            what: "test signature",
            detail: format!("it does not verify with the key's public key: {e}"),
        })
    }

    /// One `Sign` of `digest` (already hashed: `MessageType=DIGEST`), as OpenPGP MPIs.
    pub fn sign_digest(&self, digest: &[u8]) -> Result<mpi::Signature, Error> {
        let s = &*self.shared;
        let key = s.facts.id.as_str();
        let signature = s.runtime.block_on(async {
            let _permit = s.in_flight.acquire().await.expect("the semaphore is never closed");
            s.client
                .sign()
                .key_id(&s.facts.arn)
                .message(Blob::new(digest))
                .message_type(MessageType::Digest)
                .signing_algorithm(SigningAlgorithmSpec::from(s.scheme.algorithm))
                .send()
                .await
                .map_err(|e| classify(key, &s.region, "Sign", e))
        })?;
        let blob = signature.signature().ok_or_else(|| Error::Malformed {
            key: key.to_string(),
            what: "signature",
            detail: "no Signature".into(),
        })?;
        match s.public.mpis() {
            mpi::PublicKey::RSA { .. } => Ok(mpi::Signature::RSA { s: mpi::MPI::new(blob.as_ref()) }),
            _ => crate::asn1::ecdsa_signature(blob.as_ref()).map_err(|detail| Error::Malformed {
                key: key.to_string(),
                what: "signature",
                detail,
            }),
        }
    }
}

impl Signer for KmsSigner {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.shared.public
    }

    fn acceptable_hashes(&self) -> &[HashAlgorithm] {
        std::slice::from_ref(&self.shared.scheme.hash)
    }

    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        if hash_algo != self.shared.scheme.hash {
            return Err(anyhow::anyhow!(
                "KMS key {} signs over {} only, not {hash_algo}",
                self.shared.facts.id,
                self.shared.scheme.hash
            ));
        }
        // The KMS error with its contract, so the caller reports access denied, throttling,
        // a disabled key each with its own exit code and fix (sequoia carries only anyhow).
        self.sign_digest(digest).map_err(|e| anyhow::Error::new(relsign_error::Reported::from_error(&e)))
    }
}
