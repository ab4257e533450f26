//! What each stack promises beyond lint: private, encrypted, versioned buckets; the image
//! stack's schedule only when a cron is given, and both repository URI and ARN as outputs;
//! the audit stack's trail, selectors and alarm tied to the two secrets and the signing role.

use relsign_tests::repo_root;
use relsign_wiring::{Params, Template};
use serde_json::Value;

fn load(name: &str) -> Template {
    Template::load(&repo_root().join("templates").join(name)).unwrap()
}

fn resources_of<'a>(t: &'a Template, ty: &'a str) -> Vec<&'a str> {
    t.resources().filter(|(_, rt, _)| *rt == ty).map(|(id, _, _)| id).collect()
}

/// Every bucket the stack creates is encrypted, versioned and blocks public access.
fn buckets_are_private(t: &Template) {
    let buckets = resources_of(t, "AWS::S3::Bucket");
    assert!(!buckets.is_empty(), "{}: no bucket", t.name());
    for b in buckets {
        assert!(
            t.property(b, &["BucketEncryption", "ServerSideEncryptionConfiguration"]).is_some(),
            "{b} is not encrypted"
        );
        assert_eq!(
            t.property(b, &["VersioningConfiguration", "Status"]),
            Some(&Value::from("Enabled")),
            "{b} is not versioned"
        );
        for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
            assert_eq!(
                t.property(b, &["PublicAccessBlockConfiguration", flag]),
                Some(&Value::Bool(true)),
                "{b}: {flag}"
            );
        }
    }
}

#[test]
fn the_pipeline_artifact_bucket_is_private() {
    let t = load("release-pipeline-stack.yml");
    buckets_are_private(&t);
    let retention = t.root()["Parameters"]["LogGroupRetentionInDays"].clone();
    assert_eq!(retention["Default"], Value::from(180));
    assert!(retention["AllowedValues"].as_array().unwrap().contains(&Value::from(3653)));
}

#[test]
fn the_image_stack_schedules_only_with_a_cron_and_exports_uri_and_arn() {
    let t = load("minimal-signing-build-stack.yml");
    let rule = resources_of(&t, "AWS::Events::Rule");
    assert_eq!(rule.len(), 1);
    let trigger_roles: Vec<&str> = resources_of(&t, "AWS::IAM::Role")
        .into_iter()
        .filter(|r| {
            t.property(r, &["AssumeRolePolicyDocument"]).unwrap().to_string().contains("events.amazonaws.com")
        })
        .collect();
    assert_eq!(trigger_roles.len(), 1);
    for id in [rule[0], trigger_roles[0]] {
        let cond =
            t.resource(id).unwrap()["Condition"].as_str().unwrap_or_else(|| panic!("{id} has no Condition"));
        let mut blank = Params::new();
        blank.insert("ImageBuildFrequencyCronExpression".into(), String::new());
        assert_eq!(t.condition(&blank, cond), Some(false), "{id} would exist with a blank cron");
        assert_eq!(t.condition(&Params::new(), cond), Some(true), "{id} missing with the default cron");
    }
    let repo = resources_of(&t, "AWS::ECR::Repository")[0];
    assert_eq!(t.property(repo, &["ImageScanningConfiguration", "ScanOnPush"]), Some(&Value::Bool(true)));
    assert_eq!(t.property(repo, &["ImageTagMutability"]), Some(&Value::from("IMMUTABLE")));
    let lifecycle = t.property(repo, &["LifecyclePolicy", "LifecyclePolicyText"]).unwrap().to_string();
    assert!(lifecycle.contains("build-") && lifecycle.contains("sinceImagePushed"), "{lifecycle}");
    let outputs = &t.root()["Outputs"];
    assert!(outputs["EcrRepositoryUri"]["Value"].to_string().contains("RepositoryUri"));
    assert!(outputs["EcrRepositoryArn"]["Value"].to_string().contains("Arn"));
    assert!(outputs.get("SigningImageParameterName").is_some(), "the digest-pinned image is not output");
    let spec = std::fs::read_to_string(repo_root().join("buildspecs/signing-image-build.yml")).unwrap();
    assert!(spec.contains("get-login-password") && !spec.contains("get-login "), "AWS CLI v2 login expected");
    assert!(spec.contains("RepoDigests"), "the image build must record the digest");
}

