//! What CodePipeline and CodeBuild refuse at deploy or when the batch starts, caught by the
//! wiring check before anyone deploys: one broken copy of the shipped template (or of
//! buildspecs/builds.yml) per limit, each problem naming the action, the limit and the way
//! out. cfn-lint is the outside judge where it knows the limit (the artifact counts, E3702).

use std::path::Path;
use std::process::Command;

use relsign_tests::local_aws::venv;
use relsign_tests::{copy_tree, repo_root, stdout, TestCommand};
use relsign_wiring::{check_release_pipeline, Problem, Template};

use crate::wiring::{broken, problems, shipped};

/// Each case: an edit of the shipped template (old, which must be there once, then new) and
/// what the problem must say.
macro_rules! refused {
    ($name:ident, $old:expr, $new:expr, $says:expr) => {
        #[test]
        fn $name() {
            broken(&$old, &$new, $says);
        }
    };
}

const GPG_INPUTS: &str = "                - {Name: Buildspecs}\n                - {Name: BuildArtifacts}\n              OutputArtifacts: [{Name: Signatures}]";

/// The template a user makes by adding builds the way the old README said: one build action
/// each, its output named among the signing action's inputs.
fn four_builds_as_actions() -> String {
    let mut text = shipped();
    let mut actions = String::new();
    let mut inputs =
        String::from("                - {Name: Buildspecs}\n                - {Name: BuildArtifacts}\n");
    for i in 1..=4 {
        actions.push_str(&format!(
            "            - Name: MakeExtra{i}\n              ActionTypeId: {{Category: Build, Owner: AWS, Provider: CodeBuild, Version: '1'}}\n              Configuration:\n                ProjectName: !Ref ExtractCodeBuildProject\n              InputArtifacts: [{{Name: SourceArtifact}}]\n              OutputArtifacts: [{{Name: Extra{i}Artifact}}]\n              RunOrder: 1\n"
        ));
        inputs.push_str(&format!("                - {{Name: Extra{i}Artifact}}\n"));
    }
    let sign = "        - Name: Sign\n";
    assert_eq!(text.matches(sign).count(), 1);
    text = text.replacen(sign, &format!("{actions}{sign}"), 1);
    assert_eq!(text.matches(GPG_INPUTS).count(), 1, "update this test");
    text.replacen(GPG_INPUTS, &format!("{inputs}              OutputArtifacts: [{{Name: Signatures}}]"), 1)
}

/// The same template as JSON, converted by cfn-lint's own CloudFormation YAML reader.
fn as_json(yaml: &Path, json: &Path) {
    let out = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import cfn_yaml\njson.dump(cfn_yaml.load(sys.argv[1]), open(sys.argv[2], 'w'), indent=1)",
        ])
        .arg(yaml)
        .arg(json)
        .output()
        .expect("run the venv's python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn six_inputs_to_a_codebuild_action_are_refused_in_yaml_and_json_as_cfn_lint_refuses_them() {
    let text = four_builds_as_actions();
    let says = "Sign.GPG: 6 input artifacts; a CodeBuild Build action takes 1 to 5: run the builds as one CodeBuild batch";
    let found = problems(&text);
    assert!(found.iter().any(|p| p.0.starts_with(says)), "{found:#?}");

    let work = tempfile::tempdir().unwrap();
    let yaml = work.path().join("release.yml");
    std::fs::write(&yaml, &text).unwrap();
    let lint = Command::new(venv().join("bin/cfn-lint")).arg(&yaml).output().expect("run cfn-lint");
    let report = String::from_utf8_lossy(&lint.stdout);
    assert!(
        !lint.status.success() && report.contains("E3702"),
        "cfn-lint should refuse six inputs:\n{report}"
    );

    let json = work.path().join("release.json");
    as_json(&yaml, &json);
    for template in [&yaml, &json] {
        let res = TestCommand::new("relsign")
            .args(["check-pipeline", "--buildspec-root"])
            .arg(repo_root())
            .arg(template)
            .expect_fails(1, "wiring problem(s)");
        assert!(stdout(&res).contains(says), "{}: {}", template.display(), stdout(&res));
    }
    // The shipped template, as JSON too, has none.
    std::fs::write(&yaml, shipped()).unwrap();
    as_json(&yaml, &json);
    let res = TestCommand::new("relsign")
        .args(["check-pipeline", "--buildspec-root"])
        .arg(repo_root())
        .arg(&json)
        .expect_ok();
    assert!(stdout(&res).contains("no wiring problem found"), "{}", stdout(&res));
}

refused!(
    six_outputs_of_a_codebuild_action_are_refused,
    "              OutputArtifacts: [{Name: BuildArtifacts}]",
    "              OutputArtifacts: [{Name: BuildArtifacts}, {Name: O2}, {Name: O3}, {Name: O4}, {Name: O5}, {Name: O6}]",
    "Build.Builds: 6 output artifacts; a CodeBuild Build action takes 0 to 5"
);

