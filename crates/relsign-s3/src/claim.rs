//! The claim and the seal, kept truthful. `SHA256SUMS`, written first, claims the prefix for
//! one signing; it carries a lease (who claimed it, for how long, in its metadata; when, by
//! S3's LastModified), renewed while the run lives, so that a claim left unsealed by a dead
//! run is taken over by the next run once the lease has run out, while a live run still
//! wins. `SHA256SUMS.asc`, written last, seals the release; replacing a sealed release first
//! voids the seal with a conditional write (If-Match on its ETag), so that no moment shows
//! the old seal over new files.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_sdk_s3::Client;
use relsign_pgp::Sha256;

use crate::error::{from_sdk, is_precondition_failure};
use crate::object::to_base64;
use crate::{Error, RemoteObject};

/// Metadata of the claim: who made it (the CodeBuild build id, or the host and process).
pub(crate) const CLAIMANT_METADATA: &str = "relsign-claimant";
/// Metadata of the claim: the lease, in seconds from its LastModified.
pub(crate) const LEASE_METADATA: &str = "relsign-lease-seconds";

/// This run's claim: who it is and how long its lease lasts between renewals.
#[derive(Debug, Clone)]
pub struct Claimant {
    pub id: String,
    pub lease: Duration,
}

impl Claimant {
    /// This run: `CODEBUILD_BUILD_ID` in CodeBuild, else the host and process id.
    pub fn this_run(lease: Duration) -> Claimant {
        let id = std::env::var("CODEBUILD_BUILD_ID").ok().filter(|v| !v.is_empty()).unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            format!("{} pid {}", host.trim(), std::process::id())
        });
        Claimant { id, lease }
    }
}

/// What a claim found at the destination says of itself.
#[derive(Debug, Clone)]
pub(crate) struct Leftover {
    pub claimant: String,
    pub claimed: Option<SystemTime>,
    pub expires: Option<SystemTime>,
}

impl Leftover {
    /// The claim of `object` (the remote SHA256SUMS); a claim without a lease (an older
    /// copier's) is given `default_lease`.
    pub(crate) fn of(object: &RemoteObject, default_lease: Duration) -> Leftover {
        let lease = object
            .metadata
            .get(LEASE_METADATA)
            .and_then(|s| s.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(default_lease);
        Leftover {
            claimant: object
                .metadata
                .get(CLAIMANT_METADATA)
                .cloned()
                .unwrap_or_else(|| "an unknown run".into()),
            claimed: object.last_modified,
            expires: object.last_modified.map(|t| t + lease),
        }
    }

    /// Whether its lease has run out (by this machine's clock against S3's).
    pub(crate) fn expired(&self) -> bool {
        self.expires.is_some_and(|e| SystemTime::now() > e)
    }
}

pub(crate) fn when(t: Option<SystemTime>) -> String {
    t.map(|t| humantime::format_rfc3339_seconds(t).to_string()).unwrap_or_else(|| "at an unknown time".into())
}

/// The claim's lease, kept alive while the run works: `SHA256SUMS` written again, the same
/// bytes and metadata, only over the object this run wrote (If-Match), every third of the
/// lease. A renewal refused by its condition means another run took the prefix over: the
/// run is told (`lost`) and must not seal.
pub(crate) struct Renewal {
    task: tokio::task::JoinHandle<()>,
    pub(crate) etag: Arc<Mutex<Option<String>>>,
    pub(crate) lost: Arc<AtomicBool>,
}

pub(crate) struct ClaimObject {
    pub client: Client,
    pub bucket: String,
    pub key: String,
    pub bytes: Vec<u8>,
    pub sha256: Sha256,
    pub content_type: String,
    pub claimant: Claimant,
}

impl ClaimObject {
    /// PutObject of the claim with its lease, only over the object `etag` (If-Match).
    async fn renew(&self, etag: &str) -> Result<Option<String>, Error> {
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type(&self.content_type)
            .metadata(crate::object::SHA256_METADATA, self.sha256.to_string())
            .metadata(CLAIMANT_METADATA, &self.claimant.id)
            .metadata(LEASE_METADATA, self.claimant.lease.as_secs().to_string())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(to_base64(self.sha256.0))
            .if_match(etag)
            .body(ByteStream::from(self.bytes.clone()));
        match request.send().await {
            Ok(out) => Ok(out.e_tag().map(str::to_string)),
            Err(e) if is_precondition_failure(&e) => {
                Err(Error::TakenOver { bucket: self.bucket.clone(), key: self.key.clone() })
            }
            Err(e) => Err(from_sdk(e, &self.bucket, &self.key, "PutObject")),
        }
    }
}

impl Renewal {
    pub(crate) fn start(claim: ClaimObject, etag: String) -> Renewal {
        let etag = Arc::new(Mutex::new(Some(etag)));
        let lost = Arc::new(AtomicBool::new(false));
        let (shared, lost2) = (etag.clone(), lost.clone());
        let every = (claim.claimant.lease / 3).max(Duration::from_millis(200));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let current = shared.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default();
                match claim.renew(&current).await {
                    // A server that answers no ETag: the last one stands.
                    Ok(Some(new)) => *shared.lock().unwrap_or_else(|e| e.into_inner()) = Some(new),
                    Ok(None) => {}
                    Err(Error::TakenOver { .. }) => {
                        lost2.store(true, Ordering::SeqCst);
                        return;
                    }
                    // A failed renewal is tried again; the lease says how long it may fail.
                    Err(e) => tracing::warn!("the claim's lease was not renewed: {e}"),
                }
            }
        });
        Renewal { task, etag, lost }
    }

    /// The claim's ETag as last renewed, or Err if another run took it over.
    pub(crate) fn current(&self, bucket: &str, key: &str) -> Result<Option<String>, Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::TakenOver { bucket: bucket.to_string(), key: key.to_string() });
        }
        Ok(self.etag.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Stops renewing; the claim's ETag as last written, or Err if another run took it.
    pub(crate) async fn stop(mut self, bucket: &str, key: &str) -> Result<Option<String>, Error> {
        self.task.abort();
        let _ = (&mut self.task).await;
        if self.lost.load(Ordering::SeqCst) {
            return Err(Error::TakenOver { bucket: bucket.to_string(), key: key.to_string() });
        }
        Ok(self.etag.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

impl Drop for Renewal {
    /// A run that fails stops renewing: its claim's lease then runs out.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a void seal holds: not a signature, so no verifier accepts it over any list.
const VOID: &[u8] = b"This release is being replaced; SHA256SUMS.asc is written again once it is complete.\n";

/// Voids the seal `key` with a text that is no signature: over the seal the plan saw (`over`,
/// its ETag: a sealed release about to be replaced), or where there is none (a dead run's
/// claim taken over: its late seal can then never land). Returns the void object's ETag,
/// which the new seal must then replace.
pub(crate) async fn void_seal(
    client: &Client,
    bucket: &str,
    key: &str,
    over: Option<&str>,
) -> Result<Option<String>, Error> {
    let sent =
        crate::small::write_small_over(client, bucket, key, VOID, "text/plain; charset=utf-8", over).await;
    match sent {
        Ok(Some(etag)) => Ok(Some(etag)),
        Ok(None) => Err(Error::Raced {
            bucket: bucket.to_string(),
            key: key.to_string(),
            operation: "PutObject (voiding the seal)".into(),
        }),
        // Refused by policy: the bucket keeps what it published (write-once).
        Err(Error::AccessDenied { bucket, key, .. }) => Err(Error::WriteOnce { bucket, key }),
        Err(other) => Err(other),
    }
}
