//! The release pointer: a small JSON document, signed like every artifact (a detached,
//! armored `.asc`), that names the newest release: its version, where it is, and the
//! SHA-256 of its `SHA256SUMS`. The digest binds the pointer to one release: the signed
//! list names every file's digest, so a pointer cannot vouch for another release's files,
//! wherever they are put. `signer sign --release-version` writes it into the release
//! (`release-pointer.json`, not listed in `SHA256SUMS`, whose digest it holds);
//! `copier --promote` publishes it at a fixed key. docs/pointer.md describes it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::{Error, Rejection, Sha256, Verified, Verifier};

/// The schema identifier written into every pointer.
const SCHEMA: &str = "relsign-pointer/1";

/// Pointers larger than this are refused unread: a real one is a few hundred bytes.
pub const MAX_POINTER: u64 = 16 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pointer {
    pub schema: String,
    /// The release's version, a SemVer 2.0 version (`1.4.0`, `2.0.0-rc.1`).
    pub version: String,
    /// Where the release is: a folder relative to the one holding the pointer (`1.4.0/`),
    /// or absolute (`s3://BUCKET/PREFIX/`); always ending in `/`.
    pub release: String,
    /// The SHA-256 of the release's `SHA256SUMS`: what binds the pointer to its files.
    pub sha256sums: Sha256,
    /// When it was signed (RFC 3339, UTC).
    pub created: String,
}

/// Parses a release version: SemVer 2.0, nothing else (no leading `v`), since pointers
/// move only to a newer version and only SemVer says which one is newer.
pub fn parse_version(version: &str) -> Result<semver::Version, String> {
    semver::Version::parse(version).map_err(|e| {
        format!("release version {version:?} is not a semantic version (MAJOR.MINOR.PATCH, such as 1.4.0 or 2.0.0-rc.1): {e}")
    })
}

/// Checks a release location and gives it its trailing `/`: an `s3://BUCKET/PREFIX` URI,
/// or a relative folder of plain names (no `..`: a pointer names a release beside or
/// below itself, or says exactly where).
pub fn normalize_location(location: &str) -> Result<String, String> {
    let bad = |why: &str| format!("release location {location:?}: {why}");
    let trimmed = location.trim_end_matches('/');
    if let Some(rest) = trimmed.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        if !prefix.is_empty() {
            crate::validate_relative(prefix).map_err(bad)?;
        }
        return Ok(format!("{trimmed}/"));
    }
    if trimmed.contains("://") {
        return Err(bad("only s3:// locations or relative folders"));
    }
    crate::validate_relative(trimmed).map_err(bad)?;
    Ok(format!("{trimmed}/"))
}

impl Pointer {
    pub fn new(
        version: &semver::Version,
        release: String,
        sha256sums: Sha256,
        created: SystemTime,
    ) -> Pointer {
        Pointer {
            schema: SCHEMA.to_string(),
            version: version.to_string(),
            release,
            sha256sums,
            created: humantime::format_rfc3339_seconds(created).to_string(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a pointer always serializes");
        out.push(b'\n');
        out
    }

    /// Reads a pointer, refusing anything but this schema with a SemVer version and a
    /// location as [`normalize_location`] leaves it.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Pointer, Error> {
        let bad = |detail: String| Error::PointerMalformed { origin: origin.to_string(), detail };
        let p: Pointer = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if p.schema != SCHEMA {
            return Err(bad(format!("schema {:?}, expected {SCHEMA:?}", p.schema)));
        }
        parse_version(&p.version).map_err(bad)?;
        match normalize_location(&p.release) {
            Ok(n) if n == p.release => {}
            Ok(_) => return Err(bad(format!("release location {:?} does not end in /", p.release))),
            Err(why) => return Err(bad(why)),
        }
        Ok(p)
    }

    /// The version, which [`Pointer::parse`] checked.
    pub fn semver(&self) -> semver::Version {
        semver::Version::parse(&self.version).expect("checked when parsed or made")
    }

    /// Where the release is, for a pointer read from the folder `base` (ending in `/`:
    /// `s3://BUCKET/DIR/` for an object, a local folder for a file).
    pub fn resolve(&self, base: &str) -> String {
        if self.release.starts_with("s3://") {
            self.release.clone()
        } else {
            format!("{base}{}", self.release)
        }
    }
}

/// Why a stored pointer is not taken.
#[derive(Debug)]
pub enum PointerRejected {
    /// Its detached signature is not a good one by a trusted key over these bytes.
    Signature(Rejection),
    /// Signed, but no pointer of this schema (see [`Pointer::parse`]).
    Malformed(Error),
}

impl std::fmt::Display for PointerRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PointerRejected::Signature(why) => why.fmt(f),
            PointerRejected::Malformed(why) => why.fmt(f),
        }
    }
}

/// A pointer's bytes and its detached signature judged together: signed by `verifier`'s
/// certificate, then read as a pointer. Every reader of a stored pointer (a release folder,
/// a published pointer, copier deciding a promotion) goes through here.
pub fn verify_pointer(
    json: &[u8],
    signature: &[u8],
    verifier: &Verifier,
    origin: &str,
) -> Result<(Verified, Pointer), PointerRejected> {
    let signed = verifier.verify(signature, json).map_err(PointerRejected::Signature)?;
    let pointer = Pointer::parse(json, origin).map_err(PointerRejected::Malformed)?;
    Ok((signed, pointer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> semver::Version {
        parse_version(s).unwrap()
    }

    #[test]
    fn round_trips_and_refuses_other_documents() {
        let p = Pointer::new(&v("1.4.0"), "1.4.0/".into(), Sha256::of(b"x"), std::time::UNIX_EPOCH);
        assert_eq!(Pointer::parse(&p.to_json(), "t").unwrap(), p);
        assert!(Pointer::parse(b"{}", "t").is_err());
        let mut other = p.clone();
        other.version = "v1.4.0".into();
        assert!(Pointer::parse(&other.to_json(), "t").is_err());
        let mut other = p.clone();
        other.release = "../elsewhere/".into();
        assert!(Pointer::parse(&other.to_json(), "t").is_err());
        let extra = String::from_utf8(p.to_json()).unwrap().replacen('{', "{\"extra\": 1,", 1);
        assert!(Pointer::parse(extra.as_bytes(), "t").is_err());
    }

    #[test]
    fn versions_order_by_semver_not_by_text() {
        assert!(v("1.10.0") > v("1.4.0"));
        assert!(v("2.0.0") > v("2.0.0-rc.1"));
        assert!(v("1.4.0-rc.10") > v("1.4.0-rc.9"));
        assert!(parse_version("1.4").is_err());
    }

    #[test]
    fn locations_are_relative_folders_or_s3() {
        assert_eq!(normalize_location("abc123").unwrap(), "abc123/");
        assert_eq!(normalize_location("s3://b/r/1.4.0").unwrap(), "s3://b/r/1.4.0/");
        for bad in ["", "../x", "/abs", "https://x/y", "s3:///p", "a//b"] {
            assert!(normalize_location(bad).is_err(), "{bad}");
        }
        let p = Pointer::new(&v("1.0.0"), "r/".into(), Sha256::of(b""), std::time::UNIX_EPOCH);
        assert_eq!(p.resolve("s3://b/releases/"), "s3://b/releases/r/");
    }
}
