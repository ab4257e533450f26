//! The final bucket's policy as AWS evaluates it (iam-simulate, with the copy role's
//! policy): conditional writes by the copy role only, no delete-then-create by anyone but
//! the break-glass role, one bucket whichever way it is named, and the role verifying the
//! published release able to read it and nothing more.

use super::*;

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

/// A role's inline policies, resolved as IAM receives them.
fn inline_policies(t: &Template, params: &Params, role: &str) -> Vec<Value> {
    t.property(role, &["Policies"])
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| resolved(t, params, &p["PolicyDocument"]))
        .collect()
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
    let copy_identity = inline_policies(&t, &params, "CopyCodeBuildProjectServiceRole");
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
        // The roles that name the final bucket: the copy role and the verifying role.
        let roles: Vec<String> = ["CopyCodeBuildProjectServiceRole", "VerifyCodeBuildProjectServiceRole"]
            .iter()
            .map(|role| Value::Array(inline_policies(&t, &params, role)).to_string())
            .collect();
        for role in &roles {
            arns.extend(role.split('"').filter(|s| s.starts_with("arn:aws:s3:::")));
        }
        assert!(arns.len() >= 10, "{arns:?}");
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

/// VerifyPublished's role, with its own policies and the final bucket's, as AWS decides:
/// it reads every object of a release and lists the bucket; it writes nothing (not even with
/// the conditions the bucket asks of a write), deletes nothing, moves no pointer.
#[test]
fn the_verifying_role_reads_the_release_and_can_change_nothing() {
    let t = load("release-pipeline-stack.yml");
    let params = release_params();
    let policy = release_bucket_policy(&t, &params);
    let bucket_policy = resolved(&t, &params, t.property(&policy, &["PolicyDocument"]).unwrap());
    let role = params["VerifyCodeBuildProjectServiceRole.Arn"].clone();
    let identity = inline_policies(&t, &params, "VerifyCodeBuildProjectServiceRole");
    let object =
        "arn:aws:s3:::relsign-releases/relsign/releases/0123abc/relsign-0.1.0-x86_64-linux-musl.tar.gz";
    let pointer = "arn:aws:s3:::relsign-releases/relsign/releases/latest.json";
    let context = |if_none_match: bool, if_match: bool| {
        let mut c = json!({
            "aws:PrincipalArn": role,
            "aws:PrincipalAccount": "123456789012",
            "aws:PrincipalIsAWSService": "false",
            "aws:SecureTransport": "true",
            "s3:ObjectCreationOperation": "true",
        });
        if if_none_match {
            c["s3:if-none-match"] = json!("*");
        }
        if if_match {
            c["s3:if-match"] = json!("\"9bb58f26192e4ba00f01e2e7b136bbd8\"");
        }
        c
    };
    let decide_as = |action: &str, resource: &str, c: Value| {
        decide_action(action, &identity, &bucket_policy, &role, resource, c)
    };
    assert_eq!(decide_as("s3:GetObject", object, context(false, false)), "Allowed");
    assert_eq!(decide_as("s3:GetObject", pointer, context(false, false)), "Allowed");
    assert_eq!(decide_as("s3:ListBucket", "arn:aws:s3:::relsign-releases", context(false, false)), "Allowed");
    for (if_none_match, if_match) in [(false, false), (true, false), (false, true)] {
        for resource in [object, pointer] {
            let decision = decide_as("s3:PutObject", resource, context(if_none_match, if_match));
            assert_ne!(
                decision, "Allowed",
                "the verifying role may write {resource} ({if_none_match}, {if_match})"
            );
        }
    }
    for action in ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:PutObjectAcl"] {
        assert_ne!(
            decide_as(action, object, context(false, false)),
            "Allowed",
            "the verifying role may {action}"
        );
    }
    // Nothing outside the release prefix.
    let elsewhere = "arn:aws:s3:::relsign-releases/other/secret.txt";
    assert_eq!(decide_as("s3:GetObject", elsewhere, context(false, false)), "ImplicitlyDenied");
}
