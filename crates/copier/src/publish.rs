//! One run: gate, scan, plan, clean up what a killed run left, upload, report.

use std::sync::Arc;
use std::time::Instant;

use relsign_aws::AwsOptions;
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_pgp::{verify_folder, FolderOptions, Verifier};
use relsign_s3::{Destination, Plan, UploadOptions};

use crate::cli::Args;
use crate::report::{self, Reporter};

fn destination(args: &Args) -> Result<Destination, Failure> {
    let to = match &args.to {
        Some(to) => to.clone(),
        None => {
            let base = std::env::var("RESULTS_BUCKET_URI").ok().filter(|v| !v.is_empty());
            let sha = std::env::var("GIT_COMMIT_SHA").ok().filter(|v| !v.is_empty());
            match (base, sha) {
                (Some(base), Some(sha)) => format!("{}/{sha}", base.trim_end_matches('/')),
                _ => {
                    return Err(Failure::new(
                        Exit::Usage,
                        "no destination: pass --to s3://BUCKET/PREFIX (or set RESULTS_BUCKET_URI and GIT_COMMIT_SHA)",
                    ))
                }
            }
        }
    };
    Ok(to.parse::<Destination>()?)
}

/// Every signature must verify before anything is uploaded.
fn gate(args: &Args, jobs: usize) -> Result<(), Failure> {
    let verifier = Verifier::from_files(&args.cert)?;
    let report = verify_folder(&args.from, &verifier, FolderOptions { require_sums: true, jobs })?;
    let failures: Vec<_> = report.failures().collect();
    if failures.is_empty() {
        return Ok(());
    }
    for f in &failures {
        if let relsign_pgp::FileStatus::Failed(why) = &f.status {
            println!("FAIL  {}: {why}", f.path);
        }
    }
    Err(Failure::new(
        Exit::Verify,
        format!(
            "{} file(s) in {} do not verify (listed on stdout): nothing was uploaded; sign the release again",
            failures.len(),
            args.from.display()
        ),
    ))
}

pub fn run(args: Args) -> Result<Exit, Failure> {
    let started = Instant::now();
    let dest = destination(&args)?;
    if !args.from.is_dir() {
        return Err(Failure::new(
            Exit::Input,
            format!("{} is not a folder: check --from", args.from.display()),
        ));
    }
    let cores = default_jobs();
    // The walk first: it refuses what cannot be published at all (a FIFO, a symlink out of
    // the folder) with the file named, before the gate reads anything.
    let files = relsign_s3::scan(&args.from)?;
    if args.require_signatures {
        gate(&args, cores)?;
    }
    let jobs = args.jobs.map(usize::from).unwrap_or_else(|| (cores * 4).clamp(4, 16));
    let options = UploadOptions {
        jobs,
        multipart_threshold: args.multipart_threshold,
        part_size: args.part_size,
        sse: args.sse.clone(),
        sse_kms_key_id: args.sse_kms_key_id.clone(),
        storage_class: args.storage_class.clone(),
        acl: args.acl.clone(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores.max(2))
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Internal, format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let aws = AwsOptions {
            region: args.region.clone(),
            max_attempts: Some(args.max_attempts),
            connect_timeout: None,
            read_timeout: Some(args.read_timeout),
        };
        let config = relsign_aws::load(&aws).await?;
        let client = relsign_aws::s3_client(&config, args.path_style);
        let plan = Plan::make(&client, &dest, files, args.overwrite).await?;
        if args.dry_run {
            report::summary(&plan, None, 0, started.elapsed().as_secs_f64(), args.json);
            return Ok(Exit::Ok);
        }
        let aborted = relsign_s3::abort_stale_uploads(&client, &dest).await?;
        if aborted > 0 {
            eprintln!("copier: aborted {aborted} multipart upload(s) left under {dest} by an earlier run");
        }
        let total =
            plan.files.iter().filter(|p| p.action != relsign_s3::Action::Skip).map(|p| p.file.size).sum();
        let reporter = Arc::new(Reporter::new(total));
        let result = relsign_s3::execute(&client, &plan, &options, reporter.clone()).await;
        reporter.finish();
        let done = result?;
        report::summary(&plan, Some(&done), aborted, started.elapsed().as_secs_f64(), args.json);
        Ok(Exit::Ok)
    })
}
