//! OpenPGP signatures from AWS KMS keys: the key never leaves KMS, and CloudTrail records
//! every signature made.
//!
//! [`Kms::signer`] describes a key and fetches its public key; the [`KmsSigner`] it returns
//! is a sequoia `Signer` whose every signature is one KMS `Sign` call over the digest
//! (`MessageType=DIGEST`), so relsign-pgp signs with it exactly as with a key in memory.
//! RSA 2048 to 4096 and NIST P-256 / P-384 keys; any other spec is refused.

mod asn1;
mod error;
mod key;
mod signer;

pub use error::Error;
pub use key::{KeyFacts, Scheme};
pub use signer::{Kms, KmsSigner, MAX_IN_FLIGHT};
