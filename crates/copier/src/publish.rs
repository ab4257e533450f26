//! One run: gate, scan, plan, clean up what a killed run left, upload, report.

use std::sync::Arc;
use std::time::Instant;

use relsign_cli::junit::{self, Case, Outcome};
use relsign_cli::{default_jobs, Exit, Failure};
use relsign_s3::{Plan, Uploaded};

use crate::cli::Args;
use crate::gate::verify_release;
use crate::report::{self, Reporter};
use crate::settings::{aws_options, certificates_given, destination, plan_options, runtime, upload_options};

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
                Case { name: p.local.name.clone(), outcome }
            })
            .collect()
    }
}

pub fn run(args: Args) -> Result<Exit, Failure> {
    certificates_given(&args)?;
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
            plan.files.iter().filter(|p| p.action != relsign_s3::Action::Skip).map(|p| p.local.size).sum();
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
        Ok(Exit::Ok)
    })
}