#[test]
fn the_audit_stack_watches_the_two_secrets_for_anyone_but_the_signer() {
    let t = load("audit-logs-stack.yml");
    buckets_are_private(&t);
    let trail = resources_of(&t, "AWS::CloudTrail::Trail")[0];
    let selectors = t.property(trail, &["AdvancedEventSelectors"]).unwrap().to_string();
    assert!(selectors.contains("Management"), "{selectors}");
    // Management events are kept; nothing excludes Secrets Manager (or KMS).
    assert!(!selectors.contains("secretsmanager") && !selectors.contains("kms"), "{selectors}");
    assert!(t.property(trail, &["CloudWatchLogsLogGroupArn"]).is_some());
    assert_eq!(t.property(trail, &["EnableLogFileValidation"]), Some(&Value::Bool(true)));
    let policy = resources_of(&t, "AWS::S3::BucketPolicy")[0];
    let doc = t.property(policy, &["PolicyDocument"]).unwrap().to_string();
    assert!(
        doc.contains("cloudtrail.amazonaws.com")
            && doc.contains("s3:GetBucketAcl")
            && doc.contains("bucket-owner-full-control")
    );
    let mut pattern = String::new();
    for filter in ["SigningKeyTouchedFilter", "PassphraseTouchedFilter"] {
        assert!(resources_of(&t, "AWS::Logs::MetricFilter").contains(&filter), "no {filter}");
        pattern.push_str(&t.property(filter, &["FilterPattern"]).unwrap().to_string());
    }
    for needle in ["GetSecretValue", "SecretKeyArn", "PassphraseArn", "SignerRoleArn", "!="] {
        assert!(pattern.contains(needle), "the metric filter lacks {needle}: {pattern}");
    }
    assert!(!resources_of(&t, "AWS::CloudWatch::Alarm").is_empty(), "no alarm");
    let retention = t.root()["Parameters"]["LogGroupRetentionPeriodInDays"]["Default"].clone();
    assert_eq!(retention, Value::from(180));
}

/// With an existing trail's log group, the audit stack makes no second trail (nor its bucket,
/// key or log group) and puts every metric filter on that group; the tampering filter watches
/// that group.
#[test]
fn the_audit_stack_can_reuse_an_existing_trails_log_group() {
    let t = load("audit-logs-stack.yml");
    let mut params = Params::new();
    params.insert("AWS::Region".into(), "us-east-1".into());
    params.insert("AWS::AccountId".into(), "123456789012".into());
    params.insert("AWS::Partition".into(), "aws".into());
    assert_eq!(t.condition(&params, "CreatesTrail"), Some(true), "by default the stack makes its trail");
    params.insert("ExistingTrailLogGroupName".into(), "org-trail/management".into());
    assert_eq!(t.condition(&params, "CreatesTrail"), Some(false));
    for ty in [
        "AWS::CloudTrail::Trail",
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::S3::BucketPolicy",
    ] {
        for id in resources_of(&t, ty) {
            assert_eq!(
                t.resource(id).unwrap()["Condition"],
                "CreatesTrail",
                "{id} is made even with an existing trail's log group: a second, billed trail"
            );
        }
    }
    for id in resources_of(&t, "AWS::Logs::MetricFilter") {
        let group = t.resolve(&params, t.property(id, &["LogGroupName"]).unwrap());
        assert_eq!(group.as_deref(), Some("org-trail/management"), "{id} watches another log group");
    }
    let tampering =
        t.resolve(&params, t.property("AuditTamperingFilter", &["FilterPattern"]).unwrap()).unwrap();
    assert!(
        tampering.contains(r#"($.requestParameters.logGroupName = "org-trail/management")"#),
        "{tampering}"
    );
}
