//! OpenPGP for relsign: load and unlock a signing key, make detached signatures that GnuPG
//! and `sqv` accept, verify them, and write and read the signed checksum list.
//!
//! Nothing here knows about the command line, AWS or CodeBuild. Every file is read once:
//! the same pass feeds the signature's hash (SHA-256, or the longer one an ECDSA curve
//! needs) and the file's plain SHA-256 for the checksum list.

mod algorithm;
mod error;
mod external;
mod hex;
mod inspect;
mod key;
mod manifest;
mod release;
mod rsa;
mod sign;
mod sums;
mod verify;

pub use algorithm::{hash_name, suite, Refusal, Suite};
pub use error::{Error, ErrorKind};
pub use external::{self_certify, ExternalSigner};
pub use hex::{Sha256, Sha256Hasher};
pub use inspect::{
    is_secret_key_block, open_regular, read_capped, starts_with_secret_key, SecretScan, MAX_CERTIFICATE,
    MAX_SIGNATURE, MAX_SUMS,
};
pub use key::{KeyRing, Passphrase, SelectedKey, SigningKey};
pub use manifest::{Manifest, ManifestArtifact, ManifestSigner, MANIFEST_NAME};
pub use release::{
    sha256_file, verify_file, verify_folder, verify_listed, verify_sums, FileCheck, FileStatus,
    FolderOptions, FolderReport, SignedSums,
};
pub use sequoia_openpgp::types::HashAlgorithm;
pub use sign::{SignatureHasher, Signed};
pub use sums::{ChecksumList, SUMS_NAME, SUMS_SIG_NAME};
pub use verify::{Failure, Verified, Verifier};

/// The file name of the detached signature that goes beside `name`.
pub fn signature_name(name: &str) -> String {
    format!("{name}.asc")
}

/// Whether a file name is a detached signature (`*.asc`), which is never signed again.
pub fn is_signature_name(name: &str) -> bool {
    name.ends_with(".asc")
}
