//! The plan: every local file with its SHA-256 and phase, what the destination already
//! holds, and what to do with each file. Nothing is uploaded while planning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use relsign_pgp::{
    ChecksumList, Sha256, MANIFEST_NAME, MAX_KEY_BYTES, MAX_NAME_PART_BYTES, SUMS_NAME, SUMS_SIG_NAME,
};

use crate::object::{head, list_etags, md5_file, plain_md5, same_object};
use crate::{Destination, Error, RemoteObject};

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
            ChecksumList::parse(&text, SUMS_NAME).map_err(|e| match e.fix() {
                Some(fix) => read_err(&sums_path, &format!("{e}: {fix}")),
                None => read_err(&sums_path, &e),
            })?
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
        if let Err(why) = relsign_pgp::validate_relative(&name) {
            return Err(Error::BadName { path, why: why.into() });
        }
        // A key file is refused here even without the gate (which reads every byte); a file
        // with no signed digest is hashed in the same read.
        let (sha256, secret) = match listed.get(&name) {
            Some(d) => (d, relsign_pgp::starts_with_secret_key(&path)),
            None => match relsign_pgp::sha256_and_secret_start(&path) {
                Ok((d, secret)) => (d, Ok(secret)),
                Err(e) => return Err(read_err(&path, &e)),
            },
        };
        if secret.map_err(|e| read_err(&path, &e))? {
            return Err(Error::SecretMaterial { path });
        }
        let size = entry.metadata().map_err(|e| read_err(&path, &e))?.len();
        let phase = Phase::of(&name);
        files.push(LocalFile { name, path, size, sha256, phase });
    }
    Ok(files)
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

/// Refuses, before anything is sent, a release whose keys S3 would refuse, or that users
/// could not download into a file system.
pub fn check_keys(destination: &Destination, files: &[LocalFile]) -> Result<(), Error> {
    for f in files {
        let key = destination.key(&f.name);
        if key.len() > MAX_KEY_BYTES {
            return Err(Error::KeyTooLong { path: f.path.clone(), key_bytes: key.len() });
        }
        if let Some(part) = key.split('/').find(|p| p.len() > MAX_NAME_PART_BYTES) {
            return Err(Error::PartTooLong { key: key.clone(), part_bytes: part.len() });
        }
    }
    Ok(())
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
        requests: usize,
    ) -> Result<Plan, Error> {
        check_keys(destination, &files)?;
        let remote = list(client, destination, &files, requests).await?;
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
/// SSE-KMS, on S3 and moto), else from a HeadObject, `requests` at a time. A re-run of 20,000
/// published files then costs 20 listing pages, not 20,000 requests.
async fn list(
    client: &aws_sdk_s3::Client,
    dest: &Destination,
    files: &[LocalFile],
    requests: usize,
) -> Result<HashMap<String, RemoteObject>, Error> {
    let by_key: HashMap<String, &LocalFile> = files.iter().map(|f| (dest.key(&f.name), f)).collect();
    let present = list_etags(client, dest).await?;
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(requests.max(1)));
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
            let object = head(&client, &bucket, &key).await?;
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
