//! The pipeline's signing stage: key and passphrase from Secrets Manager (a moto server on
//! loopback, through the real AWS SDK), artifacts from CODEBUILD_SRC_DIR_* sources.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::keys::keys;
use relsign_tests::local_aws::{aws_env, free_port, LocalAws};
use relsign_tests::proxy::{Fault, Proxy};
use relsign_tests::*;

use crate::moto;

/// A unique secret name per test (they share one server).
fn name(test: &str, what: &str) -> String {
    format!("relsign/{test}/{what}")
}

/// Two build outputs shaped like an AMD and an ARM build (one name with a space).
fn build_outputs(work: &Path) -> Vec<(String, String)> {
    write_tree(
        &work.join("amd"),
        &[("ecs-agent-v1.tar", b"amd tar" as &[u8]), ("scripts/install me.sh", b"#!/bin/sh\n")],
    );
    write_tree(&work.join("arm"), &[("ecs-agent-arm64-v1.tar", b"arm tar" as &[u8])]);
    vec![
        ("CODEBUILD_SRC_DIR".into(), work.join("buildspecs").display().to_string()),
        ("CODEBUILD_SRC_DIR_AmdBuildArtifact".into(), work.join("amd").display().to_string()),
        ("CODEBUILD_SRC_DIR_ArmBuildArtifact".into(), work.join("arm").display().to_string()),
    ]
}

