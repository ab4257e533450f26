//! The release pipeline template is wired right, and the wiring check catches each way a
//! hand edit can break it (a deliberately broken copy per case).

use relsign_tests::{repo_root, stderr_lines, stdout, TestCommand};
use relsign_wiring::{check_release_pipeline, Problem, Template};

const TEMPLATE: &str = "templates/release-pipeline-stack.yml";

pub(crate) fn shipped() -> String {
    std::fs::read_to_string(repo_root().join(TEMPLATE)).expect("read the release template")
}

pub(crate) fn problems(text: &str) -> Vec<Problem> {
    let t = Template::parse(TEMPLATE, text).expect("the edited template still parses");
    check_release_pipeline(&t, &repo_root()).expect("the pipeline is found")
}

/// Applies `edit` (old → new, which must be present once) and expects a problem saying `says`.
pub(crate) fn broken(old: &str, new: &str, says: &str) {
    let text = shipped();
    assert_eq!(text.matches(old).count(), 1, "the template no longer holds {old:?} once: update this test");
    let found = problems(&text.replacen(old, new, 1));
    assert!(found.iter().any(|p| p.0.contains(says)), "expected a problem saying {says:?}, got {found:#?}");
}

#[test]
fn the_shipped_template_has_no_wiring_problems() {
    let found = problems(&shipped());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_signing_input_nobody_produces_is_caught() {
    broken(
        "- {Name: BuildArtifacts}\n              OutputArtifacts: [{Name: Signatures}]",
        "- {Name: BuildOutputs}\n              OutputArtifacts: [{Name: Signatures}]",
        "takes BuildOutputs, which no earlier action outputs",
    );
}

#[test]
fn environment_variables_as_a_yaml_list_are_caught() {
    broken(
        r##"EnvironmentVariables: '[{"name":"GIT_COMMIT_SHA","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"}]'
              InputArtifacts:
                - {Name: Buildspecs}
                - {Name: Signatures}"##,
        "EnvironmentVariables:\n                  - {name: GIT_COMMIT_SHA, value: '#{SourceVariables.CommitId}', type: PLAINTEXT}\n              InputArtifacts:\n                - {Name: Buildspecs}\n                - {Name: Signatures}",
        "must be a string holding JSON",
    );
}

#[test]
fn an_entry_without_name_value_type_is_caught() {
    broken(
        r##"'[{"name":"GIT_COMMIT_SHA","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"}]'
              InputArtifacts:
                - {Name: Buildspecs}
                - {Name: Signatures}"##,
        r##"'[{"name":"GIT_COMMIT_SHA","value":"#{SourceVariables.CommitId}","kind":"PLAINTEXT"}]'
              InputArtifacts:
                - {Name: Buildspecs}
                - {Name: Signatures}"##,
        "expected name, value, type",
    );
}

#[test]
fn a_variable_the_build_does_not_export_is_caught() {
    broken("#{CopyVariables.COPY_EXIT_CODE}", "#{CopyVariables.COPY_STATUS}", "does not export COPY_STATUS");
}

#[test]
fn a_namespace_of_a_later_action_is_caught() {
    broken(
        r##""name":"GIT_COMMIT_SHA","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"},{"name":"SIGNER_PIPELINE_EXECUTION_ID""##,
        r##""name":"GIT_COMMIT_SHA","value":"#{CopyVariables.CODEBUILD_BUILD_ID}","type":"PLAINTEXT"},{"name":"SIGNER_PIPELINE_EXECUTION_ID""##,
        "names namespace CopyVariables of an action that runs later",
    );
}

#[test]
fn a_missing_buildspec_is_caught() {
    broken(
        "BuildSpec: buildspecs/pull-logs.yml",
        "BuildSpec: buildspecs/pull_logs.yml",
        "buildspecs/pull_logs.yml",
    );
}

#[test]
fn several_inputs_without_a_primary_source_are_caught() {
    broken(
        "ProjectName: !Ref CopyCodeBuildProject\n                PrimarySource: Buildspecs\n",
        "ProjectName: !Ref CopyCodeBuildProject\n",
        "no PrimarySource",
    );
}

#[test]
fn a_plaintext_passphrase_is_caught() {
    broken(
        "{Name: PASSPHRASE, Type: SECRETS_MANAGER, Value: !Ref PassphraseArn}",
        "{Name: PASSPHRASE, Type: PLAINTEXT, Value: !Ref PassphraseArn}",
        "PASSPHRASE must be a SECRETS_MANAGER variable",
    );
}

#[test]
fn s3_star_on_the_copy_role_is_caught() {
    broken(
        "Action: [s3:PutObject, s3:GetObject, s3:GetObjectAttributes, s3:AbortMultipartUpload, s3:ListMultipartUploadParts]",
        "Action: 's3:*'",
        "s3:* grants a whole service",
    );
}

#[test]
fn deleting_from_the_final_bucket_is_caught() {
    broken(
        "Action: [s3:PutObject, s3:GetObject, s3:GetObjectAttributes, s3:AbortMultipartUpload, s3:ListMultipartUploadParts]",
        "Action: [s3:PutObject, s3:GetObject, s3:DeleteObject, s3:AbortMultipartUpload]",
        "not s3:DeleteObject",
    );
}

#[test]
fn secrets_on_any_resource_are_caught() {
    broken(
        "Resource: [!Ref SecretKeyArn, !Ref PassphraseArn]",
        "Resource: '*'",
        "Resource '*' for [\"secretsmanager:GetSecretValue\"]",
    );
}

#[test]
fn a_signer_without_its_passphrase_secret_is_caught() {
    broken(
        "Resource: [!Ref SecretKeyArn, !Ref PassphraseArn]",
        "Resource: [!Ref SecretKeyArn]",
        "cannot GetSecretValue on PassphraseArn",
    );
}

#[test]
fn another_role_reading_the_secrets_is_caught() {
    broken(
        "              - Sid: WatchExportTasks\n",
        "              - Sid: PeekAtKey\n                Effect: Allow\n                Action: secretsmanager:GetSecretValue\n                Resource: !Ref SecretKeyArn\n              - Sid: WatchExportTasks\n",
        "only the signing role may read the signing secrets",
    );
}

#[test]
fn the_signer_writing_to_the_final_bucket_is_caught() {
    broken(
        "                - Sid: ReadSigningSecrets\n",
        "                - Sid: Publish\n                  Effect: Allow\n                  Action: s3:PutObject\n                  Resource: !Sub 'arn:${AWS::Partition}:s3:::${ReleaseArtifactsBucketName}/*'\n                - Sid: ReadSigningSecrets\n",
        "only the copy role may touch the final bucket",
    );
}

#[test]
fn a_wildcard_resource_outside_the_allowed_apis_is_caught() {
    broken(
        "Action: logs:CreateExportTask\n                Resource: !Sub 'arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${BuildAndSignLogGroup}:*'",
        "Action: logs:CreateExportTask\n                Resource: '*'",
        "Resource '*' for [\"logs:CreateExportTask\"]",
    );
}

#[test]
fn a_role_any_codebuild_project_can_assume_is_caught() {
    let text = shipped();
    let old = "                'aws:SourceArn': !Sub 'arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/${SigningCodeBuildProjectName}'\n";
    assert_eq!(text.matches(old).count(), 1, "update this test");
    let found = problems(&text.replacen(old, "", 1));
    assert!(
        found.iter().any(|p| p
            .0
            .starts_with("SigningCodeBuildProjectServiceRole: its trust policy lets any CodeBuild project")),
        "{found:#?}"
    );
}

#[test]
fn a_copy_role_writing_anywhere_in_the_bucket_is_caught() {
    broken(
        "                  - 'arn:${AWS::Partition}:s3:::${ReleasePath}/*'\n                  - ReleasePath: !Select\n                      - 1\n                      - !Split ['s3://', !If [HasBucketS3Uri, !Ref ReleaseArtifactsBucketS3Uri, !Sub 's3://${ReleaseArtifactsBucketName}']]\n              - !If\n                - UseObjectLock",
        "                  - 'arn:${AWS::Partition}:s3:::${Bucket}/*'\n                  - Bucket: !Ref ReleaseArtifactsBucketName\n              - !If\n                - UseObjectLock",
        "s3:PutObject anywhere in the final bucket",
    );
}

/// What a user runs after editing the template: `relsign check-pipeline` on their copy,
/// outside the checkout (buildspecs found through `--buildspec-root`).
#[test]
fn relsign_check_pipeline_passes_the_shipped_template_and_names_what_to_fix_in_a_broken_one() {
    let work = tempfile::tempdir().unwrap();
    let template = work.path().join("release.yml");
    std::fs::write(&template, shipped()).unwrap();
    let root = repo_root();
    let res = TestCommand::new("relsign")
        .args(["check-pipeline", "--buildspec-root", root.to_str().unwrap()])
        .arg(&template)
        .current_dir(work.path())
        .expect_ok();
    assert!(stdout(&res).contains("no wiring problem found"), "{}", stdout(&res));

    std::fs::write(
        &template,
        shipped().replacen("#{CopyVariables.COPY_EXIT_CODE}", "#{CopyVariables.COPY_STATUS}", 1),
    )
    .unwrap();
    let res = TestCommand::new("relsign")
        .args(["check-pipeline", "--json"])
        .arg(&template)
        .env("RELSIGN_BUILDSPEC_ROOT", &root)
        .expect_fails(1, "wiring problem(s)");
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p.as_str().unwrap().contains("does not export COPY_STATUS")),
        "{problems:?}"
    );

    // Without the buildspecs the check cannot judge the variables: it says which file is missing.
    let res =
        TestCommand::new("relsign").arg("check-pipeline").arg(&template).current_dir(work.path()).output();
    assert_eq!(res.status.code(), Some(1), "{:?}", stderr_lines(&res));
    assert!(stdout(&res).contains("buildspecs/"), "{}", stdout(&res));

    TestCommand::new("relsign")
        .args(["check-pipeline", work.path().join("nope.yml").to_str().unwrap()])
        .expect_fails(3, "nope.yml");
}

