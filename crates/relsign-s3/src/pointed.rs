//! A release pointer checked where it is published (`s3://BUCKET/KEY.json` or
//! `https://HOST/PATH/KEY.json`), and the release it names checked where that lives: the
//! pointer's own signature, then the release whole (as `published.rs` checks one), then the
//! binding between them: the SHA-256 of the release's `SHA256SUMS` is the one the pointer
//! names. A pointer that verifies but names another release's list is a failure: that is how
//! an old signed pointer replayed over a new release, or a release swapped under a good
//! pointer, shows.

use std::sync::Arc;

use relsign_pgp::{
    signature_name, verify_pointer, FileCheck, FileStatus, PointerRejected, Verifier, MAX_POINTER,
    MAX_SIGNATURE,
};

use crate::fetch::Source;
use crate::published::{read_whole, verify_published, PublishedOptions, PublishedReport};
use crate::{Destination, Error};

/// Whether a published location names a release pointer rather than a release's folder:
/// an object whose name ends in `.json` (a folder ends in `/`).
pub fn is_pointer_location(location: &str) -> bool {
    !location.ends_with('/') && location.rsplit('/').next().is_some_and(|name| name.ends_with(".json"))
}

/// A pointer's location split into the folder holding it (ending in `/`) and its name.
pub fn split_pointer_location(location: &str) -> Option<(&str, &str)> {
    let slash = location.rfind('/')?;
    let (folder, name) = location.split_at(slash + 1);
    (!name.is_empty() && !folder.ends_with("://")).then_some((folder, name))
}

/// The verdict on a published pointer and the release it names.
#[derive(Debug)]
pub struct PointerReport {
    /// The pointer itself: signed by the verifier's certificate, or why not.
    pub pointer: FileCheck,
    /// The release it names, checked where it is.
    pub release: Option<PublishedReport>,
    /// The binding: the release's `SHA256SUMS` digest is the pointer's.
    pub binding: Option<FileCheck>,
}

/// Checks the pointer `name` in `folder`, then the release it names, with `verifier`.
/// Fails only when a store cannot be read; every problem is a failed check in the report.
pub async fn verify_published_pointer(
    folder: &Source,
    name: &str,
    verifier: Arc<Verifier>,
    opts: &PublishedOptions,
) -> Result<PointerReport, Error> {
    let shown = folder.show(name);
    let failed = |why: String| FileCheck { path: shown.clone(), status: FileStatus::Failed(why) };
    let mut report = PointerReport { pointer: failed(String::new()), release: None, binding: None };

    let json = match read_whole(folder, name, MAX_POINTER).await? {
        Ok(json) => json,
        Err(why) => {
            report.pointer = failed(format!("{why}: no release pointer here (copier --promote writes one)"));
            return Ok(report);
        }
    };
    let sig_name = signature_name(name);
    let signature = match read_whole(folder, &sig_name, MAX_SIGNATURE).await? {
        Ok(signature) => signature,
        Err(why) => {
            report.pointer = failed(format!("its signature {} is {why}", folder.show(&sig_name)));
            return Ok(report);
        }
    };
    let checked = {
        let (v, origin) = (verifier.clone(), shown.clone());
        tokio::task::spawn_blocking(move || verify_pointer(&json, &signature, &v, &origin))
            .await
            .map_err(|e| Error::Internal { detail: format!("checking {shown} failed: {e}") })?
    };
    let (signed, pointer) = match checked {
        Ok(checked) => checked,
        Err(PointerRejected::Signature(why)) => {
            report.pointer = failed(format!("the pointer does not verify: {why}"));
            return Ok(report);
        }
        Err(PointerRejected::Malformed(e)) => {
            report.pointer = failed(e.to_string());
            return Ok(report);
        }
    };
    report.pointer = FileCheck { path: shown.clone(), status: FileStatus::Signed(signed) };

    let named = format!("release {} named by {shown}", pointer.version);
    let release = match folder.release_at(&pointer.release) {
        Ok(release) => release,
        Err(why) => {
            report.binding = Some(FileCheck { path: named, status: FileStatus::Failed(why) });
            return Ok(report);
        }
    };
    let checked = verify_published(&release, verifier, opts).await?;
    let status = match checked.sums {
        Some(d) if d == pointer.sha256sums => FileStatus::Listed(d),
        Some(d) => FileStatus::Failed(format!(
            "its SHA256SUMS is {d}, not the {} the pointer names: the pointer is for another release",
            pointer.sha256sums
        )),
        None => FileStatus::Failed(format!("no SHA256SUMS at {}", release.show(""))),
    };
    report.binding = Some(FileCheck { path: named, status });
    report.release = Some(checked);
    Ok(report)
}

impl Source {
    /// The release a pointer read from this source names: a relative folder (as
    /// [`relsign_pgp::Pointer::parse`] checked it: plain names, ending in `/`) below this one, or an
    /// `s3://` location read with the same client. Over HTTP(S) only a relative one can be
    /// followed.
    pub fn release_at(&self, location: &str) -> Result<Source, String> {
        match self {
            Source::S3 { client, .. } => {
                let uri =
                    if location.starts_with("s3://") { location.to_string() } else { self.show(location) };
                let destination: Destination = uri.parse().map_err(|e: Error| e.to_string())?;
                Ok(Source::S3 { client: client.clone(), destination })
            }
            Source::Http { .. } if location.starts_with("s3://") => Err(format!(
                "it is at {location}, which HTTP(S) cannot read: verify the pointer at its s3:// address"
            )),
            Source::Http { client, .. } => {
                let url = self
                    .url(location.trim_end_matches('/'))
                    .ok_or_else(|| format!("no URL for {location}"))?;
                let mut base = url.clone();
                base.set_path(&format!("{}/", url.path()));
                Ok(Source::Http { client: client.clone(), base })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_json_objects_and_folders_end_in_a_slash() {
        assert!(is_pointer_location("s3://b/releases/latest.json"));
        assert!(is_pointer_location("https://h/r/latest.json"));
        assert!(!is_pointer_location("s3://b/releases/1.4.0/"));
        assert!(!is_pointer_location("s3://b/releases/1.4.0"));
        assert!(!is_pointer_location("s3://b/latest.json/"));
        assert_eq!(split_pointer_location("s3://b/r/latest.json"), Some(("s3://b/r/", "latest.json")));
        assert_eq!(split_pointer_location("s3://b/latest.json"), Some(("s3://b/", "latest.json")));
        assert_eq!(split_pointer_location("s3://latest.json"), None);
    }
}