fn with(mut env: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

fn assert_gpg_accepts_all(out: &Path, cert: &Path) {
    let cert = std::fs::read(cert).unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    for a in m["artifacts"].as_array().unwrap() {
        let p = out.join(a["path"].as_str().unwrap());
        let (ok, log) = GnuPg::verifies_with(&cert, &PathBuf::from(format!("{}.asc", p.display())), &p);
        assert!(ok, "{}: {log}", p.display());
    }
    assert!(sha256sum_check(out));
}

#[test]
fn plain_text_secrets_as_the_seed_readme_stores_them() {
    let k = &keys().rsa4096;
    let m = moto();
    m.put_secret(&name("plain", "key"), &std::fs::read(&k.secret).unwrap());
    m.put_secret(&name("plain", "pass"), PASSPHRASE.as_bytes());
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("signed");
    let env = with(
        [m.env(), build_outputs(work.path())].concat(),
        &[("CODEBUILD_BUILD_ID", "artifact-sign:0000-1111"), ("CODEBUILD_RESOLVED_SOURCE_VERSION", "abc123")],
    );
    let exported = work.path().join("signer.env");
    let res = TestCommand::signer()
        .arg("sign")
        .args([
            "--key-secret-id",
            &name("plain", "key"),
            "--passphrase-secret-id",
            &name("plain", "pass"),
            "--out",
            out.to_str().unwrap(),
            "--exported-vars",
            exported.to_str().unwrap(),
        ])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    for f in ["ecs-agent-v1.tar", "scripts/install me.sh", "ecs-agent-arm64-v1.tar"] {
        assert!(out.join(format!("{f}.asc")).is_file(), "{f}");
    }
    assert_gpg_accepts_all(&out, &k.public);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["build"]["codebuild_build_id"], "artifact-sign:0000-1111");
    assert_eq!(manifest["build"]["source_version"], "abc123");
    let sources: Vec<&str> =
        manifest["artifacts"].as_array().unwrap().iter().map(|a| a["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"AmdBuildArtifact") && sources.contains(&"ArmBuildArtifact"));
    let vars = std::fs::read_to_string(&exported).unwrap();
    assert!(vars.contains("SIGNER_SIGNED_COUNT=3\n"), "{vars}");
    assert!(vars.contains(&format!("SIGNER_KEY_FINGERPRINT={}", k.fingerprint)), "{vars}");
}

#[test]
fn binary_secret_json_fields_and_a_trailing_newline() {
    let k = &keys().p256;
    let m = moto();
    let binary = GnuPg::new().ok(&["--dearmor"], &std::fs::read(&k.secret).unwrap());
    m.put_binary_secret(&name("binary", "key"), &binary);
    m.put_secret(&name("binary", "pass"), format!("{PASSPHRASE}\n").as_bytes());
    let json = serde_json::json!({
        "key": String::from_utf8(std::fs::read(&k.secret).unwrap()).unwrap(),
        "passphrase": PASSPHRASE,
    });
    m.put_secret(&name("json", "both"), json.to_string().as_bytes());

    for args in [
        vec![
            "--key-secret-id".to_string(),
            name("binary", "key"),
            "--passphrase-secret-id".into(),
            name("binary", "pass"),
        ],
        vec![
            "--key-secret-id".into(),
            name("json", "both"),
            "--key-secret-field".into(),
            "key".into(),
            "--passphrase-secret-id".into(),
            name("json", "both"),
            "--passphrase-secret-field".into(),
            "passphrase".into(),
        ],
    ] {
        let work = tempfile::tempdir().unwrap();
        let out = work.path().join("signed");
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--out", out.to_str().unwrap()]);
        let res = TestCommand::signer()
            .arg("sign")
            .args(&all)
            .envs(&[m.env(), build_outputs(work.path())].concat())
            .output();
        assert!(res.status.success(), "{args:?}: {:?}", stderr_lines(&res));
        assert_gpg_accepts_all(&out, &k.public);
    }
}

#[test]
fn pipeline_variables_private_key_arn_and_passphrase() {
    let k = &keys().default_shape;
    let m = moto();
    m.put_secret(&name("pipeline", "key"), &std::fs::read(&k.secret).unwrap());
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("signed");
    let env = with(
        [m.env(), build_outputs(work.path())].concat(),
        &[("PRIVATE_KEY_ARN", &name("pipeline", "key")), ("PASSPHRASE", PASSPHRASE)],
    );
    let res = TestCommand::signer().arg("sign").args(["--out", out.to_str().unwrap()]).envs(&env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert_gpg_accepts_all(&out, &k.public);
}

#[test]
fn artifact_variables_pick_files_and_by_source_layout_separates_duplicates() {
    let k = &keys().ed25519;
    let m = moto();
    m.put_secret(&name("vars", "key"), &std::fs::read(&k.secret).unwrap());
    let work = tempfile::tempdir().unwrap();
    let mut env = with(
        [m.env(), build_outputs(work.path())].concat(),
        &[("AMD_TAR", "ecs-agent-v1.tar"), ("INSTALLER", "scripts/install me.sh")],
    );
    env.push(("SIGNER_KEY_SECRET_ID".into(), name("vars", "key")));
    let out = work.path().join("signed");
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--artifact-var", "AMD_TAR", "--artifact-var", "INSTALLER", "--out", out.to_str().unwrap()])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let m_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let paths: Vec<&str> =
        m_json["artifacts"].as_array().unwrap().iter().map(|a| a["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["ecs-agent-v1.tar", "scripts/install me.sh"]);
    assert_gpg_accepts_all(&out, &k.public);

    // The same relative path in two sources: refused flat, separated by source.
    write_tree(&work.path().join("arm"), &[("ecs-agent-v1.tar", b"other bytes" as &[u8])]);
    let out2 = work.path().join("by-source");
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--layout", "by-source", "--out", out2.to_str().unwrap()])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(out2.join("AmdBuildArtifact/ecs-agent-v1.tar.asc").is_file());
    assert!(out2.join("ArmBuildArtifact/ecs-agent-v1.tar.asc").is_file());
    assert_gpg_accepts_all(&out2, &k.public);

    // Filters.
    let out3 = work.path().join("filtered");
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--include", "*.tar", "--exclude", "*arm64*", "--out", out3.to_str().unwrap()])
        .envs(&{
            let mut e = env.clone();
            e.retain(|(k, _)| k != "CODEBUILD_SRC_DIR_ArmBuildArtifact");
            e
        })
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(out3.join("ecs-agent-v1.tar.asc").is_file());
    assert!(!out3.join("scripts/install me.sh").exists());
}

/// One clear line, the documented code, and nothing in --out.
fn assert_refused(res: &Output, out: &Path, code: i32, says: &str) {
    assert_fails(res, code, says);
    assert!(!out.exists(), "{} was written", out.display());
    assert!(partial_leftovers(out.parent().unwrap()).is_empty());
}

#[test]
fn secret_and_source_errors_are_clear() {
    let m = moto();
    m.put_secret(&name("errors", "not-a-key"), b"hello, I am not a key");
    m.put_secret(&name("errors", "json"), br#"{"other":"x"}"#);
    m.put_secret(&name("errors", "key"), &std::fs::read(&keys().ed25519.secret).unwrap());
    m.put_secret(&name("errors", "protected"), &std::fs::read(&keys().p256.secret).unwrap());
    let json_pass = serde_json::json!({ "passphrase": PASSPHRASE }).to_string();
    m.put_secret(&name("errors", "json-pass"), json_pass.as_bytes());
    let work = tempfile::tempdir().unwrap();
    let base = [m.env(), build_outputs(work.path())].concat();
    let out = work.path().join("signed");
    let o = out.to_str().unwrap();
    let key = name("errors", "key");

    // The flags, the environment, the exit code, what the one stderr line says.
    type Case<'a> = (Vec<String>, Vec<(&'a str, String)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["--key-secret-id".into(), name("errors", "missing")], vec![], 5, "not found"),
        (vec!["--key-secret-id".into(), name("errors", "not-a-key")], vec![], 4, "no OpenPGP key found"),
        (vec!["--key-secret-id".into(), name("errors", "json")], vec![], 4, "holds JSON"),
        (
            vec![
                "--key-secret-id".into(),
                name("errors", "protected"),
                "--passphrase-secret-id".into(),
                name("errors", "json-pass"),
            ],
            vec![],
            4,
            "holds a JSON object, read whole: name the field holding the passphrase with --passphrase-secret-field",
        ),
        (
            vec!["--key-secret-id".into(), name("errors", "json"), "--key-secret-field".into(), "key".into()],
            vec![],
            4,
            "has no string field \"key\" (it has: other)",
        ),
        (
            vec!["--key-secret-id".into(), key.clone(), "--artifact-var".into(), "UNSET_VAR".into()],
            vec![],
            3,
            "is not set",
        ),
        (
            vec!["--key-secret-id".into(), key.clone(), "--artifact-var".into(), "EMPTY".into()],
            vec![("EMPTY", String::new())],
            3,
            "is empty",
        ),
        (
            vec!["--key-secret-id".into(), key.clone(), "--artifact-var".into(), "V".into()],
            vec![("V", "nope.tar".into())],
            3,
            "names no file in any source",
        ),
        (
            vec!["--key-secret-id".into(), key.clone(), "--artifact-var".into(), "V".into()],
            vec![("V", "../amd/ecs-agent-v1.tar".into())],
            3,
            "is refused",
        ),
        (
            vec!["--key-secret-id".into(), key.clone(), "--artifact-var".into(), "V".into()],
            vec![("V", "/etc/passwd".into())],
            3,
            "absolute path",
        ),
    ];
    for (args, extra, code, says) in cases {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--out", o]);
        let env = with(base.clone(), &extra.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>());
        let res = TestCommand::signer().arg("sign").args(&all).envs(&env).output();
        eprintln!("{args:?} -> {:?}", stderr_lines(&res));
        assert_refused(&res, &out, code, says);
    }

    // A name found in two sources.
    write_tree(&work.path().join("arm"), &[("ecs-agent-v1.tar", b"x" as &[u8])]);
    let env = with(base.clone(), &[("V", "ecs-agent-v1.tar")]);
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--key-secret-id", &key, "--artifact-var", "V", "--out", o])
        .envs(&env)
        .output();
    assert_refused(&res, &out, 3, "found in two sources");
    // ... and without --artifact-var: duplicate published names.
    let res =
        TestCommand::signer().arg("sign").args(["--key-secret-id", &key, "--out", o]).envs(&base).output();
    assert_refused(&res, &out, 3, "--layout by-source");
    std::fs::remove_file(work.path().join("arm/ecs-agent-v1.tar")).unwrap();

    // A symlink escaping its source.
    std::fs::write(work.path().join("outside"), b"x").unwrap();
    std::os::unix::fs::symlink(work.path().join("outside"), work.path().join("amd/link")).unwrap();
    let res =
        TestCommand::signer().arg("sign").args(["--key-secret-id", &key, "--out", o]).envs(&base).output();
    assert_refused(&res, &out, 3, "outside");
    let env = with(base.clone(), &[("V", "link")]);
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--key-secret-id", &key, "--artifact-var", "V", "--out", o])
        .envs(&env)
        .output();
    assert_refused(&res, &out, 3, "outside");
    std::fs::remove_file(work.path().join("amd/link")).unwrap();

    // No sources and no PATH.
    let res =
        TestCommand::signer().arg("sign").args(["--key-secret-id", &key, "--out", o]).envs(&m.env()).output();
    assert_refused(&res, &out, 3, "nothing to sign");
}

#[test]
fn unreachable_endpoint_fails_quickly() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("signed");
    // A port nothing listens on.
    let env =
        [aws_env(&format!("http://127.0.0.1:{}", free_port()), work.path()), build_outputs(work.path())]
            .concat();
    let started = Instant::now();
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--key-secret-id", "release-key", "--out", out.to_str().unwrap()])
        .envs(&env)
        .output();
    assert_refused(&res, &out, 5, "cannot reach Secrets Manager");
    assert_readable(&res);
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}

#[test]
fn access_denied_names_the_permission() {
    // moto checks IAM once its first N requests are done: the seeding below makes exactly
    // that many (create the secret, the user and its access key).
    let m = LocalAws::moto_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    m.put_secret("locked-key", b"-----BEGIN PGP PRIVATE KEY BLOCK-----");
    let keys_json = m.seed(&["deny-user"], b"");
    let creds: serde_json::Value = serde_json::from_slice(&keys_json.stdout).unwrap();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("signed");
    let env = with(
        [m.env(), build_outputs(work.path())].concat(),
        &[
            ("AWS_ACCESS_KEY_ID", creds["id"].as_str().unwrap()),
            ("AWS_SECRET_ACCESS_KEY", creds["secret"].as_str().unwrap()),
        ],
    );
    let res = TestCommand::signer()
        .arg("sign")
        .args(["--key-secret-id", "locked-key", "--out", out.to_str().unwrap()])
        .envs(&env)
        .output();
    assert_refused(&res, &out, 5, "allow secretsmanager:GetSecretValue");
}

#[test]
fn five_sources_of_ten_files_match_sha256sum() {
    let k = &keys().rsa4096;
    let m = moto();
    m.put_secret(&name("five", "key"), &std::fs::read(&k.secret).unwrap());
    m.put_secret(&name("five", "pass"), PASSPHRASE.as_bytes());
    let work = tempfile::tempdir().unwrap();
    let mut env = m.env();
    for s in 0..5 {
        let dir = work.path().join(format!("src{s}"));
        for f in 0..10 {
            let content: Vec<u8> = (0..(s * 1000 + f * 97)).map(|i| (i * 31 + s) as u8).collect();
            write_tree(&dir, &[(&format!("build {s}/file-{f}.bin"), &content)]);
        }
        env.push((format!("CODEBUILD_SRC_DIR_Build{s}"), dir.display().to_string()));
    }
    let out = work.path().join("signed");
    let res = TestCommand::signer()
        .arg("sign")
        .args([
            "--key-secret-id",
            &name("five", "key"),
            "--passphrase-secret-id",
            &name("five", "pass"),
            "--out",
            out.to_str().unwrap(),
        ])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    // The reference: sha256sum over the inputs, under their published names.
    let mut reference = Vec::new();
    for s in 0..5 {
        let dir = work.path().join(format!("src{s}"));
        for f in 0..10 {
            let rel = format!("build {s}/file-{f}.bin");
            let o = Command::new("sha256sum").arg(dir.join(&rel)).output().unwrap();
            let digest = String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap().to_string();
            reference.push(format!("{digest}  {rel}"));
        }
    }
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let mut ours: Vec<&str> = sums.lines().filter(|l| !l.ends_with("manifest.json")).collect();
    ours.sort();
    reference.sort();
    assert_eq!(ours, reference);
    assert_gpg_accepts_all(&out, &k.public);
}

#[test]
fn no_secret_reaches_output_logs_temp_files_or_argv() {
    let k = &keys().rsa4096;
    let m = moto();
    m.put_secret(&name("leak", "key"), &std::fs::read(&k.secret).unwrap());
    m.put_secret(&name("leak", "pass"), PASSPHRASE.as_bytes());
    let work = tempfile::tempdir().unwrap();
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = work.path().join("signed");
    let env = with(
        [m.env(), build_outputs(work.path())].concat(),
        &[("TMPDIR", tmp.to_str().unwrap()), ("SIGNER_PASSPHRASE_SECRET_ID", &name("leak", "pass"))],
    );
    // A 1 GiB artifact (sparse) keeps signer hashing for a while after it has fetched and
    // unlocked the key: its command line and environment are read from /proc while it runs.
    let big = std::fs::File::create(work.path().join("amd/disk.img")).unwrap();
    big.set_len(1 << 30).unwrap();
    let proxy = Proxy::start(m.endpoint.trim_start_matches("http://"), |_, _| Fault::Pass);
    let env = with(env, &[("AWS_ENDPOINT_URL", &proxy.endpoint)]);
    let args = ["--key-secret-id", &name("leak", "key"), "--out", out.to_str().unwrap(), "--json"];
    let mut child = TestCommand::signer().arg("sign").args(args).envs(&env).spawn();
    let proc_dir = PathBuf::from(format!("/proc/{}", child.id()));
    let (mut running, mut after_fetch) = (Vec::new(), 0);
    while child.try_wait().unwrap().is_none() {
        // Both secrets asked for: what follows runs with them in memory.
        let fetched = proxy.requests.load(std::sync::atomic::Ordering::SeqCst) >= 2;
        if let (Ok(cmdline), Ok(environ)) =
            (std::fs::read(proc_dir.join("cmdline")), std::fs::read(proc_dir.join("environ")))
        {
            after_fetch += usize::from(fetched);
            running.push(("the running signer's /proc/PID/cmdline".to_string(), cmdline));
            running.push(("the running signer's /proc/PID/environ".to_string(), environ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let res = child.wait_with_output().unwrap();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(after_fetch > 0, "signer was never seen running after it fetched its secrets");
    assert!(
        running.iter().any(|(_, b)| String::from_utf8_lossy(b).contains("--key-secret-id")),
        "the samples are not signer's command line"
    );
    // Wrong passphrase too: the error path must not echo it either.
    let mut wrong = with(env.clone(), &[("PASSPHRASE", "correct horse battery WRONG")]);
    wrong.retain(|(k, _)| k != "SIGNER_PASSPHRASE_SECRET_ID");
    let res2 = TestCommand::signer()
        .arg("sign")
        .args(["--key-secret-id", &name("leak", "key"), "--out", work.path().join("o2").to_str().unwrap()])
        .envs(&wrong)
        .output();
    assert_eq!(res2.status.code(), Some(4));

    // Distinctive lines of the armored secret key's body.
    let armored = std::fs::read_to_string(&k.secret).unwrap();
    let mut needles: Vec<String> = armored
        .lines()
        .filter(|l| l.len() > 40 && !l.starts_with("-----"))
        .skip(5)
        .take(5)
        .map(str::to_string)
        .collect();
    needles.push(PASSPHRASE.to_string());
    needles.push("battery WRONG".to_string());
    let mut haystacks: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), res.stdout.clone()),
        ("stderr".into(), res.stderr.clone()),
        ("error stderr".into(), res2.stderr.clone()),
    ];
    haystacks.extend(running);
    for dir in [&out, &tmp] {
        // The 1 GiB of zeros is the test's own, and published as it is.
        for entry in files_under(dir).into_iter().filter(|e| !e.ends_with("disk.img")) {
            haystacks.push((entry.clone(), std::fs::read(dir.join(&entry)).unwrap()));
        }
    }
    for (what, bytes) in &haystacks {
        let text = String::from_utf8_lossy(bytes);
        for n in &needles {
            assert!(!text.contains(n.as_str()), "secret material found in {what}");
        }
    }
}

/// A recognisable passphrase, key and AWS secret key go through every error path that can
/// see them (wrong passphrase, JSON secrets without the field or with a non-string one, a
/// damaged key, garbage that holds the passphrase, unreachable endpoints, for signer and
/// copier alike); none of them appears in anything either program prints.
#[test]
fn a_recognisable_secret_reaches_no_output_on_any_error_path() {
    const CANARY: &str = "RELSIGN-LEAK-CANARY-4f1e9b";
    let passphrase = format!("{CANARY}-passphrase");
    let g = GnuPg::new();
    let fpr = g.gen_key("Canary <canary@example.org>", "ed25519", "sign,cert", "never", &passphrase, None);
    let armored = String::from_utf8(g.export_secret(&fpr, &passphrase)).unwrap();
    let m = moto();
    m.put_secret(&name("canary", "key"), armored.as_bytes());
    let json = serde_json::json!({"key": armored, "passphrase": passphrase}).to_string();
    m.put_secret(&name("canary", "json"), json.as_bytes());
    m.put_secret(
        &name("canary", "json-number"),
        serde_json::json!({"key": 12345, "passphrase": passphrase}).to_string().as_bytes(),
    );
    m.put_secret(&name("canary", "damaged"), &armored.as_bytes()[..armored.len() / 2]);
    m.put_secret(&name("canary", "garbage"), format!("not a key but {passphrase}").as_bytes());

    let work = tempfile::tempdir().unwrap();
    let sources = build_outputs(work.path());
    let env = [m.env(), sources.clone()].concat();
    let aws_canary = format!("{CANARY}-aws-secret-access-key");
    let dead = aws_env(&format!("http://127.0.0.1:{}", free_port()), work.path());
    let dead: Vec<(String, String)> = dead
        .into_iter()
        .map(|(k, v)| if k == "AWS_SECRET_ACCESS_KEY" { (k, aws_canary.clone()) } else { (k, v) })
        .collect();
    let out = |n: &str| work.path().join(n).display().to_string();
    let key = name("canary", "key");
    // Every path runs at the default level, at -vvv, at -vvv as JSON, and with RUST_LOG=trace
    // (the SDK's own TRACE is cut whatever RUST_LOG says: it would print response bodies).
    let runs_at = |tag: &str, extra: &[&str], log_env: &[(&str, &str)]| -> Vec<(&str, Output)> {
        let sign_at = |args: &[&str], env: &[(String, String)]| {
            TestCommand::signer()
                .arg("sign")
                .args([extra, args].concat())
                .envs(&with(env.to_vec(), log_env))
                .output()
        };
        let run_at = |name: &str, args: &[&str], env: &[(String, String)]| {
            TestCommand::new(name).args([extra, args].concat()).envs(&with(env.to_vec(), log_env)).output()
        };
        vec![
            (
                "wrong passphrase",
                sign_at(
                    &["--key-secret-id", &key, "--out", &out("o1")],
                    &with(env.clone(), &[("PASSPHRASE", &format!("{CANARY}-wrong"))]),
                ),
            ),
            ("no passphrase", sign_at(&["--key-secret-id", &key, "--out", &out("o2")], &env)),
            (
                "JSON secret without the field",
                sign_at(
                    &[
                        "--key-secret-id",
                        &name("canary", "json"),
                        "--key-secret-field",
                        "nope",
                        "--out",
                        &out("o3"),
                    ],
                    &env,
                ),
            ),
            (
                "JSON field that is not a string",
                sign_at(
                    &[
                        "--key-secret-id",
                        &name("canary", "json-number"),
                        "--key-secret-field",
                        "key",
                        "--out",
                        &out("o4"),
                    ],
                    &env,
                ),
            ),
            (
                "plain secret read as JSON",
                sign_at(&["--key-secret-id", &key, "--key-secret-field", "key", "--out", &out("o5")], &env),
            ),
            (
                "damaged key",
                sign_at(
                    &["--key-secret-id", &name("canary", "damaged"), "--out", &out("o6")],
                    &with(env.clone(), &[("PASSPHRASE", &passphrase)]),
                ),
            ),
            (
                "garbage holding the passphrase",
                sign_at(&["--key-secret-id", &name("canary", "garbage"), "--out", &out("o7")], &env),
            ),
            (
                "passphrase secret is the JSON",
                sign_at(
                    &[
                        "--key-secret-id",
                        &key,
                        "--passphrase-secret-id",
                        &name("canary", "json"),
                        "--passphrase-secret-field",
                        "missing",
                        "--out",
                        &out("o8"),
                    ],
                    &env,
                ),
            ),
            (
                "signer, unreachable endpoint",
                sign_at(
                    &["--key-secret-id", &key, "--out", &out("o9")],
                    &with([dead.clone(), sources.clone()].concat(), &[("SIGNER_MAX_ATTEMPTS", "1")]),
                ),
            ),
            (
                "copier, unreachable endpoint",
                run_at(
                    "copier",
                    &["--from", &out("amd"), "--to", "s3://some-bucket/x", "--json"],
                    &with(dead.clone(), &[("COPIER_MAX_ATTEMPTS", "1"), ("COPIER_PATH_STYLE", "true")]),
                ),
            ),
            (
                "a successful run",
                sign_at(
                    &[
                        "--key-secret-id",
                        &key,
                        "--out",
                        &out(&format!("ok-{}", tag.replace(['-', ' ', '='], "_"))),
                    ],
                    &with(env.clone(), &[("PASSPHRASE", &passphrase)]),
                ),
            ),
        ]
    };
    let body: Vec<&str> = armored.lines().filter(|l| l.len() > 40 && !l.starts_with("-----")).collect();
    assert!(!body.is_empty());
    // The log level's name, its flags and its environment.
    type Mode<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);
    let modes: [Mode; 4] = [
        ("default", &[], &[]),
        ("-vvv", &["-vvv"], &[]),
        ("-vvv JSON", &["-vvv"], &[("RELSIGN_LOG_FORMAT", "json")]),
        ("RUST_LOG=trace", &[], &[("RUST_LOG", "trace")]),
    ];
    for (mode, extra, log_env) in modes {
        for (what, res) in &runs_at(mode, extra, log_env) {
            let succeeded = *what == "a successful run";
            assert_eq!(
                res.status.success(),
                succeeded,
                "{mode}, {what}: {}",
                String::from_utf8_lossy(&res.stderr)
            );
            let text =
                format!("{}{}", String::from_utf8_lossy(&res.stdout), String::from_utf8_lossy(&res.stderr));
            assert!(!text.contains(CANARY), "{mode}, {what}: a secret reached the output: {text}");
            for line in &body {
                assert!(!text.contains(line), "{mode}, {what}: key material reached the output");
            }
            let lines = stderr_lines(res);
            if mode == "default" && !succeeded {
                assert_eq!(lines.len(), 1, "{mode}, {what}: {lines:?}");
            }
            if mode == "-vvv JSON" {
                for line in &lines {
                    serde_json::from_str::<serde_json::Value>(line)
                        .unwrap_or_else(|e| panic!("{what}: not a JSON line ({e}): {line}"));
                }
            }
        }
    }
}
