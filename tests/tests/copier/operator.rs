//! `copier check` on a good and on broken setups, and the JUnit report of a copy.

use relsign_tests::keys::quick_key;
use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use crate::setup;

#[test]
fn check_finds_the_bucket_writable_and_writes_nothing() {
    let s = setup(LocalAws::moto(), sample_tree);
    let cert = quick_key().public.to_str().unwrap().to_string();
    let from = s.signed.to_str().unwrap();
    let res = TestCommand::copier()
        .args([
            "check",
            "--from",
            from,
            "--to",
            "s3://releases/v1",
            "--path-style",
            "--require-signatures",
            "--cert",
            &cert,
        ])
        .envs(&s.env)
        .output();
    assert_check_passed(
        &res,
        &[
            "file(s)",
            "all ",
            "verify",
            "s3://releases/v1/",
            "region us-east-1",
            "listable and writable",
            "a run would start",
        ],
    );
    assert!(s.server.keys("releases", "").is_empty(), "check wrote an object");
    assert_eq!(s.server.uploads("releases"), Some(0), "check left a multipart upload");
}

#[test]
fn check_names_the_fix_for_a_missing_bucket_credentials_or_folder() {
    let s = setup(LocalAws::moto(), sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let no_credentials: Vec<(String, String)> = s
        .env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"))
        .cloned()
        .collect();
    // What goes wrong, the flags, the environment, the exit code, what stderr says.
    type Case<'a> = (&'a str, Vec<&'a str>, &'a Vec<(String, String)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing bucket",
            vec!["--from", &from, "--to", "s3://no-such-bucket/v1"],
            &s.env,
            5,
            "create it or check --to",
        ),
        (
            "missing credentials",
            vec!["--from", &from, "--to", "s3://releases/v1"],
            &no_credentials,
            5,
            "AWS_ACCESS_KEY_ID",
        ),
        (
            "missing folder",
            vec!["--from", "/nonexistent/signed", "--to", "s3://releases/v1"],
            &s.env,
            3,
            "--from",
        ),
    ];
    for (what, args, env, code, fix) in cases {
        let mut all = vec!["check", "--path-style"];
        all.extend(args);
        let res = TestCommand::copier().args(&all).envs(env).output();
        let text = stdout(&res);
        assert_eq!(res.status.code(), Some(code), "{what}:\n{text}{:?}", stderr_lines(&res));
        assert!(text.contains("FAIL") && text.contains("fix: "), "{what}:\n{text}");
        assert!(text.contains(fix), "{what}: the report does not name {fix:?}:\n{text}");
        let err = stderr_lines(&res);
        assert_eq!(err.len(), 1, "{what}: {err:?}");
    }
}

#[test]
fn the_junit_report_has_one_case_per_file_and_the_gates_failure() {
    let s = setup(LocalAws::s3s_fs(), sample_tree);
    let cert = quick_key().public.to_str().unwrap().to_string();
    let files = files_under(&s.signed).len();

    // Copies `from` to `prefix`, gated, with a JUnit report; returns the result and the report.
    let copy = |from: &std::path::Path, prefix: &str| {
        let report = s.work.path().join(format!("reports/{prefix}.xml"));
        let to = format!("s3://releases/{prefix}");
        let res = TestCommand::copier()
            .args([
                "--from",
                from.to_str().unwrap(),
                "--to",
                &to,
                "--path-style",
                "--require-signatures",
                "--cert",
                &cert,
                "--junit",
                report.to_str().unwrap(),
            ])
            .envs(&s.env)
            .output();
        validate_junit(&report);
        (res, std::fs::read_to_string(&report).unwrap())
    };

    let (res, xml) = copy(&s.signed, "junit");
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert_eq!(xml.matches("<testcase ").count(), files, "{xml}");
    assert!(!xml.contains("<failure") && !xml.contains("<skipped"), "{xml}");

    let bad = s.work.path().join("bad");
    copy_tree(&s.signed, &bad);
    std::fs::copy(bad.join("scripts/install.sh.asc"), bad.join("agent v1.0.tar.asc")).unwrap();
    let (res, xml) = copy(&bad, "gated");
    assert_eq!(res.status.code(), Some(1), "{:?}", stderr_lines(&res));
    let failing = failing_cases(&xml);
    assert_eq!(failing, ["agent v1.0.tar"], "{xml}");
    assert!(xml.contains("<skipped"), "the other files are reported as not uploaded: {xml}");
}

/// `copier check` makes the run's own plan: where a run would exit 6 (another signing's
/// sealed release at the prefix), so does the check, naming the plan as the problem.
#[test]
fn check_makes_the_plan_a_run_makes_and_fails_where_the_run_would() {
    let s = setup(LocalAws::moto(), sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let to = ["--to", "s3://releases/v1", "--path-style"];
    TestCommand::copier().args(["--from", from.as_str()]).args(to).envs(&s.env).expect_ok();
    let other = s.work.path().join("other");
    crate::sign_with_env(&s.work.path().join("dist"), &other, &[("CODEBUILD_BUILD_ID", "another-build")]);
    let other = other.to_str().unwrap().to_string();
    let res = TestCommand::copier().args(["check", "--from", other.as_str()]).args(to).envs(&s.env).output();
    assert_eq!(res.status.code(), Some(6), "{}{:?}", stdout(&res), stderr_lines(&res));
    assert!(stdout(&res).contains("plan") && stdout(&res).contains("sealed release"), "{}", stdout(&res));
    TestCommand::copier()
        .args(["--from", other.as_str()])
        .args(to)
        .envs(&s.env)
        .expect_fails(6, "holds a sealed release of another signing");
    // And where the run would publish, the check says so, with the plan.
    let res = TestCommand::copier().args(["check", "--from", from.as_str()]).args(to).envs(&s.env).output();
    assert_check_passed(&res, &["0 to upload, 0 to replace, 11 identical", "a run would start"]);
}

#[test]
fn a_secret_key_given_as_the_certificate_is_refused() {
    let s = setup(LocalAws::s3s_fs(), sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let secret = quick_key().secret.to_str().unwrap().to_string();
    TestCommand::copier()
        .args(["--from", from.as_str(), "--to", "s3://releases/sk", "--path-style", "--require-signatures"])
        .args(["--cert", secret.as_str()])
        .envs(&s.env)
        .expect_fails(3, "holds a secret key, not a certificate");
    assert!(s.server.keys("releases", "sk/").is_empty(), "something was uploaded");
}
