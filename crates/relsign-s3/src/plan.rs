//! The plan: every local file with its SHA-256 and phase, what the destination already
//! holds, and what to do with each file. Nothing is uploaded while planning.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use relsign_pgp::{sha256_file, ChecksumList, Sha256, MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME};

use crate::error::from_sdk;
use crate::{Destination, Error};

/// Upload order: a later phase starts only when the earlier one is complete, so the
/// checksum list's signature, uploaded last, marks a complete release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Artifact,
    Signature,
    Metadata,
    Seal,
}

impl Phase {
    fn of(name: &str) -> Phase {
        match name {
            SUMS_SIG_NAME => Phase::Seal,
            SUMS_NAME | MANIFEST_NAME => Phase::Metadata,
            n if relsign_pgp::is_signature_name(n) => Phase::Signature,
            _ => Phase::Artifact,
        }
    }

    pub const ALL: [Phase; 4] = [Phase::Artifact, Phase::Signature, Phase::Metadata, Phase::Seal];
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
    let listed = match std::fs::read_to_string(dir.join(SUMS_NAME)) {
        Ok(text) => ChecksumList::parse(&text, SUMS_NAME).map_err(|e| read_err(&dir.join(SUMS_NAME), &e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ChecksumList::new(),
        Err(e) => return Err(read_err(&dir.join(SUMS_NAME), &e)),
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

/// An object already at the destination.
#[derive(Debug, Clone)]
pub struct RemoteObject {
    pub size: u64,
    /// From the `sha256` metadata copier writes, or a full-object SHA-256 checksum.
    pub sha256: Option<Sha256>,
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
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub destination: Destination,
    pub files: Vec<PlannedFile>,
}

/// The metadata key holding the object's SHA-256 (hex), so a re-run can tell identical
/// objects whether they were uploaded whole or in parts.
pub(crate) const SHA256_METADATA: &str = "sha256";

impl Plan {
    /// Lists what the destination holds and decides, file by file. Refuses the whole
    /// release when any object differs and `overwrite` is false.
    pub async fn make(
        client: &aws_sdk_s3::Client,
        destination: &Destination,
        files: Vec<LocalFile>,
        overwrite: bool,
    ) -> Result<Plan, Error> {
        let remote = list(client, destination, &files).await?;
        let mut planned = Vec::new();
        let mut conflicts = Vec::new();
        for file in files {
            let key = destination.key(&file.name);
            let action = match remote.get(&key) {
                None => Action::Upload,
                Some(o) if o.size == file.size && o.sha256 == Some(file.sha256) => Action::Skip,
                Some(_) if overwrite => Action::Replace,
                Some(_) => {
                    conflicts.push(key.clone());
                    Action::Replace
                }
            };
            planned.push(PlannedFile { file, key, action });
        }
        if !conflicts.is_empty() {
            let count = conflicts.len();
            conflicts.truncate(5);
            return Err(Error::Conflict { count, keys: conflicts.join(", ") });
        }
        Ok(Plan { destination: destination.clone(), files: planned })
    }
}

async fn list(
    client: &aws_sdk_s3::Client,
    dest: &Destination,
    files: &[LocalFile],
) -> Result<HashMap<String, RemoteObject>, Error> {
    let wanted: std::collections::HashSet<String> = files.iter().map(|f| dest.key(&f.name)).collect();
    let mut present = HashMap::new();
    let mut pages =
        client.list_objects_v2().bucket(&dest.bucket).prefix(&dest.prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(e, &dest.bucket, &dest.prefix, "ListObjectsV2"))?;
        for object in page.contents() {
            let Some(key) = object.key() else { continue };
            if wanted.contains(key) {
                present.insert(key.to_string(), object.size().unwrap_or(0).max(0) as u64);
            }
        }
    }
    let mut out = HashMap::new();
    for (key, size) in present {
        let head = client
            .head_object()
            .bucket(&dest.bucket)
            .key(&key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| from_sdk(e, &dest.bucket, &key, "HeadObject"))?;
        let from_metadata = head.metadata().and_then(|m| m.get(SHA256_METADATA)).and_then(|h| h.parse().ok());
        let from_checksum =
            head.checksum_sha256().filter(|c| !c.contains('-')).and_then(|c| crate::upload::from_base64(c));
        out.insert(key, RemoteObject { size, sha256: from_metadata.or(from_checksum) });
    }
    Ok(out)
}
