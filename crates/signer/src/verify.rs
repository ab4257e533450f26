//! `signer verify`: one line per file, exit 1 if anything fails.

use std::io::Write;
use std::path::Path;

use relsign_cli::junit::{self, Case, Outcome};
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_pgp::{
    signature_path, signed_name, verify_file, verify_folder, verify_listed, verify_sums, FileCheck,
    FileStatus, FolderOptions, Pointer, Verifier, MAX_POINTER, SUMS_NAME,
};
use serde::Serialize;

use crate::cli::VerifyArgs;

#[derive(Serialize)]
struct Line {
    path: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

impl Line {
    fn from_check(prefix: &Path, check: &FileCheck) -> Line {
        let path = prefix.join(&check.path).display().to_string();
        match &check.status {
            FileStatus::Signed(v) => Line {
                path,
                ok: true,
                fingerprint: Some(v.fingerprint.clone()),
                signed: Some(humantime::format_rfc3339_seconds(v.created).to_string()),
                sha256: Some(v.sha256.to_string()),
                problem: None,
            },
            FileStatus::Listed(d) => Line {
                path,
                ok: true,
                fingerprint: None,
                signed: None,
                sha256: Some(d.to_string()),
                problem: None,
            },
            FileStatus::Failed(why) => Line {
                path,
                ok: false,
                fingerprint: None,
                signed: None,
                sha256: None,
                problem: Some(why.clone()),
            },
        }
    }

    fn junit(&self) -> Case {
        let outcome = match &self.problem {
            Some(why) => Outcome::Failed(why.clone()),
            None => Outcome::Passed(self.text()),
        };
        Case { name: self.path.clone(), outcome }
    }

    fn text(&self) -> String {
        match (&self.problem, &self.fingerprint) {
            (Some(why), _) => format!("FAIL  {}: {why}", self.path),
            (None, Some(fpr)) => {
                format!("OK    {}  signed by {fpr} at {}", self.path, self.signed.as_deref().unwrap_or("?"))
            }
            (None, None) => format!("OK    {}  digest matches the signed SHA256SUMS", self.path),
        }
    }
}

pub fn run(args: VerifyArgs) -> Result<Exit, Failure> {
    let verifier = relsign_cli::verifier(&args.cert, &args.signer_fingerprint)?;
    for path in &args.paths {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Failure::new(Exit::Input, format!("{} does not exist", path.display()))
                .with_fix("check the path"));
        }
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);
    let mut lines = Vec::new();
    for path in &args.paths {
        lines.extend(check_path(&verifier, path, args.require_sums, jobs)?);
    }

    let ok = lines.iter().all(|l| l.ok);
    if let Some(path) = &args.junit {
        let cases: Vec<Case> = lines.iter().map(Line::junit).collect();
        junit::write(path, "signer verify", "signatures", &cases)?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer_pretty(&mut stdout, &serde_json::json!({ "ok": ok, "files": lines }));
        let _ = writeln!(stdout);
    } else {
        for line in &lines {
            let _ = writeln!(stdout, "{}", line.text());
        }
        let failed = lines.iter().filter(|l| !l.ok).count();
        let _ = writeln!(stdout, "{} files checked, {} failed", lines.len(), failed);
    }
    Ok(if ok { Exit::Ok } else { Exit::Verify })
}

fn check_path(
    verifier: &Verifier,
    path: &Path,
    require_sums: bool,
    jobs: usize,
) -> Result<Vec<Line>, Failure> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let shown = |p: &Path| p.display().to_string();
    if path.is_dir() {
        let report = verify_folder(path, verifier, FolderOptions { require_sums, jobs })?;
        return Ok(report.files.iter().map(|c| Line::from_check(path, c)).collect());
    }
    if name == SUMS_NAME {
        let base = path.parent().unwrap_or(Path::new("."));
        return Ok(match verify_sums(verifier, path) {
            Ok(sums) => {
                let mut lines = vec![Line::from_check(
                    Path::new(""),
                    &FileCheck { path: shown(path), status: FileStatus::Signed(sums.signature) },
                )];
                lines.extend(verify_listed(base, &sums.list, jobs).iter().map(|c| Line::from_check(base, c)));
                lines
            }
            Err(why) => vec![Line::from_check(
                Path::new(""),
                &FileCheck { path: shown(path), status: FileStatus::Failed(why.to_string()) },
            )],
        });
    }
    let (data, signature) = match signed_name(name) {
        Some(signed) => (path.with_file_name(signed), path.to_path_buf()),
        None => (path.to_path_buf(), signature_path(path)),
    };
    let status = match verify_file(verifier, &data, &signature) {
        Ok(v) => FileStatus::Signed(v),
        Err(why) => FileStatus::Failed(why.to_string()),
    };
    let pointer = match &status {
        FileStatus::Signed(_) => as_pointer(&data),
        _ => None,
    };
    let mut lines = vec![Line::from_check(Path::new(""), &FileCheck { path: shown(&data), status })];
    if let Some(pointer) = pointer {
        lines.extend(check_release_of(verifier, &data, &pointer, jobs)?);
    }
    Ok(lines)
}

/// The release pointer `path` holds, if it is one (a small file that parses as one).
fn as_pointer(path: &Path) -> Option<Pointer> {
    let bytes = relsign_pgp::read_capped(path, MAX_POINTER).ok()?;
    Pointer::parse(&bytes, &path.display().to_string()).ok()
}

/// The release a verified pointer file names: found from the pointer's folder, checked
/// whole (SHA256SUMS required), and its SHA256SUMS the one the pointer names.
fn check_release_of(
    verifier: &Verifier,
    path: &Path,
    pointer: &Pointer,
    jobs: usize,
) -> Result<Vec<Line>, Failure> {
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let named = format!("release {} named by {}", pointer.version, path.display());
    let failed = |why: String| {
        vec![Line::from_check(
            Path::new(""),
            &FileCheck { path: named.clone(), status: FileStatus::Failed(why) },
        )]
    };
    if pointer.release.starts_with("s3://") {
        return Ok(failed(format!(
            "it is at {}: verify the pointer where it is published (signer verify s3://BUCKET/KEY)",
            pointer.release
        )));
    }
    let dir = base.join(&pointer.release);
    if !dir.is_dir() {
        return Ok(failed(format!(
            "{} is not a folder: download the release beside the pointer",
            dir.display()
        )));
    }
    let report = verify_folder(&dir, verifier, FolderOptions { require_sums: true, jobs })?;
    let mut lines: Vec<Line> = report.files.iter().map(|c| Line::from_check(&dir, c)).collect();
    let status = match relsign_pgp::sha256_file(&dir.join(SUMS_NAME)) {
        Ok(d) if d == pointer.sha256sums => FileStatus::Listed(d),
        Ok(d) => FileStatus::Failed(format!(
            "its SHA256SUMS is {d}, not the {} the pointer names: the pointer is for another release",
            pointer.sha256sums
        )),
        Err(e) => FileStatus::Failed(format!("cannot read its SHA256SUMS: {e}")),
    };
    lines.push(Line::from_check(Path::new(""), &FileCheck { path: named, status }));
    Ok(lines)
}
