//! The plan: every local file with its SHA-256 and phase, what the destination already
//! holds, and what to do with each file. Nothing is uploaded while planning.

use std::collections::HashMap;
use std::path::Path;

use relsign_pgp::{ChecksumList, MAX_NAME_PART_BYTES, SUMS_NAME, SUMS_SIG_NAME};

use crate::claim::{when, Leftover};
use crate::object::{head, list_etags, same_object, Existing, Mismatch, Proof};
use crate::{Destination, Error, LocalFile, Phase, RemoteObject, MAX_KEY_BYTES};

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
            ChecksumList::parse(&text, SUMS_NAME).map_err(|e| {
                match relsign_error::Contract::fix(&e).text() {
                    Some(fix) => read_err(&sums_path, &format!("{e}: {fix}")),
                    None => read_err(&sums_path, &e),
                }
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
    pub local: LocalFile,
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
    /// The prefix holds an unsealed claim of a dead run (its lease ran out), taken over.
    pub takeover: bool,
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

/// How the plan judges what the destination holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Replace objects that differ (or cannot be proven identical) instead of refusing.
    pub overwrite: bool,
    /// What to do with an object S3 keeps no SHA-256 of.
    pub existing: Existing,
    /// HeadObjects (and their follow-ups) in flight at once.
    pub requests: usize,
    /// The lease of a claim that records none (an older copier's): how long after it was
    /// written an unsealed claim may still belong to a live run.
    pub claim_lease: std::time::Duration,
}

impl Plan {
    /// Lists what the destination holds and decides, file by file. Refuses the whole
    /// release when any object differs (or cannot be proven identical) and `overwrite` is
    /// false, saying whether the prefix holds a sealed release or an unsealed claim still
    /// in its lease; a claim whose lease has run out (its run is dead) is taken over.
    pub async fn make(
        client: &aws_sdk_s3::Client,
        destination: &Destination,
        files: Vec<LocalFile>,
        opts: PlanOptions,
    ) -> Result<Plan, Error> {
        check_keys(destination, &files)?;
        let mut remote = list(client, destination, &files, opts).await?;
        let sealed = remote.contains_key(&destination.key(SUMS_SIG_NAME));
        let claim_key = destination.key(SUMS_NAME);
        // Another signing's claim (its SHA256SUMS differs): sealed, or left unsealed.
        let other_claim = remote.get(&claim_key).filter(|(_, verdict)| verdict.is_err());
        let other_seal = sealed && other_claim.is_some();
        let leftover = other_claim.filter(|_| !sealed).map(|(o, _)| Leftover::of(o, opts.claim_lease));
        let mut planned = Vec::with_capacity(files.len());
        let mut conflicts = Vec::new();
        let mut unproven = false;
        for file in files {
            let key = destination.key(&file.name);
            let (action, etag) = match remote.remove(&key) {
                None => (Action::Upload, None),
                Some((o, verdict)) => match verdict {
                    Ok(()) => (Action::Skip, o.etag),
                    Err(_) if opts.overwrite => (Action::Replace, o.etag),
                    Err(why) => {
                        unproven |= matches!(why, Mismatch::Unproven(_));
                        conflicts.push(format!("{key}: {}", why.why()));
                        (Action::Replace, o.etag)
                    }
                },
            };
            planned.push(PlannedFile { local: file, key, action, etag });
        }
        // With --overwrite, an unsealed claim is taken over whatever its lease says.
        let mut takeover = opts.overwrite && leftover.is_some();
        if !conflicts.is_empty() {
            let count = conflicts.len();
            conflicts.truncate(5);
            let (bucket, keys) = (destination.bucket.clone(), conflicts.join("; "));
            if other_seal {
                return Err(Error::Sealed { bucket, key: destination.key(SUMS_SIG_NAME), count, keys });
            }
            match leftover {
                // Claimed by another signing and never sealed, its lease run out: that run
                // is dead. Its objects are replaced, each only over what the plan saw
                // (If-Match), so that of two runs taking it over at once, one wins.
                Some(left) if left.expired() => {
                    takeover = true;
                    tracing::info!(
                        "taking over s3://{bucket}/{claim_key}, an unsealed claim by {} (claimed {}, lease ran out {})",
                        left.claimant,
                        when(left.claimed),
                        when(left.expires)
                    )
                }
                Some(left) => {
                    return Err(Error::Leftover {
                        bucket,
                        key: claim_key,
                        claimant: left.claimant,
                        claimed: when(left.claimed),
                        expires: when(left.expires),
                    })
                }
                None => return Err(Error::Conflict { count, keys, unproven }),
            }
        }
        Ok(Plan { destination: destination.clone(), files: planned, takeover })
    }
}

/// Every object under the prefix that the release would write, with what S3 says of it and
/// whether it is the local file, `requests` objects at a time. No more than `requests`
/// objects are in hand at once: a re-run over 20,000 published files holds 20,000 small
/// verdicts, not 20,000 requests' state.
async fn list(
    client: &aws_sdk_s3::Client,
    dest: &Destination,
    files: &[LocalFile],
    opts: PlanOptions,
) -> Result<HashMap<String, (RemoteObject, Result<(), Mismatch>)>, Error> {
    let by_key: HashMap<String, &LocalFile> = files.iter().map(|f| (dest.key(&f.name), f)).collect();
    let present = list_etags(client, dest, |k| by_key.contains_key(k)).await?;
    let limit = opts.requests.max(1);
    let mut heads = tokio::task::JoinSet::new();
    let mut out = HashMap::new();
    for key in present.into_keys() {
        while heads.len() >= limit {
            settle(heads.join_next().await, &mut out)?;
        }
        let file = by_key[&key].clone();
        let (client, bucket, existing) = (client.clone(), dest.bucket.clone(), opts.existing);
        heads.spawn(async move {
            let Some(object) = head(&client, &bucket, &key, existing).await? else {
                return Ok::<_, Error>((key, None));
            };
            // Comparing parts reads the local file: off the async workers.
            let verdict = if matches!(object.proof, Proof::Parts(_)) {
                let object = object.clone();
                tokio::task::spawn_blocking(move || same_object(&file, &object))
                    .await
                    .map_err(|e| Error::Internal { detail: e.to_string() })?
            } else {
                same_object(&file, &object)
            };
            Ok((key, Some((object, verdict))))
        });
    }
    while !heads.is_empty() {
        settle(heads.join_next().await, &mut out)?;
    }
    Ok(out)
}

type Judged = (String, Option<(RemoteObject, Result<(), Mismatch>)>);

fn settle(
    joined: Option<Result<Result<Judged, Error>, tokio::task::JoinError>>,
    out: &mut HashMap<String, (RemoteObject, Result<(), Mismatch>)>,
) -> Result<(), Error> {
    let Some(joined) = joined else { return Ok(()) };
    let (key, judged) = joined.map_err(|e| Error::Internal { detail: e.to_string() })??;
    // Gone since the listing: as good as absent (a conditional write settles it).
    if let Some(judged) = judged {
        out.insert(key, judged);
    }
    Ok(())
}
