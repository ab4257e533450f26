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
//!
//! One file per topic:
//! - `image.rs`: the signing image (lifecycle policy, tags, the pin step);
//! - `alarms.rs`: the audit alarms judged on CloudTrail-shaped records;
//! - `audit_stack.rs`: the audit stack's parameters, topic, key and the filters' length;
//! - `bucket.rs`: the final bucket's policy, judged by iam-simulate (write once, one name);
//! - `roles.rs`: roles scoped to their prefix, key and project, none borrowable;
//! - `buildspecs.rs`: the pinned signer and the log export of the buildspecs.
//!
//! The helpers shared by the topics are here.

mod alarms;
mod audit_stack;
mod bucket;
mod buildspecs;
mod image;
mod roles;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relsign_tests::codebuild::Build;
use relsign_tests::cw_pattern;
use relsign_tests::local_aws::{venv, LocalAws};
use relsign_tests::{repo_root, require_tool};
use relsign_wiring::{Buildspec, Params, Pipeline, Template};
use serde_json::{json, Value};

pub(super) fn load(name: &str) -> Template {
    Template::load(&repo_root().join("templates").join(name)).unwrap()
}

pub(super) fn base_params() -> Params {
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
pub(super) fn allowed(t: &Template, param: &str, value: &str) -> bool {
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

/// Every action a role's inline policies allow, with the statement's resources as written.
pub(super) fn role_actions(t: &Template, role: &str) -> Vec<(String, String)> {
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

pub(super) fn release_params() -> Params {
    let mut p = base_params();
    for (k, v) in [
        // The bucket is named once: by the URI (the rule TheBucketIsNamedOnce).
        ("ReleaseArtifactsBucketName", ""),
        ("ReleaseArtifactsBucketS3Uri", "s3://relsign-releases/relsign/releases"),
        ("CopyCodeBuildProjectServiceRole.Arn", "arn:aws:iam::123456789012:role/relsign-CopyRole-1"),
        ("VerifyCodeBuildProjectServiceRole.Arn", "arn:aws:iam::123456789012:role/relsign-VerifyRole-1"),
    ] {
        p.insert(k.into(), v.into());
    }
    p
}

/// A policy document with every intrinsic resolved for `params`, as IAM receives it: each
/// `Fn::If` replaced by its branch, what is `AWS::NoValue` left out.
pub(super) fn resolved(t: &Template, params: &Params, v: &Value) -> Value {
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
