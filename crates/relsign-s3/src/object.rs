//! What S3 keeps of an object and how relsign proves an object is a local file: only by a
//! SHA-256 S3 verified of exactly the local bytes. A single PUT's ChecksumSHA256; for a
//! multipart object, its parts' SHA-256 checksums (S3 verified each as it received it),
//! listed with their sizes by GetObjectAttributes, tied to the object by its composite
//! checksum and compared part by part with the local file over the object's own part
//! boundaries. CRC and MD5 (an ETag) never prove identity: a forger matches a CRC in
//! milliseconds (it is linear) and MD5 collisions are published. The `sha256` metadata
//! copier writes is a claim, never a proof. Where S3 keeps no SHA-256, `--existing rehash`
//! reads the object back and hashes it; without it the object is not taken as identical.

use std::io::Read;
use std::path::Path;

use aws_sdk_s3::types::{ChecksumMode, ChecksumType, ObjectAttributes};
use aws_sdk_s3::Client;
use base64::Engine;
use relsign_pgp::{Sha256, Sha256Hasher};

use crate::error::from_sdk;
use crate::{Error, LocalFile};

/// The metadata key holding the object's SHA-256 (hex).
pub(crate) const SHA256_METADATA: &str = "sha256";

/// What to do with an object at the destination that S3 keeps no SHA-256 of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Existing {
    /// Not identical: a conflict (or, with `--overwrite`, replaced).
    #[default]
    Refuse,
    /// Read it back and hash it: identical when its SHA-256 is the local file's.
    Rehash,
}

/// What proves (or fails to prove) which bytes an object holds.
#[derive(Debug, Clone)]
pub enum Proof {
    /// The whole object's SHA-256, verified by S3 on a single PUT.
    Whole(Sha256),
    /// Each part's size and SHA-256, verified by S3 as it received the part, and consistent
    /// with the object's composite checksum.
    Parts(Vec<(u64, Sha256)>),
    /// The SHA-256 of the object as this run read it back (`--existing rehash`).
    ReadBack(Sha256),
    /// Nothing S3 verified as SHA-256: why.
    Unproven(&'static str),
}

/// An object already at the destination, as S3 describes it.
#[derive(Debug, Clone)]
pub struct RemoteObject {
    pub size: u64,
    pub etag: Option<String>,
    pub proof: Proof,
    /// The `sha256` metadata copier writes: a claim, not a proof.
    pub metadata_sha256: Option<Sha256>,
    /// Every user metadata entry (the claim's lease lives there).
    pub metadata: std::collections::HashMap<String, String>,
    /// When S3 last wrote it (its clock).
    pub last_modified: Option<std::time::SystemTime>,
}

/// Why a remote object is not taken as the local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// It holds other bytes (or nothing consistent).
    Other(&'static str),
    /// S3 keeps no SHA-256 of it, so nothing proves which bytes it holds.
    Unproven(&'static str),
}

impl Mismatch {
    pub fn why(self) -> &'static str {
        match self {
            Mismatch::Other(why) | Mismatch::Unproven(why) => why,
        }
    }
}

/// Whether `remote` holds exactly `file`, judged only by SHA-256s S3 verified (or this run
/// computed reading the object back). Reads the local file for a multipart object.
pub(crate) fn same_object(file: &LocalFile, remote: &RemoteObject) -> Result<(), Mismatch> {
    if remote.size != file.size {
        return Err(Mismatch::Other("another size"));
    }
    match &remote.proof {
        Proof::Whole(verified) => {
            if remote.metadata_sha256.is_some_and(|m| m != *verified) {
                return Err(Mismatch::Other("its sha256 metadata disagrees with the SHA-256 S3 verified"));
            }
            if *verified == file.sha256 {
                Ok(())
            } else {
                Err(Mismatch::Other("other bytes"))
            }
        }
        Proof::ReadBack(read) => {
            if *read == file.sha256 {
                Ok(())
            } else {
                Err(Mismatch::Other("other bytes (read back and hashed)"))
            }
        }
        Proof::Parts(parts) => match parts_match(&file.path, parts) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Mismatch::Other(
                "other bytes (its parts' SHA-256, verified by S3, are not the local file's)",
            )),
            Err(_) => Err(Mismatch::Other("the local file cannot be read to compare")),
        },
        Proof::Unproven(why) => Err(Mismatch::Unproven(why)),
    }
}

/// Whether the local file, cut at the object's part boundaries, has the parts' SHA-256s.
fn parts_match(path: &Path, parts: &[(u64, Sha256)]) -> std::io::Result<bool> {
    let mut file = relsign_pgp::open_regular(path)?;
    let mut buf = vec![0u8; 1 << 20];
    for (size, want) in parts {
        let mut hasher = Sha256Hasher::new();
        let mut left = *size;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                return Ok(false);
            }
            hasher.update(&buf[..n]);
            left -= n as u64;
        }
        if hasher.finish() != *want {
            return Ok(false);
        }
    }
    Ok(file.read(&mut buf[..1])? == 0)
}

pub(crate) fn to_base64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn from_base64(s: &str) -> Option<Sha256> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(Sha256(arr))
}

