//! One run: gate, scan, plan, clean up what a killed run left, upload, report.

use std::sync::Arc;
use std::time::Instant;

use relsign_aws::AwsOptions;
use relsign_cli::junit::{self, Case, Outcome};
use relsign_cli::{default_jobs, Exit, Failure, REPORT_BUG};
use relsign_pgp::{verify_folder, FolderOptions, FolderReport};
use relsign_s3::{Destination, Plan, UploadOptions, Uploaded};

use crate::cli::Args;
use crate::report::{self, Reporter};

pub(crate) fn destination(args: &Args) -> Result<Destination, Failure> {
    let to = match &args.to {
        Some(to) => to.clone(),
        None => {
            let base = std::env::var("RESULTS_BUCKET_URI").ok().filter(|v| !v.is_empty());
            let sha = std::env::var("GIT_COMMIT_SHA").ok().filter(|v| !v.is_empty());
            match (base, sha) {
                (Some(base), Some(sha)) => format!("{}/{sha}", base.trim_end_matches('/')),
                _ => {
                    return Err(Failure::new(Exit::Usage, "no destination").with_fix(
                        "pass --to s3://BUCKET/PREFIX (or set RESULTS_BUCKET_URI and GIT_COMMIT_SHA)",
                    ))
                }
            }
        }
    };
    Ok(to.parse::<Destination>()?)
}

/// Every file of `--from` checked against `--cert`, as the gate (and `copier check`) needs.
pub(crate) fn verify_release(args: &Args, jobs: usize) -> Result<FolderReport, Failure> {
    let verifier = relsign_cli::verifier(&args.cert, &args.signer_fingerprint)?;
    Ok(verify_folder(&args.from, &verifier, FolderOptions { require_sums: true, jobs })?)
}

/// Every signature must verify before anything is uploaded.
fn gate(args: &Args, jobs: usize, record: &mut Record) -> Result<(), Failure> {
    let report = verify_release(args, jobs)?;
    let failures: Vec<_> = report.failures().collect();
    if failures.is_empty() {
        return Ok(());
    }
    record.gate = report
        .files
        .iter()
        .map(|f| match &f.status {
            relsign_pgp::FileStatus::Failed(why) => (f.path.clone(), Some(why.clone())),
            _ => (f.path.clone(), None),
        })
        .collect();
    let listed: Vec<(&str, &str)> =
        record.gate.iter().filter_map(|(p, why)| Some((p.as_str(), why.as_deref()?))).collect();
    if args.json {
        let files: Vec<_> =
            listed.iter().map(|(path, why)| serde_json::json!({ "path": path, "problem": why })).collect();
        println!("{}", serde_json::json!({ "verified": false, "failures": files }));
    } else {
        for (path, why) in &listed {
            println!("FAIL  {path}: {why}");
        }
    }
    Err(Failure::new(
        Exit::Verify,
        format!("{} file(s) in {} do not verify (listed on stdout)", failures.len(), args.from.display()),
    )
    .with_fix("nothing was uploaded; sign the release again"))
}

/// What a run did to each file, for the JUnit report.
#[derive(Default)]
struct Record {
    /// Every file the gate checked, with the reason it failed (set only when the gate fails).
    gate: Vec<(String, Option<String>)>,
    plan: Option<Plan>,
    done: Vec<Uploaded>,
}

impl Record {
    fn cases(&self, result: &Result<Exit, Failure>) -> Vec<Case> {
        if !self.gate.is_empty() {
            let failed = self.gate.iter().filter(|(_, why)| why.is_some()).count();
            return self
                .gate
                .iter()
                .map(|(path, why)| Case {
                    name: path.clone(),
                    outcome: match why {
                        Some(why) => Outcome::Failed(format!("signature: {why}")),
                        None => Outcome::Skipped(format!(
                            "not uploaded: {failed} file(s) of the release do not verify"
                        )),
                    },
                })
                .collect();
        }
        let Some(plan) = &self.plan else {
            let why =
                result.as_ref().err().map(|f| f.to_string()).unwrap_or_else(|| "nothing to publish".into());
            return vec![Case { name: "release".into(), outcome: Outcome::Failed(why) }];
        };
        plan.files
            .iter()
            .map(|p| {
                let done = self.done.iter().find(|u| u.key == p.key);
                let outcome = match (done, result) {
                    (Some(u), _) => Outcome::Passed(format!(
                        "{} s3://{}/{}",
                        report::verb(u.action),
                        plan.destination.bucket,
                        u.key
                    )),
                    (None, Err(f)) => Outcome::Failed(format!("not published: {f}")),
                    (None, Ok(_)) => Outcome::Skipped("dry run: nothing uploaded".into()),
                };
                Case { name: p.file.name.clone(), outcome }
            })
            .collect()
    }
}

