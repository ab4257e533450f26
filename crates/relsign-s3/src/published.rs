//! Verifying a release where it is published, without writing it to disk: the signed
//! checksum list and its seal (`SHA256SUMS.asc`), then every file the list names, streamed
//! from the store straight into the signature check (which computes its SHA-256 in the same
//! read), on the transfer engine's scheduling: largest first, `jobs` large reads and
//! `requests` small ones at once. On S3 the prefix is listed too, so an object the release
//! does not name is found. An object carrying a Content-Encoding is named: a client that
//! decodes it (a browser, `curl --compressed`, a CDN) saves other bytes than were signed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use relsign_pgp::{
    check_pointer_of, is_signature_name, signature_name, ChecksumList, FileCheck, FileStatus, Sha256,
    Sha256Hasher, Verifier, MANIFEST_NAME, MAX_POINTER, MAX_SIGNATURE, MAX_SUMS, POINTER_NAME, SUMS_NAME,
    SUMS_SIG_NAME,
};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::fetch::{Missing, Opened, Source};
use crate::schedule::schedule;
use crate::transfer::SMALL;
use crate::Error;

/// How the check runs.
#[derive(Debug, Clone)]
pub struct PublishedOptions {
    /// Large objects read at once.
    pub jobs: usize,
    /// Small objects (at most 256 KiB: signatures, the manifest) read at once beside them.
    pub requests: usize,
    /// An object under the prefix that the release does not name is reported, not failed.
    pub allow_extra: bool,
    /// Folders under the prefix (each ending in `/`) whose objects are not the release's and
    /// are reported, not failed: the pipeline's exported build logs (`logs/`) sit beside it.
    pub allow_extra_under: Vec<String>,
}

impl PublishedOptions {
    fn allows(&self, name: &str) -> bool {
        self.allow_extra || self.allow_extra_under.iter().any(|folder| name.starts_with(folder.as_str()))
    }
}

/// The verdict on a published release: one check per object, by its `s3://` address or
/// URL, sorted.
#[derive(Debug, Default)]
pub struct PublishedReport {
    pub files: Vec<FileCheck>,
    /// Objects under the prefix the release does not name, allowed by `allow_extra`.
    pub extras: Vec<String>,
    /// False over HTTP(S): nothing can be listed, so extra objects cannot be found.
    pub listed: bool,
    /// The SHA-256 of the published `SHA256SUMS`, when it could be read: what a release
    /// pointer names.
    pub sums: Option<Sha256>,
}

impl PublishedReport {
    pub fn ok(&self) -> bool {
        self.files.iter().all(FileCheck::is_ok)
    }
}

/// Chunks of an object in flight between its download and its check, per object: the
/// memory a read holds is bounded by this many chunks.
const CHUNKS_IN_FLIGHT: usize = 16;