/// S3's composite checksum of parts with these SHA-256s: the SHA-256 of their digests one
/// after the other, and the part count (`BASE64-N`).
pub(crate) fn composite(parts: impl IntoIterator<Item = Sha256>) -> String {
    let mut hasher = Sha256Hasher::new();
    let mut count = 0;
    for part in parts {
        hasher.update(&part.0);
        count += 1;
    }
    format!("{}-{count}", to_base64(hasher.finish().0))
}

/// Whether two composite checksums are the same: the digest always, the `-N` part count
/// when both carry one (moto leaves it out).
pub(crate) fn same_composite(a: &str, b: &str) -> bool {
    let (a_digest, a_count) = a.split_once('-').map_or((a, None), |(d, n)| (d, Some(n)));
    let (b_digest, b_count) = b.split_once('-').map_or((b, None), |(d, n)| (d, Some(n)));
    a_digest == b_digest && (a_count.is_none() || b_count.is_none() || a_count == b_count)
}

/// What every new object carries, on a PutObject or a CreateMultipartUpload (the two
/// builders share these setters but no trait): content type, the SHA-256 metadata that
/// makes re-runs idempotent, encryption, storage class, ACL and Object Lock retention.
macro_rules! object_settings {
    ($request:expr, $job:expr, $digest:expr) => {
        $request
            .content_type(content_type(&$job.file.local.name))
            .metadata(SHA256_METADATA, $digest.to_string())
            .set_server_side_encryption($job.opts.sse.as_deref().map(ServerSideEncryption::from))
            .set_ssekms_key_id($job.opts.sse_kms_key_id.clone())
            .set_storage_class($job.opts.storage_class.as_deref().map(StorageClass::from))
            .set_acl($job.opts.acl.as_deref().map(ObjectCannedAcl::from))
            .set_object_lock_mode(
                $job.opts
                    .object_lock
                    .as_ref()
                    .map(|l| aws_sdk_s3::types::ObjectLockMode::from(l.mode.as_str())),
            )
            .set_object_lock_retain_until_date(
                $job.opts
                    .object_lock
                    .as_ref()
                    .map(|l| aws_sdk_s3::primitives::DateTime::from(l.retain_until)),
            )
    };
}
pub(crate) use object_settings;

pub(crate) fn content_type(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    if relsign_pgp::is_signature_name(file) {
        return "application/pgp-signature".into();
    }
    if file == relsign_pgp::SUMS_NAME {
        return "text/plain; charset=utf-8".into();
    }
    mime_guess::from_path(file).first_or_octet_stream().essence_str().to_string()
}

/// Every object under the prefix whose key `wanted` accepts: its ETag (when the listing
/// carries one). Only those are kept: a prefix shared with other releases costs no memory.
pub(crate) async fn list_etags(
    client: &Client,
    dest: &crate::Destination,
    wanted: impl Fn(&str) -> bool,
) -> Result<std::collections::HashMap<String, Option<String>>, Error> {
    let mut present = std::collections::HashMap::new();
    let mut pages =
        client.list_objects_v2().bucket(&dest.bucket).prefix(&dest.prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(e, &dest.bucket, &dest.prefix, "ListObjectsV2"))?;
        for object in page.contents() {
            let Some(key) = object.key().filter(|k| wanted(k)) else { continue };
            present.insert(key.to_string(), object.e_tag().map(str::to_string));
        }
    }
    Ok(present)
}

/// What S3 says of one object (None when there is none): its size, ETag, metadata, and the
/// proof of its bytes: a whole SHA-256, the parts' SHA-256s, or (with `Existing::Rehash`,
/// where S3 keeps no SHA-256) the SHA-256 of the object read back.
pub(crate) async fn head(
    client: &Client,
    bucket: &str,
    key: &str,
    existing: Existing,
) -> Result<Option<RemoteObject>, Error> {
    let head = match client
        .head_object()
        .bucket(bucket)
        .key(key)
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
    {
        Ok(head) => head,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(None),
        Err(e) => return Err(from_sdk(e, bucket, key, "HeadObject")),
    };
    let size = head.content_length().unwrap_or(0).max(0) as u64;
    // A multipart object's SHA-256 is composite (of its parts'): S3 says so by the checksum
    // type and the `-N` suffix; moto by neither, but every store marks a multipart ETag
    // `-N`. Taking a whole object for a multipart one can only fail to prove it, never prove
    // it wrongly (GetObjectAttributes then lists no parts).
    let multipart = head.checksum_type() == Some(&ChecksumType::Composite)
        || head.checksum_sha256().is_some_and(|c| c.contains('-'))
        || head.e_tag().is_some_and(|e| e.trim_matches('"').contains('-'));
    let proof = match head.checksum_sha256() {
        Some(composite) if multipart => object_parts(client, bucket, key, composite, size).await?,
        Some(whole) => match from_base64(whole) {
            Some(d) => Proof::Whole(d),
            None => Proof::Unproven("its SHA-256 checksum is not one"),
        },
        None => Proof::Unproven(
            "S3 keeps no SHA-256 it verified of it (only CRC or MD5, which a forger can match)",
        ),
    };
    let proof = match proof {
        Proof::Unproven(_) if existing == Existing::Rehash => read_back(client, bucket, key, size).await?,
        proof => proof,
    };
    let metadata = head.metadata().cloned().unwrap_or_default();
    Ok(Some(RemoteObject {
        size,
        etag: head.e_tag().map(str::to_string),
        proof,
        metadata_sha256: metadata.get(SHA256_METADATA).and_then(|h| h.parse().ok()),
        metadata,
        last_modified: head.last_modified().and_then(|t| std::time::SystemTime::try_from(*t).ok()),
    }))
}

