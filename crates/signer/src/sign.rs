//! `signer sign`: one read per artifact, in parallel, into a staging folder that becomes
//! `--out` only when every signature, the manifest and the signed checksum list are written.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use relsign_cli::{default_jobs, Exit, Failure, REPORT_BUG};
use relsign_codebuild::{check_side_file, collect, Artifact, FileIdentity, Staging};
use relsign_pgp::{
    seal, signature_name, HashAlgorithm, ManifestArtifact, ManifestSigner, Passphrase, PassphraseNeedle,
    SecretScan, Sha256, SignatureHasher, SigningKey,
};
use serde::Serialize;

use crate::cli::SignArgs;
use crate::early::{sign_as_hashed, Progress, Stopped};
use crate::settings::{input_roots, inputs, selection_options};
use crate::{key_source, kms_source};

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
    /// The whole run.
    seconds: f64,
    /// Fetching and unlocking the key (overlapping the reading of the artifacts).
    key_seconds: f64,
    /// From the start to the first artifact read and hashed: the start-up cost.
    first_hashed_seconds: f64,
}

pub fn run(args: SignArgs) -> Result<Exit, Failure> {
    let started = Instant::now();
    let inputs = inputs(&args)?;
    let options = selection_options(&args);
    let selection = collect(&inputs, &options)?;
    tracing::debug!("{} artifact(s) found in {} input(s)", selection.artifacts.len(), inputs.len());
    for skipped in &selection.skipped_signatures {
        tracing::info!("not signing existing signature {}", skipped.display());
    }
    let half_written = HalfWritten::on_stop_signal();
    let roots = input_roots(&inputs);
    let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
    if let Some(path) = &args.exported_vars {
        // Inside an input it would overwrite what is signed (or, by a hard link, an artifact).
        let artifacts = selection.artifacts.iter().map(|a| a.path.as_path());
        check_side_file(
            path,
            "--exported-vars",
            &roots.iter().copied().chain(artifacts).collect::<Vec<_>>(),
        )?;
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(default_jobs);

    // The key is fetched and chosen first: its algorithm decides the hash every artifact is
    // read into (SHA-384 for P-384, say), and a key relsign refuses must stop the run before
    // anything is read. Unlocking it (a passphrase stretched through 65 MB of SHA-1, for a
    // key GnuPG exported) then overlaps the reading of the artifacts.
    let cancel = AtomicBool::new(false);
    let pool = pool(jobs)?;
    let (chosen, hash_for) = std::sync::mpsc::sync_channel(1);
    let (key, hashed) = std::thread::scope(|scope| {
        let (args, cancel) = (&args, &cancel);
        let key = scope.spawn(move || {
            let unlocking = Instant::now();
            let key = match &args.key.kms_key_id {
                // A KMS key is ready once described: each artifact is signed as soon as it
                // is hashed, while the others are still read.
                Some(id) => kms_source::signing_key(id, &args.key, &args.aws).inspect(|key| {
                    let _ = chosen.send((key.suite().hash, Some(key.clone()), None));
                }),
                None => key_source::selected_key(&args.key, &args.passphrase, &args.aws).and_then(|loaded| {
                    // Every artifact is searched for the passphrase as it is read.
                    let needle = loaded.passphrase.as_ref().and_then(Passphrase::needle);
                    let _ = chosen.send((loaded.key.suite().hash, None, needle));
                    drop(chosen);
                    kms_source::with_cert(loaded.unlock()?, args.key.kms_cert.as_deref())
                }),
            };
            if key.is_err() {
                cancel.store(true, Ordering::Relaxed);
            }
            (key, unlocking.elapsed())
        });
        let hashed = match hash_for.recv() {
            Ok((hash, early, needle)) => {
                Staging::new(&args.out, &roots).map_err(Stopped::from).and_then(|staging| {
                    half_written.add(staging.root());
                    let early = early.as_ref();
                    let read = Reading { staging: &staging, hash, needle: needle.as_ref(), cancel };
                    Ok((hash_all(&pool, &selection.artifacts, &read, early, started)?, staging))
                })
            }
            Err(_) => Err(Stopped::ForTheKey),
        };
        (key.join(), hashed)
    });
    let (key, key_time) = key
        .map_err(|_| Failure::new(Exit::Internal, "the key loading thread panicked").with_fix(REPORT_BUG))?;
    // A key that cannot sign is the first thing to fix, whatever the artifacts' state.
    let mut key = key?;
    tracing::debug!(
        fingerprint = %key.fingerprint(),
        seconds = format!("{:.3}", key_time.as_secs_f64()),
        "key {} unlocked ({}, signing over {})",
        key.user_id().unwrap_or("(no user ID)"),
        key.suite().name,
        relsign_pgp::hash_name(key.suite().hash)
    );
    let (hashed, staging) = hashed.map_err(|stopped| match stopped {
        Stopped::Failed(failure) => failure,
        Stopped::ForTheKey => {
            Failure::new(Exit::Internal, "the artifacts' hashing stopped for a key that loaded")
                .with_fix(REPORT_BUG)
        }
    })?;
    let first_hashed = hashed.first;
    let artifacts = sign_all(&pool, &key, &selection.artifacts, hashed, &staging)?;

    let build = [
        ("codebuild_build_id", "CODEBUILD_BUILD_ID"),
        ("source_version", "CODEBUILD_RESOLVED_SOURCE_VERSION"),
    ]
    .into_iter()
    .filter_map(|(key, var)| Some((key.to_string(), std::env::var(var).ok().filter(|v| !v.is_empty())?)))
    .collect();
    let release = seal(&mut key, format!("signer {}", env!("CARGO_PKG_VERSION")), build, artifacts)?;
    for (name, bytes) in release.files() {
        staging.write(name, bytes)?;
    }
    let manifest = &release.manifest;
    let mut summary = Summary {
        out: &args.out,
        signer: &manifest.signer,
        artifacts: &manifest.artifacts,
        sha256sums: release.sums_signature.sha256,
        skipped_signatures: selection.skipped_signatures.iter().map(|p| p.display().to_string()).collect(),
        seconds: 0.0,
        key_seconds: key_time.as_secs_f64(),
        first_hashed_seconds: first_hashed.as_secs_f64(),
    };
    // Before the commit: a variables file that cannot be written fails the run while the
    // output folder does not exist yet, so a re-run starts clean.
    if let Some(path) = &args.exported_vars {
        half_written.add(path);
        write_exported_vars(path, &summary)?;
    }
    let out = match staging.commit() {
        Ok(out) => out,
        Err(e) => {
            if let Some(path) = &args.exported_vars {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    half_written.clear();
    summary.out = &out;
    summary.seconds = started.elapsed().as_secs_f64();
    print_summary(&summary, args.json);
    Ok(Exit::Ok)
}

/// What a stopped run must remove: the staging folder and the variables file, until the
/// output is committed.
#[derive(Clone, Default)]
struct HalfWritten(Arc<Mutex<Vec<PathBuf>>>);

impl HalfWritten {
    fn on_stop_signal() -> HalfWritten {
        let half = HalfWritten::default();
        let paths = half.0.clone();
        relsign_cli::on_stop_signal("signer", move |stopped| {
            let paths = std::mem::take(&mut *paths.lock().unwrap_or_else(|e| e.into_inner()));
            for path in &paths {
                // Workers may still be writing into the folder: try again if it refills.
                for _ in 0..5 {
                    let gone = match std::fs::symlink_metadata(path) {
                        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).is_ok(),
                        Ok(_) => std::fs::remove_file(path).is_ok(),
                        Err(_) => true,
                    };
                    if gone {
                        break;
                    }
                }
            }
            stopped.failure(if paths.is_empty() {
                "nothing was half-written"
            } else {
                "its staging folder was removed and --out was not written"
            })
        });
        half
    }

    fn add(&self, path: &Path) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(path.to_path_buf());
    }

    fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
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
        Failure::new(Exit::Output, format!("cannot write {}: {e}", path.display()))
            .with_fix("check --exported-vars")
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

/// Every artifact read once, staged and hashed, waiting for the key (or already being
/// signed, with a KMS key).
struct Hashed {
    hashers: Vec<Progress>,
    /// From the start of the run to the first artifact fully hashed.
    first: Duration,
}

fn pool(jobs: usize) -> Result<rayon::ThreadPool, Failure> {
    rayon::ThreadPoolBuilder::new().num_threads(jobs).build().map_err(|e| {
        Failure::new(Exit::Internal, format!("cannot start {jobs} worker threads: {e}")).with_fix(REPORT_BUG)
    })
}

/// What every artifact's one read does: where it is staged, the hash it feeds, the
/// passphrase it is searched for, and the flag that stops it.
struct Reading<'a> {
    staging: &'a Staging,
    hash: HashAlgorithm,
    needle: Option<&'a PassphraseNeedle>,
    cancel: &'a AtomicBool,
}

fn hash_all(
    pool: &rayon::ThreadPool,
    artifacts: &[Artifact],
    read: &Reading,
    early: Option<&SigningKey>,
    started: Instant,
) -> Result<Hashed, Stopped> {
    let first = OnceLock::new();
    let hash_each = |then: &(dyn Fn(&Path, SignatureHasher) -> Progress + Sync)| {
        pool.install(|| {
            artifacts
                .par_iter()
                .map_init(
                    || vec![0u8; CHUNK],
                    |buf, artifact| {
                        let hasher = hash_one(buf, artifact, read)?;
                        first.get_or_init(|| started.elapsed());
                        Ok(then(&artifact.path, hasher))
                    },
                )
                .collect::<Result<Vec<_>, Stopped>>()
        })
    };
    let hashers = match early {
        Some(key) => sign_as_hashed(key, read.cancel, hash_each)?,
        None => hash_each(&|_, hasher| Progress::Hashed(hasher))?,
    };
    Ok(Hashed { hashers, first: first.get().copied().unwrap_or_else(|| started.elapsed()) })
}

/// Copies the artifact into the staging folder in the same pass that hashes it, so what
/// `--out` holds is what was signed, whatever happens to the input afterwards (a hard link
/// would share its bytes with the input). The input's identity (device, inode, size,
/// modification and change times) must be the same after the read as before it, and its
/// path must still name it: a file rewritten or replaced meanwhile is refused.
fn hash_one(buf: &mut [u8], artifact: &Artifact, read: &Reading) -> Result<SignatureHasher, Stopped> {
    let Reading { staging, hash, needle, cancel } = *read;
    let read_error = |e: std::io::Error| {
        Failure::new(Exit::Input, format!("cannot read {}: {e}", artifact.path.display()))
    };
    let mut file = File::open(&artifact.path).map_err(read_error)?;
    let before = file.metadata().map(|m| FileIdentity::of(&m)).map_err(read_error)?;
    let mut copy = staging.create(&artifact.name)?;
    let staged = staging.path(&artifact.name);
    let write_error = |e: std::io::Error| {
        Failure::new(Exit::Output, format!("cannot write {}: {e}", staged.display()))
            .with_fix("check free space in the output folder")
    };

    let mut hasher = SignatureHasher::new(hash)?;
    let mut secret = SecretScan::new();
    let mut passphrase = needle.map(PassphraseNeedle::scan);
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Stopped::ForTheKey);
        }
        let n = match file.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(e).into()),
        };
        hasher.update(&buf[..n]);
        secret.update(&buf[..n]);
        if let Some(scan) = passphrase.as_mut() {
            scan.update(&buf[..n]);
        }
        copy.write_all(&buf[..n]).map_err(write_error)?;
    }
    let after = file.metadata().map(|m| FileIdentity::of(&m)).map_err(read_error)?;
    let named = std::fs::metadata(&artifact.path).map(|m| FileIdentity::of(&m)).ok();
    if after != before || named != Some(before) {
        return Err(Failure::new(
            Exit::Input,
            format!(
                "{} changed while it was signed (rewritten or replaced during the read)",
                artifact.path.display()
            ),
        )
        .with_fix("sign once the build output is complete")
        .into());
    }
    if secret.finish() {
        return Err(Failure::new(
            Exit::Input,
            format!("{} holds OpenPGP secret-key material", artifact.path.display()),
        )
        .with_fix("secret keys are never signed or published; remove it from the build output")
        .into());
    }
    if passphrase.is_some_and(|scan| scan.finish()) {
        return Err(Failure::new(Exit::Input, format!("{} holds the signing key's passphrase", artifact.path.display()))
            .with_fix("the passphrase is never signed or published: remove it from the build output, and change the passphrase, since the build saw it")
            .into());
    }
    if let Ok(meta) = file.metadata() {
        let _ = std::fs::set_permissions(&staged, meta.permissions());
    }
    Ok(hasher)
}

/// Signs every hashed artifact and writes its `.asc`.
fn sign_all(
    pool: &rayon::ThreadPool,
    key: &SigningKey,
    artifacts: &[Artifact],
    hashed: Hashed,
    staging: &Staging,
) -> Result<Vec<ManifestArtifact>, Failure> {
    pool.install(|| {
        artifacts
            .par_iter()
            .zip(hashed.hashers)
            .map_init(|| key.clone(), |key, (artifact, progress)| sign_one(key, progress, artifact, staging))
            .collect()
    })
}

fn sign_one(
    key: &mut SigningKey,
    progress: Progress,
    artifact: &Artifact,
    staging: &Staging,
) -> Result<ManifestArtifact, Failure> {
    let signed = progress.signed(key, &artifact.path.display().to_string())?;
    if signed.size != artifact.size {
        return Err(Failure::new(
            Exit::Input,
            format!(
                "{} changed while it was signed ({} bytes when found, {} when read)",
                artifact.path.display(),
                artifact.size,
                signed.size
            ),
        )
        .with_fix("sign once the build output is complete"));
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