#[test]
fn the_log_export_writing_beyond_the_logs_folder_is_caught() {
    broken(
        "                  - 'arn:${AWS::Partition}:s3:::${ReleasePath}/*/logs/*'",
        "                  - 'arn:${AWS::Partition}:s3:::${ReleasePath}/*'",
        "LogsPullerCodeBuildProjectServiceRole (LogsPullerCodeBuildProjectServiceRole/export-build-logs): only the copy role may touch the final bucket",
    );
}

#[test]
fn the_copy_role_decrypting_with_another_key_is_caught() {
    broken(
        "Action: [kms:GenerateDataKey, kms:Decrypt]\n                  Resource: !Ref ReleaseBucketKmsKeyArn",
        "Action: [kms:GenerateDataKey, kms:Decrypt]\n                  Resource: !Ref SigningKmsKeyArn",
        "kms:GenerateDataKey only for the copy role on ReleaseBucketKmsKeyArn",
    );
}

/// The Copy stage's VerifyPublished: present, after the copy and the log export, with a
/// role of its own that may only read the final bucket.
#[test]
fn a_pipeline_that_does_not_verify_what_it_published_is_caught() {
    broken(
        "BuildSpec: buildspecs/verify-published.yml",
        "BuildSpec: buildspecs/pull-logs.yml",
        "no action runs buildspecs/verify-published.yml",
    );
    broken(
        "ProjectName: !Ref VerifyCodeBuildProject\n                PrimarySource: Buildspecs\n                EnvironmentVariables: '[{\"name\":\"GIT_COMMIT_SHA\",\"value\":\"#{SourceVariables.CommitId}\",\"type\":\"PLAINTEXT\"}]'\n              InputArtifacts: [{Name: Buildspecs}]\n              RunOrder: 3",
        "ProjectName: !Ref VerifyCodeBuildProject\n                PrimarySource: Buildspecs\n                EnvironmentVariables: '[{\"name\":\"GIT_COMMIT_SHA\",\"value\":\"#{SourceVariables.CommitId}\",\"type\":\"PLAINTEXT\"}]'\n              InputArtifacts: [{Name: Buildspecs}]\n              RunOrder: 2",
        "Copy.VerifyPublished runs buildspecs/verify-published.yml before Copy.ExportLogs has finished",
    );
    broken(
        "      ServiceRole: !GetAtt VerifyCodeBuildProjectServiceRole.Arn",
        "      ServiceRole: !GetAtt CopyCodeBuildProjectServiceRole.Arn",
        "has the copy role: give it a role of its own",
    );
    broken(
        "                Action: s3:GetObject\n",
        "                Action: [s3:GetObject, s3:PutObject]\n",
        "VerifyCodeBuildProjectServiceRole (VerifyCodeBuildProjectServiceRole/read-published-release): the role verifying the published release may only read the final bucket ([\"s3:GetObject\", \"s3:ListBucket\"]), not s3:PutObject",
    );
    broken(
        "                Action: s3:ListBucket\n",
        "                Action: [s3:ListBucket, s3:DeleteObject]\n",
        "may only read the final bucket ([\"s3:GetObject\", \"s3:ListBucket\"]), not s3:DeleteObject",
    );
    // Less than it needs: without listing, extra objects go unseen and a missing one reads
    // as access denied.
    broken(
        "                Action: s3:ListBucket\n",
        "                Action: s3:GetObjectTagging\n",
        "VerifyCodeBuildProjectServiceRole: the role verifying the published release needs s3:ListBucket on the final bucket",
    );
}

