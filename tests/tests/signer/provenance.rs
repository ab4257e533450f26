//! `signer sign --provenance` and `signer verify`'s check of it. The execution is what the
//! signing role reads from CodeBuild and CodePipeline, served by moto with the records it
//! lacks (tests/moto/pipeline_records.py), written here in AWS's shapes. Every envelope is
//! judged by tests/fixtures/provenance_oracle.py (securesystemslib, `cryptography` over the
//! PAE, the in-toto attestation bindings) and its `.asc` by gpg.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, KeyFile};
use relsign_tests::local_aws::{venv, LocalAws};
use relsign_tests::*;
use serde_json::{json, Value};

const PIPELINE: &str = "relsign-release-pipeline";
const EXECUTION: &str = "e0e0e0e0-0000-4000-8000-000000000001";
const SIGNING: &str = "relsign-artifact-sign:5a5a5a5a-0000-4000-8000-000000000002";
const BATCH: &str = "relsign-release-builds:bbbbbbbb-0000-4000-8000-000000000003";
const AMD: &str = "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000004";
const ARM: &str = "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000005";
/// A build another execution ran: started by the pipeline, but not by EXECUTION.
const STRAY: &str = "relsign-artifact-sign:99999999-0000-4000-8000-000000000006";
const LOCAL: &str = "relsign-artifact-sign:11111111-0000-4000-8000-000000000007";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const ARN: &str = "arn:aws:codebuild:us-east-1:123456789012";

fn build(id: &str, initiator: &str, image: &str, batch: Option<&str>) -> Value {
    let mut b = json!({
        "id": id,
        "arn": format!("{ARN}:build/{id}"),
        "projectName": id.split(':').next().unwrap(),
        "initiator": initiator,
        "buildStatus": "SUCCEEDED",
        "startTime": 1_764_750_000.0,
        "endTime": 1_764_750_300.0,
        "source": {"type": "CODEPIPELINE"},
        "sourceVersion": "arn:aws:s3:::relsign-artifacts/relsign-release/Source/abc.zip",
        "resolvedSourceVersion": COMMIT,
        "environment": {"type": "LINUX_CONTAINER", "image": image, "computeType": "BUILD_GENERAL1_SMALL"},
    });
    if let Some(batch) = batch {
        b["buildBatchArn"] = json!(format!("{ARN}:build-batch/{batch}"));
    }
    b
}

fn action(stage: &str, name: &str, category: &str, provider: &str, external: &str, execution: &str) -> Value {
    let mut input =
        json!({"actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"}});
    let mut outputs = json!([]);
    if external == BATCH {
        input["configuration"] = json!({"ProjectName": "relsign-release-builds", "BatchEnabled": "true", "CombineArtifacts": "true"});
    }
    if category == "Source" {
        input["configuration"] = json!({
            "FullRepositoryId": "example/agent", "BranchName": "main",
            "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/c0ffee"});
        outputs = json!([{"name": "Source"}]);
    }
    json!({
        "pipelineExecutionId": execution, "actionExecutionId": format!("{name}-{execution}"),
        "pipelineVersion": 3, "stageName": stage, "actionName": name,
        "startTime": 1_764_750_000.0, "lastUpdateTime": 1_764_750_000.0, "status": "Succeeded",
        "input": input,
        "output": {"outputArtifacts": outputs, "executionResult": {"externalExecutionId": external}},
    })
}

