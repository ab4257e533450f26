//! Checking a whole release folder: every artifact has a signature that verifies, and the
//! signed checksum list covers exactly the files present, with the right digests.
//!
//! `signer verify` and the copier's publication gate both stand on this.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::{
    is_signature_name, signature_name, signed_name, ChecksumList, Error, Rejection, Sha256, Verified,
    Verifier, MANIFEST_NAME, POINTER_NAME, SUMS_NAME, SUMS_SIG_NAME,
};

/// How strict the check is and how much of the machine it may use.
#[derive(Debug, Clone, Copy)]
pub struct FolderOptions {
    /// Fail when the folder has no `SHA256SUMS` (a relsign release always has one).
    pub require_sums: bool,
    /// Files checked at once.
    pub jobs: usize,
}

/// The verdict on one file.
#[derive(Debug)]
pub enum FileStatus {
    /// Its own `.asc` verified (and its digest matches the signed list, if there is one).
    Signed(Verified),
    /// No `.asc` of its own, but listed with the right digest in the verified `SHA256SUMS`.
    Listed(Sha256),
    Failed(String),
}

#[derive(Debug)]
pub struct FileCheck {
    /// Relative to the folder checked, `/`-separated.
    pub path: String,
    pub status: FileStatus,
}

impl FileCheck {
    fn failed(path: impl Into<String>, why: impl Into<String>) -> FileCheck {
        FileCheck { path: path.into(), status: FileStatus::Failed(why.into()) }
    }

    pub fn is_ok(&self) -> bool {
        !matches!(self.status, FileStatus::Failed(_))
    }
}

#[derive(Debug, Default)]
pub struct FolderReport {
    pub files: Vec<FileCheck>,
}

impl FolderReport {
    pub fn failures(&self) -> impl Iterator<Item = &FileCheck> {
        self.files.iter().filter(|f| !f.is_ok())
    }
}

/// Verifies `signature` (a file path) over `data` (a file path).
pub fn verify_file(verifier: &Verifier, data: &Path, signature: &Path) -> Result<Verified, Rejection> {
    let unreadable = |path: &Path, source| Rejection::Unreadable { path: path.to_path_buf(), source };
    let sig = crate::read_capped(signature, crate::MAX_SIGNATURE).map_err(|e| unreadable(signature, e))?;
    let file = crate::open_regular(data).map_err(|e| unreadable(data, e))?;
    verifier.verify(&sig, BufReader::with_capacity(256 * 1024, file))
}

/// The signed checksum list of a folder, once its signature has been checked.
pub struct SignedSums {
    pub list: ChecksumList,
    pub signature: Verified,
    /// The SHA-256 of the list itself, which a release pointer names.
    pub digest: Sha256,
}

/// Reads `SHA256SUMS` and checks `SHA256SUMS.asc` over it.
pub fn verify_sums(verifier: &Verifier, sums: &Path) -> Result<SignedSums, Rejection> {
    let sig_path = crate::signature_path(sums);
    let text = crate::read_capped(sums, crate::MAX_SUMS)
        .map_err(|source| Rejection::Unreadable { path: sums.to_path_buf(), source })?;
    let sig = crate::read_capped(&sig_path, crate::MAX_SIGNATURE)
        .map_err(|source| Rejection::UnsignedSums { signature: sig_path.clone(), source })?;
    let signature = verifier.verify(&sig, text.as_slice())?;
    let digest = Sha256::of(&text);
    let text = String::from_utf8(text).map_err(|_| Rejection::SumsNotText)?;
    let list = ChecksumList::parse(&text, &sums.display().to_string()).map_err(Rejection::BadSums)?;
    Ok(SignedSums { list, signature, digest })
}

/// Hashes a file in one buffered pass.
pub fn sha256_file(path: &Path) -> std::io::Result<Sha256> {
    crate::inspect::sha256_reading(path, |_| {})
}

