//! `signer sign`: one read per artifact, in parallel, into a staging folder that becomes
//! `--out` only when every signature, the manifest and the signed checksum list are written.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use rayon::prelude::*;
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_codebuild::{
    artifact_from_variable, collect, merge_sources, sources_from_env, Artifact, Input, Options, Staging,
};
use relsign_pgp::{
    signature_name, ChecksumList, Manifest, ManifestArtifact, ManifestSigner, Sha256, SigningKey,
    MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME,
};
use serde::Serialize;

use crate::cli::{Layout, SignArgs};
use crate::key_source;

/// Read size per worker: large enough for the kernel's readahead, small enough that
/// memory stays flat whatever the file size.
const CHUNK: usize = 1 << 20;

#[derive(Serialize)]
struct Summary<'a> {
    out: &'a Path,
    signer: &'a ManifestSigner,
    artifacts: &'a [ManifestArtifact],
    sha256sums: Sha256,
    skipped_signatures: Vec<String>,
    seconds: f64,
}

pub fn run(args: SignArgs) -> Result<Exit, Failure> {
    let started = Instant::now();
    let inputs = inputs(&args)?;
    let options = Options {
        reserved: &[SUMS_NAME, SUMS_SIG_NAME, MANIFEST_NAME],
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        by_source: args.layout == Layout::BySource,
    };
    let selection = collect(&inputs, &options)?;
    for skipped in &selection.skipped_signatures {
        eprintln!("signer: not signing existing signature {}", skipped.display());
    }
    let key = key_source::signing_key(&args.key, &args.passphrase, &args.aws)?;
    let roots: Vec<PathBuf> =
        inputs.iter().map(|i| i.root.clone().unwrap_or_else(|| i.path.clone())).collect();
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    let staging = Staging::new(&args.out, &roots)?;

    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);
    let artifacts = sign_all(&key, &selection.artifacts, &staging, jobs)?;

    let signer = ManifestSigner {
        fingerprint: key.fingerprint(),
        primary_fingerprint: key.primary_fingerprint(),
        user_id: key.user_id().map(str::to_string),
    };
    let tool = format!("signer {}", env!("CARGO_PKG_VERSION"));
    let mut manifest = Manifest::new(tool, SystemTime::now(), signer);
    manifest.artifacts = artifacts;
    for (key, var) in [
        ("codebuild_build_id", "CODEBUILD_BUILD_ID"),
        ("source_version", "CODEBUILD_RESOLVED_SOURCE_VERSION"),
    ] {
        if let Some(value) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
            manifest.build.insert(key.to_string(), value);
        }
    }
    let manifest_json = manifest.to_json();
    staging.write(MANIFEST_NAME, &manifest_json)?;

    let mut listed: Vec<(&str, Sha256)> =
        manifest.artifacts.iter().map(|a| (a.path.as_str(), a.sha256)).collect();
    listed.push((MANIFEST_NAME, Sha256::of(&manifest_json)));
    listed.sort();
    let mut sums = ChecksumList::new();
    for (path, digest) in listed {
        sums.push(path, digest);
    }
    let sums_text = sums.to_text();
    let mut key = key;
    let sums_sig = key.sign_bytes(sums_text.as_bytes())?;
    staging.write(SUMS_NAME, sums_text.as_bytes())?;
    staging.write(SUMS_SIG_NAME, &sums_sig.signature)?;
    let out = staging.commit()?;

    let summary = Summary {
        out: &out,
        signer: &manifest.signer,
        artifacts: &manifest.artifacts,
        sha256sums: sums_sig.sha256,
        skipped_signatures: selection.skipped_signatures.iter().map(|p| p.display().to_string()).collect(),
        seconds: started.elapsed().as_secs_f64(),
    };
    if let Some(path) = &args.exported_vars {
        write_exported_vars(path, &summary)?;
    }
    print_summary(&summary, args.json);
    Ok(Exit::Ok)
}

/// What to sign: the PATH arguments, else the sources CodeBuild names (all their files, or
/// the files the `--artifact-var` variables name).
fn inputs(args: &SignArgs) -> Result<Vec<Input>, Failure> {
    if !args.paths.is_empty() {
        if !args.artifact_vars.is_empty() {
            return Err(Failure::new(
                Exit::Usage,
                "--artifact-var picks files from the sources (CODEBUILD_SRC_DIR_*, --source): drop the PATH arguments",
            ));
        }
        return Ok(args.paths.iter().map(Input::path).collect());
    }
    let env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let sources = merge_sources(sources_from_env(env), &args.sources);
    if sources.is_empty() {
        return Err(relsign_codebuild::Error::NoSources.into());
    }
    if args.artifact_vars.is_empty() {
        return Ok(sources
            .iter()
            .map(|s| Input { path: s.dir.clone(), source: Some(s.name.clone()), ..Input::default() })
            .collect());
    }
    args.artifact_vars
        .iter()
        .map(|var| {
            let value = std::env::var(var).ok();
            artifact_from_variable(var, value.as_deref(), &sources).map_err(Failure::from)
        })
        .collect()
}

