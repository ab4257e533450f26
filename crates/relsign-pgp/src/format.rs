//! The release format: [`seal`] turns the signed artifacts into the sealed release (the
//! manifest, the checksum list over artifacts and manifest, and the list's signature),
//! under the names names.rs gives them. [`crate::verify_folder`] reads back exactly what
//! this writes.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::names::{MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME};
use crate::{ChecksumList, Error, Manifest, ManifestArtifact, ManifestSigner, Sha256, Signed, SigningKey};

/// The files that seal a release, in the order they are written.
pub struct SealedRelease {
    pub manifest: Manifest,
    pub manifest_json: Vec<u8>,
    pub sums: String,
    pub sums_signature: Signed,
}

impl SealedRelease {
    /// Each file's name and bytes.
    pub fn files(&self) -> [(&'static str, &[u8]); 3] {
        [
            (MANIFEST_NAME, &self.manifest_json),
            (SUMS_NAME, self.sums.as_bytes()),
            (SUMS_SIG_NAME, &self.sums_signature.signature),
        ]
    }
}

/// Seals a release whose `artifacts` are signed (each `.asc` written beside it): the
/// manifest naming `key` as the signer, `tool` and the `build` it came from; the checksum
/// list over every artifact and the manifest, sorted by name; and that list signed by `key`.
pub fn seal(
    key: &mut SigningKey,
    tool: String,
    build: BTreeMap<String, String>,
    artifacts: Vec<ManifestArtifact>,
) -> Result<SealedRelease, Error> {
    let signer = ManifestSigner {
        fingerprint: key.fingerprint(),
        primary_fingerprint: key.primary_fingerprint(),
        user_id: key.user_id().map(str::to_string),
    };
    let mut manifest = Manifest::new(tool, SystemTime::now(), signer);
    manifest.build = build;
    manifest.artifacts = artifacts;
    let manifest_json = manifest.to_json();
    let mut listed: Vec<(&str, Sha256)> =
        manifest.artifacts.iter().map(|a| (a.path.as_str(), a.sha256)).collect();
    listed.push((MANIFEST_NAME, Sha256::of(&manifest_json)));
    listed.sort();
    let mut sums = ChecksumList::new();
    for (path, digest) in listed {
        sums.push(path, digest);
    }
    let sums = sums.to_text();
    let sums_signature = key.sign_bytes(sums.as_bytes(), SUMS_NAME)?;
    Ok(SealedRelease { manifest, manifest_json, sums, sums_signature })
}
