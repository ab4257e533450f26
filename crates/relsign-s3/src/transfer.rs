//! The transfer engine: bounded concurrency across files and parts, one phase at a time,
//! each file whole or in parts as `schedule` decides for the release, a SHA-256 S3
//! verifies on every request (of the whole object on a PUT, of each part of a multipart
//! upload, which S3 keeps and combines into the object's composite checksum), multipart
//! uploads aborted on any failure, and writes that cannot
//! race: a new object is written only if none is there (`If-None-Match: *`), a replacement
//! only over the object planned against (`If-Match`).

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart, ObjectCannedAcl,
    ServerSideEncryption, StorageClass,
};
use aws_sdk_s3::Client;
use relsign_pgp::{Sha256, Sha256Hasher};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use crate::claim::{void_seal, ClaimObject, Claimant, Renewal, CLAIMANT_METADATA, LEASE_METADATA};
use crate::error::{from_sdk, is_precondition_failure};
use crate::housekeeping::{abort, Inflight};
use crate::object::{
    composite, content_type, head, list_etags, object_settings, same_composite, same_object, to_base64,
    Existing, SHA256_METADATA,
};
use crate::schedule::{schedule, Shape};
use crate::{Action, Error, Phase, Plan, PlannedFile};

/// S3 allows at most this many parts per upload.
const MAX_PARTS: u64 = 10_000;
/// And at least this much in every part but the last.
const MIN_PART: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Transfers (parts, and whole objects larger than `SMALL`) in flight at once; also
    /// bounds memory to about `jobs × part_size` (whole objects stream from disk, parts are
    /// read into memory).
    pub jobs: usize,
    /// Small requests (whole objects of at most `SMALL` bytes, HeadObjects) in flight at
    /// once, beside the transfers: such a request's time is the server's first-byte wait
    /// (about 100 ms on S3), not bytes, so connections kept waiting on it are cheap, and
    /// 20,000 small files at `jobs` at a time would be 20,000 waits over 8 connections.
    pub requests: usize,
    /// Files at least this large always go in parts; smaller ones as `schedule` decides.
    pub multipart_threshold: u64,
    pub part_size: u64,
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub storage_class: Option<String>,
    pub acl: Option<String>,
    /// S3 Object Lock retention set on every object written (the bucket must have Object Lock).
    pub object_lock: Option<ObjectLock>,
    /// Who this run is and its claim's lease, recorded with the claim and renewed while the
    /// run lives (none: a claim without a lease).
    pub claimant: Option<Claimant>,
}

/// A retention: its mode (GOVERNANCE or COMPLIANCE) and the date until which each object
/// written keeps it, one date for the whole run.
#[derive(Debug, Clone)]
pub struct ObjectLock {
    pub mode: String,
    pub retain_until: std::time::SystemTime,
}

/// What the caller shows while uploading.
pub trait Progress: Send + Sync {
    fn bytes_sent(&self, bytes: u64);
    fn file_done(&self, done: &Uploaded);
}

/// One file's outcome.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub name: String,
    pub key: String,
    pub size: u64,
    pub sha256: Sha256,
    pub action: Action,
    /// 0 for a single PUT or a skipped file.
    pub parts: usize,
    /// The object's ETag as S3 returned it (or as planned, for a skipped file).
    pub etag: Option<String>,
}

/// The part size for a file of `size` bytes: at least `wanted` and 5 MiB, grown (to whole
/// MiB) so that 10,000 parts always suffice.
pub fn part_size_for(size: u64, wanted: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    wanted.max(MIN_PART).max(needed)
}

struct Job {
    client: Client,
    bucket: String,
    file: PlannedFile,
    opts: UploadOptions,
    permits: Arc<Semaphore>,
    cancel: Arc<AtomicBool>,
    progress: Arc<dyn Progress>,
    inflight: Inflight,
}

/// The waves of an upload, each waiting for the one before: the checksum list alone (it
/// claims the prefix for this signing), then the artifacts, their signatures and the
/// manifest together (largest first; none of them means anything before the seal, and on
/// S3 every wave boundary is a first-byte wait and a tail of idle connections), then,
/// once every object of the release is confirmed in place, the list's signature, which
/// seals it.
const WAVES: [&[Phase]; 3] =
    [&[Phase::Claim], &[Phase::Artifact, Phase::Signature, Phase::Metadata], &[Phase::Seal]];

