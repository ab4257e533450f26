//! `signer verify`: one line per file, exit 1 if anything fails. Local files and folders
//! are checked here; a published release (s3://, https://) where it lives, by relsign-s3.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use relsign_cli::junit::{self, Case, Outcome};
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_pgp::{
    signature_path, signed_name, verify_file, verify_folder, verify_listed, verify_sums, FileCheck,
    FileStatus, FolderOptions, Verifier, SUMS_NAME,
};
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::published;

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
    /// Said of a file that passes: an extra object allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
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
                note: None,
            },
            FileStatus::Listed(d) => Line {
                path,
                ok: true,
                fingerprint: None,
                signed: None,
                sha256: Some(d.to_string()),
                problem: None,
                note: None,
            },
            FileStatus::Failed(why) => Line {
                path,
                ok: false,
                fingerprint: None,
                signed: None,
                sha256: None,
                problem: Some(why.clone()),
                note: None,
            },
        }
    }

    /// An object under a published release's prefix that it does not list, allowed.
    fn extra(path: String) -> Line {
        Line {
            path,
            ok: true,
            fingerprint: None,
            signed: None,
            sha256: None,
            problem: None,
            note: Some("not part of the release (allowed by --allow-extra)".into()),
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
            (None, _) if self.note.is_some() => {
                format!("OK    {}  {}", self.path, self.note.as_deref().unwrap_or_default())
            }
            (None, Some(fpr)) => {
                format!("OK    {}  signed by {fpr} at {}", self.path, self.signed.as_deref().unwrap_or("?"))
            }
            (None, None) => format!("OK    {}  digest matches the signed SHA256SUMS", self.path),
        }
    }
}

pub fn run(args: VerifyArgs) -> Result<Exit, Failure> {
    let verifier = relsign_pgp::Verifier::for_release(&args.cert, &args.signer_fingerprint)?;
    if let Some(warning) = verifier.ambiguity() {
        tracing::warn!("{warning}");
    }
    let verifier = Arc::new(verifier);
    for path in args.paths.iter().filter(|p| !p.to_str().is_some_and(relsign_s3::is_remote)) {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(Failure::new(Exit::Input, format!("{} does not exist", path.display()))
                .with_fix("check the path"));
        }
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    for path in &args.paths {
        match path.to_str().filter(|p| relsign_s3::is_remote(p)) {
            Some(location) => {
                let report = published::check(&args, location, verifier.clone())?;
                if !report.listed {
                    notes.push(format!(
                        "{location}: extra objects cannot be listed over HTTP(S); only the files SHA256SUMS lists were checked"
                    ));
                }
                lines.extend(report.files.iter().map(|c| Line::from_check(Path::new(""), c)));
                lines.extend(report.extras.into_iter().map(Line::extra));
            }
            None => lines.extend(check_path(&verifier, path, args.require_sums, jobs)?),
        }
    }

    let ok = lines.iter().all(|l| l.ok);
    if let Some(path) = &args.junit {
        let cases: Vec<Case> = lines.iter().map(Line::junit).collect();
        junit::write(path, "signer verify", "signatures", &cases)?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let mut summary = serde_json::json!({ "ok": ok, "files": lines });
        if !notes.is_empty() {
            summary["notes"] = serde_json::json!(notes);
        }
        let _ = serde_json::to_writer_pretty(&mut stdout, &summary);
        let _ = writeln!(stdout);
    } else {
        for line in &lines {
            let _ = writeln!(stdout, "{}", line.text());
        }
        for note in &notes {
            let _ = writeln!(stdout, "NOTE  {note}");
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
    Ok(vec![Line::from_check(Path::new(""), &FileCheck { path: shown(&data), status })])
}
