//! The one correction of moto the pipeline suite needs for CodePipeline and CodeBuild:
//! tests/moto/pipeline_records.py serves ListActionExecutions and BatchGetBuildBatches from
//! what the harness recorded. Shown here, with the AWS CLI as the outside judge (it builds
//! requests and parses answers from botocore's models of the real APIs): plain moto refuses
//! both calls, and the corrected server answers them in AWS's shapes, with AWS's filter and
//! not-found behaviour.

use std::process::{Command, Output};

use relsign_tests::local_aws::{venv, LocalAws};
use relsign_wiring::{Pipeline, Template};
use serde_json::Value;

use relsign_tests::repo_root;

fn aws_cli(aws: &LocalAws, args: &[&str]) -> Output {
    Command::new(venv().join("bin/aws"))
        .args(args)
        .env_clear()
        .envs(aws.env())
        .output()
        .expect("run the AWS CLI")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "the AWS CLI failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the AWS CLI prints JSON")
}

const PIPELINE: &str = "relsign-release-pipeline";
const BATCH: &str = "relsign-release-builds:bbbbbbbb-0000-4000-8000-000000000003";

#[test]
fn moto_lacks_and_gets_the_execution_apis() {
    let list = ["codepipeline", "list-action-executions", "--pipeline-name", PIPELINE];
    let batches = ["codebuild", "batch-get-build-batches", "--ids", BATCH];

    // Plain moto: neither API exists (the defect the correction is for).
    let plain = LocalAws::moto();
    for call in [&list[..], &batches[..]] {
        let out = aws_cli(&plain, call);
        assert!(
            !out.status.success(),
            "plain moto answered {call:?}: the correction may no longer be needed"
        );
    }

    // The corrected server, answering from an execution the harness recorded.
    let template = Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = Pipeline::of(&template).unwrap();
    let action = |stage: &str| pipeline.actions.iter().find(|a| a.stage == stage).unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let mut records = crate::run::Records::new(dir.path().join("records.json"), PIPELINE);
    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let builds =
        [("amd".to_string(), "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000001".to_string())];
    records.batch(BATCH, "relsign-release-builds", &builds);
    records.action(&action("Build"), BATCH);
    records.action_in("another-execution", &action("Sign"), "relsign-artifact-sign:99999999");

    let all = json_of(&aws_cli(&aws, &list));
    assert_eq!(all["actionExecutionDetails"].as_array().unwrap().len(), 2, "{all}");
    let filter = format!("pipelineExecutionId={}", records.execution_id);
    let mine = json_of(&aws_cli(&aws, &[&list[..], &["--filter", &filter]].concat()));
    let details = mine["actionExecutionDetails"].as_array().unwrap();
    assert_eq!(details.len(), 1, "the filter keeps only this execution's actions: {mine}");
    assert_eq!(details[0]["output"]["executionResult"]["externalExecutionId"], BATCH);
    let unknown =
        aws_cli(&aws, &["codepipeline", "list-action-executions", "--pipeline-name", "no-such-pipeline"]);
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("PipelineNotFoundException"),
        "an unknown pipeline is PipelineNotFoundException, as in AWS: {}",
        String::from_utf8_lossy(&unknown.stderr)
    );

    let found = json_of(&aws_cli(&aws, &[&batches[..], &["relsign-release-builds:unknown"]].concat()));
    assert_eq!(found["buildBatches"][0]["buildGroups"][0]["identifier"], "amd", "{found}");
    assert_eq!(
        found["buildBatchesNotFound"],
        serde_json::json!(["relsign-release-builds:unknown"]),
        "{found}"
    );
}

/// What `signer sign --provenance` reads besides: GetPipelineExecution of an execution the
/// harness played (moto knows only the executions it started itself, and records no
/// artifactRevisions) and BatchGetBuilds of builds it ran (moto knows only its own builds,
/// all with initiator "rootme"). Plain moto refuses or finds nothing; the corrected server
/// answers, and the AWS CLI reads the answers with botocore's models.
#[test]
fn moto_lacks_and_gets_the_provenance_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut records = crate::run::Records::new(dir.path().join("records.json"), PIPELINE);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let build = "relsign-artifact-sign:5a5a5a5a-0000-4000-8000-000000000002";
    records.execution(commit, "example/relsign");
    records.build(build, Some("aws/codebuild/standard:7.0"), Some(commit), None);
    let get =
        ["codepipeline", "get-pipeline-execution", "--pipeline-name", PIPELINE, "--pipeline-execution-id"];
    let get = [&get[..], &[records.execution_id.as_str()]].concat();
    let builds = ["codebuild", "batch-get-builds", "--ids", build];

    let plain = LocalAws::moto();
    assert!(!aws_cli(&plain, &get).status.success(), "plain moto found an execution it never ran");
    let none = json_of(&aws_cli(&plain, &builds));
    assert_eq!(none["builds"], serde_json::json!([]), "plain moto knows the harness's build: {none}");

    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let execution = json_of(&aws_cli(&aws, &get));
    assert_eq!(execution["pipelineExecution"]["artifactRevisions"][0]["revisionId"], commit, "{execution}");
    let found = json_of(&aws_cli(&aws, &[&builds[..], &["relsign-artifact-sign:unknown"]].concat()));
    assert_eq!(found["builds"][0]["initiator"], format!("codepipeline/{PIPELINE}"), "{found}");
    assert_eq!(found["builds"][0]["resolvedSourceVersion"], commit, "{found}");
    assert_eq!(found["buildsNotFound"], serde_json::json!(["relsign-artifact-sign:unknown"]), "{found}");
    let other = aws_cli(
        &aws,
        &[
            "codepipeline",
            "get-pipeline-execution",
            "--pipeline-name",
            PIPELINE,
            "--pipeline-execution-id",
            "nope",
        ],
    );
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("NotFoundException"),
        "an unrecorded execution goes to moto, which does not know it: {}",
        String::from_utf8_lossy(&other.stderr)
    );
}
