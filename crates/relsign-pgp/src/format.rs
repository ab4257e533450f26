//! The release format, in one place: the files relsign writes beside the artifacts, how a
//! signature is named after what it signs, which names a release may publish, and [`seal`],
//! which turns the signed artifacts into the sealed release (the manifest, the checksum
//! list over artifacts and manifest, and the list's signature). [`crate::verify_folder`]
//! reads back exactly what this writes.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::{
    ChecksumList, Error, Manifest, ManifestArtifact, ManifestSigner, Pointer, Sha256, Signed, SigningKey,
    POINTER_NAME,
};

/// The checksum list, in `sha256sum` format.
pub const SUMS_NAME: &str = "SHA256SUMS";
/// The checksum list's signature: the last object published, it seals the release.
pub const SUMS_SIG_NAME: &str = "SHA256SUMS.asc";
/// What was signed, by which key, when and by what tool; listed in the checksum list.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The names relsign writes itself: no artifact may take one, or a folder named like one.
pub const RESERVED_NAMES: [&str; 4] = [SUMS_NAME, SUMS_SIG_NAME, MANIFEST_NAME, POINTER_NAME];

/// What a detached, armored signature's name adds to the name of the file it signs.
pub const SIGNATURE_SUFFIX: &str = ".asc";

/// S3's longest object key, in bytes: every published name (its signature's included)
/// must fit under the destination prefix.
pub const MAX_KEY_BYTES: usize = 1024;
/// Linux file systems hold names of at most this many bytes: users download into one.
pub const MAX_NAME_PART_BYTES: usize = 255;

/// The file name of the detached signature that goes beside `name`.
pub fn signature_name(name: &str) -> String {
    format!("{name}{SIGNATURE_SUFFIX}")
}

/// Whether a file name is a detached signature (`*.asc`), which is never signed again.
pub fn is_signature_name(name: &str) -> bool {
    name.ends_with(SIGNATURE_SUFFIX)
}

/// The path of the detached signature that goes beside the file at `path`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

/// The name of the file a signature signs: `a.tar` for `a.tar.asc`.
pub fn signed_name(signature: &str) -> Option<&str> {
    signature.strip_suffix(SIGNATURE_SUFFIX)
}

/// Checks a relative, `/`-separated name as it appears in `SHA256SUMS`, the manifest and
/// S3 keys: nothing but plain names, no way out of the folder, no line breaks or control
/// characters. Returns why it is refused.
pub fn validate_relative(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.starts_with('/') || Path::new(name).is_absolute() {
        return Err("absolute path");
    }
    if name.chars().any(|c| c == '\n' || c == '\r') {
        return Err("line break in the name");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("control character in the name");
    }
    for part in name.split('/') {
        match part {
            "" => return Err("empty path component"),
            "." | ".." => return Err("`.` or `..` path component"),
            _ => {}
        }
    }
    // Belt and braces: the platform's own parser must agree there is nothing but names.
    if !Path::new(name).components().all(|c| matches!(c, Component::Normal(_))) {
        return Err("path escapes its folder");
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_nested_and_odd_but_harmless_names() {
        for ok in ["a.tar", "dir/b c.deb", "ünï/ça.rpm", "-rf", "--help", "x..y"] {
            assert_eq!(validate_relative(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_escapes_and_line_breaks() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\nb", "a\rb", "a\u{7}b", "a/"] {
            assert!(validate_relative(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn signature_names_round_trip() {
        assert_eq!(signature_name("a/b.tar"), "a/b.tar.asc");
        assert_eq!(signed_name(&signature_name("a/b.tar")), Some("a/b.tar"));
        assert!(is_signature_name(SUMS_SIG_NAME));
        assert_eq!(signed_name(SUMS_SIG_NAME), Some(SUMS_NAME));
        assert_eq!(signed_name("a.tar"), None);
    }
}