/// `NAME=value` lines a buildspec can source and list under `exported-variables`.
fn write_exported_vars(path: &Path, s: &Summary) -> Result<(), Failure> {
    let text = format!(
        "SIGNER_SIGNED_COUNT={}\nSIGNER_SHA256SUMS_SHA256={}\nSIGNER_KEY_FINGERPRINT={}\n",
        s.artifacts.len(),
        s.sha256sums,
        s.signer.fingerprint
    );
    std::fs::write(path, text).map_err(|e| {
        Failure::new(Exit::Output, format!("cannot write {}: {e}: check --exported-vars", path.display()))
    })
}

fn print_summary(s: &Summary, json: bool) {
    let mut stdout = std::io::stdout().lock();
    if json {
        let _ = serde_json::to_writer_pretty(&mut stdout, s);
        let _ = writeln!(stdout);
        return;
    }
    for a in s.artifacts {
        let _ = writeln!(stdout, "signed  {}  {}  {} bytes", a.path, a.sha256, a.size);
    }
    let who = s.signer.user_id.as_deref().map(|u| format!(" ({u})")).unwrap_or_default();
    let _ = writeln!(
        stdout,
        "{} artifacts signed with key {}{} into {} in {:.2} s",
        s.artifacts.len(),
        s.signer.fingerprint,
        who,
        s.out.display(),
        s.seconds
    );
}

fn sign_all(
    key: &SigningKey,
    artifacts: &[Artifact],
    staging: &Staging,
    jobs: usize,
) -> Result<Vec<ManifestArtifact>, Failure> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Failure::new(Exit::Internal, format!("cannot start {jobs} worker threads: {e}")))?;
    pool.install(|| {
        artifacts
            .par_iter()
            .map_init(
                || (key.clone(), vec![0u8; CHUNK]),
                |(key, buf), artifact| sign_one(key, buf, artifact, staging),
            )
            .collect()
    })
}

/// Places the artifact in the staging folder (hard link, else a copy made in the same
/// pass as the hashing), signs it and writes its `.asc`.
fn sign_one(
    key: &mut SigningKey,
    buf: &mut [u8],
    artifact: &Artifact,
    staging: &Staging,
) -> Result<ManifestArtifact, Failure> {
    let read_error = |e: std::io::Error| {
        Failure::new(Exit::Input, format!("cannot read {}: {e}", artifact.path.display()))
    };
    let linked = staging.link(&artifact.path, &artifact.name)?;
    // Read the linked copy, not the source: the bytes signed are the bytes published.
    let read_from = if linked { staging.path(&artifact.name) } else { artifact.path.clone() };
    let mut file = File::open(&read_from).map_err(read_error)?;
    let mut copy = if linked { None } else { Some(staging.create(&artifact.name)?) };
    let staged = staging.path(&artifact.name);
    let write_error = |e: std::io::Error| {
        Failure::new(
            Exit::Output,
            format!("cannot write {}: {e}: check free space in the output folder", staged.display()),
        )
    };

    let mut hasher = key.hasher();
    loop {
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e)),
        };
        hasher.update(&buf[..n]);
        if let Some(copy) = copy.as_mut() {
            copy.write_all(&buf[..n]).map_err(write_error)?;
        }
    }
    if copy.is_some() {
        if let Ok(meta) = std::fs::metadata(&artifact.path) {
            let _ = std::fs::set_permissions(&staged, meta.permissions());
        }
    }
    let signed = key.finish(hasher)?;
    if signed.size != artifact.size {
        return Err(Failure::new(
            Exit::Input,
            format!(
                "{} changed while it was signed ({} bytes when found, {} when read): sign once the build output is complete",
                artifact.path.display(),
                artifact.size,
                signed.size
            ),
        ));
    }
    let signature = signature_name(&artifact.name);
    staging.write(&signature, &signed.signature)?;
    Ok(ManifestArtifact {
        path: artifact.name.clone(),
        size: signed.size,
        sha256: signed.sha256,
        signature,
        source: artifact.source.clone(),
    })
}