/// The records of one execution (Source, a Build batch of two builds, Sign) and of a
/// stray signing build of another execution, plus a build CodePipeline did not start.
fn records() -> Value {
    let image = "aws/codebuild/standard:7.0";
    let pinned = "123456789012.dkr.ecr.us-east-1.amazonaws.com/relsign-signer@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    json!({
        "pipelines": {PIPELINE: {
            "actionExecutionDetails": [
                action("Source", "Source", "Source", "CodeStarSourceConnection", COMMIT, EXECUTION),
                action("Build", "Build", "Build", "CodeBuild", BATCH, EXECUTION),
                action("Sign", "Sign", "Build", "CodeBuild", SIGNING, EXECUTION),
                action("Sign", "Sign", "Build", "CodeBuild", STRAY, "another-execution"),
            ],
            "pipelineExecutions": [{
                "pipelineName": PIPELINE, "pipelineVersion": 3, "pipelineExecutionId": EXECUTION,
                "status": "InProgress",
                "artifactRevisions": [{"name": "Source", "revisionId": COMMIT,
                    "revisionUrl": format!("https://github.com/example/agent/commit/{COMMIT}")}],
            }],
        }},
        "buildBatches": [{
            "id": BATCH, "arn": format!("{ARN}:build-batch/{BATCH}"), "projectName": "relsign-release-builds",
            "buildBatchStatus": "SUCCEEDED",
            "buildGroups": [
                {"identifier": "amd", "currentBuildSummary": {"arn": format!("{ARN}:build/{AMD}"), "buildStatus": "SUCCEEDED"}},
                {"identifier": "arm", "currentBuildSummary": {"arn": format!("{ARN}:build/{ARM}"), "buildStatus": "SUCCEEDED"}},
            ],
        }],
        "builds": [
            build(SIGNING, &format!("codepipeline/{PIPELINE}"), pinned, None),
            build(AMD, &format!("codepipeline/{PIPELINE}"), image, Some(BATCH)),
            build(ARM, &format!("codepipeline/{PIPELINE}"), pinned, Some(BATCH)),
            build(STRAY, &format!("codepipeline/{PIPELINE}"), pinned, None),
            build(LOCAL, "someone", pinned, None),
        ],
    })
}

/// moto with its KMS correction and these records, one per test binary.
fn aws() -> &'static LocalAws {
    static AWS: OnceLock<(tempfile::TempDir, LocalAws)> = OnceLock::new();
    &AWS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&records()).unwrap()).unwrap();
        let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", path.to_str().unwrap())]);
        (dir, aws)
    })
    .1
}

fn pipeline_env(build_id: &str) -> Vec<(String, String)> {
    let mut env = aws().env();
    env.push(("CODEBUILD_BUILD_ID".into(), build_id.into()));
    env.push(("SIGNER_PIPELINE_EXECUTION_ID".into(), EXECUTION.into()));
    env
}

fn dist(work: &Path) -> PathBuf {
    let d = work.join("dist");
    write_tree(&d, &[("agent.tar", b"agent bytes"), ("deb/agent.deb", b"deb bytes")]);
    d
}

fn sign_provenance(key: &KeyFile, work: &Path, input: &Path, build_id: &str) -> (PathBuf, Output) {
    let out = work.join("signed");
    let res = TestCommand::sign(key, work)
        .args(["--provenance", "--json", "--out"])
        .arg(&out)
        .arg(input)
        .envs(&pipeline_env(build_id))
        .output();
    (out, res)
}

fn verify(cert: &Path, dir: &Path, extra: &[&str]) -> Output {
    TestCommand::signer().arg("verify").arg("--cert").arg(cert).args(extra).arg(dir).output()
}

/// The key `fpr` in OpenSSH form, from gpg (not relsign): what the oracle verifies with.
fn ssh_key(key: &KeyFile, work: &Path) -> PathBuf {
    let g = GnuPg::new();
    g.ok(&["--import"], &std::fs::read(&key.public).unwrap());
    let listing = String::from_utf8(g.ok(&["--with-colons", "--list-keys", &key.fingerprint], b"")).unwrap();
    // The key that signs: the primary's fingerprint, or a signing subkey's.
    let signing = keys_that_sign(&listing);
    let path = work.join("key.ssh");
    std::fs::write(&path, g.ok(&["--export-ssh-key", &format!("{signing}!")], b"")).unwrap();
    path
}

fn keys_that_sign(listing: &str) -> String {
    let mut last_sign = None;
    let mut capable = false;
    for line in listing.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f[0] == "pub" || f[0] == "sub" {
            capable = f[11].contains('s');
        }
        if f[0] == "fpr" && capable {
            last_sign = Some(f[9].to_string());
        }
    }
    last_sign.expect("a key that signs")
}

/// The oracle's verdict: the statement it read, or its reason.
fn oracle(envelope: &Path, key: &Path) -> Result<Value, String> {
    let out = Command::new(venv().join("bin/python"))
        .arg(repo_root().join("tests/fixtures/provenance_oracle.py"))
        .arg(envelope)
        .arg(key)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn sums(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("SHA256SUMS"))
        .unwrap()
        .lines()
        .map(|l| {
            let (d, n) = l.split_once("  ").unwrap();
            (n.to_string(), d.to_string())
        })
        .collect()
}

