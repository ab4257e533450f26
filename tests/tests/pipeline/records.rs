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
