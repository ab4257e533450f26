//! `--promote s3://BUCKET/KEY`: after the seal, point the release pointer at this release.
//!
//! Read KEY and KEY.asc, decide, write KEY then KEY.asc, each write conditional on what was
//! read (If-Match on its ETag, If-None-Match: * where nothing was). The pointer moves only
//! forward in SemVer order, and only from a pointer that verifies with `--cert`. A write
//! refused by its condition means another promotion came between: read again and decide
//! again, so two promotions racing end at the newer. KEY first: it is the decision; until
//! KEY.asc follows (a moment), the pair does not verify (a detached signature covers exact
//! bytes), so a reader never takes a new KEY on an old KEY.asc, and a promoter that finds a
//! pair that does not verify reads it again a few times before calling it forged.

use std::time::Duration;

use aws_sdk_s3::Client;
use relsign_cli::{Exit, Failure};
use relsign_pgp::{
    signature_name, Pointer, PointerRejected, Sha256, Verifier, MAX_POINTER, MAX_SIGNATURE, POINTER_NAME,
    SUMS_NAME,
};
use relsign_s3::{read_small, write_small_over, Destination, SmallObject};

use crate::cli::Args;

/// How often a pair that does not verify is read again, and how long apart, before it is
/// taken for what it is (forged, damaged, half-written by a dead run) rather than another
/// promotion between its two writes.
const SETTLE_READS: u32 = 5;
const SETTLE_PAUSE: Duration = Duration::from_secs(1);
/// Rounds of read-decide-write before giving up on a pointer that keeps changing.
const ROUNDS: u32 = 20;

/// Where the pointer goes: the bucket, its key, and the folder its relative locations
/// are resolved against.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub bucket: String,
    pub key: String,
}

impl Target {
    pub(crate) fn parse(uri: &str) -> Result<Target, Failure> {
        let usage = |why: &str| {
            Failure::new(Exit::Usage, format!("--promote {uri:?}: {why}"))
                .with_fix("pass --promote s3://BUCKET/KEY, such as s3://downloads/releases/latest.json")
        };
        let dest: Destination = uri.parse().map_err(|_| usage("not an s3://BUCKET/KEY URI"))?;
        if uri.ends_with('/') || dest.prefix.is_empty() {
            return Err(usage("it names a folder, not an object"));
        }
        let key = dest.prefix.trim_end_matches('/').to_string();
        if relsign_pgp::is_signature_name(&key) {
            return Err(usage("the pointer's own name must not end in .asc (its signature's does)"));
        }
        Ok(Target { bucket: dest.bucket, key })
    }

