//! The plan: every local file with its SHA-256 and phase, what the destination already
//! holds, and what to do with each file. Nothing is uploaded while planning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use relsign_pgp::{sha256_file, ChecksumList, Sha256, MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME};

use crate::{Destination, Error};

/// Upload order: a later phase starts only when the earlier one is complete, so the
/// checksum list's signature, uploaded last, marks a complete release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The checksum list, first: written only where no other list is, it claims the prefix
    /// for this signing, so a second signing racing this one stops before it writes.
    Claim,
    Artifact,
    Signature,
    Metadata,
    Seal,
}

impl Phase {
    fn of(name: &str) -> Phase {
        match name {
            SUMS_SIG_NAME => Phase::Seal,
            SUMS_NAME => Phase::Claim,
            MANIFEST_NAME => Phase::Metadata,
            n if relsign_pgp::is_signature_name(n) => Phase::Signature,
            _ => Phase::Artifact,
        }
    }

    pub const ALL: [Phase; 5] =
        [Phase::Claim, Phase::Artifact, Phase::Signature, Phase::Metadata, Phase::Seal];
}

/// A file of the release folder.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Relative, `/`-separated: the key suffix.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// From `SHA256SUMS` when listed there (checked again as the bytes are read for
    /// upload), else computed.
    pub sha256: Sha256,
    pub phase: Phase,
}

/// Walks `dir`: regular files only, names that are safe as keys, digests from
/// `SHA256SUMS` where it lists them.
pub fn scan(dir: &Path) -> Result<Vec<LocalFile>, Error> {
    let read_err = |path: &Path, e: &dyn std::fmt::Display| Error::Read {
        path: path.to_path_buf(),
        detail: e.to_string(),
    };
    let sums_path = dir.join(SUMS_NAME);
    let listed = match relsign_pgp::read_capped(&sums_path, relsign_pgp::MAX_SUMS) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| read_err(&sums_path, &"not UTF-8 text"))?;
            ChecksumList::parse(&text, SUMS_NAME).map_err(|e| read_err(&sums_path, &e))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ChecksumList::new(),
        Err(e) => return Err(read_err(&sums_path, &e)),
    };
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| read_err(dir, &e))?;
        if entry.depth() == 0 || entry.file_type().is_dir() {
            continue;
        }
        let path = entry.path().to_path_buf();
        if !entry.file_type().is_file() {
            return Err(Error::NotRegular { path });
        }
        let rel = path.strip_prefix(dir).unwrap_or(&path);
        let Some(name) = rel.to_str().map(|s| s.replace(std::path::MAIN_SEPARATOR, "/")) else {
            return Err(Error::BadName { path, why: "file name is not UTF-8".into() });
        };
        if let Err(why) = relsign_codebuild::validate_relative(&name) {
            return Err(Error::BadName { path, why: why.into() });
        }
        // A key file is refused here even without the gate (which reads every byte).
        if relsign_pgp::starts_with_secret_key(&path).map_err(|e| read_err(&path, &e))? {
            return Err(Error::SecretMaterial { path });
        }
        let size = entry.metadata().map_err(|e| read_err(&path, &e))?.len();
        let sha256 = match listed.get(&name) {
            Some(d) => d,
            None => sha256_file(&path).map_err(|e| read_err(&path, &e))?,
        };
        let phase = Phase::of(&name);
        files.push(LocalFile { name, path, size, sha256, phase });
    }
    Ok(files)
}

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