/// The parts of a multipart object with their SHA-256s (GetObjectAttributes, 1000 a page),
/// when they make its composite checksum `composite` and its `size`.
async fn object_parts(
    client: &Client,
    bucket: &str,
    key: &str,
    composite_checksum: &str,
    size: u64,
) -> Result<Proof, Error> {
    let mut parts = Vec::new();
    let mut marker: Option<String> = None;
    // Bounded: 10,000 parts at most, 1000 a page.
    for _ in 0..11 {
        let got = client
            .get_object_attributes()
            .bucket(bucket)
            .key(key)
            .object_attributes(ObjectAttributes::ObjectParts)
            .max_parts(1000)
            .set_part_number_marker(marker.take())
            .send()
            .await;
        let got = match got {
            Ok(got) => got,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
                return Err(from_sdk(e, bucket, key, "GetObjectAttributes"))
            }
            // A store that cannot list parts (NotImplemented, or an unknown request).
            Err(_) => return Ok(Proof::Unproven("the store lists no SHA-256 of its parts")),
        };
        let Some(listed) = got.object_parts() else {
            return Ok(Proof::Unproven("the store lists no SHA-256 of its parts"));
        };
        for part in listed.parts() {
            let (Some(size), Some(digest)) = (part.size(), part.checksum_sha256().and_then(from_base64))
            else {
                return Ok(Proof::Unproven("a part of it has no SHA-256 checksum"));
            };
            parts.push((size.max(0) as u64, digest));
        }
        if !listed.is_truncated().unwrap_or(false) {
            break;
        }
        marker = listed.next_part_number_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let total: u64 = parts.iter().map(|(s, _)| s).sum();
    if parts.is_empty()
        || total != size
        || !same_composite(&composite(parts.iter().map(|(_, d)| *d)), composite_checksum)
    {
        return Ok(Proof::Unproven("its parts' SHA-256s do not make its checksum"));
    }
    Ok(Proof::Parts(parts))
}

/// The object read back and hashed (`--existing rehash`); its length must be `size`.
async fn read_back(client: &Client, bucket: &str, key: &str, size: u64) -> Result<Proof, Error> {
    let got = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| from_sdk(e, bucket, key, "GetObject"))?;
    let mut body = got.body;
    let mut hasher = Sha256Hasher::new();
    let mut read = 0u64;
    while let Some(chunk) = body.try_next().await.map_err(|e| Error::Service {
        bucket: bucket.to_string(),
        key: key.to_string(),
        operation: "GetObject".into(),
        detail: e.to_string(),
    })? {
        read += chunk.len() as u64;
        hasher.update(&chunk);
    }
    if read != size {
        return Ok(Proof::Unproven("it changed while it was read back"));
    }
    Ok(Proof::ReadBack(hasher.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_checksum_is_the_sha256_of_the_part_digests() {
        // Two parts "a" and "b": SHA-256(SHA-256("a") || SHA-256("b")), then "-2".
        let (a, b) = (Sha256::of(b"a"), Sha256::of(b"b"));
        let mut both = a.0.to_vec();
        both.extend(b.0);
        assert_eq!(composite([a, b]), format!("{}-2", to_base64(Sha256::of(&both).0)));
    }

    #[test]
    fn composite_checksums_compare_with_or_without_the_part_count() {
        assert!(same_composite("abc=-2", "abc=-2"));
        assert!(same_composite("abc=-2", "abc="));
        assert!(!same_composite("abc=-2", "abc=-3"));
        assert!(!same_composite("abc=-2", "abd=-2"));
    }

    #[test]
    fn parts_are_compared_over_their_own_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello world").unwrap();
        let part = |b: &[u8]| (b.len() as u64, Sha256::of(b));
        assert!(parts_match(&path, &[part(b"hello "), part(b"world")]).unwrap());
        assert!(!parts_match(&path, &[part(b"hello"), part(b" world!")]).unwrap());
        assert!(!parts_match(&path, &[part(b"hello "), part(b"worle")]).unwrap());
        // Parts shorter than the file: not the file.
        assert!(!parts_match(&path, &[part(b"hello ")]).unwrap());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b.tar.asc"), "application/pgp-signature");
        assert_eq!(content_type("manifest.json"), "application/json");
        assert_eq!(content_type("SHA256SUMS"), "text/plain; charset=utf-8");
        assert_eq!(content_type("x.unknownext"), "application/octet-stream");
    }

    #[test]
    fn base64_round_trip() {
        let d = Sha256::of(b"x");
        assert_eq!(from_base64(&to_base64(d.0)), Some(d));
    }
}
