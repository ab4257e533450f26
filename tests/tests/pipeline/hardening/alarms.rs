//! The audit alarms: the metric filters' patterns (CloudWatch's JSON pattern syntax,
//! evaluated by tests/src/cw_pattern.rs) against CloudTrail-shaped records of reads of the
//! key, secret changes, trail tampering and borrowed roles.

use super::*;

pub(super) fn audit_params() -> Params {
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
pub(super) fn filter_patterns(t: &Template, params: &Params) -> BTreeMap<String, String> {
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