/// Every field and where it came from, asserted against the records.
fn assert_fields(statement: &Value, subjects: &[(String, String)]) {
    let mut stated: Vec<(String, String)> = statement["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["name"].as_str().unwrap().to_string(), s["digest"]["sha256"].as_str().unwrap().to_string())
        })
        .collect();
    stated.sort();
    assert_eq!(stated, subjects, "the subjects are SHA256SUMS's artifacts");
    let p = &statement["predicate"];
    assert_eq!(p["runDetails"]["builder"]["id"], format!("{ARN}:project/relsign-artifact-sign"));
    assert_eq!(p["runDetails"]["metadata"]["invocationId"], format!("{ARN}:build/{SIGNING}"));
    let ext = &p["buildDefinition"]["externalParameters"];
    assert_eq!(ext["pipeline"], json!({"name": PIPELINE, "executionId": EXECUTION, "version": 3}));
    assert_eq!(ext["sources"][0]["repository"], "example/agent");
    assert_eq!(ext["sources"][0]["revision"], COMMIT);
    let deps = p["buildDefinition"]["resolvedDependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 4, "a source and an image for each of the batch's two builds: {deps:?}");
    assert_eq!(deps[0]["digest"]["gitCommit"], COMMIT);
    assert!(
        deps[1].get("digest").is_none(),
        "a tagged image has no digest, and none is guessed: {}",
        deps[1]
    );
    assert_eq!(deps[3]["digest"]["sha256"].as_str().unwrap().len(), 64, "{}", deps[3]);
    let runs: Vec<&str> = p["runDetails"]["byproducts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        runs,
        [format!("{ARN}:build/{AMD}"), format!("{ARN}:build/{ARM}")],
        "the builder builds, not the signing one"
    );
}

#[test]
fn every_file_key_shape_writes_provenance_the_outside_judges_accept() {
    let k = keys();
    for key in [&k.rsa4096, &k.ed25519, &k.p256, &k.default_shape] {
        let work = tempfile::tempdir().unwrap();
        let (out, res) = sign_provenance(key, work.path(), &dist(work.path()), SIGNING);
        assert!(res.status.success(), "{}: {:?}", key.label, stderr_lines(&res));
        let summary: Value = serde_json::from_slice(&res.stdout).unwrap();
        let left_out: Vec<&str> =
            summary["provenance_left_out"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(left_out.iter().any(|l| l.contains(AMD) && l.contains("image digest")), "{left_out:?}");

        let envelope = out.join("provenance.intoto.jsonl");
        let statement =
            oracle(&envelope, &ssh_key(key, work.path())).unwrap_or_else(|e| panic!("{}: {e}", key.label));
        let listed = sums(&out);
        assert!(
            listed.iter().any(|(n, _)| n == "provenance.intoto.jsonl"),
            "SHA256SUMS lists the provenance"
        );
        let artifacts: Vec<(String, String)> = listed
            .into_iter()
            .filter(|(n, _)| n != "manifest.json" && n != "provenance.intoto.jsonl")
            .collect();
        assert_fields(&statement, &artifacts);
        let (ok, why) = GnuPg::verifies_with(
            &std::fs::read(&key.public).unwrap(),
            &out.join("provenance.intoto.jsonl.asc"),
            &envelope,
        );
        assert!(ok, "{}: gpg refuses the provenance's .asc: {why}", key.label);

        let res = verify(&key.public, &out, &["--require-provenance"]);
        let text = stdout(&res);
        assert!(res.status.success(), "{}: {text}", key.label);
        assert!(
            text.contains("provenance signed by")
                && text.contains(&format!("pipeline: {PIPELINE} execution {EXECUTION}")),
            "{text}"
        );
        assert!(text.contains(&format!("source: example/agent at {COMMIT}")), "{text}");
    }
}

/// A one-byte change anywhere in the envelope (payload, signature, type) fails the
/// statement's own check, not only its `.asc`.
#[test]
fn an_envelope_changed_by_one_byte_fails_verify() {
    let key = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let (out, res) = sign_provenance(key, work.path(), &dist(work.path()), SIGNING);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let path = out.join("provenance.intoto.jsonl");
    let good = std::fs::read(&path).unwrap();
    let doc: Value = serde_json::from_slice(&good).unwrap();
    let text = String::from_utf8(good.clone()).unwrap();
    let positions = [
        text.find(doc["payload"].as_str().unwrap()).unwrap() + 100,
        text.find(doc["signatures"][0]["sig"].as_str().unwrap()).unwrap() + 10,
        text.find("in-toto+json").unwrap(),
    ];
    for at in positions {
        let mut bad = good.clone();
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&path, &bad).unwrap();
        let res = verify(&key.public, &out, &[]);
        let text = stdout(&res);
        assert_eq!(res.status.code(), Some(1), "{text}");
        let line = text
            .lines()
            .find(|l| l.contains("(statement)"))
            .unwrap_or_else(|| panic!("no statement line: {text}"));
        assert!(line.starts_with("FAIL") && line.contains("provenance"), "{line}");
        assert!(oracle(&path, &ssh_key(key, work.path())).is_err(), "the oracle accepts a changed envelope");
    }
    std::fs::write(&path, &good).unwrap();
    assert!(verify(&key.public, &out, &[]).status.success());
}

