//! The hand-off: the signing action passes on only what it made (the `.asc` files,
//! SHA256SUMS, its signature and manifest.json) and the Copy action takes the build outputs
//! themselves as inputs beside it, so no artifact is zipped, uploaded and unzipped twice.
//!
//! This puts the two back together as one release folder, of hard links (copies where a
//! link cannot be made), before anything reads it: the gate, the plan and the upload then see
//! the release exactly as signer made it, and verify every byte as they would anyway. Only
//! what SHA256SUMS lists is taken from the build outputs: SHA256SUMS is the release.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use relsign_cli::{Exit, Failure};
use relsign_pgp::{ChecksumList, SUMS_NAME};

/// The assembled release folder; removed when dropped.
pub(crate) struct Assembled {
    dir: tempfile::TempDir,
}

impl Assembled {
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn input(problem: String, fix: &str) -> Failure {
    Failure::new(Exit::Input, problem).with_fix(fix)
}

/// The release of `signed` (signer's output without the artifacts) with each artifact its
/// SHA256SUMS lists found in one of `outputs`.
pub(crate) fn assemble(signed: &Path, outputs: &[PathBuf]) -> Result<Assembled, Failure> {
    if !signed.is_dir() {
        return Err(input(format!("{} is not a folder", signed.display()), "check --from"));
    }
    let sums_path = signed.join(SUMS_NAME);
    let text = relsign_pgp::read_capped(&sums_path, relsign_pgp::MAX_SUMS).map_err(|e| {
        input(
            format!("cannot read {}: {e}", sums_path.display()),
            "with --artifacts-from, --from is the signing action's output, which holds SHA256SUMS",
        )
    })?;
    let text = String::from_utf8(text)
        .map_err(|_| input(format!("{} is not UTF-8 text", sums_path.display()), "sign the release again"))?;
    let listed = ChecksumList::parse(&text, SUMS_NAME)
        .map_err(|e| input(format!("{}: {e}", sums_path.display()), "sign the release again"))?;

    // Beside --from, so that hard links stay on one file system.
    let parent = signed.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = tempfile::Builder::new().prefix(".relsign-release-").tempdir_in(parent).map_err(|e| {
        Failure::new(Exit::Output, format!("cannot make a folder in {}: {e}", parent.display()))
            .with_fix("copier assembles the release beside --from: make that folder writable")
    })?;
    let mut present = BTreeSet::new();
    for entry in walkdir::WalkDir::new(signed).follow_links(false).sort_by_file_name() {
        let entry =
            entry.map_err(|e| input(format!("cannot read {}: {e}", signed.display()), "check --from"))?;
        if entry.depth() == 0 || entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(signed).unwrap_or(entry.path());
        // Anything but a regular file is refused later by the walk of the assembled folder,
        // with its name; a link to it keeps that verdict.
        link(entry.path(), &dir.path().join(rel))?;
        present.insert(rel.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"));
    }
    for (name, _) in listed.entries() {
        if present.contains(name) {
            continue;
        }
        link(&find(name, outputs)?, &dir.path().join(name))?;
    }
    tracing::info!(
        "assembled the release from {} and {} build output folder(s): {} artifact(s) listed in SHA256SUMS",
        signed.display(),
        outputs.len(),
        listed.entries().len()
    );
    Ok(Assembled { dir })
}

/// The one file that is `name` in `outputs`: at a folder's top, or inside one of its
/// top-level folders (a batch's combined artifact has one per build).
fn find(name: &str, outputs: &[PathBuf]) -> Result<PathBuf, Failure> {
    let mut found = Vec::new();
    for root in outputs {
        let entries = std::fs::read_dir(root)
            .map_err(|e| input(format!("cannot read {}: {e}", root.display()), "check --artifacts-from"))?;
        let mut candidates = vec![root.join(name)];
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                candidates.push(entry.path().join(name));
            }
        }
        found.extend(candidates.into_iter().filter(|c| std::fs::symlink_metadata(c).is_ok()));
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(input(
            format!(
                "{name}, listed in SHA256SUMS, is in none of the build outputs ({})",
                outputs.iter().map(|o| o.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
            "pass with --artifacts-from the build outputs the signing action signed",
        )),
        many => Err(input(
            format!(
                "{name}, listed in SHA256SUMS, is in more than one build output: {}",
                many.iter().map(|o| o.display().to_string()).collect::<Vec<_>>().join(" and ")
            ),
            "sign and publish with --layout by-source, or rename one of them",
        )),
    }
}

fn link(from: &Path, to: &Path) -> Result<(), Failure> {
    let write = |e: std::io::Error| {
        Failure::new(Exit::Output, format!("cannot put {} into {}: {e}", from.display(), to.display()))
            .with_fix("check free space and permissions beside --from")
    };
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(write)?;
    }
    // A symlink or special file is linked as it is (hard_link does not follow it): the walk
    // of the assembled folder refuses it by name, as it would in --from.
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        Err(_) if std::fs::symlink_metadata(from).is_ok_and(|m| m.is_file()) => {
            std::fs::copy(from, to).map(|_| ()).map_err(write)
        }
        Err(e) => Err(write(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn only_what_sha256sums_lists_is_taken_from_the_build_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let signed = dir.path().join("signed");
        let builds = dir.path().join("builds");
        write(&builds.join("amd/app.tar.gz"), "amd");
        write(&builds.join("arm/app-arm.tar.gz"), "arm");
        write(&builds.join("arm/release-version"), "1.0.0");
        let sha = |t: &str| relsign_pgp::Sha256::of(t.as_bytes());
        let mut sums = ChecksumList::new();
        sums.push("app.tar.gz", sha("amd"));
        sums.push("app-arm.tar.gz", sha("arm"));
        write(&signed.join(SUMS_NAME), &sums.to_text());
        write(&signed.join("app.tar.gz.asc"), "sig");

        let release = assemble(&signed, std::slice::from_ref(&builds)).unwrap();
        let mut names: Vec<String> = walkdir::WalkDir::new(release.path())
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().strip_prefix(release.path()).unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["SHA256SUMS", "app-arm.tar.gz", "app.tar.gz", "app.tar.gz.asc"]);
        let kept = release.path().to_path_buf();
        drop(release);
        assert!(!kept.exists(), "the assembled folder is removed");

        // Listed twice across builds, or nowhere: refused, naming the file.
        write(&builds.join("arm/app.tar.gz"), "amd");
        let e = assemble(&signed, std::slice::from_ref(&builds)).err().unwrap();
        assert!(e.to_string().contains("app.tar.gz, listed in SHA256SUMS, is in more than one"), "{e}");
        std::fs::remove_file(builds.join("arm/app.tar.gz")).unwrap();
        std::fs::remove_file(builds.join("amd/app.tar.gz")).unwrap();
        let e = assemble(&signed, &[builds]).err().unwrap();
        assert!(e.to_string().contains("app.tar.gz, listed in SHA256SUMS, is in none"), "{e}");
    }
}
