//! What a security engineer deploying the three stacks for years needs beyond lint: the image
//! the pipeline runs never expires and a rebuilt one reaches it in one checked step; the audit
//! alarms see the likely attacks; the account, not only copier, refuses to overwrite a
//! published file; no role can be borrowed by another project; the buildspecs run the pinned
//! binary and export the whole run's logs beside the release, also after a failed copy.
//!
//! Outside oracles where there are: moto validates the lifecycle policy and the metric
//! filters' length as ECR and CloudWatch do, runs the log export and the pin script's calls;
//! iam-simulate (npm) evaluates the bucket policy with the copy role's policy for each kind
//! of write; Python's `re` checks parameter values against the templates' AllowedPattern.
//! Where nothing outside evaluates (JSON filter patterns, ECR lifecycle rules: moto stores
//! both without evaluating), the checks follow the rules AWS documents, written down here
//! and in tests/src/cw_pattern.rs and tested on their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relsign_tests::codebuild::Build;
use relsign_tests::cw_pattern;
use relsign_tests::local_aws::{venv, LocalAws};
use relsign_tests::{repo_root, require_tool};
use relsign_wiring::{Buildspec, Params, Pipeline, Template};
use serde_json::{json, Value};

fn load(name: &str) -> Template {
    Template::load(&repo_root().join("templates").join(name)).unwrap()
}

fn base_params() -> Params {
    let mut p = Params::new();
    for (k, v) in [
        ("AWS::Region", "us-east-1"),
        ("AWS::AccountId", "123456789012"),
        ("AWS::Partition", "aws"),
        ("AWS::StackName", "relsign"),
    ] {
        p.insert(k.into(), v.into());
    }
    p
}

/// Whether `value` matches the parameter's AllowedPattern, as Python's `re` reads it.
fn allowed(t: &Template, param: &str, value: &str) -> bool {
    let pattern = t.root()["Parameters"][param]["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: {param} has no AllowedPattern", t.name()));
    let out = Command::new(venv().join("bin/python"))
        .args([
            "-c",
            "import re, sys; sys.exit(0 if re.fullmatch(sys.argv[1], sys.argv[2]) else 1)",
            pattern,
            value,
        ])
        .output()
        .unwrap();
    out.status.success()
}

fn max_length(t: &Template, param: &str) -> usize {
    t.root()["Parameters"][param]["MaxLength"].as_u64().unwrap_or_else(|| {
        panic!(
            "{}: {param} has no MaxLength: with no bound the metric filter built from it can pass \
             CloudWatch's 1024 characters",
            t.name()
        )
    }) as usize
}

// ---------------------------------------------------------------------------------------
// The signing image

#[derive(Clone, Debug)]
struct Image {
    tags: Vec<String>,
    /// Days since its push.
    age_days: u64,
}

/// ECR's lifecycle evaluation as its user guide states it: rules in priority order; an image
/// is expired by at most one rule; an image that a higher-priority rule selects (its tags
/// match) cannot be expired by a lower one, yet still counts for it; imageCountMoreThan keeps
/// the youngest countNumber of the images a rule selects; sinceImagePushed expires those older
/// than countNumber days; a tagPrefixList matches when every prefix matches one of the tags.
fn ecr_lifecycle(policy: &Value, images: &[Image]) -> Vec<bool> {
    let mut rules: Vec<&Value> = policy["rules"].as_array().unwrap().iter().collect();
    rules.sort_by_key(|r| r["rulePriority"].as_u64().unwrap());
    let selects = |rule: &Value, image: &Image| -> bool {
        let sel = &rule["selection"];
        match sel["tagStatus"].as_str().unwrap() {
            "untagged" => image.tags.is_empty(),
            "any" => true,
            "tagged" => {
                !image.tags.is_empty()
                    && sel["tagPrefixList"].as_array().unwrap().iter().all(|p| {
                        let p = p.as_str().unwrap();
                        image.tags.iter().any(|t| t.starts_with(p))
                    })
            }
            other => panic!("tagStatus {other}"),
        }
    };
    let mut expired = vec![false; images.len()];
    for (i, rule) in rules.iter().enumerate() {
        let higher = &rules[..i];
        let mut selected: Vec<usize> = (0..images.len()).filter(|&n| selects(rule, &images[n])).collect();
        selected.sort_by_key(|&n| images[n].age_days);
        let count = rule["selection"]["countNumber"].as_u64().unwrap();
        let doomed: Vec<usize> = match rule["selection"]["countType"].as_str().unwrap() {
            "imageCountMoreThan" => selected.iter().copied().skip(count as usize).collect(),
            "sinceImagePushed" => selected.iter().copied().filter(|&n| images[n].age_days > count).collect(),
            other => panic!("countType {other}"),
        };
        for n in doomed {
            if !higher.iter().any(|h| selects(h, &images[n])) {
                expired[n] = true;
            }
        }
    }
    expired
}

fn lifecycle_policy(t: &Template, params: &Params) -> Value {
    let repo = &t.ids_of("AWS::ECR::Repository")[0];
    let text = t.property(repo, &["LifecyclePolicy", "LifecyclePolicyText"]).unwrap();
    let text = t.resolve(params, text).expect("the lifecycle policy resolves");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the lifecycle policy is not JSON: {e}\n{text}"))
}

#[test]
fn the_lifecycle_evaluation_follows_ecr_rules() {
    let policy = json!({"rules": [
        {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["keep-"], "countType": "imageCountMoreThan", "countNumber": 9999}, "action": {"type": "expire"}},
        {"rulePriority": 2, "selection": {"tagStatus": "tagged", "tagPrefixList": ["b-"], "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}},
        {"rulePriority": 3, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 1}, "action": {"type": "expire"}}
    ]});
    let img =
        |tags: &[&str], age| Image { tags: tags.iter().map(|t| t.to_string()).collect(), age_days: age };
    let images = [img(&["b-1"], 1), img(&["b-2", "keep-x"], 5), img(&["b-3"], 9), img(&[], 3), img(&[], 0)];
    assert_eq!(ecr_lifecycle(&policy, &images), [false, false, true, true, false]);
}

#[test]
fn the_lifecycle_policy_never_expires_the_pinned_image() {
    let t = load("minimal-signing-build-stack.yml");
    let params = base_params();
    let policy = lifecycle_policy(&t, &params);
    // ECR's own validation (moto implements it): a policy ECR refuses expires nothing at all.
    let aws = LocalAws::moto();
    aws.seed(&["lifecycle-policy", "relsign-signer"], policy.to_string().as_bytes());

    // Five years of weekly rebuilds; the pipeline was last pinned four years ago (on build 52),
    // the pin before that on build 10. A pinned image carries the tag pin-signing-image gives.
    let pin_tag = {
        let script = std::fs::read_to_string(repo_root().join("scripts/pin-signing-image")).unwrap();
        assert!(
            script.contains("tag=\"pinned-"),
            "scripts/pin-signing-image must tag the image it pins pinned-*"
        );
        "pinned-20221201T000000Z"
    };
    let weeks = 5 * 52;
    let images: Vec<Image> = (0..weeks)
        .map(|n| {
            let mut tags = vec![format!("build-2021{n:04}-0123456789ab-{n}")];
            if n == 52 || n == 10 {
                tags.push(format!("{pin_tag}-{n}"));
            }
            Image { tags, age_days: 7 * (weeks - n) as u64 }
        })
        .collect();
    let expired = ecr_lifecycle(&policy, &images);
    for pinned in [52, 10] {
        assert!(
            !expired[pinned],
            "the image pinned {} days ago expires under this lifecycle policy:\n{policy:#}",
            images[pinned].age_days
        );
    }
    let kept = expired.iter().filter(|e| !**e).count();
    let by_count: usize = t.parameter(&params, "BuildImagesKept").map(|v| v.parse().unwrap()).unwrap_or(0);
    assert!(by_count >= 2, "keep at least two builds (the one in use and one to roll back to)");
    assert_eq!(kept, by_count + 2, "kept: the newest {by_count} builds and the two pinned images");
    assert!(!expired[weeks - 1], "the newest build must be kept, to be pinned");
}

#[test]
fn a_second_image_build_of_one_commit_on_one_day_gets_a_new_tag() {
    let spec = Buildspec::load(&repo_root().join("buildspecs/signing-image-build.yml")).unwrap();
    let (_, pre) = spec.phases_in_order().into_iter().find(|(name, _)| *name == "pre_build").unwrap();
    let tag_line = pre.commands.iter().find(|c| c.starts_with("TAG=")).expect("a TAG= command");
    let tag_of = |build_number: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("{tag_line}\nprintf %s \"$TAG\"")])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("BUILD_DATE", "20261201")
            .env("GIT_SHA", "0123456789ab")
            .env("CODEBUILD_BUILD_NUMBER", build_number)
            .output()
            .unwrap();
        assert!(out.status.success(), "{tag_line}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let (first, second) = (tag_of("41"), tag_of("42"));
    assert_ne!(first, second, "two builds of one commit on one day get the same tag {first}: the immutable repository refuses the second push");
    for tag in [&first, &second] {
        assert!(tag.starts_with("build-"), "{tag}: the lifecycle rule selects build-*");
        assert!(
            tag.len() <= 128 && tag.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{tag}"
        );
    }
}

