//! `signer verify`: one line per file, exit 1 if anything fails. Local files and folders
//! are checked here; a published release (s3://, https://) where it lives, by relsign-s3.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use relsign_cli::junit::{self, Case, Outcome};
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_pgp::{
    check_provenance, signature_path, signed_name, verify_file, verify_folder, verify_listed, verify_sums,
    CheckedProvenance, FileCheck, FileStatus, FolderOptions, Pointer, Verifier, MAX_POINTER, PROVENANCE_NAME,
    SUMS_NAME,
};
use relsign_s3::PublishedReport;
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::published::{self, Checked};

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
    /// What a checked provenance says: its statement's predicate and subjects' count.
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<serde_json::Value>,
    #[serde(skip)]
    said: Vec<String>,
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
                provenance: None,
                said: vec![],
            },
            FileStatus::Listed(d) => Line {
                path,
                ok: true,
                fingerprint: None,
                signed: None,
                sha256: Some(d.to_string()),
                problem: None,
                note: None,
                provenance: None,
                said: vec![],
            },
            FileStatus::Failed(why) => Line {
                path,
                ok: false,
                fingerprint: None,
                signed: None,
                sha256: None,
                problem: Some(why.clone()),
                note: None,
                provenance: None,
                said: vec![],
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
            note: Some("not part of the release (allowed by --allow-extra or --allow-extra-under)".into()),
            provenance: None,
            said: vec![],
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
            (None, Some(fpr)) if self.provenance.is_some() => {
                let mut text = format!("OK    {}  provenance signed by {fpr}", self.path);
                for said in &self.said {
                    text.push_str(&format!("\n        {said}"));
                }
                text
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
            Some(location) => match published::check(&args, location, verifier.clone())? {
                Checked::Release(report) => lines.extend(published_lines(report, location, &mut notes)),
                Checked::Pointer(report) => {
                    lines.push(Line::from_check(Path::new(""), &report.pointer));
                    if let Some(release) = report.release {
                        lines.extend(published_lines(release, location, &mut notes));
                    }
                    lines.extend(report.binding.iter().map(|c| Line::from_check(Path::new(""), c)));
                }
            },
            None => {
                lines.extend(check_path(&verifier, path, args.require_sums, jobs)?);
                if path.is_dir() {
                    lines.extend(check_release_provenance(&verifier, path, args.require_provenance));
                }
            }
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

/// The lines of a release checked where it is published.
fn published_lines(report: PublishedReport, location: &str, notes: &mut Vec<String>) -> Vec<Line> {
    if !report.listed {
        notes.push(format!(
            "{location}: extra objects cannot be listed over HTTP(S); only the files SHA256SUMS lists were checked"
        ));
    }
    let mut lines: Vec<Line> = report.files.iter().map(|c| Line::from_check(Path::new(""), c)).collect();
    lines.extend(report.extras.into_iter().map(Line::extra));
    lines
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

/// The folder's provenance: absent (an error with `--require-provenance`), or checked
/// against its signed SHA256SUMS (whose own line reports a bad list) and described.
fn check_release_provenance(verifier: &Verifier, dir: &Path, required: bool) -> Option<Line> {
    let path = dir.join(PROVENANCE_NAME);
    let shown = format!("{} (statement)", path.display());
    let failed = |why: String| Line {
        path: shown.clone(),
        ok: false,
        fingerprint: None,
        signed: None,
        sha256: None,
        problem: Some(why),
        note: None,
        provenance: None,
        said: vec![],
    };
    let bytes = match relsign_pgp::read_capped(&path, relsign_pgp::MAX_SUMS) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return required.then(|| {
                failed("missing: --require-provenance wants the release's signed provenance (signer sign --provenance)".into())
            })
        }
        Err(e) => return Some(failed(format!("cannot read: {e}"))),
    };
    let sums = match verify_sums(verifier, &dir.join(SUMS_NAME)) {
        Ok(sums) => sums,
        Err(why) => {
            return Some(failed(format!("no verified SHA256SUMS to check its subjects against ({why})")))
        }
    };
    match check_provenance(&bytes, &sums.list, verifier) {
        Ok(checked) => Some(Line {
            path: shown,
            ok: true,
            fingerprint: Some(checked.fingerprint.clone()),
            signed: None,
            sha256: None,
            problem: None,
            note: None,
            provenance: Some(serde_json::json!({
                "subjects": checked.statement.subject.len(),
                "predicateType": checked.statement.predicate_type,
                "predicate": checked.statement.predicate,
            })),
            said: describe(&checked),
        }),
        Err(why) => Some(failed(why.to_string())),
    }
}

/// What the provenance says, a line a fact.
fn describe(checked: &CheckedProvenance) -> Vec<String> {
    let p = &checked.statement.predicate;
    let external = serde_json::Value::Object(p.build_definition.external_parameters.clone());
    let mut said = vec![
        format!("subjects: {} (equal to SHA256SUMS)", checked.statement.subject.len()),
        format!("builder: {}", p.run_details.builder.id),
    ];
    if let (Some(name), Some(id)) =
        (external.pointer("/pipeline/name"), external.pointer("/pipeline/executionId"))
    {
        said.push(format!(
            "pipeline: {} execution {}",
            name.as_str().unwrap_or("?"),
            id.as_str().unwrap_or("?")
        ));
    }
    for source in external.get("sources").and_then(|s| s.as_array()).into_iter().flatten() {
        let get = |k: &str| source.get(k).and_then(|v| v.as_str()).unwrap_or("(not recorded)").to_string();
        said.push(format!("source: {} at {}", get("repository"), get("revision")));
    }
    said.push(format!("builds: {}", p.run_details.byproducts.len()));
    said
}
