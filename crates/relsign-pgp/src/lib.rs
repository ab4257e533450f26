//! OpenPGP for relsign and the release format: load and unlock a signing key, make
//! detached signatures that GnuPG and `sqv` accept, verify them, and the files of a release
//! (`names.rs`: the names relsign writes, how a signature is named, which names a release
//! may publish; `format.rs`: `seal`, which writes the manifest and the signed checksum
//! list; `release.rs` reads them back; `pointer.rs`: the signed pointer to a release).
//!
//! Nothing here knows about the command line, AWS or CodeBuild. Every file is read once:
//! the same pass feeds the signature's hash (SHA-256, or the longer one an ECDSA curve
//! needs) and the file's plain SHA-256 for the checksum list.

mod algorithm;
mod device;
mod dsse;
mod error;
mod external;
mod format;
mod hex;
mod inspect;
mod key;
mod manifest;
mod names;
mod pointer;
mod provenance;
mod raw;
mod release;
mod rsa;
mod sign;
mod sums;
mod verify;

pub use algorithm::{hash_name, suite, Refusal, Suite};
pub use device::ExternalSigner;
pub use dsse::{pae, Envelope, EnvelopeSignature, VerifiedEnvelope, IN_TOTO_PAYLOAD_TYPE};
pub use error::Error;
pub use external::self_certify;
pub use format::{seal, ReleaseVersion, SealedRelease};
pub use hex::{Sha256, Sha256Hasher};
pub use inspect::{
    is_secret_key_block, open_regular, read_capped, sha256_and_secret_start, starts_with_secret_key,
    PassphraseNeedle, PassphraseScan, SecretScan, MAX_CERTIFICATE, MAX_SIGNATURE, MAX_SUMS,
    MIN_SCANNED_PASSPHRASE,
};
pub use key::{KeyRing, Passphrase, SelectedKey, SigningKey};
pub use manifest::{Manifest, ManifestArtifact, ManifestSigner};
pub use names::{
    is_signature_name, signature_name, signature_path, signed_name, validate_relative, MANIFEST_NAME,
    MAX_NAME_PART_BYTES, POINTER_NAME, PROVENANCE_NAME, RESERVED_NAMES, SIGNATURE_SUFFIX, SUMS_NAME,
    SUMS_SIG_NAME,
};
pub use pointer::{normalize_location, parse_version, verify_pointer, Pointer, PointerRejected, MAX_POINTER};
pub use provenance::{
    check_provenance, sign_provenance, subjects_of, BuildDefinition, BuildMetadata, Builder,
    CheckedProvenance, Provenance, ResourceDescriptor, RunDetails, Statement, Subject, SLSA_PROVENANCE_V1,
    STATEMENT_TYPE,
};
pub use raw::{raw_scheme, RawScheme, RawSignature};
pub use release::{
    check_pointer_of, sha256_file, verify_file, verify_folder, verify_listed, verify_sums, FileCheck,
    FileStatus, FolderOptions, FolderReport, SignedSums,
};
pub use semver;
pub use sequoia_openpgp::types::HashAlgorithm;
pub use sign::{SignatureHasher, Signed};
pub use sums::ChecksumList;
pub use verify::{Rejection, Verified, Verifier};