/// `--require-signatures` needs certificates; checked here rather than by clap, so that
/// COPIER_REQUIRE_SIGNATURES=false does not demand one. A secret key given as a certificate
/// is refused: the copy stage needs only the public certificate, and a secret key has no
/// business there.
pub(crate) fn certificates_given(args: &Args) -> Result<(), Failure> {
    if args.promote.is_some() && args.cert.is_empty() {
        return Err(Failure::new(Exit::Usage, "--promote needs the certificate to verify the pointers with")
            .with_fix("pass --cert FILE (or COPIER_CERT)"));
    }
    if args.require_signatures && args.cert.is_empty() {
        return Err(Failure::new(Exit::Usage, "--require-signatures needs the certificate to verify with")
            .with_fix("pass --cert FILE (or COPIER_CERT)"));
    }
    for cert in &args.cert {
        if relsign_pgp::starts_with_secret_key(cert).unwrap_or(false) {
            return Err(Failure::new(
                Exit::Input,
                format!("--cert {} holds a secret key, not a certificate", cert.display()),
            )
            .with_fix("give copier the public certificate only (`gpg --armor --export FINGERPRINT`), and keep the secret key out of the copy stage"));
        }
    }
    Ok(())
}

pub fn run(args: Args) -> Result<Exit, Failure> {
    certificates_given(&args)?;
    if let Some(uri) = &args.promote {
        crate::promote::Target::parse(uri)?;
    }
    let mut record = Record::default();
    let result = publish(&args, &mut record);
    if let Some(path) = &args.junit {
        let written = junit::write(path, "copier", "uploads", &record.cases(&result));
        match (written, &result) {
            (Err(f), Ok(_)) => return Err(f),
            (Err(f), Err(_)) => tracing::warn!("{f}"),
            (Ok(()), _) => {}
        }
    }
    result
}

