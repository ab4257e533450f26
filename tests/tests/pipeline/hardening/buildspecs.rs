//! The buildspecs: the pinned signer runs even with a decoy earlier on PATH, a binary of
//! another version is refused, and the logs of a failed copy are exported whole beside the
//! release before the stage fails.

use super::*;

/// A release tarball as scripts/package lays it out, whose binary only says its version.
fn fake_tarball(dir: &Path, version: &str, reports: &str) -> (PathBuf, String) {
    let top = format!("relsign-{version}-x86_64-linux-musl");
    let stage = dir.join("stage").join(&top);
    std::fs::create_dir_all(&stage).unwrap();
    let bin = stage.join("relsign");
    std::fs::write(&bin, format!("#!/bin/sh\necho \"$(basename \"$0\") {reports}\"\n")).unwrap();
    Command::new("chmod").arg("755").arg(&bin).status().unwrap();
    let tarball = dir.join(format!("{top}.tar.gz"));
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.join("stage"))
        .arg(&top)
        .status()
        .unwrap();
    assert!(ok.success());
    let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
    let sum = String::from_utf8(sum.stdout).unwrap().split_whitespace().next().unwrap().to_string();
    (tarball, sum)
}

/// Runs a buildspec's PATH set-up and install-relsign.sh as the image's busybox would, then
/// `command -v signer` and `signer --version`, with a decoy signer earlier on PATH.
fn install_with_decoy(spec: &str, tarball: &Path, sum: &str, work: &Path) -> std::process::Output {
    let spec = Buildspec::load(&repo_root().join("buildspecs").join(spec)).unwrap();
    let setup: Vec<String> = spec
        .phases_in_order()
        .flat_map(|(_, p)| p.commands.clone())
        .filter(|c| c.starts_with("export PATH="))
        .collect();
    assert_eq!(setup.len(), 1, "one PATH set-up expected: {setup:?}");
    let decoy = work.join("decoy");
    std::fs::create_dir_all(&decoy).unwrap();
    for name in ["signer", "copier"] {
        std::fs::write(decoy.join(name), "#!/bin/sh\necho \"unpinned 6.6.6\"\n").unwrap();
        Command::new("chmod").arg("755").arg(decoy.join(name)).status().unwrap();
    }
    let install = work.join("install");
    let script = format!(
        "set -e\n{}\nsh \"$CODEBUILD_SRC_DIR/buildspecs/lib/install-relsign.sh\" \"$RELSIGN_INSTALL_DIR\"\ncommand -v signer\nsigner --version\n",
        setup[0]
    );
    Command::new(require_tool("busybox", "busybox-static"))
        .args(["sh", "-c", script.as_str()])
        .env_clear()
        .env("PATH", format!("{}:{}", decoy.display(), std::env::var("PATH").unwrap()))
        .env("CODEBUILD_SRC_DIR", repo_root())
        .env("RELSIGN_INSTALL_DIR", &install)
        .env("RELSIGN_TARBALL_URL", format!("file://{}", tarball.display()))
        .env("RELSIGN_TARBALL_SHA256", sum)
        .output()
        .unwrap()
}

#[test]
fn the_pinned_signer_runs_even_with_another_one_earlier_on_path() {
    require_tool("curl", "curl");
    for spec in ["signing.yml", "copy.yml", "verify-published.yml"] {
        let work = tempfile::tempdir().unwrap();
        let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.3");
        let out = install_with_decoy(spec, &tarball, &sum, work.path());
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{spec}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = stdout.lines().collect();
        let found = lines[lines.len() - 2];
        assert_eq!(
            found,
            work.path().join("install/signer").display().to_string(),
            "{spec}: the signer that runs is {found}, not the pinned one:\n{stdout}"
        );
        assert_eq!(lines[lines.len() - 1], "signer 1.2.3", "{spec}:\n{stdout}");
    }
}

#[test]
fn a_pinned_binary_reporting_another_version_is_refused() {
    require_tool("curl", "curl");
    let work = tempfile::tempdir().unwrap();
    let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.4");
    let out = install_with_decoy("signing.yml", &tarball, &sum, work.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a relsign-1.2.3 tarball whose binary says 1.2.4 was accepted:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("expected 1.2.3"), "{stderr}");
}