/// Uploads the plan wave by wave (`WAVES`). After the first failure no new request
/// starts; the error is returned once every request in flight has finished (or been
/// aborted).
pub async fn execute(
    client: &Client,
    plan: &Plan,
    opts: &UploadOptions,
    progress: Arc<dyn Progress>,
    inflight: &Inflight,
) -> Result<Vec<Uploaded>, Error> {
    let permits = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let small = Arc::new(Semaphore::new(opts.requests.max(1)));
    let cancel = Arc::new(AtomicBool::new(false));
    let mut done = Vec::new();
    // The confirmation guards the seal this run writes: a folder without a signed checksum
    // list has no seal, and a re-run that finds the seal already in place writes none, so
    // neither could wrongly mark a release complete (on a server whose listing has no ETags,
    // each object confirmed is a HeadObject: 40,000 for nothing on a re-run of a release of
    // 20,000 files, whose plan has just proved each object by its SHA-256).
    let sealing = plan.files.iter().any(|p| p.local.phase == Phase::Seal && p.action != Action::Skip);
    // Replacing a sealed release: its seal is voided first (over its ETag), so that no moment
    // shows the old seal over new files. Taking over a dead run's claim: a void seal is put
    // where none is, so that a late seal of that run (If-None-Match) can never land over
    // this run's files. The new seal then replaces the void one.
    let mut void = None;
    if let Some(seal) = plan.files.iter().find(|p| p.local.phase == Phase::Seal) {
        let over = match (seal.action, &seal.etag) {
            (Action::Replace, Some(etag)) => Some(Some(etag.as_str())),
            (Action::Upload, _) if plan.takeover => Some(None),
            _ => None,
        };
        if let Some(over) = over {
            void = Some(void_seal(client, &plan.destination.bucket, &seal.key, over).await?);
            tracing::info!("voided s3://{}/{} before publishing over it", plan.destination.bucket, seal.key);
        }
    }
    let claim_key = plan.destination.key(relsign_pgp::SUMS_NAME);
    let mut renewal: Option<Renewal> = None;
    for wave in WAVES {
        if wave.contains(&Phase::Artifact) {
            renewal = renew_claim(client, plan, opts, &done).await?;
        }
        if wave.contains(&Phase::Seal) && sealing {
            // The lease is renewed until the seal is written; the claim as last renewed is
            // what must still be there.
            if let Some(renewal) = &renewal {
                let etag = renewal.current(&plan.destination.bucket, &claim_key)?;
                if let (Some(claim), Some(etag)) = (done.iter_mut().find(|u| u.key == claim_key), etag) {
                    claim.etag = Some(etag);
                }
            }
            confirm_in_place(client, plan, &done, opts.requests).await?;
        }
        let mut set = JoinSet::new();
        let mut pending = Vec::new();
        for planned in plan.files.iter().filter(|p| wave.contains(&p.local.phase)) {
            if planned.action == Action::Skip {
                let skipped = skipped(planned, planned.etag.clone());
                progress.file_done(&skipped);
                done.push(skipped);
            } else if let (Phase::Seal, Some(void)) = (planned.local.phase, &void) {
                let mut seal = planned.clone();
                (seal.action, seal.etag) = (Action::Replace, void.clone());
                pending.push(std::borrow::Cow::Owned(seal));
            } else {
                pending.push(std::borrow::Cow::Borrowed(planned));
            }
        }
        let mut first_error = None;
        let sizes: Vec<u64> = pending.iter().map(|p| p.local.size).collect();
        for (i, shape) in schedule(&sizes, opts.jobs, opts.part_size, opts.multipart_threshold) {
            let job = Job {
                client: client.clone(),
                bucket: plan.destination.bucket.clone(),
                file: pending[i].clone().into_owned(),
                opts: opts.clone(),
                permits: permits.clone(),
                cancel: cancel.clone(),
                progress: progress.clone(),
                inflight: inflight.clone(),
            };
            match shape {
                // The permit taken here, in the schedule's order: the largest files start first.
                Shape::Whole => {
                    let limit = if job.file.local.size <= SMALL { &small } else { &permits };
                    let permit = limit.clone().acquire_owned().await.expect("semaphore open");
                    set.spawn(async move { single(&job, permit).await });
                }
                Shape::Parts => {
                    set.spawn(async move { multipart(&job).await });
                }
            }
            while let Some(joined) = set.try_join_next() {
                settle(joined, &mut done, &mut first_error, &cancel, &*progress);
            }
            if first_error.is_some() {
                break;
            }
        }
        while let Some(joined) = set.join_next().await {
            settle(joined, &mut done, &mut first_error, &cancel, &*progress);
        }
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    if let Some(renewal) = renewal {
        renewal.stop(&plan.destination.bucket, &claim_key).await?;
    }
    Ok(done)
}

/// Starts renewing the claim's lease when this run wrote the claim and has a lease.
async fn renew_claim(
    client: &Client,
    plan: &Plan,
    opts: &UploadOptions,
    done: &[Uploaded],
) -> Result<Option<Renewal>, Error> {
    let Some(claimant) = &opts.claimant else { return Ok(None) };
    let Some(written) = done.iter().find(|u| u.name == relsign_pgp::SUMS_NAME && u.action != Action::Skip)
    else {
        return Ok(None);
    };
    let Some(file) = plan.files.iter().find(|p| p.key == written.key) else { return Ok(None) };
    let claim = ClaimObject {
        client: client.clone(),
        bucket: plan.destination.bucket.clone(),
        key: written.key.clone(),
        bytes: read_small(&file.local).await?,
        sha256: file.local.sha256,
        content_type: content_type(&file.local.name),
        claimant: claimant.clone(),
    };
    // Renewed only over the object this run wrote (If-Match): without its ETag, not at all.
    let Some(etag) = written.etag.clone() else { return Ok(None) };
    Ok(Some(Renewal::start(claim, etag)))
}

/// One finished upload: recorded, or its error kept (the first) and no new request started.
fn settle(
    joined: Result<Result<Uploaded, Error>, tokio::task::JoinError>,
    done: &mut Vec<Uploaded>,
    first_error: &mut Option<Error>,
    cancel: &AtomicBool,
    progress: &dyn Progress,
) {
    match joined {
        Ok(Ok(up)) => {
            progress.file_done(&up);
            done.push(up);
        }
        Ok(Err(e)) => {
            cancel.store(true, Ordering::SeqCst);
            first_error.get_or_insert(e);
        }
        Err(panic) => {
            cancel.store(true, Ordering::SeqCst);
            first_error.get_or_insert(Error::Internal { detail: format!("upload task failed: {panic}") });
        }
    }
}

fn skipped(planned: &PlannedFile, etag: Option<String>) -> Uploaded {
    Uploaded {
        name: planned.local.name.clone(),
        key: planned.key.clone(),
        size: planned.local.size,
        sha256: planned.local.sha256,
        action: Action::Skip,
        parts: 0,
        etag,
    }
}

/// Before the seal: every other object of the release must be under the prefix, still the
/// object this run wrote or found identical (same ETag). A concurrent `--overwrite` or a
/// hand edit since then stops the run before it marks the release complete. The listing
/// carries the ETags on S3; a server whose listing has none (s3s-fs) is asked object by
/// object, `requests` at a time: one after the other, each HeadObject's first-byte wait would
/// add up before the seal.
async fn confirm_in_place(
    client: &Client,
    plan: &Plan,
    done: &[Uploaded],
    requests: usize,
) -> Result<(), Error> {
    let ours: std::collections::HashSet<&str> = done.iter().map(|u| u.key.as_str()).collect();
    let listed = list_etags(client, &plan.destination, |k| ours.contains(k)).await?;
    let limit = requests.max(1);
    let mut heads = JoinSet::new();
    for (i, up) in done.iter().enumerate() {
        let listed_etag = match listed.get(&up.key) {
            None => None,
            Some(Some(etag)) => Some(etag.clone()),
            Some(None) => {
                // At most `requests` in hand at once: each holds a request's state.
                while heads.len() >= limit {
                    if let Some(joined) = heads.join_next().await {
                        let (now, i) = joined.map_err(|e| Error::Internal { detail: e.to_string() })??;
                        unchanged(plan, now, &done[i])?;
                    }
                }
                let (client, bucket, key) = (client.clone(), plan.destination.bucket.clone(), up.key.clone());
                heads.spawn(async move {
                    let now = head(&client, &bucket, &key, Existing::Refuse).await?;
                    Ok::<_, Error>((now.map(|o| o.etag.unwrap_or_default()), i))
                });
                continue;
            }
        };
        unchanged(plan, listed_etag, up)?;
    }
    while let Some(joined) = heads.join_next().await {
        let (now, i) = joined.map_err(|e| Error::Internal { detail: e.to_string() })??;
        unchanged(plan, now, &done[i])?;
    }
    Ok(())
}

/// The object at `up`'s key, by its ETag `now`, must be the one this run wrote or found.
fn unchanged(plan: &Plan, now: Option<String>, up: &Uploaded) -> Result<(), Error> {
    let same = match (now, up.etag.as_deref()) {
        (None, _) => false,
        (Some(now), Some(ours)) => now.trim_matches('"') == ours.trim_matches('"'),
        // A server that returned no ETag on upload: presence is all that can be checked.
        (Some(_), None) => true,
    };
    if same {
        Ok(())
    } else {
        Err(Error::NotSealed { bucket: plan.destination.bucket.clone(), key: up.key.clone() })
    }
}

/// A conditional write refused (412, or 409 for a conflicting concurrent write): another
/// run wrote the key since the plan. If what is there now is this very file (the same
/// release published by two runs at once), that is as good as having written it;
/// otherwise the run stops before it can seal a mixed release.
async fn lost_race(job: &Job, operation: &str) -> Result<Uploaded, Error> {
    let there = head(&job.client, &job.bucket, &job.file.key, Existing::Refuse).await?;
    if job.file.action == Action::Upload {
        if let Some(there) = there.filter(|o| same_object(&job.file.local, o).is_ok()) {
            return Ok(skipped(&job.file, there.etag));
        }
    }
    let (bucket, key) = (job.bucket.clone(), job.file.key.clone());
    Err(if job.file.local.phase == Phase::Claim {
        Error::Claimed { bucket, key }
    } else {
        Error::Raced { bucket, key, operation: operation.to_string() }
    })
}

fn read_error(job: &Job, e: std::io::Error) -> Error {
    Error::Read { path: job.file.local.path.clone(), detail: e.to_string() }
}

fn cancelled(job: &Job) -> Error {
    Error::Service {
        bucket: job.bucket.clone(),
        key: job.file.key.clone(),
        operation: "upload".into(),
        detail: "stopped because another upload failed".into(),
    }
}

/// The read buffer of a streamed body; a file no larger is a small one: read whole
/// instead, and sent under the `requests` limit rather than the `jobs` one.
pub const SMALL: u64 = 256 << 10;

/// One PutObject with the signed SHA-256 in the checksum header: S3 computes the digest of
/// the bytes it receives and refuses the object (BadDigest) unless it is that one, so a
/// file changed since it was signed is never published. A file larger than the read buffer
/// streams from disk (no copy of it in memory, and this side hashes nothing); a smaller one
/// is read in one blocking task and hashed here before it is sent, since a streamed body
/// would allocate a buffer as large and hand every read (open, read, end of file) to the
/// blocking pool: for 20,000 files of 1 KiB that costs more CPU than the PUTs themselves.
async fn single(job: &Job, _permit: OwnedSemaphorePermit) -> Result<Uploaded, Error> {
    if job.cancel.load(Ordering::SeqCst) {
        return Err(cancelled(job));
    }
    let f = &job.file.local;
    let body = if f.size <= SMALL {
        ByteStream::from(read_small(f).await?)
    } else {
        ByteStream::read_from()
            .path(&f.path)
            .buffer_size(SMALL as usize)
            .length(aws_sdk_s3::primitives::Length::Exact(f.size))
            .build()
            .await
            .map_err(|e| Error::Read { path: f.path.clone(), detail: e.to_string() })?
    };
    let checksum = to_base64(f.sha256.0);
    let request = job
        .client
        .put_object()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .content_length(f.size as i64)
        .body(body)
        // The algorithm named as well as the value: S3 needs only the value, but
        // S3-compatible servers (moto among them) record an object's checksum only when
        // the request names its algorithm.
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(&checksum)
        .set_if_none_match(job.if_none_match())
        .set_if_match(job.if_match());
    // No SigV4 hash of the body: its SHA-256 is already in the signed x-amz-checksum-sha256
    // header, which S3 checks against the bytes it receives. Hashing it twice more per byte
    // (once for the signature) only costs CPU.
    let request = object_settings!(request, job, f.sha256);
    // The claim records who made it and its lease, so that a run finding it unsealed can
    // tell a live run's claim from a dead one's.
    let request = match (&job.opts.claimant, f.phase) {
        (Some(c), Phase::Claim) => {
            request.metadata(CLAIMANT_METADATA, &c.id).metadata(LEASE_METADATA, c.lease.as_secs().to_string())
        }
        _ => request,
    };
    let sent = request.customize().disable_payload_signing().send().await;
    let out = match sent {
        Ok(out) => out,
        Err(e) if is_precondition_failure(&e) => return lost_race(job, "PutObject").await,
        Err(e) if changed(&e, f) => return Err(Error::Changed { path: f.path.clone() }),
        Err(e) => return Err(from_sdk(e, &job.bucket, &job.file.key, "PutObject")),
    };
    compare(job, &checksum, out.checksum_sha256())?;
    job.progress.bytes_sent(f.size);
    Ok(job.uploaded(0, out.e_tag()))
}

/// A small file's bytes, which must still be the signed ones (its size and SHA-256): a
/// server that does not check the checksum header (moto) then cannot publish a file
/// changed since it was signed either.
async fn read_small(f: &crate::LocalFile) -> Result<Vec<u8>, Error> {
    let (path, size, signed) = (f.path.clone(), f.size, f.sha256);
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::with_capacity(size as usize);
        relsign_pgp::open_regular(&path)?.take(size + 1).read_to_end(&mut bytes)?;
        Ok::<_, std::io::Error>(bytes)
    })
    .await
    .map_err(|e| Error::Internal { detail: format!("reading {} failed: {e}", f.path.display()) })?;
    let bytes = read.map_err(|e| Error::Read { path: f.path.clone(), detail: e.to_string() })?;
    let mut hasher = Sha256Hasher::new();
    hasher.update(&bytes);
    if bytes.len() as u64 != size || hasher.finish() != signed {
        return Err(Error::Changed { path: f.path.clone() });
    }
    Ok(bytes)
}

