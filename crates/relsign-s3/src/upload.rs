//! The transfer engine: bounded concurrency across files and parts, one phase at a time,
//! a checksum S3 verifies on every request (SHA-256 on a PUT, CRC32C on a part), multipart
//! uploads aborted on any failure.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ObjectCannedAcl, ServerSideEncryption,
    StorageClass,
};
use aws_sdk_s3::Client;
use base64::Engine;
use relsign_pgp::{Sha256, Sha256Hasher};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::error::from_sdk;
use crate::plan::SHA256_METADATA;
use crate::{Action, Error, Phase, Plan, PlannedFile};

/// S3 allows at most this many parts per upload.
const MAX_PARTS: u64 = 10_000;
/// And at least this much in every part but the last.
const MIN_PART: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Requests (whole objects or parts) in flight at once; also bounds memory to about
    /// `jobs × part_size`.
    pub jobs: usize,
    pub multipart_threshold: u64,
    pub part_size: u64,
    pub sse: Option<String>,
    pub sse_kms_key_id: Option<String>,
    pub storage_class: Option<String>,
    pub acl: Option<String>,
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
}

/// The part size for a file of `size` bytes: at least `wanted` and 5 MiB, grown (to whole
/// MiB) so that 10,000 parts always suffice.
pub fn part_size_for(size: u64, wanted: u64) -> u64 {
    let needed = size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20;
    wanted.max(MIN_PART).max(needed)
}

fn to_base64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn from_base64(s: &str) -> Option<Sha256> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(Sha256(arr))
}

/// What every new object carries, on a PutObject or a CreateMultipartUpload (the two
/// builders share these setters but no trait): content type, the SHA-256 metadata that
/// makes re-runs idempotent, encryption, storage class and ACL.
macro_rules! object_settings {
    ($request:expr, $job:expr, $digest:expr) => {
        $request
            .content_type(content_type(&$job.file.file.name))
            .metadata(SHA256_METADATA, $digest.to_string())
            .set_server_side_encryption($job.opts.sse.as_deref().map(ServerSideEncryption::from))
            .set_ssekms_key_id($job.opts.sse_kms_key_id.clone())
            .set_storage_class($job.opts.storage_class.as_deref().map(StorageClass::from))
            .set_acl($job.opts.acl.as_deref().map(ObjectCannedAcl::from))
    };
}

struct Job {
    client: Client,
    bucket: String,
    file: PlannedFile,
    opts: UploadOptions,
    permits: Arc<Semaphore>,
    cancel: Arc<AtomicBool>,
    progress: Arc<dyn Progress>,
}