/// Checks the release published at `source` with `verifier`. Fails only when the store
/// cannot be read (access denied, unreachable); every problem of the release itself is a
/// failed check in the report.
pub async fn verify_published(
    source: &Source,
    verifier: Arc<Verifier>,
    opts: &PublishedOptions,
) -> Result<PublishedReport, Error> {
    let listing = source.list().await?;
    let mut report = PublishedReport { listed: listing.is_some(), ..Default::default() };
    let failed =
        |name: &str, why: String| FileCheck { path: source.show(name), status: FileStatus::Failed(why) };

    let sums = match read_whole(source, SUMS_NAME, MAX_SUMS).await? {
        Ok(bytes) => bytes,
        Err(why) => {
            report.files.push(failed(
                SUMS_NAME,
                format!("{why}: a published release carries its signed checksum list"),
            ));
            report.files.extend(extras(
                source,
                listing.as_deref(),
                &BTreeSet::new(),
                opts,
                &mut report.extras,
            ));
            return Ok(report);
        }
    };
    let sums_digest = Sha256::of(&sums);
    report.sums = Some(sums_digest);
    let list = match std::str::from_utf8(&sums)
        .map_err(|_| "not UTF-8 text".to_string())
        .and_then(|text| ChecksumList::parse(text, &source.show(SUMS_NAME)).map_err(|e| e.to_string()))
    {
        Ok(list) => list,
        Err(why) => {
            report.files.push(failed(SUMS_NAME, why));
            return Ok(report);
        }
    };
    // The seal. A release with a bad or missing one fails; its files are still checked, each
    // against its own signature, so the report says everything that is wrong.
    let seal = match read_whole(source, SUMS_SIG_NAME, MAX_SIGNATURE).await? {
        Ok(signature) => {
            let v = verifier.clone();
            let sums = sums.clone();
            match tokio::task::spawn_blocking(move || v.verify(&signature, sums.as_slice())).await {
                Ok(Ok(verified)) => FileStatus::Signed(verified),
                Ok(Err(why)) => FileStatus::Failed(format!("the seal does not verify: {why}")),
                Err(e) => FileStatus::Failed(format!("checking the seal failed: {e}")),
            }
        }
        Err(why) => {
            FileStatus::Failed(format!("{why}: the release is not sealed (the signature of SHA256SUMS)"))
        }
    };
    report.files.push(FileCheck { path: source.show(SUMS_SIG_NAME), status: seal });

    let mut expected: BTreeSet<String> = [SUMS_NAME, SUMS_SIG_NAME].iter().map(|n| n.to_string()).collect();
    for (name, _) in list.entries() {
        expected.insert(name.clone());
        expected.insert(signature_name(name));
    }
    // The pointer a release signed with --release-version carries (not listed: it holds the
    // list's digest): part of the release, and checked like it is in a folder.
    if let Some(check) = carried_pointer(source, &verifier, listing.as_deref(), sums_digest).await? {
        expected.insert(POINTER_NAME.to_string());
        expected.insert(signature_name(POINTER_NAME));
        report.files.push(check);
    }
    report.files.extend(extras(source, listing.as_deref(), &expected, opts, &mut report.extras));

    let sizes: BTreeMap<&str, u64> =
        listing.iter().flatten().map(|(name, size)| (name.as_str(), *size)).collect();
    let entries: Vec<(String, Sha256)> = list.entries().to_vec();
    // Over HTTP the sizes are unknown: every read counts as a large one.
    let size_of = |name: &str| sizes.get(name).copied().unwrap_or(if report.listed { 0 } else { SMALL + 1 });
    let entry_sizes: Vec<u64> = entries.iter().map(|(name, _)| size_of(name)).collect();
    let large = Arc::new(Semaphore::new(opts.jobs.max(1)));
    let small = Arc::new(Semaphore::new(opts.requests.max(1)));
    let mut set = JoinSet::new();
    // Whole streamed GETs, largest first: a signature check reads its file in order, so
    // ranged reads of one file would only be reassembled here.
    for (i, _whole) in schedule(&entry_sizes, opts.jobs, u64::MAX / 4, u64::MAX) {
        let (name, want) = entries[i].clone();
        let limit = if entry_sizes[i] <= SMALL { &small } else { &large };
        let permit = limit.clone().acquire_owned().await.expect("semaphore open");
        let (source, verifier) = (source.clone(), verifier.clone());
        set.spawn(async move {
            let status = check_listed(&source, verifier, &name, want).await;
            drop(permit);
            status.map(|status| FileCheck { path: source.show(&name), status })
        });
    }
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(check)) => report.files.push(check),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
                set.abort_all();
            }
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                first_error.get_or_insert(Error::Internal { detail: format!("a check failed: {e}") });
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    report.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(report)
}

/// The objects under the prefix that are not `expected`: failed, or, when the options allow
/// them, kept in `allowed`.
fn extras(
    source: &Source,
    listing: Option<&[(String, u64)]>,
    expected: &BTreeSet<String>,
    opts: &PublishedOptions,
    allowed: &mut Vec<String>,
) -> Vec<FileCheck> {
    let mut failed = Vec::new();
    for (name, _) in listing.unwrap_or_default().iter().filter(|(name, _)| !expected.contains(name)) {
        if opts.allows(name) {
            allowed.push(source.show(name));
        } else {
            failed.push(FileCheck {
                path: source.show(name),
                status: FileStatus::Failed(
                    "not part of the release (SHA256SUMS does not list it): remove it, or pass --allow-extra \
                     (--allow-extra-under FOLDER/ for a folder of other files, such as logs/)"
                        .into(),
                ),
            });
        }
    }
    failed
}

/// The release's own `release-pointer.json`, when it has one (listed on S3; tried over
/// HTTP(S)): its signature and its binding to `sums`.
async fn carried_pointer(
    source: &Source,
    verifier: &Arc<Verifier>,
    listing: Option<&[(String, u64)]>,
    sums: Sha256,
) -> Result<Option<FileCheck>, Error> {
    if listing.is_some_and(|l| !l.iter().any(|(name, _)| name == POINTER_NAME)) {
        return Ok(None);
    }
    let json = match read_whole(source, POINTER_NAME, MAX_POINTER).await? {
        Ok(json) => json,
        Err(_) if listing.is_none() => return Ok(None),
        Err(why) => {
            return Ok(Some(FileCheck { path: source.show(POINTER_NAME), status: FileStatus::Failed(why) }))
        }
    };
    let sig_name = signature_name(POINTER_NAME);
    let status = match read_whole(source, &sig_name, MAX_SIGNATURE).await? {
        Err(why) => FileStatus::Failed(format!("no signature ({} is {why})", source.show(&sig_name))),
        Ok(signature) => {
            let verifier = verifier.clone();
            tokio::task::spawn_blocking(move || check_pointer_of(&json, &signature, sums, &verifier))
                .await
                .map_err(|e| Error::Internal { detail: format!("checking {POINTER_NAME} failed: {e}") })?
        }
    };
    Ok(Some(FileCheck { path: source.show(POINTER_NAME), status }))
}