fn publish(args: &Args, record: &mut Record) -> Result<Exit, Failure> {
    let started = Instant::now();
    let dest = destination(args)?;
    if !args.from.is_dir() {
        return Err(Failure::new(Exit::Input, format!("{} is not a folder", args.from.display()))
            .with_fix("check --from"));
    }
    let cores = default_jobs();
    // The walk first: it refuses what cannot be published at all (a FIFO, a symlink out of
    // the folder) with the file named, before the gate reads anything.
    let files = relsign_s3::scan(&args.from)?;
    relsign_s3::check_keys(&dest, &files)?;
    if args.require_signatures {
        gate(args, cores, record)?;
        tracing::debug!("every signature in {} verifies", args.from.display());
    }
    let options = upload_options(args, cores);
    let runtime = runtime(cores)?;
    runtime.block_on(async {
        let config = relsign_aws::load(&aws_options(args)).await?;
        let client = relsign_aws::s3_client(&config, args.path_style);
        // A retention asked for needs a bucket with Object Lock: checked before anything is
        // written, so a release never goes up silently unlocked.
        if args.object_lock_mode.is_some() {
            relsign_s3::require_object_lock(&client, &dest.bucket).await?;
        }
        let plan = Plan::make(&client, &dest, files, plan_options(args, &options)).await?;
        record.plan = Some(plan.clone());
        let count = |a: relsign_s3::Action| plan.files.iter().filter(|p| p.action == a).count();
        tracing::debug!(
            "plan for {dest}: {} to upload, {} to replace, {} identical",
            count(relsign_s3::Action::Upload),
            count(relsign_s3::Action::Replace),
            count(relsign_s3::Action::Skip)
        );
        if args.dry_run {
            report::summary(&plan, None, 0, started.elapsed().as_secs_f64(), args.json);
            return Ok(Exit::Ok);
        }
        let keys = plan.files.iter().map(|p| p.key.clone()).collect();
        let aborted = relsign_s3::abort_stale_uploads(&client, &dest, &keys).await?;
        if aborted > 0 {
            tracing::info!(
                "aborted {aborted} multipart upload(s) of this release left under {dest} by an earlier run"
            );
        }
        let total =
            plan.files.iter().filter(|p| p.action != relsign_s3::Action::Skip).map(|p| p.file.size).sum();
        let reporter = Arc::new(Reporter::new(total));
        let inflight = relsign_s3::Inflight::default();
        let result = tokio::select! {
            result = relsign_s3::execute(&client, &plan, &options, reporter.clone(), &inflight) => result,
            // Dropping the upload future stops its requests; then the open multipart
            // uploads are aborted, so a stopped run leaves no orphan behind.
            Ok(stopped) = relsign_cli::StopSignal::next() => {
                reporter.finish();
                let n = inflight.abort_all(&client, &dest.bucket).await;
                return Err(stopped.failure(&format!(
                    "{n} multipart upload(s) aborted, SHA256SUMS.asc not written"
                )));
            }
        };
        reporter.finish();
        record.done = reporter.done();
        let done = result?;
        report::summary(&plan, Some(&done), aborted, started.elapsed().as_secs_f64(), args.json);
        // The pointer only once the release it names is sealed.
        if let Some(uri) = &args.promote {
            let verifier = relsign_cli::verifier(&args.cert, &args.signer_fingerprint)?;
            crate::promote::promote(&client, args, &verifier, &dest, uri).await?;
        }
        Ok(Exit::Ok)
    })
}

pub(crate) fn upload_options(args: &Args, cores: usize) -> UploadOptions {
    UploadOptions {
        jobs: args.jobs.map(usize::from).unwrap_or_else(|| (cores * 4).clamp(4, 16)),
        requests: usize::from(args.requests),
        multipart_threshold: args.multipart_threshold,
        part_size: args.part_size,
        sse: args.sse.clone(),
        sse_kms_key_id: args.sse_kms_key_id.clone(),
        storage_class: args.storage_class.clone(),
        acl: args.acl.clone(),
        object_lock: object_lock(args),
        claimant: Some(relsign_s3::Claimant::this_run(std::time::Duration::from_secs(args.claim_lease))),
    }
}

/// How the plan judges the destination: the same for a run and for `copier check`.
pub(crate) fn plan_options(args: &Args, upload: &UploadOptions) -> relsign_s3::PlanOptions {
    relsign_s3::PlanOptions {
        overwrite: args.overwrite,
        existing: args.existing.into(),
        requests: upload.requests,
        claim_lease: std::time::Duration::from_secs(args.claim_lease),
    }
}

/// The retention asked for: one date for the whole run, --object-lock-days from now.
pub(crate) fn object_lock(args: &Args) -> Option<relsign_s3::ObjectLock> {
    let (mode, days) = (args.object_lock_mode.as_ref()?, args.object_lock_days?);
    let retain_until =
        std::time::SystemTime::now() + std::time::Duration::from_secs(u64::from(days) * 86_400);
    Some(relsign_s3::ObjectLock { mode: mode.clone(), retain_until })
}

pub(crate) fn aws_options(args: &Args) -> AwsOptions {
    AwsOptions {
        region: args.region.clone(),
        max_attempts: Some(args.max_attempts),
        connect_timeout: None,
        read_timeout: Some(args.read_timeout),
    }
}

pub(crate) fn runtime(cores: usize) -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(cores.max(2)).enable_all().build().map_err(
        |e| Failure::new(Exit::Internal, format!("cannot start the async runtime: {e}")).with_fix(REPORT_BUG),
    )
}