/// Uploads the plan, phase by phase. After the first failure no new request starts; the
/// error is returned once every request in flight has finished (or been aborted).
pub async fn execute(
    client: &Client,
    plan: &Plan,
    opts: &UploadOptions,
    progress: Arc<dyn Progress>,
) -> Result<Vec<Uploaded>, Error> {
    let permits = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let cancel = Arc::new(AtomicBool::new(false));
    let mut done = Vec::new();
    for phase in Phase::ALL {
        let mut set = JoinSet::new();
        for planned in plan.files.iter().filter(|p| p.file.phase == phase) {
            if planned.action == Action::Skip {
                let skipped = Uploaded {
                    name: planned.file.name.clone(),
                    key: planned.key.clone(),
                    size: planned.file.size,
                    sha256: planned.file.sha256,
                    action: Action::Skip,
                    parts: 0,
                };
                progress.file_done(&skipped);
                done.push(skipped);
                continue;
            }
            let job = Job {
                client: client.clone(),
                bucket: plan.destination.bucket.clone(),
                file: planned.clone(),
                opts: opts.clone(),
                permits: permits.clone(),
                cancel: cancel.clone(),
                progress: progress.clone(),
            };
            set.spawn(upload_one(job));
        }
        let mut first_error = None;
        while let Some(joined) = set.join_next().await {
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
                    first_error.get_or_insert(Error::Service {
                        bucket: plan.destination.bucket.clone(),
                        key: String::new(),
                        operation: "upload".into(),
                        detail: format!("upload task failed: {panic}"),
                    });
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    Ok(done)
}

async fn upload_one(job: Job) -> Result<Uploaded, Error> {
    if job.file.file.size < job.opts.multipart_threshold {
        single(&job).await
    } else {
        multipart(&job).await
    }
}

fn read_error(job: &Job, e: std::io::Error) -> Error {
    Error::Read { path: job.file.file.path.clone(), detail: e.to_string() }
}

fn cancelled(job: &Job) -> Error {
    Error::Service {
        bucket: job.bucket.clone(),
        key: job.file.key.clone(),
        operation: "upload".into(),
        detail: "stopped because another upload failed".into(),
    }
}

fn content_type(name: &str) -> String {
    let file = name.rsplit('/').next().unwrap_or(name);
    if relsign_pgp::is_signature_name(file) {
        return "application/pgp-signature".into();
    }
    if file == relsign_pgp::SUMS_NAME {
        return "text/plain; charset=utf-8".into();
    }
    mime_guess::from_path(file).first_or_octet_stream().essence_str().to_string()
}

async fn single(job: &Job) -> Result<Uploaded, Error> {
    let _permit = job.permits.acquire().await.expect("semaphore open");
    if job.cancel.load(Ordering::SeqCst) {
        return Err(cancelled(job));
    }
    let f = &job.file.file;
    let bytes = std::fs::read(&f.path).map_err(|e| read_error(job, e))?;
    let digest = Sha256::of(&bytes);
    if digest != f.sha256 || bytes.len() as u64 != f.size {
        return Err(Error::Changed { path: f.path.clone() });
    }
    let checksum = to_base64(digest.0);
    let len = bytes.len() as u64;
    let request = job
        .client
        .put_object()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .body(ByteStream::from(bytes))
        .checksum_sha256(&checksum);
    // No SigV4 hash of the body: its SHA-256 is already in the signed x-amz-checksum-sha256
    // header, which S3 checks against the bytes it receives. Hashing it twice more per byte
    // (once for the signature) only costs CPU.
    let out = object_settings!(request, job, digest)
        .customize()
        .disable_payload_signing()
        .send()
        .await
        .map_err(|e| from_sdk(e, &job.bucket, &job.file.key, "PutObject"))?;
    compare(job, &checksum, out.checksum_sha256())?;
    job.progress.bytes_sent(len);
    Ok(Uploaded {
        name: f.name.clone(),
        key: job.file.key.clone(),
        size: f.size,
        sha256: digest,
        action: job.file.action,
        parts: 0,
    })
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
    let f = &job.file.file;
    let request = job
        .client
        .create_multipart_upload()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32C);
    let created = object_settings!(request, job, f.sha256)
        .send()
        .await
        .map_err(|e| from_sdk(e, &job.bucket, &job.file.key, "CreateMultipartUpload"))?;
    let upload_id = created.upload_id().unwrap_or_default().to_string();
    match parts(job, &upload_id).await {
        Ok(up) => Ok(up),
        Err(e) => {
            // Best effort: the next run also aborts what is left under the prefix.
            let _ = job
                .client
                .abort_multipart_upload()
                .bucket(&job.bucket)
                .key(&job.file.key)
                .upload_id(&upload_id)
                .send()
                .await;
            Err(e)
        }
    }
}

async fn parts(job: &Job, upload_id: &str) -> Result<Uploaded, Error> {
    let f = &job.file.file;
    let part_size = part_size_for(f.size, job.opts.part_size);
    let mut file = std::fs::File::open(&f.path).map_err(|e| read_error(job, e))?;
    let mut whole = Sha256Hasher::new();
    let mut crcs: Vec<[u8; 4]> = Vec::new();
    let mut set: JoinSet<Result<CompletedPart, Error>> = JoinSet::new();
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
        let crc = crc32c(&buf);
        crcs.push(crc);
        let last = (buf.len() as u64) < part_size;
        let request = job
            .client
            .upload_part()
            .bucket(&job.bucket)
            .key(&job.file.key)
            .upload_id(upload_id)
            .part_number(number)
            .checksum_crc32_c(to_base64(crc));
        let (bucket, key, progress, len) =
            (job.bucket.clone(), job.file.key.clone(), job.progress.clone(), buf.len() as u64);
        set.spawn(async move {
            let checksum = to_base64(crc);
            let out = request
                .body(ByteStream::from(buf))
                .customize()
                .disable_payload_signing()
                .send()
                .await
                .map_err(|e| from_sdk(e, &bucket, &key, "UploadPart"))?;
            drop(permit);
            if let Some(got) = out.checksum_crc32_c() {
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
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .checksum_crc32_c(checksum)
                .build())
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
    completed.sort_by_key(|p| p.part_number());
    let count = completed.len();
    let out = job
        .client
        .complete_multipart_upload()
        .bucket(&job.bucket)
        .key(&job.file.key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
        .send()
        .await
        .map_err(|e| from_sdk(e, &job.bucket, &job.file.key, "CompleteMultipartUpload"))?;
    // S3's multipart CRC32C is the CRC32C of the parts' CRC32Cs, suffixed with the count.
    let composite = crc32c(&crcs.concat());
    compare(job, &format!("{}-{count}", to_base64(composite)), out.checksum_crc32_c())?;
    Ok(Uploaded {
        name: f.name.clone(),
        key: job.file.key.clone(),
        size: f.size,
        sha256: f.sha256,
        action: job.file.action,
        parts: count,
    })
}

/// The CRC32C of `bytes`, big-endian as S3 encodes it. Parts carry a CRC32C, not a SHA-256:
/// S3 checks it against the bytes it receives just as well, at a fraction of the cost (for
/// the client and for S3), and the file's SHA-256, which the signature covers, is computed
/// from the very bytes sent (`whole` in `parts`).
fn crc32c(bytes: &[u8]) -> [u8; 4] {
    let mut crc = aws_smithy_checksums::ChecksumAlgorithm::Crc32c.into_impl();
    crc.update(bytes);
    let out = crc.finalize();
    let mut be = [0u8; 4];
    be.copy_from_slice(&out[..4]);
    be
}

fn panic_error(job: &Job, e: tokio::task::JoinError) -> Error {
    Error::Service {
        bucket: job.bucket.clone(),
        key: job.file.key.clone(),
        operation: "UploadPart".into(),
        detail: e.to_string(),
    }
}

/// Aborts the multipart uploads left under the destination prefix by an earlier run that
/// was killed. Returns how many.
pub async fn abort_stale_uploads(client: &Client, dest: &crate::Destination) -> Result<usize, Error> {
    let listed = match client.list_multipart_uploads().bucket(&dest.bucket).prefix(&dest.prefix).send().await
    {
        Ok(listed) => listed,
        // Some S3-compatible servers (s3s-fs among them) cannot list uploads: nothing to
        // clean up that we could see.
        Err(e) if e.as_service_error().and_then(|s| s.meta().code()) == Some("NotImplemented") => {
            return Ok(0)
        }
        Err(e) => return Err(from_sdk(e, &dest.bucket, &dest.prefix, "ListMultipartUploads")),
    };
    let mut aborted = 0;
    for upload in listed.uploads() {
        let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else { continue };
        client
            .abort_multipart_upload()
            .bucket(&dest.bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await
            .map_err(|e| from_sdk(e, &dest.bucket, key, "AbortMultipartUpload"))?;
        aborted += 1;
    }
    Ok(aborted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_checksums_are_crc32c_big_endian() {
        // The check value of CRC-32C (Castagnoli) for "123456789".
        assert_eq!(crc32c(b"123456789"), 0xE306_9283u32.to_be_bytes());
        assert_eq!(to_base64(crc32c(b"")), "AAAAAA==");
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
pub async fn preflight(client: &Client, dest: &crate::Destination) -> Result<Preflight, Error> {
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