/// A small object read whole: its bytes, or why it cannot be used.
pub(crate) async fn read_whole(
    source: &Source,
    name: &str,
    cap: u64,
) -> Result<Result<Vec<u8>, String>, Error> {
    let mut opened = match source.open(name).await? {
        Ok(opened) => opened,
        Err(Missing(why)) => return Ok(Err(why)),
    };
    if let Some(why) = encoded(&opened) {
        return Ok(Err(why));
    }
    opened.read_capped(cap).await
}

fn encoded(opened: &Opened) -> Option<String> {
    opened.content_encoding.as_ref().map(|e| {
        format!(
            "it is served with Content-Encoding: {e}, so a client that decodes it (a browser, curl \
             --compressed, a CDN) saves other bytes than were signed: copy it onto itself without one"
        )
    })
}

/// One file the list names: its own signature (every file but the manifest has one) over
/// its bytes, streamed, and its SHA-256 the listed one.
async fn check_listed(
    source: &Source,
    verifier: Arc<Verifier>,
    name: &str,
    want: Sha256,
) -> Result<FileStatus, Error> {
    if is_signature_name(name) || relsign_pgp::validate_relative(name).is_err() {
        return Ok(FileStatus::Failed("refused: a listed name must be a plain relative path".into()));
    }
    let sig_name = signature_name(name);
    let signature = match source.open(&sig_name).await? {
        Ok(mut opened) => match encoded(&opened) {
            Some(why) => {
                return Ok(FileStatus::Failed(format!("its signature {}: {why}", source.show(&sig_name))))
            }
            None => match opened.read_capped(MAX_SIGNATURE).await? {
                Ok(bytes) => Some(bytes),
                Err(why) => {
                    return Ok(FileStatus::Failed(format!("its signature {}: {why}", source.show(&sig_name))))
                }
            },
        },
        // Only the manifest may go without its own signature: the signed list covers it.
        Err(_) if name == MANIFEST_NAME => None,
        Err(Missing(why)) => {
            return Ok(FileStatus::Failed(format!("no signature ({} is {why})", source.show(&sig_name))))
        }
    };
    let mut opened = match source.open(name).await? {
        Ok(opened) => opened,
        Err(Missing(why)) => return Ok(FileStatus::Failed(format!("listed in SHA256SUMS but {why}"))),
    };
    if let Some(why) = encoded(&opened) {
        return Ok(FileStatus::Failed(why));
    }
    let Some(signature) = signature else {
        let mut hasher = Sha256Hasher::new();
        while let Some(chunk) = opened.next().await? {
            hasher.update(&chunk);
        }
        let got = hasher.finish();
        return Ok(if got == want {
            FileStatus::Listed(got)
        } else {
            FileStatus::Failed(format!("digest {got} differs from SHA256SUMS ({want})"))
        });
    };
    // The bytes go from the download to the check through a bounded channel: the check runs
    // on a blocking thread (it is CPU work) while the next chunks arrive.
    let (tx, rx) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let check = tokio::task::spawn_blocking(move || {
        verifier.verify(&signature, ChannelReader { rx, current: Bytes::new() })
    });
    let mut read_error = None;
    loop {
        match opened.next().await {
            Ok(Some(chunk)) => {
                if tx.send(chunk).await.is_err() {
                    break; // the check stopped early (a malformed signature)
                }
            }
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let verdict =
        check.await.map_err(|e| Error::Internal { detail: format!("checking {name} failed: {e}") })?;
    if let Some(e) = read_error {
        return Err(e);
    }
    Ok(match verdict {
        Ok(v) if v.sha256 != want => {
            FileStatus::Failed(format!("digest {} differs from SHA256SUMS ({want})", v.sha256))
        }
        Ok(v) => FileStatus::Signed(v),
        Err(why) => FileStatus::Failed(why.to_string()),
    })
}

/// The chunks of a download as a `Read` for the signature check, on a blocking thread.
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
