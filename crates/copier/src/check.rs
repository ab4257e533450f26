//! `copier check`: the preflight. With the flags and environment of a copy, it reports the
//! folder and its files, the gate's verdict when signatures are required, the destination,
//! the AWS identity, whether the bucket can be listed and written, and the plan a run would
//! make (the same plan, so that a check never says a run would start where the run would
//! refuse what the destination holds), uploading nothing.

use relsign_cli::preflight::Report;
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_pgp::SUMS_SIG_NAME;

use crate::cli::Args;
use crate::gate::verify_release;
use crate::settings::{
    aws_options, certificates_given, destination, object_lock, plan_options, runtime, upload_options,
};

pub fn run(args: Args) -> Result<Exit, Failure> {
    let mut report = Report::default();
    let cores = default_jobs();
    let files = folder(&args, cores, &mut report);
    let dest = match destination(&args) {
        Ok(d) => match files.as_deref().map(|files| relsign_s3::check_keys(&d, files)) {
            Some(Err(e)) => {
                report.failure("destination", &Failure::from(e));
                None
            }
            _ => {
                report.ok("destination", d.to_string());
                Some(d)
            }
        },
        Err(f) => {
            report.failure("destination", &f);
            None
        }
    };
    match runtime(cores) {
        Ok(rt) => rt.block_on(remote(&args, dest.as_ref(), files, cores, &mut report)),
        Err(f) => report.failure("aws", &f),
    }
    report.finish("copier", args.json)
}

/// The folder: its files, and the gate's verdict when --require-signatures is given.
fn folder(args: &Args, cores: usize, report: &mut Report) -> Option<Vec<relsign_s3::LocalFile>> {
    if !args.from.is_dir() {
        report.problem(
            "from",
            Exit::Input,
            format!("{} is not a folder", args.from.display()),
            "pass the signed folder as --from (the signing stage's output artifact)",
        );
        return None;
    }
    let files = match relsign_s3::scan(&args.from) {
        Ok(files) => files,
        Err(e) => {
            report.failure("from", &Failure::from(e));
            return None;
        }
    };
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    let complete = args.from.join(SUMS_SIG_NAME).is_file();
    report.ok(
        "from",
        format!(
            "{}: {} file(s), {:.1} MiB{}",
            args.from.display(),
            files.len(),
            bytes as f64 / (1 << 20) as f64,
            if complete { "" } else { " (no SHA256SUMS.asc: not a signed release)" }
        ),
    );
    if args.require_signatures {
        gate(args, cores, report);
    }
    Some(files)
}

fn gate(args: &Args, cores: usize, report: &mut Report) {
    if let Err(f) = certificates_given(args) {
        return report.failure("signatures", &f);
    }
    match verify_release(args, cores) {
        Ok(r) => {
            let failed: Vec<String> = r.failures().map(|f| f.path.clone()).collect();
            if failed.is_empty() {
                report.ok("signatures", format!("all {} file(s) verify", r.files.len()));
            } else {
                report.problem(
                    "signatures",
                    Exit::Verify,
                    format!("{} file(s) do not verify: {}", failed.len(), failed.join(", ")),
                    "sign the release again (`signer verify` shows why each fails)",
                );
            }
        }
        Err(f) => report.failure("signatures", &f),
    }
}

/// The AWS identity, then the bucket: listable, and writable (a multipart upload started
/// and aborted under the prefix); then the run's own plan against what the bucket holds.
async fn remote(
    args: &Args,
    dest: Option<&relsign_s3::Destination>,
    files: Option<Vec<relsign_s3::LocalFile>>,
    cores: usize,
    report: &mut Report,
) {
    let config = match relsign_aws::load(&aws_options(args)).await {
        Ok(c) => c,
        Err(e) => return report.failure("aws", &Failure::from(e)),
    };
    match relsign_aws::identity(&config).await {
        Ok(id) => report.ok("aws", id.to_string()),
        Err(e) => return report.failure("aws", &Failure::from(e)),
    }
    let Some(dest) = dest else { return };
    let client = relsign_aws::s3_client(&config, args.path_style);
    match relsign_s3::preflight(&client, dest).await {
        Ok(found) => report.ok(
            "bucket",
            format!(
                "{dest}: listable and writable (a multipart upload started and aborted); {}{} object(s) already there",
                found.existing,
                if found.more { "+" } else { "" }
            ),
        ),
        Err(e) => return report.failure("bucket", &Failure::from(e)),
    }
    let Some(files) = files else { return };
    let options = plan_options(args, &upload_options(args, cores));
    match relsign_s3::Plan::make(&client, dest, files, options).await {
        Ok(plan) => {
            let count = |a: relsign_s3::Action| plan.files.iter().filter(|p| p.action == a).count();
            report.ok(
                "plan",
                format!(
                    "{} to upload, {} to replace, {} identical (proven by SHA-256)",
                    count(relsign_s3::Action::Upload),
                    count(relsign_s3::Action::Replace),
                    count(relsign_s3::Action::Skip)
                ),
            )
        }
        Err(e) => report.failure("plan", &Failure::from(e)),
    }
    if let Some(lock) = object_lock(args) {
        match relsign_s3::require_object_lock(&client, &dest.bucket).await {
            Ok(()) => report.ok(
                "object lock",
                format!(
                    "{} has Object Lock: each object kept in {} mode for {} day(s)",
                    dest.bucket,
                    lock.mode,
                    args.object_lock_days.unwrap_or_default()
                ),
            ),
            Err(e) => report.failure("object lock", &Failure::from(e)),
        }
    }
}
