//! `manifest.json`: what was signed, by which key, when, and by what tool. It is listed in
//! `SHA256SUMS`, so the signature on the checksum list covers it too.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Sha256};

/// The schema identifier written into every manifest.
const SCHEMA: &str = "relsign-manifest/1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub schema: String,
    /// The tool and version that wrote it, such as `signer 0.1.0`.
    pub tool: String,
    /// When signing ended (RFC 3339, UTC).
    pub created: String,
    pub signer: ManifestSigner,
    /// Where the build ran (CodeBuild build id, source version), when known.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub build: BTreeMap<String, String>,
    /// The release's version (SemVer), when signed with `--release-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_version: Option<String>,
    pub artifacts: Vec<ManifestArtifact>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestSigner {
    /// The (sub)key that made the signatures.
    pub fingerprint: String,
    /// The certificate users verify with.
    pub primary_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestArtifact {
    /// Relative, `/`-separated path in the release folder.
    pub path: String,
    pub size: u64,
    pub sha256: Sha256,
    /// The detached signature's path, `<path>.asc`.
    pub signature: String,
    /// The build output (CodeBuild source) it came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Manifest {
    pub fn new(tool: String, created: std::time::SystemTime, signer: ManifestSigner) -> Manifest {
        Manifest {
            schema: SCHEMA.to_string(),
            tool,
            created: humantime::format_rfc3339_seconds(created).to_string(),
            signer,
            build: BTreeMap::new(),
            release_version: None,
            artifacts: Vec::new(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        out.push(b'\n');
        out
    }

    pub fn parse(bytes: &[u8], origin: &str) -> Result<Manifest, Error> {
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| Error::ManifestMalformed { origin: origin.to_string(), detail: e.to_string() })?;
        if m.schema != SCHEMA {
            return Err(Error::ManifestMalformed {
                origin: origin.to_string(),
                detail: format!("schema {:?}, expected {SCHEMA:?}", m.schema),
            });
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut m = Manifest::new(
            "signer 0.1.0".into(),
            std::time::UNIX_EPOCH,
            ManifestSigner { fingerprint: "AB".into(), primary_fingerprint: "CD".into(), user_id: None },
        );
        m.artifacts.push(ManifestArtifact {
            path: "a b/ü.tar".into(),
            size: 3,
            sha256: Sha256::of(b"abc"),
            signature: "a b/ü.tar.asc".into(),
            source: Some("AmdBuildArtifact".into()),
        });
        let parsed = Manifest::parse(&m.to_json(), "t").unwrap();
        assert_eq!(parsed, m);
        assert_eq!(parsed.created, "1970-01-01T00:00:00Z");
        assert!(Manifest::parse(b"{}", "t").is_err());
    }
}