/// Whether a refused PutObject means the file is not what was signed: S3 found other bytes
/// than the SHA-256 said (BadDigest), or the file is no longer the size planned (the body
/// could not be read to its end).
fn changed<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
    f: &crate::LocalFile,
) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("BadDigest")
        || std::fs::metadata(&f.path).map_or(true, |m| m.len() != f.size)
}

impl Job {
    /// This file's outcome once S3 has taken it whole (`parts` 0) or in parts.
    fn uploaded(&self, parts: usize, etag: Option<&str>) -> Uploaded {
        let f = &self.file.local;
        Uploaded {
            name: f.name.clone(),
            key: self.file.key.clone(),
            size: f.size,
            sha256: f.sha256,
            action: self.file.action,
            parts,
            etag: etag.map(str::to_string),
        }
    }

    /// A new object is written only where there is none.
    fn if_none_match(&self) -> Option<String> {
        (self.file.action == Action::Upload).then(|| "*".to_string())
    }

    /// A replacement only over the object the plan saw.
    fn if_match(&self) -> Option<String> {
        if self.file.action == Action::Replace {
            self.file.etag.clone()
        } else {
            None
        }
    }
}

/// S3 returns the checksum it computed; when it does, it must be ours.
fn compare(job: &Job, want: &str, got: Option<&str>) -> Result<(), Error> {
    match got {
        Some(got) if got != want => Err(Error::ChecksumMismatch {
            bucket: job.bucket.clone(),
            key: job.file.key.clone(),
            want: want.to_string(),
            got: got.to_string(),
        }),
        _ => Ok(()),
    }
}

