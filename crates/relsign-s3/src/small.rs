//! Small objects read and written whole, with the conditions that make a read-decide-write
//! safe against another writer: the release pointer and its signature (`copier --promote`).
//! A write names what it read (If-Match on its ETag, If-None-Match: * where nothing was), so
//! a writer that lost the race learns it and can read and decide again.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_sdk_s3::Client;
use relsign_pgp::Sha256;

use crate::error::{from_sdk, is_precondition_failure};
use crate::object::to_base64;
use crate::Error;

/// An object as read: its bytes and the ETag a conditional write names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallObject {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// Reads `key` whole, refusing more than `cap` bytes; `None` when there is no such object.
pub async fn read_small(
    client: &Client,
    bucket: &str,
    key: &str,
    cap: u64,
) -> Result<Option<SmallObject>, Error> {
    let got = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(got) => got,
        Err(e) if e.as_service_error().is_some_and(|se| se.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(from_sdk(e, bucket, key, "GetObject")),
    };
    let service = |detail: String| Error::Service {
        bucket: bucket.to_string(),
        key: key.to_string(),
        operation: "GetObject".into(),
        detail,
    };
    if got.content_length().unwrap_or(0) as u64 > cap {
        return Err(service(format!("it holds more than {cap} bytes, which no release pointer does")));
    }
    let etag = got.e_tag().map(str::to_string).ok_or_else(|| service("the answer has no ETag".into()))?;
    let bytes = got.body.collect().await.map_err(|e| service(e.to_string()))?.into_bytes().to_vec();
    Ok(Some(SmallObject { bytes, etag }))
}

/// Writes `bytes` to `key` only over the object whose ETag is `over` (If-Match), or only
/// where none is when `over` is `None` (If-None-Match: *). `Ok(None)`: the condition did
/// not hold, another writer came between; else the new ETag.
pub async fn write_small_over(
    client: &Client,
    bucket: &str,
    key: &str,
    bytes: &[u8],
    content_type: &str,
    over: Option<&str>,
) -> Result<Option<String>, Error> {
    let sent = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .metadata(crate::object::SHA256_METADATA, Sha256::of(bytes).to_string())
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(to_base64(Sha256::of(bytes).0))
        .set_if_match(over.map(str::to_string))
        .set_if_none_match(over.is_none().then(|| "*".to_string()))
        .body(ByteStream::from(bytes.to_vec()))
        .send()
        .await;
    match sent {
        Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
        Err(e) if is_precondition_failure(&e) => Ok(None),
        Err(e) => Err(from_sdk(e, bucket, key, "PutObject")),
    }
}