/// Every action a role's inline policies allow, with the statement's resources as written.
fn role_actions(t: &Template, role: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for policy in t.property(role, &["Policies"]).and_then(Value::as_array).into_iter().flatten() {
        for s in policy["PolicyDocument"]["Statement"].as_array().into_iter().flatten() {
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
                _ => vec![],
            };
            for a in actions {
                out.push((a, s["Resource"].to_string()));
            }
        }
    }
    out
}

#[test]
fn the_image_build_role_may_read_its_connection() {
    let t = load("minimal-signing-build-stack.yml");
    let project = &t.ids_of("AWS::CodeBuild::Project")[0];
    let role = t.property(project, &["ServiceRole"]).unwrap()["Fn::GetAtt"][0].as_str().unwrap().to_string();
    let actions = role_actions(&t, &role);
    for needed in ["codeconnections:GetConnection", "codestar-connections:GetConnection"] {
        assert!(
            actions.iter().any(|(a, r)| a == needed && r.contains("CodeStarConnectionArn")),
            "{role} lacks {needed} on the connection: CodeBuild cannot read a CODECONNECTIONS source without it ({actions:?})"
        );
    }
}

/// The pin step, run against moto: a stand-in release stack (moto has no CodePipeline or
/// CodeBuild resources) with the release stack's image parameters and SigningImage output.
#[test]
fn pinning_an_image_moves_the_release_stack_to_it_and_keeps_it_from_expiring() {
    let release = load("release-pipeline-stack.yml");
    let output = &release.root()["Outputs"]["SigningImage"];
    assert!(!output.is_null(), "the release stack must output SigningImage, what Sign and Copy run");
    for project in ["SigningCodeBuildProject", "CopyCodeBuildProject"] {
        assert_eq!(
            release.property(project, &["Environment", "Image"]),
            Some(&output["Value"]),
            "{project} must run the SigningImage output's image"
        );
    }
    // The stack takes only an image pinned by digest: a tag could be moved under the pipeline.
    let repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/relsign-signer";
    assert!(allowed(
        &release,
        "SigningCodeBuildProjectCustomImageUri",
        &format!("{repo}@sha256:{}", "a".repeat(64))
    ));
    assert!(allowed(&release, "SigningCodeBuildProjectCustomImageUri", ""));
    for unpinned in
        [format!("{repo}:build-20261201-0123456789ab-1"), format!("{repo}:latest"), repo.to_string()]
    {
        assert!(
            !allowed(&release, "SigningCodeBuildProjectCustomImageUri", &unpinned),
            "the image parameter accepts {unpinned}"
        );
    }
    let standin = r#"
Parameters:
  SigningCodeBuildProjectCustomImageUri: {Type: String, Default: ''}
  SigningCodeBuildProjectCustomImageRepositoryArn: {Type: String, Default: ''}
  ReleaseArtifactsBucketName: {Type: String}
Conditions:
  UseCustomSigningImage: !Not [!Equals [!Ref SigningCodeBuildProjectCustomImageUri, '']]
Resources:
  Image:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub '/standin/${AWS::StackName}'
      Type: String
      Value: !If [UseCustomSigningImage, !Ref SigningCodeBuildProjectCustomImageUri, standard]
Outputs:
  SigningImage:
    Value: !If [UseCustomSigningImage, !Ref SigningCodeBuildProjectCustomImageUri, aws/codebuild/amazonlinux-x86_64-standard:5.0]
"#;
    let aws = LocalAws::moto();
    let digests: Vec<String> = (1..=3)
        .map(|n| {
            let out = aws.seed(
                &["put-image", "relsign-signer", &format!("build-20261201-0123456789ab-{n}")],
                format!("layer {n}").as_bytes(),
            );
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        })
        .collect();
    aws.seed(
        &["stack", "relsign-release", r#"{"ReleaseArtifactsBucketName": "relsign-releases"}"#],
        standin.as_bytes(),
    );
    let uri = |d: &str| format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/relsign-signer@{d}");
    let path = format!("{}:{}", venv().join("bin").display(), std::env::var("PATH").unwrap());
    let pin = |args: &[&str]| {
        let out = Command::new(repo_root().join("scripts/pin-signing-image"))
            .args(["--release-stack", "relsign-release"])
            .args(args)
            .env_clear()
            .env("PATH", &path)
            .envs(aws.env())
            .output()
            .unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "pin-signing-image {args:?}:\n{text}");
        text
    };
    let tags =
        |d: &str| String::from_utf8(aws.seed(&["image-tags", "relsign-signer", d], b"").stdout).unwrap();
    let stack_image = || {
        String::from_utf8(aws.seed(&["stack-output", "relsign-release", "SigningImage"], b"").stdout)
            .unwrap()
            .trim()
            .to_string()
    };

    // As after an image build: the SSM parameter names the new image.
    let ssm = Command::new(venv().join("bin/aws"))
        .args([
            "ssm",
            "put-parameter",
            "--name",
            "/relsign/signing-image",
            "--type",
            "String",
            "--value",
            uri(&digests[0]).as_str(),
        ])
        .env_clear()
        .env("PATH", &path)
        .envs(aws.env())
        .output()
        .unwrap();
    assert!(ssm.status.success(), "{}", String::from_utf8_lossy(&ssm.stderr));
    let said = pin(&[]);
    assert!(said.contains(&format!("runs {}", uri(&digests[0]))), "{said}");
    assert_eq!(stack_image(), uri(&digests[0]));
    assert!(tags(&digests[0]).contains("pinned-"), "{}", tags(&digests[0]));

    // Two more pins (one by --image): the one in use and the one before stay pinned, the
    // first loses its pin (and expires later with the other builds).
    pin(&["--image", &uri(&digests[1])]);
    pin(&["--image", &uri(&digests[2])]);
    assert_eq!(stack_image(), uri(&digests[2]));
    assert!(tags(&digests[2]).contains("pinned-") && tags(&digests[1]).contains("pinned-"));
    assert!(!tags(&digests[0]).contains("pinned-"), "{}", tags(&digests[0]));
    assert!(tags(&digests[0]).contains("build-"), "unpinning removes only the pinned- tag");

    // An image that is not in the repository is refused, and the stack stays as it was.
    let missing = Command::new(repo_root().join("scripts/pin-signing-image"))
        .args([
            "--release-stack",
            "relsign-release",
            "--image",
            uri(&format!("sha256:{}", "0".repeat(64))).as_str(),
        ])
        .env_clear()
        .env("PATH", &path)
        .envs(aws.env())
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert_eq!(stack_image(), uri(&digests[2]));
}

// ---------------------------------------------------------------------------------------
// The audit alarms

fn audit_params() -> Params {
    let mut p = base_params();
    for (k, v) in [
        ("SecretKeyArn", "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/release-key-AbCdEf"),
        ("SecretKeyName", "relsign/release-key"),
        (
            "PassphraseArn",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/release-passphrase-GhIjKl",
        ),
        ("PassphraseName", "relsign/release-passphrase"),
        ("SignerRoleArn", "arn:aws:iam::123456789012:role/relsign-SigningCodeBuildProjectServiceRole-ABC"),
        ("CopyRoleArn", "arn:aws:iam::123456789012:role/relsign-CopyCodeBuildProjectServiceRole-DEF"),
        ("PipelineRoleArn", "arn:aws:iam::123456789012:role/relsign-PipelineServiceRole-GHI"),
        ("AlarmTopicArn", "arn:aws:sns:us-east-1:123456789012:relsign-alarms"),
    ] {
        p.insert(k.into(), v.into());
    }
    p
}

/// Every metric filter's pattern, resolved for `params`, by logical id.
fn filter_patterns(t: &Template, params: &Params) -> BTreeMap<String, String> {
    t.ids_of("AWS::Logs::MetricFilter")
        .into_iter()
        .map(|id| {
            let p = t.resolve(params, t.property(&id, &["FilterPattern"]).unwrap());
            let p = p.unwrap_or_else(|| panic!("{id}'s FilterPattern does not resolve"));
            (id, p)
        })
        .collect()
}

