//! What operators read at 2 a.m.: JSON logs that carry the build id, the preflight
//! (`signer check`) on a good and on each kind of broken setup, and JUnit reports that
//! CodeBuild can show.

use std::process::Output;

use relsign_tests::gpg::PASSPHRASE;
use relsign_tests::keys::keys;
use relsign_tests::*;

use crate::moto;

const BUILD_ID: &str = "relsign-signing:8d6b2c1e-0f3a-4c55-9e21-5a7d3b9c0e44";

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A key and passphrase in moto and one build output, as the Sign stage sees them.
struct Stage {
    work: tempfile::TempDir,
    env: Vec<(String, String)>,
}

fn stage(test: &str) -> Stage {
    let k = &keys().rsa4096;
    let m = moto();
    let key = format!("relsign/{test}/key");
    let pass = format!("relsign/{test}/pass");
    m.put_secret(&key, &std::fs::read(&k.secret).unwrap());
    m.put_secret(&pass, PASSPHRASE.as_bytes());
    let work = tempfile::tempdir().unwrap();
    sample_tree(&work.path().join("amd"));
    let mut e = m.env();
    e.extend(env(&[
        ("CODEBUILD_SRC_DIR_AmdBuildArtifact", work.path().join("amd").to_str().unwrap()),
        ("CODEBUILD_BUILD_ID", BUILD_ID),
        ("SIGNER_KEY_SECRET_ID", &key),
        ("SIGNER_PASSPHRASE_SECRET_ID", &pass),
    ]));
    Stage { work, env: e }
}

/// `base` without the variable `name`.
fn without(base: &[(String, String)], name: &str) -> Vec<(String, String)> {
    base.iter().filter(|(k, _)| k != name).cloned().collect()
}