/// The MD5 an ETag holds when it is one: 32 hex digits, no part count (multipart) suffix.
fn plain_md5(etag: &str) -> Option<[u8; 16]> {
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

fn md5_file(path: &Path) -> std::io::Result<[u8; 16]> {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Upload,
    /// The same bytes are already there.
    Skip,
    /// Different bytes are there and `--overwrite` was given.
    Replace,
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub file: LocalFile,
    pub key: String,
    pub action: Action,
    /// The ETag of the object planned against: what a replacement must still find there
    /// (`If-Match`), and what an identical object must still be when the release is sealed.
    pub etag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub destination: Destination,
    pub files: Vec<PlannedFile>,
}

/// The metadata key holding the object's SHA-256 (hex).
pub(crate) const SHA256_METADATA: &str = "sha256";

/// S3's longest object key, in bytes.
const MAX_KEY: usize = 1024;

/// Linux file systems hold names of at most this many bytes.
const MAX_COMPONENT: usize = 255;

/// Refuses, before anything is sent, a release whose keys S3 would refuse, or that users
/// could not download into a file system.
pub fn check_keys(destination: &Destination, files: &[LocalFile]) -> Result<(), Error> {
    for f in files {
        let key = destination.key(&f.name);
        if key.len() > MAX_KEY {
            return Err(Error::KeyTooLong { path: f.path.clone(), key_bytes: key.len() });
        }
        if let Some(part) = key.split('/').find(|p| p.len() > MAX_COMPONENT) {
            return Err(Error::PartTooLong { key: key.clone(), part_bytes: part.len() });
        }
    }
    Ok(())
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
    match crate::upload::crc64nvme_file(&file.path) {
        Ok(local) if local == *crc => Ok(()),
        Ok(_) => Err("its CRC64NVME (verified by S3) is not the local file's: its sha256 metadata is wrong"),
        Err(_) => Err("the local file cannot be read to compare"),
    }
}

impl Plan {
    /// Lists what the destination holds and decides, file by file. Refuses the whole
    /// release when any object differs (or cannot be proven identical) and `overwrite` is
    /// false.
    pub async fn make(
        client: &aws_sdk_s3::Client,
        destination: &Destination,
        files: Vec<LocalFile>,
        overwrite: bool,
        jobs: usize,
    ) -> Result<Plan, Error> {
        check_keys(destination, &files)?;
        let remote = list(client, destination, &files, jobs).await?;
        let mut planned = Vec::new();
        let mut conflicts = Vec::new();
        for file in files {
            let key = destination.key(&file.name);
            let (action, etag) = match remote.get(&key) {
                None => (Action::Upload, None),
                Some(o) => match same_object(&file, o) {
                    Ok(()) => (Action::Skip, o.etag.clone()),
                    Err(_) if overwrite => (Action::Replace, o.etag.clone()),
                    Err(why) => {
                        conflicts.push(format!("{key}: {why}"));
                        (Action::Replace, o.etag.clone())
                    }
                },
            };
            planned.push(PlannedFile { file, key, action, etag });
        }
        if !conflicts.is_empty() {
            let count = conflicts.len();
            conflicts.truncate(5);
            return Err(Error::Conflict { count, keys: conflicts.join("; ") });
        }
        Ok(Plan { destination: destination.clone(), files: planned })
    }
}

/// Every object under the prefix that the release would write, with what S3 says of it:
/// from the listing alone when its ETag is the local file's MD5 (a single PUT without
/// SSE-KMS, on S3 and moto), else from a HeadObject, `jobs` at a time. A re-run of 20,000
/// published files then costs 20 listing pages, not 20,000 requests.
async fn list(
    client: &aws_sdk_s3::Client,
    dest: &Destination,
    files: &[LocalFile],
    jobs: usize,
) -> Result<HashMap<String, RemoteObject>, Error> {
    let by_key: HashMap<String, &LocalFile> = files.iter().map(|f| (dest.key(&f.name), f)).collect();
    let present = crate::upload::list_etags(client, dest).await?;
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut heads = tokio::task::JoinSet::new();
    for (key, (size, etag)) in present {
        let Some(file) = by_key.get(&key) else { continue };
        let (client, bucket, permits) = (client.clone(), dest.bucket.clone(), permits.clone());
        let (path, local_size) = (file.path.clone(), file.size);
        heads.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            if let Some(listed) = etag.as_deref().and_then(plain_md5).filter(|_| size == local_size) {
                let local = tokio::task::spawn_blocking(move || md5_file(&path)).await;
                if matches!(local, Ok(Ok(local)) if local == listed) {
                    let object =
                        RemoteObject { size, etag, etag_is_local_md5: true, ..RemoteObject::default() };
                    return Ok::<_, Error>((key, Some(object)));
                }
            }
            let object = crate::upload::head(&client, &bucket, &key).await?;
            Ok((key, object.map(|o| RemoteObject { size, ..o })))
        });
    }
    let mut out = HashMap::new();
    while let Some(joined) = heads.join_next().await {
        let (key, object) = joined.map_err(|e| Error::Internal { detail: e.to_string() })??;
        // Gone since the listing: as good as absent (a conditional write settles it).
        if let Some(object) = object {
            out.insert(key, object);
        }
    }
    Ok(out)
}