/// A CloudTrail record as CloudWatch Logs receives it from the trail.
fn event(source: &str, name: &str, request: Value, identity: Value) -> String {
    json!({
        "eventVersion": "1.09", "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "requestParameters": request, "userIdentity": identity, "readOnly": false
    })
    .to_string()
}

fn assumed(role_arn: &str) -> Value {
    json!({"type": "AssumedRole", "arn": format!("{role_arn}/session"),
           "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role_arn}}})
}

/// Which filters count `event`.
fn counted_by(patterns: &BTreeMap<String, String>, event: &str) -> Vec<String> {
    patterns
        .iter()
        .filter(|(id, p)| cw_pattern::matches(p, event).unwrap_or_else(|e| panic!("{id}: {e}")))
        .map(|(id, _)| id.clone())
        .collect()
}

#[test]
fn the_secret_alarm_sees_reads_by_name_and_by_arn_and_every_change() {
    let t = load("audit-logs-stack.yml");
    let params = audit_params();
    let patterns = filter_patterns(&t, &params);
    let signer = assumed(&params["SignerRoleArn"]);
    let other = assumed("arn:aws:iam::123456789012:role/ci-deployer");
    let user = json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory"});
    let sm = "secretsmanager.amazonaws.com";
    let key_arn = params["SecretKeyArn"].clone();
    let partial = key_arn.trim_end_matches("-AbCdEf").to_string();
    let by = |id: &str| json!({"secretId": id});
    let alarmed = |e: &str| !counted_by(&patterns, e).is_empty();

    for (what, id) in [
        ("the key by name", "relsign/release-key"),
        ("the key by full ARN", key_arn.as_str()),
        ("the key by partial ARN", partial.as_str()),
        ("the passphrase by name", "relsign/release-passphrase"),
        ("the passphrase by ARN", params["PassphraseArn"].as_str()),
    ] {
        for who in [&other, &user] {
            let e = event(sm, "GetSecretValue", by(id), who.clone());
            assert!(
                alarmed(&e),
                "a GetSecretValue of {what} by {} is not alarmed:\n{patterns:#?}",
                who["arn"]
            );
        }
    }
    // The signer reading them is the pipeline working.
    for id in ["relsign/release-key", key_arn.as_str(), params["PassphraseArn"].as_str()] {
        assert!(
            !alarmed(&event(sm, "GetSecretValue", by(id), signer.clone())),
            "the signing role's read of {id} alarms"
        );
    }
    // Every change, by anyone, the signing role included.
    for name in [
        "PutSecretValue",
        "UpdateSecret",
        "DeleteSecret",
        "PutResourcePolicy",
        "RestoreSecret",
        "DeleteResourcePolicy",
        "RotateSecret",
        "UpdateSecretVersionStage",
    ] {
        for id in ["relsign/release-key", key_arn.as_str(), "relsign/release-passphrase"] {
            for who in [&signer, &other] {
                let e = event(sm, name, by(id), who.clone());
                assert!(alarmed(&e), "{name} on {id} by {} is not alarmed:\n{patterns:#?}", who["arn"]);
            }
        }
    }
    // Metadata reads and other secrets stay quiet.
    assert!(!alarmed(&event(sm, "DescribeSecret", by("relsign/release-key"), other.clone())));
    assert!(!alarmed(&event(sm, "GetSecretValue", by("team/database-password"), other.clone())));
    assert!(!alarmed(&event(
        sm,
        "GetSecretValue",
        by("arn:aws:secretsmanager:us-east-1:123456789012:secret:team/db-AbCdEf"),
        other.clone()
    )));
}

#[test]
fn the_tampering_alarm_sees_the_trail_stopped_or_changed() {
    let t = load("audit-logs-stack.yml");
    let params = audit_params();
    let patterns = filter_patterns(&t, &params);
    let admin = assumed("arn:aws:iam::123456789012:role/admin");
    let trail = json!({"name": "relsign-key-access-trail"});
    for name in ["StopLogging", "DeleteTrail", "PutEventSelectors", "UpdateTrail"] {
        let e = event("cloudtrail.amazonaws.com", name, trail.clone(), admin.clone());
        assert!(!counted_by(&patterns, &e).is_empty(), "{name} on the trail is not alarmed:\n{patterns:#?}");
    }
    let key = json!({"keyId": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"});
    for name in ["DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy"] {
        let e = event("kms.amazonaws.com", name, key.clone(), admin.clone());
        assert!(!counted_by(&patterns, &e).is_empty(), "{name} on a KMS key is not alarmed:\n{patterns:#?}");
    }
    let group = json!({"logGroupName": "relsign-key-access-logs"});
    for name in ["DeleteLogGroup", "DeleteMetricFilter", "DisassociateKmsKey"] {
        let e = event("logs.amazonaws.com", name, group.clone(), admin.clone());
        assert!(!counted_by(&patterns, &e).is_empty(), "{name} on the audit log group is not alarmed");
    }
    for name in ["DeleteAlarms", "DisableAlarmActions"] {
        let e = event("monitoring.amazonaws.com", name, json!({"alarmNames": ["x"]}), admin.clone());
        assert!(!counted_by(&patterns, &e).is_empty(), "{name} is not alarmed");
    }
    for (source, name) in [("cloudtrail.amazonaws.com", "DescribeTrails"), ("kms.amazonaws.com", "Decrypt")] {
        let e = event(source, name, trail.clone(), admin.clone());
        assert!(counted_by(&patterns, &e).is_empty(), "{name} alarms");
    }
    // Each filter has an alarm that notifies the topic.
    for id in t.ids_of("AWS::Logs::MetricFilter") {
        let metric = t.property(&id, &["MetricTransformations"]).unwrap()[0]["MetricName"].clone();
        let alarm = t
            .ids_of("AWS::CloudWatch::Alarm")
            .into_iter()
            .find(|a| t.property(a, &["MetricName"]) == Some(&metric))
            .unwrap_or_else(|| panic!("no alarm on {id}'s metric {metric}"));
        let actions = t.property(&alarm, &["AlarmActions"]).unwrap().to_string();
        assert_eq!(actions, r#"[{"Ref":"AlarmTopicArn"}]"#, "{alarm} must always notify AlarmTopicArn");
    }
}

/// The signing and copy roles borrowed: each way the issue names, as CloudTrail records it
/// (CodeBuild, CodePipeline and IAM log their calls with the API's own parameter names in
/// `requestParameters`, and the caller in `userIdentity`).
#[test]
fn the_borrowed_roles_alarm_sees_builds_started_projects_changed_and_roles_rewritten() {
    let t = load("audit-logs-stack.yml");
    let params = audit_params();
    let patterns = filter_patterns(&t, &params);
    let alarm = t
        .ids_of("AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|a| t.property(a, &["MetricName"]).and_then(Value::as_str) == Some("ReleaseRolesBorrowed"));
    assert!(
        alarm.is_some(),
        "no alarm on ReleaseRolesBorrowed: a build of the Sign project with an overridden buildspec runs as the signing role unseen"
    );
    let borrowed: BTreeMap<String, String> = patterns
        .iter()
        .filter(|(id, _)| {
            t.property(id, &["MetricTransformations"]).unwrap()[0]["MetricName"] == "ReleaseRolesBorrowed"
        })
        .map(|(id, p)| (id.clone(), p.clone()))
        .collect();
    let alarmed = |e: &str| !counted_by(&borrowed, e).is_empty();
    let pipeline = assumed(&params["PipelineRoleArn"]);
    let admin = assumed("arn:aws:iam::123456789012:role/admin");
    let user = json!({"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/mallory"});
    let cb = "codebuild.amazonaws.com";
    let (sign, copy) = ("relsign-artifact-sign", "relsign-artifact-copy");
    // What CodePipeline sends: the action's variables and its artifacts, no buildspec or image.
    let as_the_pipeline = |project: &str| {
        json!({"projectName": project, "sourceVersion": "arn:aws:s3:::codepipeline-artifacts/x.zip",
               "environmentVariablesOverride": [{"name": "GIT_COMMIT_SHA", "value": "0123abc", "type": "PLAINTEXT"}],
               "secondarySourcesOverride": [{"type": "S3", "sourceIdentifier": "BuildArtifacts", "location": "codepipeline-artifacts/y.zip"}]})
    };
    for project in [sign, copy] {
        let e = event(cb, "StartBuild", as_the_pipeline(project), pipeline.clone());
        assert!(!alarmed(&e), "the pipeline starting {project} alarms:\n{e}");
        for who in [&admin, &user] {
            for name in ["StartBuild", "StartBuildBatch"] {
                let e = event(cb, name, json!({"projectName": project}), who.clone());
                assert!(alarmed(&e), "{name} of {project} by {} is not alarmed:\n{borrowed:#?}", who["arn"]);
            }
            let arn = format!("arn:aws:codebuild:us-east-1:123456789012:project/{project}");
            let e = event(cb, "StartBuild", json!({"projectName": arn}), who.clone());
            assert!(alarmed(&e), "StartBuild of {project} by ARN is not alarmed");
            for name in ["RetryBuild", "RetryBuildBatch"] {
                let e = event(
                    cb,
                    name,
                    json!({"id": format!("{project}:0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0")}),
                    who.clone(),
                );
                assert!(alarmed(&e), "{name} of a {project} build by {} is not alarmed", who["arn"]);
            }
        }
        // The pipeline's own role with what the pipeline never sends.
        for (field, value) in [
            ("buildspecOverride", json!("version: 0.2\nphases:\n  build:\n    commands: [env]\n")),
            ("imageOverride", json!("public.ecr.aws/docker/library/alpine:3")),
        ] {
            let mut request = as_the_pipeline(project);
            request[field] = value;
            let e = event(cb, "StartBuild", request, pipeline.clone());
            assert!(alarmed(&e), "StartBuild of {project} with {field} is not alarmed");
        }
        // The project itself changed or deleted, by anyone.
        for name in ["UpdateProject", "DeleteProject"] {
            for who in [&admin, &pipeline] {
                let e = event(cb, name, json!({"name": project, "source": {"buildspec": "x"}}), who.clone());
                assert!(alarmed(&e), "{name} of {project} by {} is not alarmed", who["arn"]);
            }
        }
    }
    // Other projects of the account stay quiet.
    let builds = "relsign-release-builds";
    for (name, request) in [
        ("StartBuild", json!({"projectName": builds, "buildspecOverride": "x"})),
        ("StartBuildBatch", json!({"projectName": builds})),
        ("UpdateProject", json!({"name": builds})),
        ("RetryBuild", json!({"id": format!("{builds}:0b1c2d3e")})),
        ("BatchGetBuilds", json!({"ids": [format!("{sign}:0b1c2d3e")]})),
    ] {
        assert!(!alarmed(&event(cb, name, request.clone(), admin.clone())), "{name} {request} alarms");
    }
    // The pipeline rewritten or deleted (a new Sign action, other variables, another project).
    let cp = "codepipeline.amazonaws.com";
    let e = event(
        cp,
        "UpdatePipeline",
        json!({"pipeline": {"name": "relsign-release-pipeline", "stages": []}}),
        admin.clone(),
    );
    assert!(alarmed(&e), "UpdatePipeline is not alarmed");
    assert!(alarmed(&event(
        cp,
        "DeletePipeline",
        json!({"name": "relsign-release-pipeline"}),
        admin.clone()
    )));
    assert!(!alarmed(&event(cp, "UpdatePipeline", json!({"pipeline": {"name": "another"}}), admin.clone())));
    assert!(!alarmed(&event(
        cp,
        "StartPipelineExecution",
        json!({"name": "relsign-release-pipeline"}),
        admin.clone()
    )));
    // The signing and copy roles' rights or trust changed.
    let iam = "iam.amazonaws.com";
    for role in
        ["relsign-SigningCodeBuildProjectServiceRole-ABC", "relsign-CopyCodeBuildProjectServiceRole-DEF"]
    {
        for (name, request) in [
            ("PutRolePolicy", json!({"roleName": role, "policyName": "more", "policyDocument": "{}"})),
            (
                "AttachRolePolicy",
                json!({"roleName": role, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            ),
            (
                "DetachRolePolicy",
                json!({"roleName": role, "policyArn": "arn:aws:iam::123456789012:policy/x"}),
            ),
            ("DeleteRolePolicy", json!({"roleName": role, "policyName": "read-signing-secrets"})),
            ("UpdateAssumeRolePolicy", json!({"roleName": role, "policyDocument": "{}"})),
            (
                "PutRolePermissionsBoundary",
                json!({"roleName": role, "permissionsBoundary": "arn:aws:iam::aws:policy/x"}),
            ),
            ("DeleteRolePermissionsBoundary", json!({"roleName": role})),
        ] {
            let e = event(iam, name, request, admin.clone());
            assert!(alarmed(&e), "{name} on {role} is not alarmed:\n{borrowed:#?}");
        }
    }
    assert!(!alarmed(&event(iam, "PutRolePolicy", json!({"roleName": "ci-deployer"}), admin.clone())));
    assert!(!alarmed(&event(
        iam,
        "GetRole",
        json!({"roleName": "relsign-SigningCodeBuildProjectServiceRole-ABC"}),
        admin.clone()
    )));
}

/// `head` + as many `n` as fit + `tail`, `max` characters in all.
fn stretch(head: &str, tail: &str, max: usize) -> String {
    let room = max
        .checked_sub(head.len() + tail.len())
        .filter(|r| *r > 0)
        .expect("MaxLength too short for the shape");
    format!("{head}{}{tail}", "n".repeat(room))
}

/// The longest value a parameter allows, shaped like a real one.
fn longest(t: &Template, param: &str) -> String {
    let max = max_length(t, param);
    let value = match param {
        "SecretKeyName" | "PassphraseName" => "n".repeat(max),
        // The longest partition and region the patterns let through (the filters take the
        // ARN's prefix and the name apart), the name filling the rest.
        "SecretKeyArn" | "PassphraseArn" => stretch(
            "arn:aws-xxxxxx-xxxxxx:secretsmanager:xx-xxxxxxxxxx-xxxxxxxxxx-99:123456789012:secret:",
            "-AbCdEf",
            max,
        ),
        "SignerRoleArn" | "CopyRoleArn" | "PipelineRoleArn" => {
            format!("arn:aws-xxxxxx-xxxxxx:iam::123456789012:role/{}", "r".repeat(64))
        }
        "KeyAccessAuditLogGroupName" | "ExistingTrailLogGroupName" => "g".repeat(max),
        "SigningProjectName" | "CopyProjectName" => "p".repeat(max),
        "PipelineName" => "q".repeat(max),
        other => panic!("no longest value for {other}"),
    };
    assert!(value.len() <= max, "{param}: {} > {max}", value.len());
    assert!(
        allowed(t, param, &value),
        "{param}: the longest value built does not match its pattern: {value}"
    );
    value
}

#[test]
fn the_metric_filters_fit_cloudwatchs_limit_with_the_longest_parameters() {
    let t = load("audit-logs-stack.yml");
    let mut params = audit_params();
    for param in [
        "SecretKeyArn",
        "SecretKeyName",
        "PassphraseArn",
        "PassphraseName",
        "SignerRoleArn",
        "KeyAccessAuditLogGroupName",
        "CopyRoleArn",
        "PipelineRoleArn",
        "SigningProjectName",
        "CopyProjectName",
        "PipelineName",
        "ExistingTrailLogGroupName",
    ] {
        if t.is_parameter(param) {
            let v = longest(&t, param);
            params.insert(param.into(), v);
        }
    }
    let aws = LocalAws::moto();
    let mut patterns = filter_patterns(&t, &params);
    // With an existing trail's log group, the tampering filter names that group instead.
    let mut existing = params.clone();
    existing.insert("ExistingTrailLogGroupName".into(), longest(&t, "ExistingTrailLogGroupName"));
    patterns.extend(filter_patterns(&t, &existing).into_iter().map(|(id, p)| (format!("{id}-existing"), p)));
    assert!(patterns.len() >= 12, "{patterns:#?}");
    for (id, pattern) in patterns {
        eprintln!("{id}: {} characters with the longest parameters", pattern.len());
        assert!(
            pattern.len() <= 1024,
            "{id}: {} characters, over CloudWatch's 1024:\n{pattern}",
            pattern.len()
        );
        // moto checks the length as CloudWatch's PutMetricFilter does.
        aws.seed(&["metric-filter", "relsign-key-access-logs", &id], pattern.as_bytes());
    }
}

#[test]
fn the_audit_stack_requires_a_topic_and_encrypts_with_its_own_key() {
    let t = load("audit-logs-stack.yml");
    let topic = &t.root()["Parameters"]["AlarmTopicArn"];
    assert!(topic.get("Default").is_none(), "AlarmTopicArn has a default: an alarm may notify no one");
    assert!(
        !allowed(&t, "AlarmTopicArn", ""),
        "a blank AlarmTopicArn is accepted: the alarms would notify no one"
    );
    let keys = t.ids_of("AWS::KMS::Key");
    assert_eq!(keys.len(), 1, "the stack creates one KMS key for its logs");
    let key_ref = json!({"Fn::GetAtt": [keys[0].as_str(), "Arn"]});
    assert_eq!(t.property(&keys[0], &["EnableKeyRotation"]), Some(&Value::Bool(true)));
    let trail = &t.ids_of("AWS::CloudTrail::Trail")[0];
    assert_eq!(
        t.property(trail, &["KMSKeyId"]),
        Some(&key_ref),
        "the trail is not encrypted with the stack's key"
    );
    for group in t.ids_of("AWS::Logs::LogGroup") {
        assert_eq!(
            t.property(&group, &["KmsKeyId"]),
            Some(&key_ref),
            "{group} is not encrypted with the stack's key"
        );
    }
    let bucket = &t.ids_of("AWS::S3::Bucket")[0];
    let sse = &t.property(bucket, &["BucketEncryption", "ServerSideEncryptionConfiguration"]).unwrap()[0];
    assert_eq!(sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms");
    assert_eq!(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"], key_ref);
}

#[test]
fn the_secret_parameters_refuse_partial_arns() {
    let full = "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/release-key-AbCdEf";
    for (name, params) in [
        ("release-pipeline-stack.yml", ["SecretKeyArn", "PassphraseArn"]),
        ("audit-logs-stack.yml", ["SecretKeyArn", "PassphraseArn"]),
    ] {
        let t = load(name);
        for p in params {
            assert!(allowed(&t, p, full), "{name} {p} refuses a full ARN");
            for partial in [
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/release-key",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/*",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:relsign/release-key-AbC",
            ] {
                assert!(
                    !allowed(&t, p, partial),
                    "{name} {p} accepts {partial}, which IAM does not match to the secret"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Publishing scoped by the account

fn release_params() -> Params {
    let mut p = base_params();
    for (k, v) in [
        // The bucket is named once: by the URI (the rule TheBucketIsNamedOnce).
        ("ReleaseArtifactsBucketName", ""),
        ("ReleaseArtifactsBucketS3Uri", "s3://relsign-releases/relsign/releases"),
        ("CopyCodeBuildProjectServiceRole.Arn", "arn:aws:iam::123456789012:role/relsign-CopyRole-1"),
    ] {
        p.insert(k.into(), v.into());
    }
    p
}

#[test]
fn the_copy_role_writes_only_under_the_release_prefix() {
    let t = load("release-pipeline-stack.yml");
    for (uri, name, want) in [
        ("s3://relsign-releases/relsign/releases", "", "arn:aws:s3:::relsign-releases/relsign/releases/*"),
        ("", "relsign-releases", "arn:aws:s3:::relsign-releases/*"),
    ] {
        let mut params = release_params();
        params.insert("ReleaseArtifactsBucketS3Uri".into(), uri.into());
        params.insert("ReleaseArtifactsBucketName".into(), name.into());
        let policies = t.property("CopyCodeBuildProjectServiceRole", &["Policies"]).unwrap();
        let statements = policies[0]["PolicyDocument"]["Statement"].as_array().unwrap();
        let put = statements
            .iter()
            .find(|s| s["Action"].to_string().contains("s3:PutObject"))
            .expect("the copy role puts objects");
        let resource = t.resolve(&params, &put["Resource"]).expect("the copy role's object ARN resolves");
        assert_eq!(
            resource, want,
            "with ReleaseArtifactsBucketS3Uri {uri:?} the copy role writes to {resource}"
        );
    }
    let t = load("release-pipeline-stack.yml");
    for bad in ["s3://relsign-releases/", "s3://relsign-releases/a//b", "s3://relsign-releases/a/"] {
        assert!(
            !allowed(&t, "ReleaseArtifactsBucketS3Uri", bad),
            "{bad} is accepted: the prefix scope would break"
        );
    }
}

/// A policy document with every intrinsic resolved for `params`, as IAM receives it: each
/// `Fn::If` replaced by its branch, what is `AWS::NoValue` left out.
fn resolved(t: &Template, params: &Params, v: &Value) -> Value {
    resolved_or_none(t, params, v).unwrap_or(Value::Null)
}

fn resolved_or_none(t: &Template, params: &Params, v: &Value) -> Option<Value> {
    Some(match v {
        Value::Object(m) if m.contains_key("Fn::If") || m.get("Ref") == Some(&json!("AWS::NoValue")) => {
            let chosen = t.chosen(params, v)?;
            return resolved_or_none(t, params, chosen);
        }
        Value::Object(m) if m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")) => {
            Value::String(t.resolve(params, v).unwrap_or_else(|| panic!("does not resolve: {v}")))
        }
        Value::Object(m) => Value::Object(
            m.iter().filter_map(|(k, v)| Some((k.clone(), resolved_or_none(t, params, v)?))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().filter_map(|v| resolved_or_none(t, params, v)).collect()),
        other => other.clone(),
    })
}

/// The iam-simulate install scripts/test makes (`ensure_iam_simulate`).
fn iam_simulate() -> PathBuf {
    let tools = std::env::var_os("RELSIGN_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/relsign/tools")
    });
    let dir = tools.join("iam-simulate");
    assert!(
        dir.join("node_modules/@cloud-copilot/iam-simulate/package.json").is_file(),
        "iam-simulate is not installed in {}: run scripts/test (it installs it with npm)",
        dir.display()
    );
    dir
}

/// What AWS decides for one `s3:PutObject` (iam-simulate's evaluation of the identity
/// policies and the bucket policy): Allowed, ExplicitlyDenied or ImplicitlyDenied.
fn decide(
    identity: &[Value],
    bucket_policy: &Value,
    principal: &str,
    resource: &str,
    context: Value,
) -> String {
    decide_action("s3:PutObject", identity, bucket_policy, principal, resource, context)
}

/// The same for any action.
fn decide_action(
    action: &str,
    identity: &[Value],
    bucket_policy: &Value,
    principal: &str,
    resource: &str,
    context: Value,
) -> String {
    let simulation = json!({
        "identityPolicies": identity.iter().enumerate().map(|(i, p)| json!({"name": format!("p{i}"), "policy": p})).collect::<Vec<_>>(),
        "resourcePolicy": bucket_policy,
        "request": {
            "principal": principal,
            "action": action,
            "resource": {"resource": resource, "accountId": "123456789012"},
            "contextVariables": context,
        }
    });
    let mut child = Command::new("node")
        .arg(repo_root().join("tests/fixtures/iam_simulate.mjs"))
        .arg(iam_simulate())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run node (Debian package nodejs)");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), simulation.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "iam-simulate: {}", String::from_utf8_lossy(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(answer["errors"].is_null(), "iam-simulate refused the simulation: {answer}\n{simulation:#}");
    answer["decision"].as_str().unwrap().to_string()
}

/// The final bucket's policy (the one whose bucket is the release bucket), by logical id.
fn release_bucket_policy(t: &Template, params: &Params) -> String {
    t.ids_of("AWS::S3::BucketPolicy")
        .into_iter()
        .find(|id| {
            t.property(id, &["Bucket"]).and_then(|b| t.resolve(params, b)).as_deref()
                == Some("relsign-releases")
        })
        .expect(
            "no bucket policy for the final bucket: nothing but copier refuses to overwrite a published file",
        )
}

#[test]
fn the_bucket_policy_refuses_unconditional_writes_and_foreign_replacements() {
    let t = load("release-pipeline-stack.yml");
    let params = release_params();
    let policy = release_bucket_policy(&t, &params);
    assert_eq!(t.resource(&policy).unwrap()["Condition"], "ManageReleaseBucketPolicy");
    let bucket_policy = resolved(&t, &params, t.property(&policy, &["PolicyDocument"]).unwrap());
    let copy_role = params["CopyCodeBuildProjectServiceRole.Arn"].clone();
    let copy_identity: Vec<Value> = t
        .property("CopyCodeBuildProjectServiceRole", &["Policies"])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| resolved(&t, &params, &p["PolicyDocument"]))
        .collect();
    let admin = "arn:aws:iam::123456789012:role/admin";
    let admin_identity = [
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}]}),
    ];
    let key = "arn:aws:s3:::relsign-releases/relsign/releases/0123abc/relsign-0.1.0-x86_64-linux-musl.tar.gz";
    // The request's context: what S3 and IAM put in it (the headers sent, the operation).
    let context = |principal: &str, if_none_match: bool, if_match: bool, creates: bool| {
        let mut c = json!({
            "aws:PrincipalArn": principal,
            "aws:PrincipalAccount": "123456789012",
            "aws:PrincipalIsAWSService": "false",
            "aws:SecureTransport": "true",
            // PutObject, CompleteMultipartUpload: true; CreateMultipartUpload, UploadPart: false.
            "s3:ObjectCreationOperation": creates.to_string(),
        });
        if if_none_match {
            c["s3:if-none-match"] = json!("*");
        }
        if if_match {
            c["s3:if-match"] = json!("\"9bb58f26192e4ba00f01e2e7b136bbd8\"");
        }
        c
    };
    let copy = |if_none_match, if_match, creates| {
        decide(
            &copy_identity,
            &bucket_policy,
            &copy_role,
            key,
            context(&copy_role, if_none_match, if_match, creates),
        )
    };
    let other = |if_none_match, if_match, creates| {
        decide(&admin_identity, &bucket_policy, admin, key, context(admin, if_none_match, if_match, creates))
    };
    // The copy role: a PutObject or CompleteMultipartUpload without a condition is refused;
    // with If-None-Match (a new object) or If-Match (copier --overwrite) it goes through, and
    // so do the multipart steps that take no condition.
    assert_eq!(
        copy(false, false, true),
        "ExplicitlyDenied",
        "an unconditional PutObject by the copy role is not refused"
    );
    assert_eq!(
        copy(true, false, true),
        "Allowed",
        "a PutObject with If-None-Match by the copy role is refused"
    );
    assert_eq!(copy(false, true, true), "Allowed", "copier --overwrite's If-Match is refused");
    assert_eq!(copy(false, false, false), "Allowed", "CreateMultipartUpload/UploadPart are refused");
    // Anyone else: no unconditional write and no replacement, even with full S3 rights.
    assert_eq!(other(false, false, true), "ExplicitlyDenied");
    assert_eq!(
        other(false, true, true),
        "ExplicitlyDenied",
        "a role other than the copy role may replace a published file"
    );
    assert_eq!(other(true, false, true), "Allowed");
    // The copy role outside the release prefix: no right at all.
    let outside = "arn:aws:s3:::relsign-releases/elsewhere/file";
    assert_eq!(
        decide(&copy_identity, &bucket_policy, &copy_role, outside, context(&copy_role, true, false, true)),
        "ImplicitlyDenied"
    );
    // CloudWatch Logs exports the run's logs beside the release (no condition header; the ACL
    // and the source it always sends).
    let logs = format!("logs.{}.amazonaws.com", params["AWS::Region"]);
    let export = json!({
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": logs,
        "aws:SecureTransport": "true",
        "aws:SourceAccount": "123456789012",
        "aws:SourceArn": "arn:aws:logs:us-east-1:123456789012:log-group:relsign-build-and-sign-logs:*",
        "s3:x-amz-acl": "bucket-owner-full-control",
        "s3:ObjectCreationOperation": "true",
    });
    let exported = "arn:aws:s3:::relsign-releases/relsign/releases/0123abc/logs/task/stream/000000.gz";
    assert_eq!(
        decide(&[], &bucket_policy, &logs, exported, export.clone()),
        "Allowed",
        "CloudWatch Logs cannot export beside the release"
    );
    let mut foreign = export;
    foreign["aws:SourceAccount"] = json!("999999999999");
    assert_ne!(
        decide(&[], &bucket_policy, &logs, exported, foreign),
        "Allowed",
        "another account's log export is let in"
    );
    // The policy is the stack's by default, and can be left to the deployer.
    let mut external = release_params();
    external.insert("ReleaseBucketPolicy".into(), "external".into());
    assert_eq!(t.condition(&release_params(), "ManageReleaseBucketPolicy"), Some(true));
    assert_eq!(t.condition(&external, "ManageReleaseBucketPolicy"), Some(false));
}

// ---------------------------------------------------------------------------------------
// Roles that cannot be borrowed

#[test]
fn every_codebuild_role_trusts_only_its_own_project() {
    let mut checked = 0;
    for name in [
        "release-pipeline-stack.yml",
        "minimal-signing-build-stack.yml",
        "audit-logs-stack.yml",
        "kms-signing-key-stack.yml",
    ] {
        let t = load(name);
        let mut params = base_params();
        for (k, v) in [
            ("ReleaseArtifactsBucketName", "relsign-releases"),
            ("CodeStarConnectionArn", "arn:aws:codeconnections:us-east-1:123456789012:connection/x"),
            ("GitHubRepositoryUrl", "https://github.com/example/relsign"),
        ] {
            params.insert(k.into(), v.into());
        }
        // A project's role, and its batch's (BuildBatchConfig.ServiceRole), serve that project.
        let projects: Vec<(String, String)> = t
            .ids_of("AWS::CodeBuild::Project")
            .into_iter()
            .flat_map(|p| {
                let project_name = t.resolve(&params, t.property(&p, &["Name"]).unwrap()).unwrap();
                [t.property(&p, &["ServiceRole"]), t.property(&p, &["BuildBatchConfig", "ServiceRole"])]
                    .into_iter()
                    .flatten()
                    .map(move |r| (r["Fn::GetAtt"][0].as_str().unwrap().to_string(), project_name.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        for role in t.ids_of("AWS::IAM::Role") {
            let trust = t.property(&role, &["AssumeRolePolicyDocument", "Statement"]).unwrap();
            for s in trust.as_array().unwrap() {
                if s["Principal"]["Service"] != "codebuild.amazonaws.com" {
                    continue;
                }
                let users: Vec<&String> =
                    projects.iter().filter(|(r, _)| *r == role).map(|(_, n)| n).collect();
                assert_eq!(
                    users.len(),
                    1,
                    "{name}: {role} trusts CodeBuild but serves {} projects",
                    users.len()
                );
                let condition = &s["Condition"]["StringEquals"];
                let account = t.resolve(&params, &condition["aws:SourceAccount"]);
                let source = t.resolve(&params, &condition["aws:SourceArn"]);
                assert_eq!(
                    account.as_deref(),
                    Some("123456789012"),
                    "{name}: {role} has no aws:SourceAccount condition"
                );
                assert_eq!(
                    source,
                    Some(format!("arn:aws:codebuild:us-east-1:123456789012:project/{}", users[0])),
                    "{name}: {role} has no aws:SourceArn naming its project: any CodeBuild project given it acts as it"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 7, "expected the seven CodeBuild roles, checked {checked}");
}

// ---------------------------------------------------------------------------------------
// Buildspecs

/// A release tarball as scripts/package lays it out, whose binary only says its version.
fn fake_tarball(dir: &Path, version: &str, reports: &str) -> (PathBuf, String) {
    let top = format!("relsign-{version}-x86_64-linux-musl");
    let stage = dir.join("stage").join(&top);
    std::fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("relsign");
    std::fs::write(&bin, format!("#!/bin/sh\necho \"$(basename \"$0\") {reports}\"\n")).unwrap();
    Command::new("chmod").arg("755").arg(&bin).status().unwrap();
    let tarball = dir.join(format!("{top}.tar.gz"));
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.join("stage"))
        .arg(&top)
        .status()
        .unwrap();
    assert!(ok.success());
    let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap().split_whitespace().next().unwrap().to_string();
    (tarball, sum)
}

/// Runs a buildspec's PATH set-up and install-relsign.sh as the image's busybox would, then
/// `command -v signer` and `signer --version`, with a decoy signer earlier on PATH.
fn install_with_decoy(spec: &str, tarball: &Path, sum: &str, work: &Path) -> std::process::Output {
    let spec = Buildspec::load(&repo_root().join("buildspecs").join(spec)).unwrap();
    let setup: Vec<String> = spec
        .phases_in_order()
        .flat_map(|(_, p)| p.commands.clone())
        .filter(|c| c.starts_with("export PATH="))
        .collect();
    assert_eq!(setup.len(), 1, "one PATH set-up expected: {setup:?}");
    let decoy = work.join("decoy");
    std::fs::create_dir_all(&decoy).unwrap();
    for name in ["signer", "copier"] {
        std::fs::write(decoy.join(name), "#!/bin/sh\necho \"unpinned 6.6.6\"\n").unwrap();
        Command::new("chmod").arg("755").arg(decoy.join(name)).status().unwrap();
    }
    let install = work.join("install");
    let script = format!(
        "set -e\n{}\nsh \"$CODEBUILD_SRC_DIR/buildspecs/lib/install-relsign.sh\" \"$RELSIGN_INSTALL_DIR\"\ncommand -v signer\nsigner --version\n",
        setup[0]
    );
    Command::new(require_tool("busybox", "busybox-static"))
        .args(["sh", "-c", script.as_str()])
        .env_clear()
        .env("PATH", format!("{}:{}", decoy.display(), std::env::var("PATH").unwrap()))
        .env("CODEBUILD_SRC_DIR", repo_root())
        .env("RELSIGN_INSTALL_DIR", &install)
        .env("RELSIGN_TARBALL_URL", format!("file://{}", tarball.display()))
        .env("RELSIGN_TARBALL_SHA256", sum)
        .output()
        .unwrap()
}

#[test]
fn the_pinned_signer_runs_even_with_another_one_earlier_on_path() {
    require_tool("curl", "curl");
    for spec in ["signing.yml", "copy.yml"] {
        let work = tempfile::tempdir().unwrap();
        let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.3");
        let out = install_with_decoy(spec, &tarball, &sum, work.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{spec}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = stdout.lines().collect();
        let found = lines[lines.len() - 2];
        assert_eq!(
            found,
            work.path().join("install/signer").display().to_string(),
            "{spec}: the signer that runs is {found}, not the pinned one:\n{stdout}"
        );
        assert_eq!(lines[lines.len() - 1], "signer 1.2.3", "{spec}:\n{stdout}");
    }
}

#[test]
fn a_pinned_binary_reporting_another_version_is_refused() {
    require_tool("curl", "curl");
    let work = tempfile::tempdir().unwrap();
    let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.4");
    let out = install_with_decoy("signing.yml", &tarball, &sum, work.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a relsign-1.2.3 tarball whose binary says 1.2.4 was accepted:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("expected 1.2.3"), "{stderr}");
}

#[test]
fn a_failed_copy_records_its_code_and_the_stage_exports_the_logs_before_failing() {
    // The pipeline: the log export is the Copy stage's next action, reading the copy's code.
    let t = load("release-pipeline-stack.yml");
    let pipeline = Pipeline::of(&t).unwrap();
    let spec_of = |project: &Option<String>| {
        project
            .as_ref()
            .and_then(|p| t.property(p, &["Source", "BuildSpec"]))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let copy = pipeline
        .actions
        .iter()
        .find(|a| spec_of(&a.project).as_deref() == Some("buildspecs/copy.yml"))
        .unwrap();
    let export = pipeline
        .actions
        .iter()
        .find(|a| spec_of(&a.project).as_deref() == Some("buildspecs/pull-logs.yml"))
        .unwrap();
    assert_eq!(
        export.stage, copy.stage,
        "the log export is in another stage than the copy: a failed copy stops the pipeline before it"
    );
    assert!(export.run_order > copy.run_order);
    let vars = export.env_vars().unwrap();
    let code = vars.iter().find(|v| v.name == "COPY_EXIT_CODE").expect("ExportLogs gets COPY_EXIT_CODE");
    assert_eq!(code.value, format!("#{{{}.COPY_EXIT_CODE}}", copy.namespace.as_deref().unwrap()));

    // copy.yml with a copier that fails: the build succeeds and exports the code.
    let work = tempfile::tempdir().unwrap();
    let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.3");
    let fake = work.path().join("fake-copier");
    std::fs::write(&fake, "#!/bin/sh\ncase \"$1\" in --version) echo \"copier 1.2.3\" ;; *) echo \"copier: error: refused\" >&2; exit 6 ;; esac\n").unwrap();
    Command::new("chmod").arg("755").arg(&fake).status().unwrap();
    let signed = work.path().join("signed");
    std::fs::create_dir_all(&signed).unwrap();
    let primary = work.path().join("src");
    std::fs::create_dir_all(primary.join("buildspecs/lib")).unwrap();
    std::fs::copy(repo_root().join("buildspecs/copy.yml"), primary.join("buildspecs/copy.yml")).unwrap();
    // The pinned tarball installs as usual; then its copier is swapped for the failing one.
    let install = std::fs::read_to_string(repo_root().join("buildspecs/lib/install-relsign.sh")).unwrap();
    let install = format!("{install}\nln -sf {} \"$dir/copier\"\n", fake.display());
    std::fs::write(primary.join("buildspecs/lib/install-relsign.sh"), install).unwrap();
    let mut build = Build::new("relsign-artifact-copy", primary.join("buildspecs/copy.yml"), &primary);
    build.secondary.push(("Signatures".into(), signed.clone()));
    build.secondary.push(("BuildArtifacts".into(), signed));
    for (k, v) in [
        ("PATH", std::env::var("PATH").unwrap()),
        ("RELSIGN_INSTALL_DIR", work.path().join("install").display().to_string()),
        ("RELSIGN_TARBALL_URL", format!("file://{}", tarball.display())),
        ("RELSIGN_TARBALL_SHA256", sum),
        ("SIGNING_CERT", "keys/release-signing-key.asc".into()),
    ] {
        build.env.insert(k.into(), v);
    }
    let busybox_dir = work.path().join("busybox");
    std::fs::create_dir_all(&busybox_dir).unwrap();
    std::os::unix::fs::symlink(require_tool("busybox", "busybox-static"), busybox_dir.join("sh")).unwrap();
    build.shell = busybox_dir.join("sh");
    let outcome = build
        .run(&work.path().join("build"))
        .unwrap_or_else(|f| panic!("the Copy build failed, so ExportLogs would not run: {f}"));
    assert_ne!(outcome.exported.get("COPY_EXIT_CODE").map(String::as_str), Some("0"), "{}", outcome.log);
    assert!(outcome.exported.contains_key("COPY_EXIT_CODE"), "{}", outcome.log);
}

#[test]
fn logs_are_exported_whole_beside_the_release_and_a_failed_copy_fails_after() {
    // The execution as CodePipeline and CodeBuild record it: the Build stage's batch (two
    // builds), then Sign and Copy, found by export-logs.sh through ListActionExecutions and
    // BatchGetBuildBatches, which moto answers from this record (tests/moto/pipeline_records.py).
    let template = Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = Pipeline::of(&template).unwrap();
    let action = |stage: &str| pipeline.actions.iter().find(|a| a.stage == stage).unwrap().clone();
    let records_dir = tempfile::tempdir().unwrap();
    let mut records =
        crate::run::Records::new(records_dir.path().join("records.json"), "relsign-release-pipeline");
    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let bucket = "relsign-releases";
    aws.make_bucket(bucket);
    let group = "relsign-build-and-sign-logs";
    aws.seed(&["make-log-group", group], b"");
    // A build that sat in a queue for hours: its first lines are ten hours old.
    let old = "relsign-artifact-sign/11111111-2222-3333-4444-555555555555";
    aws.seed(&["put-logs", group, old, "36000"], b"signing started long ago\n");
    let recent = "relsign-artifact-copy/66666666-7777-8888-9999-000000000000";
    aws.seed(&["put-logs", group, recent, "60"], b"copier: error: refused\n");
    let batch_builds = [
        ("amd".to_string(), "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000001".to_string()),
        ("arm".to_string(), "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000002".to_string()),
    ];
    for (_, id) in &batch_builds {
        aws.seed(&["put-logs", group, &id.replace(':', "/"), "600"], b"built\n");
    }
    let batch_id = "relsign-release-builds:bbbbbbbb-0000-4000-8000-000000000003";
    records.batch(batch_id, "relsign-release-builds", &batch_builds);
    records.action(&action("Build"), batch_id);
    records.action(&action("Sign"), &old.replace('/', ":"));
    records.action(&action("Copy"), &recent.replace('/', ":"));
    // A build of another execution of the pipeline is not exported with this one.
    let elsewhere = "relsign-artifact-sign:99999999-2222-3333-4444-555555555555";
    records.action_in("another-execution", &action("Sign"), elsewhere);
    let execution = records.execution_id.clone();
    let path = format!("{}:{}", venv().join("bin").display(), std::env::var("PATH").unwrap());
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let run = |copy_code: &str| {
        Command::new(require_tool("busybox", "busybox-static"))
            .args(["sh"])
            .arg(repo_root().join("buildspecs/lib/export-logs.sh"))
            .env_clear()
            .env("PATH", &path)
            .envs(aws.env())
            .env("SOURCE_LOG_GROUP_NAME", group)
            .env("RESULTS_BUCKET_URI", format!("s3://{bucket}/relsign/releases"))
            // What the collector project set before: the bucket alone.
            .env("RELEASE_BUCKET_NAME", bucket)
            .env("GIT_COMMIT_SHA", sha)
            .env("COPY_EXIT_CODE", copy_code)
            .env("PIPELINE_NAME", "relsign-release-pipeline")
            .env("PIPELINE_EXECUTION_ID", &execution)
            .env("EXPORT_TIMEOUT_SECONDS", "60")
            .output()
            .unwrap()
    };
    let out = run("6");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // (moto writes CloudWatch's permission probe at the bucket's root, AWS under the prefix.)
    let keys: Vec<String> = aws.keys(bucket, "").into_iter().filter(|k| k != "aws-logs-write-test").collect();
    let beside = format!("relsign/releases/{sha}/logs/");
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.starts_with(&beside)),
        "logs exported outside {beside}: {keys:?}"
    );
    let download = tempfile::tempdir().unwrap();
    aws.get_tree(bucket, &beside, download.path());
    let mut text = String::new();
    for rel in relsign_tests::files_under(download.path()) {
        let bytes = std::fs::read(download.path().join(&rel)).unwrap();
        let out = Command::new("gzip")
            .args(["-dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&bytes)?;
                c.wait_with_output()
            });
        match out {
            Ok(o) if o.status.success() => text.push_str(&String::from_utf8_lossy(&o.stdout)),
            _ => text.push_str(&String::from_utf8_lossy(&bytes)),
        }
    }
    assert!(
        text.contains("signing started long ago"),
        "the start of a long-queued build is missing from the export ({keys:?}):\n{text}"
    );
    assert!(text.contains("copier: error: refused"), "the failed copy's log is missing:\n{text}");
    // One export per build of the execution, each of the batch's included (moto exports the
    // whole group for each task, so the task names tell which builds were asked for).
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for id in [
        old.replace('/', ":"),
        recent.replace('/', ":"),
        batch_builds[0].1.clone(),
        batch_builds[1].1.clone(),
    ] {
        assert!(stdout.contains(&format!("exported {id} ")), "no export of {id}: {stdout}\n{stderr}");
    }
    assert_eq!(stdout.matches("exported ").count(), 4, "{stdout}");
    assert!(!out.status.success(), "a failed copy (exit 6) must fail the export action after it: {stderr}");
    assert!(stderr.contains("copy failed") && stderr.contains("exit 6"), "{stderr}");
    let ok = run("0");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}

/// Write once: a published file cannot be replaced by deleting it and creating another (with
/// If-None-Match satisfied), by anyone, an administrator with every S3 right included; only
/// the named break-glass role deletes. iam-simulate judges the policy as AWS would.
#[test]
fn an_admins_delete_then_create_is_refused_and_only_the_break_glass_role_deletes() {
    let t = load("release-pipeline-stack.yml");
    let admin = "arn:aws:iam::123456789012:role/admin";
    let break_glass = "arn:aws:iam::123456789012:role/release-break-glass";
    let everything = [
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}),
    ];
    let key = "arn:aws:s3:::relsign-releases/relsign/releases/0123abc/relsign-0.1.0-x86_64-linux-musl.tar.gz";
    let context = |principal: &str| {
        json!({"aws:PrincipalArn": principal, "aws:PrincipalAccount": "123456789012",
               "aws:PrincipalIsAWSService": "false", "aws:SecureTransport": "true"})
    };
    for named in [false, true] {
        let mut params = release_params();
        if named {
            params.insert("ReleaseBreakGlassRoleArn".into(), break_glass.into());
        }
        assert!(allowed(
            &t,
            "ReleaseBreakGlassRoleArn",
            params.get("ReleaseBreakGlassRoleArn").map_or("", |v| v)
        ));
        let policy = release_bucket_policy(&t, &params);
        let bucket_policy = resolved(&t, &params, t.property(&policy, &["PolicyDocument"]).unwrap());
        for action in ["s3:DeleteObject", "s3:DeleteObjectVersion"] {
            assert_eq!(
                decide_action(action, &everything, &bucket_policy, admin, key, context(admin)),
                "ExplicitlyDenied",
                "an administrator with s3:* may {action} a published file (then create another with If-None-Match: *)"
            );
            let glass =
                decide_action(action, &everything, &bucket_policy, break_glass, key, context(break_glass));
            assert_eq!(
                glass,
                if named { "Allowed" } else { "ExplicitlyDenied" },
                "{action} by the break-glass role, named: {named}"
            );
            // Outside the release prefix the bucket is the account's own business.
            let elsewhere = "arn:aws:s3:::relsign-releases/scratch/file";
            assert_eq!(
                decide_action(action, &everything, &bucket_policy, admin, elsewhere, context(admin)),
                "Allowed"
            );
        }
    }
}

/// One bucket, whichever way it is named: the policy's bucket, every ARN in the policy and the
/// roles, and the destination the builds get are cut from one value, and the rule refuses a
/// second name that could differ.
#[test]
fn the_bucket_cannot_differ_from_the_one_in_the_release_uri() {
    let t = load("release-pipeline-stack.yml");
    let base = release_params();
    let with = |name: &str, uri: &str| {
        let mut p = base.clone();
        p.insert("ReleaseArtifactsBucketName".into(), name.into());
        p.insert("ReleaseArtifactsBucketS3Uri".into(), uri.into());
        p
    };
    let rule = "TheBucketIsNamedOnce";
    assert_eq!(
        t.rule(&with("other-bucket", "s3://relsign-releases/relsign/releases"), rule),
        Some(false),
        "a bucket name beside a URI naming another bucket deploys: PutBucketPolicy then fails with \"Policy has invalid resource\""
    );
    assert_eq!(t.rule(&with("", ""), rule), Some(false), "no bucket at all deploys");
    for params in [with("", "s3://relsign-releases/relsign/releases"), with("relsign-releases", "")] {
        assert_eq!(t.rule(&params, rule), Some(true));
        let policy = release_bucket_policy(&t, &params);
        let doc = resolved(&t, &params, t.property(&policy, &["PolicyDocument"]).unwrap()).to_string();
        let mut arns: Vec<&str> = doc.split('"').filter(|s| s.starts_with("arn:aws:s3:::")).collect();
        let copy = t.property("CopyCodeBuildProjectServiceRole", &["Policies"]).unwrap();
        let copy = resolved(&t, &params, copy).to_string();
        arns.extend(copy.split('"').filter(|s| s.starts_with("arn:aws:s3:::")));
        assert!(arns.len() >= 8, "{arns:?}");
        for arn in arns {
            let bucket = arn.trim_start_matches("arn:aws:s3:::").split('/').next().unwrap();
            assert_eq!(
                bucket, "relsign-releases",
                "{arn} names another bucket than the policy's ({params:?})"
            );
        }
        let env = t.property("CopyCodeBuildProjectServiceRole", &[]).map(|_| ());
        assert!(env.is_some());
        let dest = t.property("CopyCodeBuildProject", &["Environment", "EnvironmentVariables"]).unwrap()[0]
            ["Value"]
            .clone();
        let dest = t.resolve(&params, &dest).unwrap();
        assert!(dest.starts_with("s3://relsign-releases"), "{dest}");
    }
}

/// An SSE-KMS final bucket: the copy role may ask S3 for data keys of that key only, and only
/// through S3; without the parameter it has no KMS right at all.
#[test]
fn the_copy_role_uses_the_buckets_kms_key_only_through_s3() {
    let t = load("release-pipeline-stack.yml");
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let kms_statements = |params: &Params| -> Vec<Value> {
        let policies = t.property("CopyCodeBuildProjectServiceRole", &["Policies"]).unwrap();
        let doc = resolved(&t, params, &policies[0]["PolicyDocument"]);
        let statements: Vec<Value> = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| t.chosen(params, s).cloned())
            .collect();
        statements.into_iter().filter(|s| s.to_string().contains("kms:")).collect()
    };
    assert!(kms_statements(&release_params()).is_empty(), "KMS rights without ReleaseBucketKmsKeyArn");
    let mut params = release_params();
    params.insert("ReleaseBucketKmsKeyArn".into(), key.into());
    assert!(allowed(&t, "ReleaseBucketKmsKeyArn", key) && allowed(&t, "ReleaseBucketKmsKeyArn", ""));
    let found = kms_statements(&params);
    assert_eq!(found.len(), 1, "{found:#?}");
    let s = &found[0];
    let actions = s["Action"].to_string();
    assert!(actions.contains("kms:GenerateDataKey") && actions.contains("kms:Decrypt"), "{s}");
    assert_eq!(s["Resource"], key);
    assert_eq!(s["Condition"]["StringEquals"]["kms:ViaService"], "s3.us-east-1.amazonaws.com");
}

/// The log export's caller needs write permission on the destination (CreateExportTask API
/// reference): the ExportLogs role may put objects only in a release's logs/ folder.
#[test]
fn the_log_exports_role_may_write_only_the_releases_logs_folder() {
    let t = load("release-pipeline-stack.yml");
    let params = release_params();
    let role = "LogsPullerCodeBuildProjectServiceRole";
    let writes: Vec<String> = role_actions(&t, role)
        .into_iter()
        .filter(|(a, _)| a.starts_with("s3:") && !a.contains("GetObject"))
        .map(|(a, _)| a)
        .collect();
    assert_eq!(writes, ["s3:PutObject"], "the export role's S3 rights: {writes:?}");
    let policies = t.property(role, &["Policies"]).unwrap();
    let statements = policies[0]["PolicyDocument"]["Statement"].as_array().unwrap();
    let put = statements.iter().find(|s| s["Action"] == "s3:PutObject").unwrap();
    assert_eq!(
        t.resolve(&params, &put["Resource"]).as_deref(),
        Some("arn:aws:s3:::relsign-releases/relsign/releases/*/logs/*")
    );
}