/// ExportLogs' EnvironmentVariables grown to `chars` characters with one more variable.
fn export_logs_value(chars: usize) -> (String, String) {
    let text = shipped();
    let start = text.find(r##"'[{"name":"GIT_COMMIT_SHA","value":"#{SourceVariables.CommitId}","type":"PLAINTEXT"},{"name":"COPY_EXIT_CODE""##).unwrap();
    let end = start + 1 + text[start + 1..].find('\'').unwrap();
    let value = &text[start + 1..end];
    let entry = |pad: usize| format!(r#",{{"name":"PAD","value":"{}","type":"PLAINTEXT"}}"#, "x".repeat(pad));
    let pad = chars - value.chars().count() - entry(0).len();
    let grown = format!("{}{}]", &value[..value.len() - 1], entry(pad));
    assert_eq!(grown.chars().count(), chars);
    (value.to_string(), grown)
}

#[test]
fn a_configuration_value_of_1001_characters_is_refused_and_1000_pass() {
    let says = "Copy.ExportLogs: configuration value EnvironmentVariables has 1001 characters; CodePipeline takes at most 1000";
    let (value, grown) = export_logs_value(1001);
    broken(&value, &grown, says);
    let (value, fits) = export_logs_value(1000);
    let found = problems(&shipped().replacen(&value, &fits, 1));
    assert!(found.is_empty(), "1,000 characters are allowed: {found:#?}");
}

refused!(
    more_builds_than_the_batch_allows_are_refused,
    "    Default: 50\n    MinValue: 1\n",
    "    Default: 3\n    MinValue: 1\n",
    "Build.Builds: the batch lists 4 builds; project BuildsCodeBuildProject allows at most 3"
);

refused!(
    combined_artifacts_without_a_batch_are_refused,
    "                BatchEnabled: 'true'\n",
    "",
    "Build.Builds: CombineArtifacts needs BatchEnabled"
);

#[test]
fn a_variable_read_from_a_batch_is_refused() {
    let text = shipped()
        .replacen(
            "              OutputArtifacts: [{Name: BuildArtifacts}]\n",
            "              OutputArtifacts: [{Name: BuildArtifacts}]\n              Namespace: BuildVariables\n",
            1,
        )
        .replacen(
            r##"{"name":"SIGNER_PIPELINE_EXECUTION_ID","value":"#{codepipeline.PipelineExecutionId}","type":"PLAINTEXT"}]'"##,
            r##"{"name":"SIGNER_PIPELINE_EXECUTION_ID","value":"#{codepipeline.PipelineExecutionId}","type":"PLAINTEXT"},{"name":"V","value":"#{BuildVariables.RELSIGN_VERSION}","type":"PLAINTEXT"}]'"##,
            1,
        );
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.0.contains("Build.Builds runs a batch, and AWS documents no exported variables")),
        "{found:#?}"
    );
}

refused!(
    an_action_name_with_a_space_is_refused,
    "            - Name: ExportLogs\n",
    "            - Name: Export Logs\n",
    "Copy.Export Logs: the name \"Export Logs\" has ' '; CodePipeline takes only letters, digits, . @ - _"
);

refused!(
    a_namespace_named_like_an_artifact_is_refused,
    "              Namespace: SigningVariables\n",
    "              Namespace: BuildArtifacts\n",
    "Sign.GPG: namespace BuildArtifacts is also an artifact's name"
);

/// The Copy stage with `n` manual approvals added after its three actions (ToS3, ExportLogs,
/// VerifyPublished).
fn copy_stage_with(n: usize) -> String {
    let approvals: String = (1..=n)
        .map(|i| format!("            - Name: Approve{i}\n              ActionTypeId: {{Category: Approval, Owner: AWS, Provider: Manual, Version: '1'}}\n              RunOrder: 4\n"))
        .collect();
    let anchor = "              Namespace: LogsPullerVariables\n              RunOrder: 2\n";
    assert_eq!(shipped().matches(anchor).count(), 1, "update this test");
    shipped().replacen(anchor, &format!("{anchor}{approvals}"), 1)
}

#[test]
fn fifty_one_actions_in_a_stage_are_refused_and_fifty_pass() {
    let found = problems(&copy_stage_with(47));
    assert!(found.is_empty(), "{found:#?}");
    let found = problems(&copy_stage_with(48));
    assert!(
        found
            .iter()
            .any(|p| p.0.starts_with("stage Copy has 51 actions; CodePipeline takes at most 50 a stage")),
        "{found:#?}"
    );
}

/// The problems with the shipped template and buildspecs/builds.yml replaced by `builds`.
fn with_builds(builds: &str) -> Vec<Problem> {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&repo_root().join("buildspecs"), &root.path().join("buildspecs"));
    std::fs::write(root.path().join("buildspecs/builds.yml"), builds).unwrap();
    let t = Template::parse("release.yml", &shipped()).unwrap();
    check_release_pipeline(&t, root.path()).unwrap()
}

#[test]
fn a_build_list_entry_that_codebuild_or_the_release_cannot_take_is_refused() {
    let shipped_builds = std::fs::read_to_string(repo_root().join("buildspecs/builds.yml")).unwrap();
    let edit = |old: &str, new: &str| {
        assert_eq!(shipped_builds.matches(old).count(), 1, "update this test: {old}");
        with_builds(&shipped_builds.replacen(old, new, 1))
    };
    let cases = [
        ("identifier: ubuntu_arm", "identifier: ubuntu-arm", "the build identifier \"ubuntu-arm\" has '-'"),
        ("identifier: arm\n", "identifier: amd\n", "two builds of the batch are named amd"),
        (
            "identifier: amd\n      buildspec: buildspecs/merge-build.yml",
            "identifier: amd\n      buildspec: buildspecs/merge_build.yml",
            "Build.Builds: build amd: buildspec buildspecs/merge_build.yml",
        ),
        ("  build-list:", "  build-lists:", "builds.yml"),
    ];
    for (old, new, says) in cases {
        let found = edit(old, new);
        assert!(found.iter().any(|p| p.0.contains(says)), "{old} -> {new}: expected {says:?} in {found:#?}");
    }
    assert!(with_builds(&shipped_builds).is_empty());
}

refused!(
    a_project_name_codebuild_refuses_is_refused,
    "    Default: relsign-release-builds\n",
    format!("    Default: {}\n", "b".repeat(151)),
    "project BuildsCodeBuildProject: the project name \"bbbb"
);
