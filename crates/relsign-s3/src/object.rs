//! What S3 keeps of an object and how relsign proves an object is a local file: the SHA-256
//! S3 verified on a single PUT, the full-object CRC64NVME of a multipart upload, the
//! `sha256` metadata copier writes (a claim, not a proof), the MD5 an ETag may be, and the
//! settings every new object carries.

use std::io::Read;
use std::path::Path;

use aws_sdk_s3::types::ChecksumMode;
use aws_sdk_s3::Client;
use base64::Engine;
use relsign_pgp::Sha256;

use crate::error::from_sdk;
use crate::{Destination, Error, LocalFile};

/// The metadata key holding the object's SHA-256 (hex).
pub(crate) const SHA256_METADATA: &str = "sha256";

/// An object already at the destination, as S3 describes it.
#[derive(Debug, Clone, Default)]
pub struct RemoteObject {
    pub size: u64,
    pub etag: Option<String>,
    /// The full-object SHA-256 S3 verified when the object was written whole.
    pub checksum_sha256: Option<Sha256>,
    /// The full-object CRC64NVME S3 computed for a multipart object (base64).
    pub checksum_crc64nvme: Option<String>,
    /// The `sha256` metadata copier writes: a claim, not a proof.
    pub metadata_sha256: Option<Sha256>,
    /// The listing's ETag is the MD5 S3 computed of the object and it equals the local
    /// file's: the object is the file, with no HeadObject needed.
    pub etag_is_local_md5: bool,
}

/// Whether `remote` holds exactly `file`, judged by what S3 verified: the SHA-256 of a
/// single PUT, else the CRC64NVME of a multipart object together with the SHA-256 claimed
/// in its metadata. Err says why it cannot be taken as identical.
pub(crate) fn same_object(file: &LocalFile, remote: &RemoteObject) -> Result<(), &'static str> {
    if remote.size != file.size {
        return Err("another size");
    }
    if remote.etag_is_local_md5 {
        return Ok(());
    }
    if let Some(verified) = remote.checksum_sha256 {
        if remote.metadata_sha256.is_some_and(|m| m != verified) {
            return Err("its sha256 metadata disagrees with the SHA-256 S3 verified");
        }
        return if verified == file.sha256 { Ok(()) } else { Err("other bytes") };
    }
    let Some(crc) = &remote.checksum_crc64nvme else {
        return Err("S3 holds no checksum it verified for it");
    };
    if remote.metadata_sha256 != Some(file.sha256) {
        return Err("other bytes");
    }
    match crc64nvme_file(&file.path) {
        Ok(local) if local == *crc => Ok(()),
        Ok(_) => Err("its CRC64NVME (verified by S3) is not the local file's: its sha256 metadata is wrong"),
        Err(_) => Err("the local file cannot be read to compare"),
    }
}

/// The MD5 an ETag holds when it is one: 32 hex digits, no part count (multipart) suffix.
pub(crate) fn plain_md5(etag: &str) -> Option<[u8; 16]> {
    let hex = etag.trim_matches('"');
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

pub(crate) fn md5_file(path: &Path) -> std::io::Result<[u8; 16]> {
    use md5::Digest;
    use std::io::Read;
    let mut file = relsign_pgp::open_regular(path)?;
    let mut hasher = md5::Md5::new();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize().into());
        }
        hasher.update(&buf[..n]);
    }
}

pub(crate) fn to_base64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn from_base64(s: &str) -> Option<Sha256> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(Sha256(arr))
}

/// What every new object carries, on a PutObject or a CreateMultipartUpload (the two
/// builders share these setters but no trait): content type, the SHA-256 metadata that
/// makes re-runs idempotent, encryption, storage class, ACL and Object Lock retention.
macro_rules! object_settings {
    ($request:expr, $job:expr, $digest:expr) => {
        $request
            .content_type(content_type(&$job.file.file.name))
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

/// Every object under the prefix: its size and ETag.
pub(crate) async fn list_etags(
    client: &Client,
    dest: &Destination,
) -> Result<std::collections::HashMap<String, (u64, Option<String>)>, Error> {
    let mut present = std::collections::HashMap::new();
    let mut pages =
        client.list_objects_v2().bucket(&dest.bucket).prefix(&dest.prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(e, &dest.bucket, &dest.prefix, "ListObjectsV2"))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            let size = object.size().unwrap_or(0).max(0) as u64;
            present.insert(key.to_string(), (size, object.e_tag().map(str::to_string)));
        }
    }
    Ok(present)
}

/// What S3 says of one object (None when there is none).
pub(crate) async fn head(client: &Client, bucket: &str, key: &str) -> Result<Option<RemoteObject>, Error> {
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
    let full = |c: &&str| !c.contains('-');
    Ok(Some(RemoteObject {
        size: head.content_length().unwrap_or(0).max(0) as u64,
        etag: head.e_tag().map(str::to_string),
        checksum_sha256: head.checksum_sha256().filter(full).and_then(from_base64),
        checksum_crc64nvme: head.checksum_crc64_nvme().filter(full).map(str::to_string),
        metadata_sha256: head.metadata().and_then(|m| m.get(SHA256_METADATA)).and_then(|h| h.parse().ok()),
        etag_is_local_md5: false,
    }))
}

/// The CRC64NVME of `bytes`, base64 as S3 encodes it. Parts carry a CRC64NVME, not a
/// SHA-256: S3 checks it against the bytes it receives just as well, at a fraction of the
/// cost, and combines the parts' into the whole object's, which it keeps. The file's
/// SHA-256, which the signature covers, is computed from the very bytes sent (`whole`).
pub(crate) fn crc64nvme(bytes: &[u8]) -> String {
    let mut crc = aws_smithy_checksums::ChecksumAlgorithm::Crc64Nvme.into_impl();
    crc.update(bytes);
    to_base64(crc.finalize())
}

/// The CRC64NVME of a whole file, base64, to compare with what S3 holds for a multipart
/// object.
pub(crate) fn crc64nvme_file(path: &Path) -> std::io::Result<String> {
    let mut file = relsign_pgp::open_regular(path)?;
    let mut crc = aws_smithy_checksums::ChecksumAlgorithm::Crc64Nvme.into_impl();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(to_base64(crc.finalize()));
        }
        crc.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_checksums_are_crc64nvme_big_endian() {
        // The check value of CRC-64/NVME for "123456789" (the CRC catalogue's).
        assert_eq!(crc64nvme(b"123456789"), to_base64(0xAE8B_1486_0A79_9888u64.to_be_bytes()));
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
