//! The release format: [`seal`] turns the signed artifacts into the sealed release (the
//! manifest, the checksum list over artifacts and manifest, and the list's signature),
//! under the names names.rs gives them. [`crate::verify_folder`] reads back exactly what
//! this writes.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::names::{signature_name, MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME};
use crate::{
    ChecksumList, Error, Manifest, ManifestArtifact, ManifestSigner, Pointer, Sha256, Signed, SigningKey,
    POINTER_NAME,
};

/// The release's version and where its pointer says it is (`signer sign --release-version`).
#[derive(Debug, Clone)]
pub struct ReleaseVersion {
    pub version: semver::Version,
    /// As [`crate::normalize_location`] leaves it.
    pub location: String,
}

/// The files that seal a release, in the order they are written.
pub struct SealedRelease {
    pub manifest: Manifest,
    pub manifest_json: Vec<u8>,
    pub sums: String,
    pub sums_signature: Signed,
    /// With a release version: the pointer to this release and its signature.
    pub pointer: Option<(Vec<u8>, Signed)>,
}

impl SealedRelease {
    /// Each file's name and bytes.
    pub fn files(&self) -> Vec<(String, &[u8])> {
        let mut files = vec![
            (MANIFEST_NAME.to_string(), self.manifest_json.as_slice()),
            (SUMS_NAME.to_string(), self.sums.as_bytes()),
            (SUMS_SIG_NAME.to_string(), self.sums_signature.signature.as_slice()),
        ];
        if let Some((json, signed)) = &self.pointer {
            files.push((POINTER_NAME.to_string(), json.as_slice()));
            files.push((signature_name(POINTER_NAME), signed.signature.as_slice()));
        }
        files
    }
}

/// Seals a release whose `artifacts` are signed (each `.asc` written beside it): the
/// manifest naming `key` as the signer, `tool`, the `build` it came from and the release
/// version; the checksum list over every artifact and the manifest, sorted by name; that
/// list signed by `key`; and, with a release version, the pointer to the list, signed.
pub fn seal(
    key: &mut SigningKey,
    tool: String,
    build: BTreeMap<String, String>,
    artifacts: Vec<ManifestArtifact>,
    release: Option<&ReleaseVersion>,
) -> Result<SealedRelease, Error> {
    let signer = ManifestSigner {
        fingerprint: key.fingerprint(),
        primary_fingerprint: key.primary_fingerprint(),
        user_id: key.user_id().map(str::to_string),
    };
    let now = SystemTime::now();
    let mut manifest = Manifest::new(tool, now, signer);
    manifest.build = build;
    manifest.release_version = release.map(|r| r.version.to_string());
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
    let pointer = match release {
        Some(r) => {
            let json =
                Pointer::new(&r.version, r.location.clone(), Sha256::of(sums.as_bytes()), now).to_json();
            let signed = key.sign_bytes(&json, POINTER_NAME)?;
            Some((json, signed))
        }
        None => None,
    };
    Ok(SealedRelease { manifest, manifest_json, sums, sums_signature, pointer })
}