fn with(base: &[(String, String)], more: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e: Vec<(String, String)> = base.to_vec();
    for (k, v) in more {
        e.retain(|(name, _)| name != k);
        e.push((k.to_string(), v.to_string()));
    }
    e
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stderr_lines(out)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

#[test]
fn json_logs_parse_line_by_line_and_carry_the_build_id() {
    let s = stage("json-logs");
    let out = s.work.path().join("signed");
    let res = TestCommand::new("signer")
        .args(["sign", "-vv", "--log-format", "json", "--out", out.to_str().unwrap()])
        .envs(&s.env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let lines = json_lines(&res);
    assert!(lines.len() >= 2, "want the debug lines of a run: {lines:?}");
    for l in &lines {
        assert_eq!(l["build_id"], BUILD_ID, "{l}");
        assert_eq!(l["program"], "signer", "{l}");
        assert!(l["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{l}");
        assert!(l["message"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
    }
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap().contains("unlocked")), "{lines:?}");

    // A failure is one JSON line too, with its exit code; the env variable chooses JSON.
    let res = TestCommand::new("signer")
        .args(["sign", "--out", s.work.path().join("o2").to_str().unwrap()])
        .envs(&with(
            &without(&s.env, "SIGNER_PASSPHRASE_SECRET_ID"),
            &[("PASSPHRASE", "wrong"), ("RELSIGN_LOG_FORMAT", "json")],
        ))
        .output();
    assert_eq!(res.status.code(), Some(4), "{:?}", stderr_lines(&res));
    let lines = json_lines(&res);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert_eq!(lines[0]["exit_code"], 4);
    assert_eq!(lines[0]["build_id"], BUILD_ID);
    assert!(lines[0]["message"].as_str().unwrap().contains("passphrase"), "{}", lines[0]);

    // Text lines carry it too; -q leaves errors only.
    let res = TestCommand::new("signer")
        .args(["sign", "-v", "--out", s.work.path().join("o3").to_str().unwrap()])
        .envs(&s.env)
        .output();
    assert!(res.status.success());
    for line in stderr_lines(&res) {
        assert!(line.starts_with("signer: ") && line.ends_with(&format!("[build {BUILD_ID}]")), "{line}");
    }
    let res = TestCommand::new("signer")
        .args(["sign", "-q", "--out", s.work.path().join("o4").to_str().unwrap()])
        .envs(&s.env)
        .output();
    assert!(res.status.success());
    assert!(stderr_lines(&res).is_empty(), "{:?}", stderr_lines(&res));
}

#[test]
fn check_reports_what_a_run_would_use_and_exits_0_when_it_can() {
    let s = stage("check-good");
    let out = s.work.path().join("signed");
    let res =
        TestCommand::new("signer").args(["check", "--out", out.to_str().unwrap()]).envs(&s.env).output();
    assert_check_passed(
        &res,
        &[
            "source AmdBuildArtifact",
            "4 file(s)",
            "region us-east-1",
            "credentials from environment variables",
            "OpenPGP key material",
            &keys().rsa4096.fingerprint,
            "unlocked",
            "a run would start",
        ],
    );
    assert!(!out.exists(), "check signed something");

    let res = TestCommand::new("signer")
        .args(["check", "--json", "--out", out.to_str().unwrap()])
        .envs(&s.env)
        .output();
    let report: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn check_names_the_fix_for_each_broken_setup() {
    let s = stage("check-broken");
    let out = s.work.path().join("signed");
    let out = out.to_str().unwrap();
    let no_credentials: Vec<(String, String)> = s
        .env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET_ACCESS_KEY"))
        .cloned()
        .collect();
    // What goes wrong, the environment, the exit code, what the one stderr line says.
    type Case<'a> = (&'a str, Vec<(String, String)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        ("missing credentials", no_credentials, 5, "AWS_ACCESS_KEY_ID"),
        (
            "unknown secret",
            with(&s.env, &[("SIGNER_KEY_SECRET_ID", "relsign/check-broken/no-such-key")]),
            5,
            "check the secret ARN or name",
        ),
        (
            "wrong passphrase",
            with(&without(&s.env, "SIGNER_PASSPHRASE_SECRET_ID"), &[("PASSPHRASE", "not the passphrase")]),
            4,
            "passphrase",
        ),
        (
            "missing source",
            with(&s.env, &[("CODEBUILD_SRC_DIR_AmdBuildArtifact", "/nonexistent/relsign/amd")]),
            3,
            "/nonexistent/relsign/amd",
        ),
    ];
    for (what, env, code, fix) in cases {
        let res = TestCommand::new("signer").args(["check", "--out", out]).envs(&env).output();
        let text = stdout(&res);
        assert_eq!(res.status.code(), Some(code), "{what}:\n{text}{:?}", stderr_lines(&res));
        assert!(text.contains("FAIL"), "{what}: no FAIL line:\n{text}");
        assert!(text.contains("fix: "), "{what}: no fix:\n{text}");
        assert!(text.contains(fix), "{what}: the report does not name {fix:?}:\n{text}");
        let err = stderr_lines(&res);
        assert_eq!(err.len(), 1, "{what}: {err:?}");
        assert!(err[0].starts_with("signer: error: a run would fail"), "{what}: {err:?}");
    }
}

#[test]
fn verify_junit_records_each_artifact_and_a_failing_one_as_a_failure() {
    let k = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let signed = work.path().join("signed");
    let res = crate::sign_with(k, work.path(), &[&dist], &signed, &[]);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let cert = k.public.to_str().unwrap();

    let report = work.path().join("reports/ok.xml");
    let res = TestCommand::signer()
        .args(["verify", "--cert", cert, "--junit", report.to_str().unwrap(), signed.to_str().unwrap()])
        .output();
    assert!(res.status.success(), "{}", stdout(&res));
    validate_junit(&report);
    let xml = std::fs::read_to_string(&report).unwrap();
    assert!(!xml.contains("<failure"), "{xml}");
    assert!(xml.contains("signed/agent v1.0.tar\""), "{xml}");

    std::fs::write(signed.join("scripts/install.sh"), b"#!/bin/sh\necho tampered\n").unwrap();
    let report = work.path().join("reports/bad.xml");
    let res = TestCommand::signer()
        .args(["verify", "--cert", cert, "--junit", report.to_str().unwrap(), signed.to_str().unwrap()])
        .output();
    assert_eq!(res.status.code(), Some(1), "{}", stdout(&res));
    validate_junit(&report);
    let doc = std::fs::read_to_string(&report).unwrap();
    let failing = failing_cases(&doc);
    assert_eq!(failing.len(), 1, "{doc}");
    assert!(failing[0].ends_with("signed/scripts/install.sh"), "{doc}");
}

#[test]
fn the_junit_schema_refuses_what_codebuild_would_not_read() {
    let work = tempfile::tempdir().unwrap();
    for (what, xml) in [
        ("a test case without a name", "<testsuites><testsuite name=\"s\" tests=\"1\"><testcase/></testsuite></testsuites>"),
        ("a suite without its count", "<testsuites><testsuite name=\"s\"/></testsuites>"),
        ("an unknown element", "<testsuites><testsuite name=\"s\" tests=\"1\"><testcase name=\"a\"><oops/></testcase></testsuite></testsuites>"),
    ] {
        let path = work.path().join("bad.xml");
        std::fs::write(&path, xml).unwrap();
        assert!(junit_validation(&path).is_err(), "the schema accepted {what}");
    }
}

/// `--aws-max-attempts` and `SIGNER_AWS_MAX_ATTEMPTS`, the old names of `--max-attempts`
/// (copier's name for the same setting), still reach it, since pipelines set them: a value
/// that is not a number is refused by `--max-attempts`'s parser whichever name carries it,
/// and the new variable wins over the old.
#[test]
fn the_old_names_of_max_attempts_still_set_it() {
    let work = tempfile::tempdir().unwrap();
    let run = |args: &[&str], vars: &[(&str, &str)]| {
        TestCommand::signer()
            .args(["export-cert", "--key-file"])
            .arg(work.path().join("no-such-key.asc"))
            .args(args)
            .envs(vars)
            .output()
    };
    for (args, vars) in [
        (&["--aws-max-attempts", "many"][..], &[][..]),
        (&[][..], &[("SIGNER_AWS_MAX_ATTEMPTS", "many")][..]),
        (&["--max-attempts", "many"][..], &[][..]),
    ] {
        let out = run(args, vars);
        assert_eq!(out.status.code(), Some(2), "{args:?} {vars:?}: {:?}", stderr_lines(&out));
        assert!(
            stderr_lines(&out).iter().any(|l| l.contains("invalid value 'many' for '--max-attempts <N>'")),
            "{args:?} {vars:?}: {:?}",
            stderr_lines(&out)
        );
    }
    let out = run(&[], &[("SIGNER_MAX_ATTEMPTS", "1"), ("SIGNER_AWS_MAX_ATTEMPTS", "many")]);
    assert_ne!(out.status.code(), Some(2), "the old variable won: {:?}", stderr_lines(&out));
}
