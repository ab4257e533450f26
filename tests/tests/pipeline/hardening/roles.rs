//! Roles the account scopes: the copy role writes only under the release prefix and uses the
//! bucket's KMS key only through S3, the log export writes only a release's logs/ folder,
//! and every CodeBuild role trusts only its own project.

use super::*;

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