/// A provenance signed by the release key for another release (replayed here with its
/// `.asc`) fails: its subjects are not this release's SHA256SUMS.
#[test]
fn a_replayed_provenance_fails_on_its_subjects() {
    let key = &keys().ed25519;
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (out_a, res) = sign_provenance(key, a.path(), &dist(a.path()), SIGNING);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let other = b.path().join("other");
    write_tree(&other, &[("agent.tar", b"other agent")]);
    let (out_b, res) = sign_provenance(key, b.path(), &other, SIGNING);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    for name in ["provenance.intoto.jsonl", "provenance.intoto.jsonl.asc"] {
        std::fs::copy(out_b.join(name), out_a.join(name)).unwrap();
    }
    let res = verify(&key.public, &out_a, &[]);
    let text = stdout(&res);
    let line = text.lines().find(|l| l.contains("(statement)")).unwrap();
    assert!(line.starts_with("FAIL") && line.contains("subject"), "{text}");
}

#[test]
fn a_missing_provenance_fails_only_when_required() {
    let key = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("plain");
    TestCommand::sign(key, work.path()).arg("--out").arg(&out).arg(dist(work.path())).expect_ok();
    assert!(verify(&key.public, &out, &[]).status.success());
    let res = verify(&key.public, &out, &["--require-provenance"]);
    assert_eq!(res.status.code(), Some(1));
    assert!(stdout(&res).contains("missing: --require-provenance"), "{}", stdout(&res));
    let res = TestCommand::signer()
        .args(["verify", "--cert"])
        .arg(&key.public)
        .arg(&out)
        .env("SIGNER_REQUIRE_PROVENANCE", "1")
        .output();
    assert_eq!(res.status.code(), Some(1), "the variable works as the flag");
}

/// A build's own `provenance.intoto.jsonl` inside its output is one more artifact (signed,
/// a subject); at the top of the release, where the release's goes, it is refused.
#[test]
fn a_builds_own_provenance_is_only_an_artifact() {
    let key = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("dist");
    write_tree(&input, &[("agent.tar", b"agent"), ("sbom/provenance.intoto.jsonl", b"{\"forged\": true}\n")]);
    let (out, res) = sign_provenance(key, work.path(), &input, SIGNING);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(out.join("sbom/provenance.intoto.jsonl.asc").is_file());
    let statement = oracle(&out.join("provenance.intoto.jsonl"), &ssh_key(key, work.path())).unwrap();
    let names: Vec<&str> =
        statement["subject"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["agent.tar", "sbom/provenance.intoto.jsonl"]);
    assert!(verify(&key.public, &out, &["--require-provenance"]).status.success());

    let top = work.path().join("top");
    write_tree(&top, &[("agent.tar", b"agent"), ("provenance.intoto.jsonl", b"{\"forged\": true}\n")]);
    let out = work.path().join("refused");
    TestCommand::sign(key, work.path())
        .arg("--out")
        .arg(&out)
        .arg(&top)
        .expect_fails(3, "provenance.intoto.jsonl");
    assert!(!out.exists());
}

