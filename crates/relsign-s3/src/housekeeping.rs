//! The destination's housekeeping: multipart uploads a stopped run leaves open (its own,
//! aborted on SIGINT/SIGTERM; an earlier killed run's, aborted before a re-run), and the
//! preflight that proves the copy role may list and write without writing an object.

use std::sync::Arc;

use aws_sdk_s3::Client;

use crate::error::from_sdk;
use crate::{Destination, Error};

/// The multipart uploads this run has started and not yet completed or aborted: what a
/// stopped run aborts before it exits.
#[derive(Clone, Default)]
pub struct Inflight(Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>);

impl Inflight {
    pub(crate) fn add(&self, upload_id: &str, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(upload_id.to_string(), key.to_string());
    }

    pub(crate) fn remove(&self, upload_id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(upload_id);
    }

    /// Aborts every upload still open; returns how many were aborted.
    pub async fn abort_all(&self, client: &Client, bucket: &str) -> usize {
        let open: Vec<(String, String)> = self.0.lock().unwrap_or_else(|e| e.into_inner()).drain().collect();
        let mut aborted = 0;
        for (id, key) in open {
            if abort(client, bucket, &key, &id).await.is_ok() {
                aborted += 1;
            }
        }
        aborted
    }
}

/// Aborts one multipart upload; one already gone (completed or aborted by another run)
/// is what was wanted.
pub(crate) async fn abort(client: &Client, bucket: &str, key: &str, upload_id: &str) -> Result<(), Error> {
    match client.abort_multipart_upload().bucket(bucket).key(key).upload_id(upload_id).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NoSuchUpload") => Ok(()),
        Err(e) => Err(from_sdk(e, bucket, key, "AbortMultipartUpload")),
    }
}

/// Aborts the multipart uploads left under the destination by an earlier run that was
/// killed, for the keys this release writes only: other releases' uploads under a shared
/// prefix (or a whole bucket) are not this run's to touch. Returns how many.
pub async fn abort_stale_uploads(
    client: &Client,
    dest: &Destination,
    keys: &std::collections::HashSet<String>,
) -> Result<usize, Error> {
    let mut aborted = 0;
    let (mut key_marker, mut id_marker) = (None::<String>, None::<String>);
    // Bounded: S3 lists at most 1000 uploads a page.
    for _ in 0..10_000 {
        let listed = client
            .list_multipart_uploads()
            .bucket(&dest.bucket)
            .prefix(&dest.prefix)
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(id_marker.take())
            .send()
            .await;
        let listed = match listed {
            Ok(listed) => listed,
            // Some S3-compatible servers (s3s-fs among them) cannot list uploads: nothing to
            // clean up that we could see.
            Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NotImplemented") => {
                return Ok(aborted)
            }
            Err(e) => return Err(from_sdk(e, &dest.bucket, &dest.prefix, "ListMultipartUploads")),
        };
        for upload in listed.uploads() {
            let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else { continue };
            if keys.contains(key) {
                abort(client, &dest.bucket, key, id).await?;
                aborted += 1;
            }
        }
        if !listed.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = listed.next_key_marker().map(str::to_string);
        id_marker = listed.next_upload_id_marker().map(str::to_string);
        if key_marker.is_none() {
            break;
        }
    }
    Ok(aborted)
}

/// Whether the bucket has S3 Object Lock enabled (GetObjectLockConfiguration; a bucket without
/// one answers ObjectLockConfigurationNotFoundError).
pub async fn object_lock_enabled(client: &Client, bucket: &str) -> Result<bool, Error> {
    match client.get_object_lock_configuration().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .object_lock_configuration()
            .and_then(|c| c.object_lock_enabled())
            .is_some_and(|e| *e == aws_sdk_s3::types::ObjectLockEnabled::Enabled)),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("ObjectLockConfigurationNotFoundError") =>
        {
            Ok(false)
        }
        Err(e) => Err(from_sdk(e, bucket, "", "GetObjectLockConfiguration")),
    }
}

/// Refuses a bucket without Object Lock: S3 refuses lock headers there.
pub async fn require_object_lock(client: &Client, bucket: &str) -> Result<(), Error> {
    if object_lock_enabled(client, bucket).await? {
        Ok(())
    } else {
        Err(Error::NoObjectLock { bucket: bucket.to_string() })
    }
}

/// What the preflight found at a destination.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// Objects already under the prefix (the first page of a listing: at most 1000).
    pub existing: usize,
    pub more: bool,
}

/// Checks that `dest` can be listed and written without writing an object: a multipart
/// upload is started under the prefix and aborted (both rights the copy role has; an
/// object put there could not be deleted by it).
pub async fn preflight(client: &Client, dest: &Destination) -> Result<Preflight, Error> {
    let listed = client
        .list_objects_v2()
        .bucket(&dest.bucket)
        .prefix(&dest.prefix)
        .max_keys(1000)
        .send()
        .await
        .map_err(|e| from_sdk(e, &dest.bucket, &dest.prefix, "ListObjectsV2"))?;
    let key = dest.key(".relsign-check");
    let created = client
        .create_multipart_upload()
        .bucket(&dest.bucket)
        .key(&key)
        .send()
        .await
        .map_err(|e| from_sdk(e, &dest.bucket, &key, "CreateMultipartUpload"))?;
    if let Some(id) = created.upload_id() {
        client
            .abort_multipart_upload()
            .bucket(&dest.bucket)
            .key(&key)
            .upload_id(id)
            .send()
            .await
            .map_err(|e| from_sdk(e, &dest.bucket, &key, "AbortMultipartUpload"))?;
    }
    Ok(Preflight {
        existing: listed.key_count().unwrap_or(0).max(0) as usize,
        more: listed.is_truncated().unwrap_or(false),
    })
}
