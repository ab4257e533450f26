//! The flags of a copier run turned into what the domain takes: the destination, the
//! certificates and verifier, the upload and plan options, the retention, the AWS options
//! and the runtime. Both the run (publish.rs) and its preflight (check.rs) take them here,
//! so the two judge the same settings the same way.

use relsign_aws::AwsOptions;
use relsign_cli::{Exit, Failure, REPORT_BUG};
use relsign_pgp::Verifier;
use relsign_s3::{Destination, UploadOptions};

use crate::cli::Args;

/// `--to`, or the pipeline's RESULTS_BUCKET_URI/GIT_COMMIT_SHA.
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

/// `--require-signatures` needs certificates; checked here rather than by clap, so that
/// COPIER_REQUIRE_SIGNATURES=false does not demand one. A secret key given as a certificate
/// is refused: the copy stage needs only the public certificate, and a secret key has no
/// business there.
pub(crate) fn certificates_given(args: &Args) -> Result<(), Failure> {
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

/// The verifier of `--cert` and `--signer-fingerprint`, warning when several certificates
/// may sign and none is named.
pub(crate) fn verifier(args: &Args) -> Result<Verifier, Failure> {
    let verifier = Verifier::for_release(&args.cert, &args.signer_fingerprint)?;
    if let Some(warning) = verifier.ambiguity() {
        tracing::warn!("{warning}");
    }
    Ok(verifier)
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
