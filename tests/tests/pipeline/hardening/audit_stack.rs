//! The audit stack's parameters: the metric filters fit CloudWatch's 1024 characters with
//! the longest values allowed (moto's PutMetricFilter), a topic is required, the stack's KMS
//! key encrypts, and the secret parameters take full ARNs only.

use super::*;

use super::alarms::{audit_params, filter_patterns};

fn max_length(t: &Template, param: &str) -> usize {
    t.root()["Parameters"][param]["MaxLength"].as_u64().unwrap_or_else(|| {
        panic!(
            "{}: {param} has no MaxLength: with no bound the metric filter built from it can pass \
             CloudWatch's 1024 characters",
            t.name()
        )
    }) as usize
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