#[test]
fn a_signing_action_without_its_execution_id_is_caught() {
    broken(
        r##",{"name":"SIGNER_PIPELINE_EXECUTION_ID","value":"#{codepipeline.PipelineExecutionId}","type":"PLAINTEXT"}"##,
        "",
        "set SIGNER_PIPELINE_EXECUTION_ID to #{codepipeline.PipelineExecutionId}",
    );
}

#[test]
fn a_signing_role_that_cannot_read_its_execution_is_caught() {
    broken(
        "Action: [codepipeline:GetPipelineExecution, codepipeline:ListActionExecutions]",
        "Action: codepipeline:GetPipelineExecution",
        "cannot codepipeline:ListActionExecutions",
    );
}

#[test]
fn a_signing_role_reading_any_pipeline_or_starting_builds_is_caught() {
    broken(
        "Resource: !Sub 'arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${PipelineName}'\n              - Sid: ReadTheBuildsItRan",
        "Resource: '*'\n              - Sid: ReadTheBuildsItRan",
        "cannot codepipeline:GetPipelineExecution on its pipeline's resources",
    );
    broken(
        "Action: codebuild:BatchGetBuilds\n",
        "Action: [codebuild:BatchGetBuilds, codebuild:StartBuild]\n",
        "may only read its execution",
    );
}