async fn multipart(job: &Job) -> Result<Uploaded, Error> {
    let f = &job.file.local;
    let request = job
        .client
        .create_multipart_upload()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_type(ChecksumType::Composite);
    let created = object_settings!(request, job, f.sha256)
        .send()
        .await
        .map_err(|e| from_sdk(e, &job.bucket, &job.file.key, "CreateMultipartUpload"))?;
    let upload_id = created.upload_id().unwrap_or_default().to_string();
    job.inflight.add(&upload_id, &job.file.key);
    let result = parts(job, &upload_id).await;
    if result.as_ref().map_or(true, |up| up.parts == 0) {
        // Failed, or settled by another run's object: best effort, the next run also
        // aborts what is left of this release.
        let _ = abort(&job.client, &job.bucket, &job.file.key, &upload_id).await;
    }
    job.inflight.remove(&upload_id);
    result
}

async fn parts(job: &Job, upload_id: &str) -> Result<Uploaded, Error> {
    let f = &job.file.local;
    let part_size = part_size_for(f.size, job.opts.part_size);
    let mut file = std::fs::File::open(&f.path).map_err(|e| read_error(job, e))?;
    let mut whole = Sha256Hasher::new();
    let mut set: JoinSet<Result<(CompletedPart, Sha256), Error>> = JoinSet::new();
    let mut completed = Vec::new();
    let mut total = 0u64;
    for number in 1.. {
        let permit = job.permits.clone().acquire_owned().await.expect("semaphore open");
        if job.cancel.load(Ordering::SeqCst) {
            return Err(cancelled(job));
        }
        let mut buf = Vec::with_capacity(part_size as usize);
        (&mut file).take(part_size).read_to_end(&mut buf).map_err(|e| read_error(job, e))?;
        if buf.is_empty() {
            break;
        }
        total += buf.len() as u64;
        whole.update(&buf);
        let last = (buf.len() as u64) < part_size;
        let request = job
            .client
            .upload_part()
            .bucket(&job.bucket)
            .key(&job.file.key)
            .upload_id(upload_id)
            .part_number(number);
        let (bucket, key, progress, len) =
            (job.bucket.clone(), job.file.key.clone(), job.progress.clone(), buf.len() as u64);
        set.spawn(async move {
            // The part's SHA-256, which S3 checks against the bytes it receives and keeps:
            // what proves on a re-run, part by part, that the object is the file. Hashed
            // here, in parallel across parts, not in the reading loop.
            let digest = Sha256::of(&buf);
            let checksum = to_base64(digest.0);
            let out = request
                .checksum_sha256(&checksum)
                .body(ByteStream::from(buf))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| from_sdk(e, &bucket, &key, "UploadPart"))?;
            drop(permit);
            if let Some(got) = out.checksum_sha256() {
                if got != checksum {
                    return Err(Error::ChecksumMismatch {
                        bucket,
                        key,
                        want: checksum,
                        got: got.to_string(),
                    });
                }
            }
            progress.bytes_sent(len);
            Ok((
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_string))
                    .checksum_sha256(checksum)
                    .build(),
                digest,
            ))
        });
        while let Some(joined) = set.try_join_next() {
            completed.push(joined.map_err(|e| panic_error(job, e))??);
        }
        if last {
            break;
        }
    }
    while let Some(joined) = set.join_next().await {
        completed.push(joined.map_err(|e| panic_error(job, e))??);
    }
    if whole.finish() != f.sha256 || total != f.size {
        return Err(Error::Changed { path: f.path.clone() });
    }
    completed.sort_by_key(|(p, _)| p.part_number());
    let count = completed.len();
    // The object's composite checksum, which S3 computes from the parts' on completion and
    // keeps: it must be the one these parts make.
    let full = composite(completed.iter().map(|(_, d)| *d));
    let completed: Vec<CompletedPart> = completed.into_iter().map(|(p, _)| p).collect();
    let sent = job
        .client
        .complete_multipart_upload()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .upload_id(upload_id)
        .checksum_type(ChecksumType::Composite)
        .set_if_none_match(job.if_none_match())
        .set_if_match(job.if_match())
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
        .send()
        .await;
    let out = match sent {
        Ok(out) => out,
        Err(e) if is_precondition_failure(&e) => return lost_race(job, "CompleteMultipartUpload").await,
        Err(e) => return Err(from_sdk(e, &job.bucket, &job.file.key, "CompleteMultipartUpload")),
    };
    if let Some(got) = out.checksum_sha256().filter(|got| !same_composite(got, &full)) {
        return Err(Error::ChecksumMismatch {
            bucket: job.bucket.clone(),
            key: job.file.key.clone(),
            want: full,
            got: got.to_string(),
        });
    }
    Ok(job.uploaded(count, out.e_tag()))
}

fn panic_error(job: &Job, e: tokio::task::JoinError) -> Error {
    Error::Internal { detail: format!("upload of s3://{}/{} failed: {e}", job.bucket, job.file.key) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_is_in_one_wave_the_claim_first_and_the_seal_last() {
        for phase in Phase::ALL {
            assert_eq!(WAVES.iter().filter(|w| w.contains(&phase)).count(), 1, "{phase:?}");
        }
        assert_eq!(WAVES[0], &[Phase::Claim]);
        assert_eq!(WAVES[WAVES.len() - 1], &[Phase::Seal]);
    }

    #[test]
    fn part_size_grows_so_ten_thousand_parts_suffice() {
        assert_eq!(part_size_for(100 << 20, 8 << 20), 8 << 20);
        assert_eq!(part_size_for(100 << 20, 1 << 20), 5 << 20);
        let five_tib = 5u64 << 40;
        let p = part_size_for(five_tib, 8 << 20);
        assert!(five_tib.div_ceil(p) <= MAX_PARTS);
        assert_eq!(p % (1 << 20), 0);
    }
}