/// Checks every file under `dir`. Fails only when the folder itself cannot be read.
pub fn verify_folder(dir: &Path, verifier: &Verifier, opts: FolderOptions) -> Result<FolderReport, Error> {
    let mut report = FolderReport::default();
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Read {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        if entry.depth() == 0 || entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let Some(rel) = rel.to_str().map(|s| s.replace(std::path::MAIN_SEPARATOR, "/")) else {
            report.files.push(FileCheck::failed(rel.to_string_lossy(), "file name is not UTF-8"));
            continue;
        };
        if !entry.file_type().is_file() {
            report.files.push(FileCheck::failed(rel, "not a regular file (symlink or special file)"));
            continue;
        }
        files.insert(rel, entry.into_path());
    }

    let sums = match files.get(SUMS_NAME) {
        Some(path) => match verify_sums(verifier, path) {
            Ok(s) => {
                report.files.push(FileCheck {
                    path: SUMS_NAME.into(),
                    status: FileStatus::Signed(s.signature.clone()),
                });
                Some((s.list, s.digest))
            }
            Err(why) => {
                report.files.push(FileCheck::failed(SUMS_NAME, why.to_string()));
                None
            }
        },
        None if opts.require_sums => {
            report.files.push(FileCheck::failed(
                SUMS_NAME,
                "missing: a release folder must carry its signed checksum list",
            ));
            None
        }
        None => None,
    };

    let targets: Vec<(&String, &PathBuf)> =
        files.iter().filter(|(rel, _)| !is_signature_name(rel) && rel.as_str() != SUMS_NAME).collect();
    let checks: Vec<FileCheck> = with_pool(opts.jobs, || {
        targets
            .par_iter()
            .map(|(rel, path)| match sums.as_ref() {
                Some((_, digest)) if rel.as_str() == POINTER_NAME => {
                    check_pointer(path, &files, *digest, verifier)
                }
                _ => check_one(rel, path, &files, sums.as_ref().map(|(l, _)| l), verifier),
            })
            .collect()
    });
    report.files.extend(checks);

    for rel in files.keys().filter(|r| is_signature_name(r) && r.as_str() != SUMS_SIG_NAME) {
        let target = signed_name(rel).unwrap_or(rel);
        if !files.contains_key(target) {
            report.files.push(FileCheck::failed(
                rel.clone(),
                format!("signature without its file ({target} is missing)"),
            ));
        }
    }
    if let Some((list, _)) = &sums {
        let present: BTreeSet<&str> = files.keys().map(String::as_str).collect();
        for (listed, _) in list.entries() {
            if !present.contains(listed.as_str()) {
                report.files.push(FileCheck::failed(listed.clone(), "listed in SHA256SUMS but missing"));
            }
        }
    }
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

fn check_one(
    rel: &str,
    path: &Path,
    files: &BTreeMap<String, PathBuf>,
    sums: Option<&ChecksumList>,
    verifier: &Verifier,
) -> FileCheck {
    let listed = sums.map(|l| l.get(rel));
    let status = match files.get(&signature_name(rel)) {
        Some(sig) => match verify_file(verifier, path, sig) {
            Ok(v) => match listed {
                Some(None) => FileStatus::Failed("not listed in SHA256SUMS".into()),
                Some(Some(d)) if d != v.sha256 => {
                    FileStatus::Failed(format!("digest {} differs from SHA256SUMS ({d})", v.sha256))
                }
                _ => FileStatus::Signed(v),
            },
            Err(why) => FileStatus::Failed(why.to_string()),
        },
        // Only the manifest may go without its own signature: the signed list covers it.
        None if rel == MANIFEST_NAME && matches!(listed, Some(Some(_))) => match sha256_file(path) {
            Ok(d) if Some(Some(d)) == listed => FileStatus::Listed(d),
            Ok(d) => FileStatus::Failed(format!("digest {d} differs from SHA256SUMS")),
            Err(e) => FileStatus::Failed(format!("cannot read: {e}")),
        },
        None => FileStatus::Failed(format!("no signature ({} is missing)", signature_name(rel))),
    };
    FileCheck { path: rel.to_string(), status }
}

/// The release pointer in a release folder: not listed in `SHA256SUMS` (it names the list's
/// digest), so its own signature must verify and the digest it names must be this list's.
fn check_pointer(
    path: &Path,
    files: &BTreeMap<String, PathBuf>,
    sums: Sha256,
    verifier: &Verifier,
) -> FileCheck {
    let status = match files.get(&signature_name(POINTER_NAME)) {
        None => FileStatus::Failed(format!("no signature ({} is missing)", signature_name(POINTER_NAME))),
        Some(sig) => match (
            crate::read_capped(path, crate::MAX_POINTER),
            crate::read_capped(sig, crate::MAX_SIGNATURE),
        ) {
            (Err(e), _) | (_, Err(e)) => FileStatus::Failed(format!("cannot read: {e}")),
            (Ok(json), Ok(signature)) => check_pointer_of(&json, &signature, sums, verifier),
        },
    };
    FileCheck { path: POINTER_NAME.to_string(), status }
}

/// The pointer a release carries (`release-pointer.json`, read whole, and its signature):
/// signed by the verifier's certificate and naming this release's `SHA256SUMS` (`sums`).
pub fn check_pointer_of(json: &[u8], signature: &[u8], sums: Sha256, verifier: &Verifier) -> FileStatus {
    match crate::verify_pointer(json, signature, verifier, POINTER_NAME) {
        Err(why) => FileStatus::Failed(why.to_string()),
        Ok((_, p)) if p.sha256sums != sums => FileStatus::Failed(format!(
            "names the SHA256SUMS of another release ({}, this one is {sums})",
            p.sha256sums
        )),
        Ok((v, _)) => FileStatus::Signed(v),
    }
}

/// Checks that every file `list` names, relative to `base`, has the listed digest.
pub fn verify_listed(base: &Path, list: &ChecksumList, jobs: usize) -> Vec<FileCheck> {
    let check = |(name, want): &(String, Sha256)| {
        let status = if is_signature_name(name) || crate::validate_relative(name).is_err() {
            FileStatus::Failed("refused: a listed name must be a plain relative path".into())
        } else {
            match sha256_file(&base.join(name)) {
                Ok(d) if d == *want => FileStatus::Listed(d),
                Ok(d) => FileStatus::Failed(format!("digest {d} differs from SHA256SUMS ({want})")),
                Err(e) => FileStatus::Failed(format!("cannot read: {e}")),
            }
        };
        FileCheck { path: name.clone(), status }
    };
    with_pool(jobs, || list.entries().par_iter().map(check).collect())
}

/// Runs `work` on a pool of `jobs` threads (in the caller's thread if none can start).
fn with_pool<T: Send>(jobs: usize, work: impl FnOnce() -> T + Send) -> T {
    match rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}
