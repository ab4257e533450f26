//! The release's provenance (`provenance.intoto.jsonl`): an in-toto Statement v1
//! (<https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>) whose subjects
//! are the release's artifacts and whose predicate is SLSA provenance v1
//! (<https://slsa.dev/spec/v1.0/provenance>), in a DSSE envelope signed by the release key.
//!
//! [`check_provenance`] is the whole check over the envelope's bytes and the (already
//! verified) checksum list, so any caller holding those two can run it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use crate::verify::Rejection;
use crate::{ChecksumList, Error, SigningKey, Verifier, MANIFEST_NAME, PROVENANCE_NAME};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Provenance,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// SLSA provenance v1's predicate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub internal_parameters: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    pub builder: Builder,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BuildMetadata>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byproducts: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Builder {
    pub id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<String>,
}

/// in-toto's ResourceDescriptor: every field optional, but at least one of uri, digest or
/// content set (the spec's rule; the statement's makers keep it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub annotations: Map<String, Value>,
}

/// The files a release's provenance names as its subjects: every file `SHA256SUMS` lists
/// but the manifest and the provenance itself (which cannot hold its own digest).
pub fn subjects_of(sums: &ChecksumList) -> Vec<Subject> {
    sums.entries()
        .iter()
        .filter(|(name, _)| name != MANIFEST_NAME && name != PROVENANCE_NAME)
        .map(|(name, digest)| Subject {
            name: name.clone(),
            digest: BTreeMap::from([("sha256".to_string(), digest.to_string())]),
        })
        .collect()
}

/// The statement over `subjects` with `predicate`, in a DSSE envelope signed by `key`:
/// the bytes of `provenance.intoto.jsonl`.
pub fn sign_provenance(
    key: &mut SigningKey,
    subjects: Vec<Subject>,
    predicate: Provenance,
) -> Result<Vec<u8>, Error> {
    let statement = Statement {
        type_: STATEMENT_TYPE.into(),
        subject: subjects,
        predicate_type: SLSA_PROVENANCE_V1.into(),
        predicate,
    };
    let payload = serde_json::to_vec(&statement).expect("a statement always serializes");
    Ok(Envelope::sign(key, IN_TOTO_PAYLOAD_TYPE, &payload, PROVENANCE_NAME)?.to_json_line())
}

/// A provenance that checked: who signed it and what it says.
#[derive(Debug, Clone)]
pub struct CheckedProvenance {
    pub fingerprint: String,
    pub primary: String,
    pub statement: Statement,
}

/// Checks `envelope` (the bytes of `provenance.intoto.jsonl`) against `sums`, the release's
/// checksum list, which the caller has verified: the envelope's signature by a key
/// `verifier` trusts, its payload an in-toto Statement v1 of SLSA provenance v1, and its
/// subjects exactly the files `sums` lists (manifest and provenance aside), digest for digest.
pub fn check_provenance(
    envelope: &[u8],
    sums: &ChecksumList,
    verifier: &Verifier,
) -> Result<CheckedProvenance, Rejection> {
    let bad = |d: String| Rejection::Provenance(d);
    let envelope = Envelope::from_json_lines(envelope)?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(bad(format!("payload type {:?}, not {IN_TOTO_PAYLOAD_TYPE}", envelope.payload_type)));
    }
    let verified = envelope.verify(verifier)?;
    let statement: Statement = serde_json::from_slice(&verified.payload)
        .map_err(|e| bad(format!("the payload is not an in-toto statement of SLSA provenance: {e}")))?;
    if statement.type_ != STATEMENT_TYPE {
        return Err(bad(format!("statement type {:?}, not {STATEMENT_TYPE}", statement.type_)));
    }
    if statement.predicate_type != SLSA_PROVENANCE_V1 {
        return Err(bad(format!("predicate type {:?}, not {SLSA_PROVENANCE_V1}", statement.predicate_type)));
    }
    let mut stated = BTreeMap::new();
    for s in &statement.subject {
        if stated.insert(s.name.as_str(), s.digest.get("sha256").map(String::as_str)).is_some() {
            return Err(bad(format!("subject {} is named twice", s.name)));
        }
    }
    let listed = subjects_of(sums);
    for s in &listed {
        match stated.remove(s.name.as_str()) {
            None => {
                return Err(bad(format!("{} is in SHA256SUMS but not a subject of the provenance", s.name)))
            }
            Some(d) if d != s.digest.get("sha256").map(String::as_str) => {
                return Err(bad(format!(
                    "subject {} has sha256 {}, SHA256SUMS says {}",
                    s.name,
                    d.unwrap_or("(none)"),
                    s.digest["sha256"]
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = stated.keys().next() {
        return Err(bad(format!("subject {extra} is not in SHA256SUMS")));
    }
    Ok(CheckedProvenance { fingerprint: verified.fingerprint, primary: verified.primary, statement })
}