#[test]
fn a_failed_copy_records_its_code_and_the_stage_exports_the_logs_before_failing() {
    // The pipeline: the log export is the Copy stage's next action, reading the copy's code.
    let t = load("release-pipeline-stack.yml");
    let pipeline = Pipeline::of(&t).unwrap();
    let spec_of = |project: &Option<String>| {
        project
            .as_ref()
            .and_then(|p| t.property(p, &["Source", "BuildSpec"]))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let copy = pipeline
        .actions
        .iter()
        .find(|a| spec_of(&a.project).as_deref() == Some("buildspecs/copy.yml"))
        .unwrap();
    let export = pipeline
        .actions
        .iter()
        .find(|a| spec_of(&a.project).as_deref() == Some("buildspecs/pull-logs.yml"))
        .unwrap();
    assert_eq!(
        export.stage, copy.stage,
        "the log export is in another stage than the copy: a failed copy stops the pipeline before it"
    );
    assert!(export.run_order > copy.run_order);
    let vars = export.env_vars().unwrap();
    let code = vars.iter().find(|v| v.name == "COPY_EXIT_CODE").expect("ExportLogs gets COPY_EXIT_CODE");
    assert_eq!(code.value, format!("#{{{}.COPY_EXIT_CODE}}", copy.namespace.as_deref().unwrap()));

    // copy.yml with a copier that fails: the build succeeds and exports the code.
    let work = tempfile::tempdir().unwrap();
    let (tarball, sum) = fake_tarball(work.path(), "1.2.3", "1.2.3");
    let fake = work.path().join("fake-copier");
    std::fs::write(&fake, "#!/bin/sh\ncase \"$1\" in --version) echo \"copier 1.2.3\" ;; *) echo \"copier: error: refused\" >&2; exit 6 ;; esac\n").unwrap();
    Command::new("chmod").arg("755").arg(&fake).status().unwrap();
    let signed = work.path().join("signed");
    std::fs::create_dir_all(&signed).unwrap();
    let primary = work.path().join("src");
    std::fs::create_dir_all(primary.join("buildspecs/lib")).unwrap();
    std::fs::copy(repo_root().join("buildspecs/copy.yml"), primary.join("buildspecs/copy.yml")).unwrap();
    // The pinned tarball installs as usual; then its copier is swapped for the failing one.
    let install = std::fs::read_to_string(repo_root().join("buildspecs/lib/install-relsign.sh")).unwrap();
    let install = format!("{install}\nln -sf {} \"$dir/copier\"\n", fake.display());
    std::fs::write(primary.join("buildspecs/lib/install-relsign.sh"), install).unwrap();
    let mut build = Build::new("relsign-artifact-copy", primary.join("buildspecs/copy.yml"), &primary);
    build.secondary.push(("Signatures".into(), signed.clone()));
    build.secondary.push(("BuildArtifacts".into(), signed));
    for (k, v) in [
        ("PATH", std::env::var("PATH").unwrap()),
        ("RELSIGN_INSTALL_DIR", work.path().join("install").display().to_string()),
        ("RELSIGN_TARBALL_URL", format!("file://{}", tarball.display())),
        ("RELSIGN_TARBALL_SHA256", sum),
        ("SIGNING_CERT", "keys/release-signing-key.asc".into()),
    ] {
        build.env.insert(k.into(), v);
    }
    let busybox_dir = work.path().join("busybox");
    std::fs::create_dir_all(&busybox_dir).unwrap();
    std::os::unix::fs::symlink(require_tool("busybox", "busybox-static"), busybox_dir.join("sh")).unwrap();
    build.shell = busybox_dir.join("sh");
    let outcome = build
        .run(&work.path().join("build"))
        .unwrap_or_else(|f| panic!("the Copy build failed, so ExportLogs would not run: {f}"));
    assert_ne!(outcome.exported.get("COPY_EXIT_CODE").map(String::as_str), Some("0"), "{}", outcome.log);
    assert!(outcome.exported.contains_key("COPY_EXIT_CODE"), "{}", outcome.log);
}

#[test]
fn logs_are_exported_whole_beside_the_release_and_a_failed_copy_fails_after() {
    // The execution as CodePipeline and CodeBuild record it: the Build stage's batch (two
    // builds), then Sign and Copy, found by export-logs.sh through ListActionExecutions and
    // BatchGetBuildBatches, which moto answers from this record (tests/moto/pipeline_records.py).
    let template = Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = Pipeline::of(&template).unwrap();
    let action = |stage: &str| pipeline.actions.iter().find(|a| a.stage == stage).unwrap().clone();
    let records_dir = tempfile::tempdir().unwrap();
    let mut records =
        crate::run::Records::new(records_dir.path().join("records.json"), "relsign-release-pipeline");
    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let bucket = "relsign-releases";
    aws.make_bucket(bucket);
    let group = "relsign-build-and-sign-logs";
    aws.seed(&["make-log-group", group], b"");
    // A build that sat in a queue for hours: its first lines are ten hours old.
    let old = "relsign-artifact-sign/11111111-2222-3333-4444-555555555555";
    aws.seed(&["put-logs", group, old, "36000"], b"signing started long ago\n");
    let recent = "relsign-artifact-copy/66666666-7777-8888-9999-000000000000";
    aws.seed(&["put-logs", group, recent, "60"], b"copier: error: refused\n");
    let batch_builds = [
        ("amd".to_string(), "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000001".to_string()),
        ("arm".to_string(), "relsign-release-builds:aaaaaaaa-0000-4000-8000-000000000002".to_string()),
    ];
    for (_, id) in &batch_builds {
        aws.seed(&["put-logs", group, &id.replace(':', "/"), "600"], b"built\n");
    }
    let batch_id = "relsign-release-builds:bbbbbbbb-0000-4000-8000-000000000003";
    records.batch(batch_id, "relsign-release-builds", &batch_builds);
    records.action(&action("Build"), batch_id);
    records.action(&action("Sign"), &old.replace('/', ":"));
    records.action(&action("Copy"), &recent.replace('/', ":"));
    // A build of another execution of the pipeline is not exported with this one.
    let elsewhere = "relsign-artifact-sign:99999999-2222-3333-4444-555555555555";
    records.action_in("another-execution", &action("Sign"), elsewhere);
    let execution = records.execution_id.clone();
    let path = format!("{}:{}", venv().join("bin").display(), std::env::var("PATH").unwrap());
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let run = |copy_code: &str| {
        Command::new(require_tool("busybox", "busybox-static"))
            .args(["sh"])
            .arg(repo_root().join("buildspecs/lib/export-logs.sh"))
            .env_clear()
            .env("PATH", &path)
            .envs(aws.env())
            .env("SOURCE_LOG_GROUP_NAME", group)
            .env("RESULTS_BUCKET_URI", format!("s3://{bucket}/relsign/releases"))
            // What the collector project set before: the bucket alone.
            .env("RELEASE_BUCKET_NAME", bucket)
            .env("GIT_COMMIT_SHA", sha)
            .env("COPY_EXIT_CODE", copy_code)
            .env("PIPELINE_NAME", "relsign-release-pipeline")
            .env("PIPELINE_EXECUTION_ID", &execution)
            .env("EXPORT_TIMEOUT_SECONDS", "60")
            .output()
            .unwrap()
    };
    let out = run("6");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // (moto writes CloudWatch's permission probe at the bucket's root, AWS under the prefix.)
    let keys: Vec<String> = aws.keys(bucket, "").into_iter().filter(|k| k != "aws-logs-write-test").collect();
    let beside = format!("relsign/releases/{sha}/logs/");
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k.starts_with(&beside)),
        "logs exported outside {beside}: {keys:?}"
    );
    let download = tempfile::tempdir().unwrap();
    aws.get_tree(bucket, &beside, download.path());
    let mut text = String::new();
    for rel in relsign_tests::files_under(download.path()) {
        let bytes = std::fs::read(download.path().join(&rel)).unwrap();
        let out = Command::new("gzip")
            .args(["-dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(&bytes)?;
                c.wait_with_output()
            });
        match out {
            Ok(o) if o.status.success() => text.push_str(&String::from_utf8_lossy(&o.stdout)),
            _ => text.push_str(&String::from_utf8_lossy(&bytes)),
        }
    }
    assert!(
        text.contains("signing started long ago"),
        "the start of a long-queued build is missing from the export ({keys:?}):\n{text}"
    );
    assert!(text.contains("copier: error: refused"), "the failed copy's log is missing:\n{text}");
    // One export per build of the execution, each of the batch's included (moto exports the
    // whole group for each task, so the task names tell which builds were asked for).
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    for id in [
        old.replace('/', ":"),
        recent.replace('/', ":"),
        batch_builds[0].1.clone(),
        batch_builds[1].1.clone(),
    ] {
        assert!(stdout.contains(&format!("exported {id} ")), "no export of {id}: {stdout}\n{stderr}");
    }
    assert_eq!(stdout.matches("exported ").count(), 4, "{stdout}");
    assert!(!out.status.success(), "a failed copy (exit 6) must fail the export action after it: {stderr}");
    assert!(stderr.contains("copy failed") && stderr.contains("exit 6"), "{stderr}");
    let ok = run("0");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