#[test]
fn provenance_outside_its_pipeline_run_is_refused_before_anything_is_written() {
    let key = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let input = dist(work.path());
    let out = work.path().join("signed");
    // Not in CodeBuild.
    TestCommand::sign(key, work.path())
        .args(["--provenance", "--out"])
        .arg(&out)
        .arg(&input)
        .envs(&aws().env())
        .env("SIGNER_PIPELINE_EXECUTION_ID", EXECUTION)
        .expect_fails(2, "CODEBUILD_BUILD_ID");
    // No execution id.
    TestCommand::sign(key, work.path())
        .args(["--provenance", "--out"])
        .arg(&out)
        .arg(&input)
        .envs(&aws().env())
        .env("CODEBUILD_BUILD_ID", SIGNING)
        .expect_fails(2, "SIGNER_PIPELINE_EXECUTION_ID");
    // A build another execution ran, and one CodePipeline did not start.
    for (id, says) in [(STRAY, "lists no action that ran build"), (LOCAL, "not by CodePipeline")] {
        TestCommand::sign(key, work.path())
            .args(["--provenance", "--out"])
            .arg(&out)
            .arg(&input)
            .envs(&pipeline_env(id))
            .expect_fails(5, says);
    }
    assert!(!out.exists());
}

/// KMS keys sign the envelope through the same signer as their OpenPGP signatures; the
/// oracle verifies with the public key KMS itself returns (GetPublicKey, via boto3).
#[test]
fn kms_keys_write_provenance_the_outside_judges_accept() {
    let m = aws();
    for spec in ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384"] {
        let arn = m.kms_key(spec, "SIGN_VERIFY");
        let work = tempfile::tempdir().unwrap();
        let cert = TestCommand::signer()
            .args(["kms-cert", "--kms-key-id", &arn, "--user-id", "Release <release@example.org>"])
            .envs(&m.env())
            .expect_ok()
            .stdout;
        let cert_path = work.path().join("public.asc");
        std::fs::write(&cert_path, cert).unwrap();
        let out = work.path().join("signed");
        TestCommand::signer()
            .args(["sign", "--provenance", "--kms-key-id", &arn, "--cert"])
            .arg(&cert_path)
            .arg("--out")
            .arg(&out)
            .arg(dist(work.path()))
            .envs(&pipeline_env(SIGNING))
            .expect_ok();
        let pem = work.path().join("key.pem");
        std::fs::write(&pem, m.seed(&["kms-public-pem", &arn], b"").stdout).unwrap();
        let statement =
            oracle(&out.join("provenance.intoto.jsonl"), &pem).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let artifacts: Vec<(String, String)> = sums(&out)
            .into_iter()
            .filter(|(n, _)| n != "manifest.json" && n != "provenance.intoto.jsonl")
            .collect();
        assert_fields(&statement, &artifacts);
        let (ok, why) = GnuPg::verifies_with(
            &std::fs::read(&cert_path).unwrap(),
            &out.join("provenance.intoto.jsonl.asc"),
            &out.join("provenance.intoto.jsonl"),
        );
        assert!(ok, "{spec}: {why}");
        assert!(verify(&cert_path, &out, &["--require-provenance"]).status.success(), "{spec}");
    }
}

/// `signer check --provenance` reads the execution as the run will, and reports a build the
/// execution did not run as the run's own failure.
#[test]
fn check_reads_the_execution_the_run_will_describe() {
    let key = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let input = dist(work.path());
    let ok = TestCommand::signer()
        .args(["check", "--provenance", "--key-file"])
        .arg(&key.secret)
        .arg("--out")
        .arg(work.path().join("signed"))
        .arg(&input)
        .envs(&pipeline_env(SIGNING))
        .output();
    assert_check_passed(&ok, &[&format!("execution {EXECUTION} of {PIPELINE} read: 2 build(s)")]);
    assert!(!work.path().join("signed").exists(), "check writes nothing");
    let refused = TestCommand::signer()
        .args(["check", "--provenance", "--key-file"])
        .arg(&key.secret)
        .arg("--out")
        .arg(work.path().join("other"))
        .arg(&input)
        .envs(&pipeline_env(STRAY))
        .output();
    assert_eq!(refused.status.code(), Some(5), "{}", stdout(&refused));
    assert!(stdout(&refused).contains("lists no action that ran build"), "{}", stdout(&refused));
}