    /// The folder holding the pointer, as a pointer's relative location starts from.
    fn base(&self) -> String {
        let dir = self.key.rfind('/').map(|i| &self.key[..=i]).unwrap_or("");
        format!("s3://{}/{dir}", self.bucket)
    }

    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// The pointer this release carries, checked: signed by --cert, naming this release's
/// SHA256SUMS and, resolved against the pointer's folder, the destination just published.
struct Ours {
    json: Vec<u8>,
    signature: Vec<u8>,
    pointer: Pointer,
}

fn ours(args: &Args, verifier: &Verifier, target: &Target, dest: &Destination) -> Result<Ours, Failure> {
    let input = |problem: String, fix: &str| Failure::new(Exit::Input, problem).with_fix(fix.to_string());
    let path = args.from.join(POINTER_NAME);
    let json = relsign_pgp::read_capped(&path, MAX_POINTER).map_err(|e| {
        input(
            format!("--promote: cannot read {}: {e}", path.display()),
            "sign the release with `signer sign --release-version VERSION`, which writes its pointer",
        )
    })?;
    let sig_path = args.from.join(signature_name(POINTER_NAME));
    let signature = relsign_pgp::read_capped(&sig_path, MAX_SIGNATURE).map_err(|e| {
        input(format!("--promote: cannot read {}: {e}", sig_path.display()), "sign the release again")
    })?;
    let (_, pointer) = relsign_pgp::verify_pointer(&json, &signature, verifier, &path.display().to_string())
        .map_err(|why| match why {
            PointerRejected::Signature(why) => {
                Failure::new(Exit::Verify, format!("{} does not verify: {why}", path.display()))
                    .with_fix("nothing was promoted; sign the release again")
            }
            PointerRejected::Malformed(e) => Failure::from(e),
        })?;
    let sums = relsign_pgp::read_capped(&args.from.join(SUMS_NAME), relsign_pgp::MAX_SUMS).map_err(|e| {
        input(format!("cannot read {SUMS_NAME} in {}: {e}", args.from.display()), "check --from")
    })?;
    if pointer.sha256sums != Sha256::of(&sums) {
        return Err(input(
            format!("{} names the SHA256SUMS of another release", path.display()),
            "nothing was promoted; sign the release again",
        ));
    }
    let names = pointer.resolve(&target.base());
    if names != dest.to_string() {
        return Err(input(
            format!("{} names the release at {names}, but it was published to {dest}", path.display()),
            "nothing was promoted; sign with --release-location naming where the release is published, relative to the pointer's folder or as s3://BUCKET/PREFIX",
        ));
    }
    Ok(Ours { json, signature, pointer })
}

/// What the pointer at the target is.
enum Found {
    Absent,
    /// Verifies with --cert.
    Verified(Pointer),
    /// Does not verify, or is no pointer: why.
    Unverified(String),
}

fn judge(verifier: &Verifier, key: &Option<SmallObject>, sig: &Option<SmallObject>, uri: &str) -> Found {
    let Some(key) = key else { return Found::Absent };
    let Some(sig) = sig else { return Found::Unverified(format!("{} is missing", signature_name(uri))) };
    match relsign_pgp::verify_pointer(&key.bytes, &sig.bytes, verifier, uri) {
        Ok((_, p)) => Found::Verified(p),
        Err(why) => Found::Unverified(why.to_string()),
    }
}

/// Points `--promote` at this release (published to `dest`), or says why not.
pub(crate) async fn promote(
    client: &Client,
    args: &Args,
    verifier: &Verifier,
    dest: &Destination,
    uri: &str,
) -> Result<(), Failure> {
    let target = Target::parse(uri)?;
    let ours = ours(args, verifier, &target, dest)?;
    let sig_key = signature_name(&target.key);
    let (bucket, uri) = (&target.bucket, target.uri());
    let new = ours.pointer.semver();
    for _ in 0..ROUNDS {
        // Read the pair; one that does not verify is read again a few times, since another
        // promotion may be between its two writes.
        let mut settle = 0;
        let (key, sig, found) = loop {
            let key = read_small(client, bucket, &target.key, MAX_POINTER).await?;
            let sig = read_small(client, bucket, &sig_key, MAX_SIGNATURE).await?;
            let found = judge(verifier, &key, &sig, &uri);
            settle += 1;
            let mine = key.as_ref().is_some_and(|k| k.bytes == ours.json);
            if mine || !matches!(found, Found::Unverified(_)) || settle >= SETTLE_READS {
                break (key, sig, found);
            }
            tokio::time::sleep(SETTLE_PAUSE).await;
        };
        // This very pointer (a re-run, or one cut between its two writes): finish it.
        if let Some(k) = key.as_ref().filter(|k| k.bytes == ours.json) {
            if sig.as_ref().is_some_and(|s| s.bytes == ours.signature) {
                tracing::info!("{uri} already names this release ({new})");
                return Ok(());
            }
            return write_signature(client, &target, &ours, k.etag.clone(), sig.map(|o| o.etag), dest).await;
        }
        match &found {
            Found::Verified(p) if p.sha256sums == ours.pointer.sha256sums => {
                tracing::info!("{uri} already names this release ({})", p.version);
                return Ok(());
            }
            Found::Verified(p) if p.semver() >= new && !args.allow_rollback => {
                let what =
                    if p.semver() == new { "the same version of another release" } else { "a newer release" };
                return Err(Failure::new(
                    Exit::Rollback,
                    format!("{uri} names {} ({what}), so it is not moved back to {new}", p.version),
                )
                .with_fix("the release is published, the pointer left as it was; pass --allow-rollback to point it at this release anyway"));
            }
            Found::Unverified(why) if !args.replace_unverified_pointer => {
                return Err(Failure::new(
                    Exit::Verify,
                    format!("{uri} does not verify with --cert ({why}): it may be forged, so it is not replaced"),
                )
                .with_fix("the release is published, the pointer left as it was; find out who wrote it, then pass --replace-unverified-pointer to replace it"));
            }
            Found::Verified(p) => tracing::info!("{uri}: moving from {} to {new}", p.version),
            Found::Unverified(why) => tracing::warn!("{uri} does not verify ({why}): replacing it as asked"),
            Found::Absent => tracing::info!("{uri}: no pointer yet, writing one naming {new}"),
        }
        // KEY first, over exactly what was read: the decision.
        let over = key.as_ref().map(|o| o.etag.as_str());
        let Some(written) =
            write_small_over(client, bucket, &target.key, &ours.json, "application/json", over).await?
        else {
            tracing::info!("{uri} changed since it was read (another promotion): reading it again");
            continue;
        };
        return write_signature(client, &target, &ours, written, sig.map(|o| o.etag), dest).await;
    }
    Err(Failure::new(Exit::Output, format!("{uri} kept changing while this run promoted ({ROUNDS} rounds)"))
        .with_fix("the release is published; check who else promotes to this key, then run again"))
}

/// KEY.asc after KEY (whose ETag is now `written`), over what was read (`sig_over`); should
/// another writer have replaced it between, it is written over the newer one only while
/// KEY still holds this run's pointer.
async fn write_signature(
    client: &Client,
    target: &Target,
    ours: &Ours,
    written: String,
    mut sig_over: Option<String>,
    dest: &Destination,
) -> Result<(), Failure> {
    let (bucket, uri) = (&target.bucket, target.uri());
    let sig_key = signature_name(&target.key);
    let new = &ours.pointer.version;
    loop {
        let sent = write_small_over(
            client,
            bucket,
            &sig_key,
            &ours.signature,
            "application/pgp-signature",
            sig_over.as_deref(),
        )
        .await?;
        if sent.is_some() {
            println!("promoted {uri} to {new} ({dest})");
            return Ok(());
        }
        let now = read_small(client, bucket, &target.key, MAX_POINTER).await?;
        if now.as_ref().map(|o| &o.etag) != Some(&written) {
            return Err(Failure::new(
                Exit::Output,
                format!("{uri} was replaced by another run while this one wrote {sig_key}"),
            )
            .with_fix("the release is published; check who else promotes to this key, then run again"));
        }
        sig_over = read_small(client, bucket, &sig_key, MAX_SIGNATURE).await?.map(|o| o.etag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_objects_and_resolve_from_their_folder() {
        let t = Target::parse("s3://downloads/releases/latest.json").unwrap();
        assert_eq!((t.bucket.as_str(), t.key.as_str()), ("downloads", "releases/latest.json"));
        assert_eq!(t.base(), "s3://downloads/releases/");
        assert_eq!(Target::parse("s3://downloads/latest.json").unwrap().base(), "s3://downloads/");
        for bad in
            ["s3://downloads", "s3://downloads/", "s3://downloads/dir/", "s3://d-d/x.asc", "downloads/x"]
        {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
