//! `relsign check-pipeline`: the check a user runs after editing the release pipeline
//! template or a buildspec, before deploying it. It finds what would otherwise break a
//! release only at run time: an input artifact no earlier action outputs, a
//! `#{Namespace.Variable}` no action exports, a buildspec that does not exist, a role with
//! more rights than its stage needs. Each problem names the action and what to change.

use std::path::PathBuf;

use clap::Parser;
use relsign_cli::{Exit, Failure};
use relsign_wiring::{check_release_pipeline, Template};

const EXAMPLES: &str = "\
Examples:
  relsign check-pipeline templates/release-pipeline-stack.yml
  relsign check-pipeline --buildspec-root ~/src/agent --json deploy/release.yml

Exit codes: 0 no problem, 1 problems found (listed on stdout), 2 usage, 3 the template or a
file it needs cannot be read.";

/// Checks how a release pipeline template and its buildspecs are wired.
#[derive(Debug, Parser)]
#[command(name = "relsign check-pipeline", version, after_help = EXAMPLES)]
pub struct Args {
    /// The CloudFormation template of the release pipeline.
    #[arg(env = "RELSIGN_TEMPLATE", value_name = "TEMPLATE")]
    template: PathBuf,
    /// The folder the projects' `BuildSpec` paths are relative to: the source repository's
    /// root, as CodeBuild checks it out.
    #[arg(long, env = "RELSIGN_BUILDSPEC_ROOT", value_name = "DIR", default_value = ".")]
    buildspec_root: PathBuf,
    /// Print the result as JSON.
    #[arg(long, env = "RELSIGN_JSON")]
    json: bool,
}

pub fn main_from(args: Vec<std::ffi::OsString>) -> i32 {
    let args = Args::parse_from(args);
    relsign_cli::exit_code("relsign check-pipeline", run(&args))
}

fn run(args: &Args) -> Result<Exit, Failure> {
    let template = Template::load(&args.template)?;
    let problems = check_release_pipeline(&template, &args.buildspec_root)?;
    if args.json {
        let problems: Vec<&str> = problems.iter().map(|p| p.0.as_str()).collect();
        let report = serde_json::json!({ "ok": problems.is_empty(), "problems": problems });
        println!("{report:#}");
    } else {
        for problem in &problems {
            println!("FAIL  {problem}");
        }
    }
    if problems.is_empty() {
        if !args.json {
            println!("{}: no wiring problem found", args.template.display());
        }
        return Ok(Exit::Ok);
    }
    Err(Failure::new(
        Exit::Verify,
        format!("{} wiring problem(s) in {} (listed on stdout)", problems.len(), args.template.display()),
    )
    .with_fix("fix each, then run relsign check-pipeline again before deploying the stack"))
}
