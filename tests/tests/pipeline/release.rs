//! A release through the pipeline as deployed, with twelve builds: the four that
//! buildspecs/builds.yml ships and eight more, added the way docs/pipeline.md tells users to
//! (one entry each in the batch's build-list, nothing in the template). Every action runs as
//! CodePipeline and CodeBuild run it (run.rs), against moto. The AMD and Ubuntu AMD builds run
//! the real buildspecs (static tarball, .deb); the ARM builds, which need an aarch64 machine,
//! are stand-ins that write what theirs would.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::local_aws::{venv, LocalAws};
use relsign_tests::{files_under, musl_binaries, repo_root, require_tool, validate_junit, TestCommand};
use relsign_wiring::{Params, Pipeline, Template};

use crate::run::{commit_all, git, sha256_hex, source_repo, Records, Run, StandIn, ACCOUNT, REGION};

const BUCKET: &str = "relsign-releases";

/// The ARM builds' stand-in: the version and an aarch64-named file, as merge-build*.yml write.
const ARM_STAND_IN: &str = r#"
version: 0.2
phases:
  build:
    commands:
      - mkdir -p out && scripts/package version > out/release-version
      - echo "aarch64 stand-in ($ARCH_BUILD)" > "out/$ARCH_BUILD"
artifacts:
  base-directory: out
  files: ['*']
"#;

/// A build a user adds: its own buildspec, which writes the version and one artifact of a
/// size that is no multiple of any part size.
const ADDED_BUILDSPEC: &str = r#"# An added build of the release (tests/tests/pipeline/release.rs).
version: 0.2
phases:
  build:
    commands:
      - mkdir -p out && scripts/package version > out/release-version
      - head -c "$ARTIFACT_BYTES" /dev/urandom > "out/relsign-addon-$CODEBUILD_BATCH_BUILD_IDENTIFIER.bin"
artifacts:
  base-directory: out
  files: ['*']
"#;

/// The eight entries added to buildspecs/builds.yml, as docs/pipeline.md shows one.
fn added_builds() -> String {
    (1..=8)
        .map(|i| {
            format!(
                "    - identifier: addon_{i:02}\n      buildspec: buildspecs/addon.yml\n      env:\n        type: LINUX_CONTAINER\n        compute-type: BUILD_GENERAL1_SMALL\n        image: public.ecr.aws/docker/library/debian:12\n        variables:\n          ARTIFACT_BYTES: '{}'\n",
                (1 << 20) + 7 * i
            )
        })
        .collect()
}

#[test]
fn twelve_builds_run_through_every_stage_to_one_signed_release() {
    require_tool("git", "git");
    require_tool("dpkg-deb", "dpkg");
    require_tool("curl", "curl");
    let gpg = GnuPg::new();
    let fpr = gpg.gen_key("Release <release@example.org>", "rsa4096", "sign,cert", "never", PASSPHRASE, None);
    let secret_key = gpg.export_secret(&fpr, PASSPHRASE);
    let cert = gpg.export_public(&fpr);

    let template = Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = Pipeline::of(&template).unwrap();
    let work = tempfile::tempdir().unwrap();
    let pipeline_name = template.parameter(&Params::new(), "PipelineName").unwrap();
    let records = Records::new(work.path().join("records.json"), &pipeline_name);

    // What the deployer sets up beforehand: the secrets, the final bucket; and what the stack
    // creates that the builds use: the log group.
    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let key_arn = aws.put_secret_arn("relsign/release-key", &secret_key);
    let pass_arn = aws.put_secret_arn("relsign/release-passphrase", PASSPHRASE.as_bytes());
    aws.make_bucket(BUCKET);

    // Adding a build is one entry in buildspecs/builds.yml (and the build's own buildspec).
    let source = source_repo(work.path(), &cert);
    let batch = source.join("buildspecs/builds.yml");
    let mut builds = std::fs::read_to_string(&batch).unwrap();
    assert!(builds.ends_with('\n'), "builds.yml must end with its build-list");
    builds.push_str(&added_builds());
    std::fs::write(&batch, builds).unwrap();
    std::fs::write(source.join("buildspecs/addon.yml"), ADDED_BUILDSPEC).unwrap();
    commit_all(&source, "eight more builds");
    let commit = git(Some(&source), &["rev-parse", "HEAD"]);

    // The template is the shipped one, unchanged: it passes the wiring and limit checks with
    // twelve builds (cfn-lint judges the same file in lint.rs).
    TestCommand::new("relsign")
        .args(["check-pipeline", "--buildspec-root"])
        .arg(&source)
        .arg(repo_root().join("templates/release-pipeline-stack.yml"))
        .expect_ok();

    let mut params = Params::new();
    for (k, v) in [
        ("ReleaseArtifactsBucketName", BUCKET.to_string()),
        ("CodeStarConnectionArn", format!("arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/test")),
        ("GithubFullRepoName", "example/relsign".into()),
        ("SecretKeyArn", key_arn.clone()),
        ("PassphraseArn", pass_arn.clone()),
        ("AWS::Region", REGION.into()),
        ("AWS::AccountId", ACCOUNT.into()),
        ("AWS::Partition", "aws".into()),
    ] {
        params.insert(k.into(), v);
    }
    let log_group = template.parameter(&params, "LogGroupName").unwrap();
    aws.seed(&["make-log-group", &log_group], b"");

    // Builds see the machine's tools but no relsign binary, and the AWS CLI from the venv.
    let path = format!("{}:{}", venv().join("bin").display(), std::env::var("PATH").unwrap());
    assert!(
        !path.split(':').any(|d| Path::new(d).join("signer").exists()),
        "a signer on PATH would hide the install step"
    );
    let busybox_sh = work.path().join("busybox/sh");
    std::fs::create_dir_all(busybox_sh.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(require_tool("busybox", "busybox-static"), &busybox_sh).unwrap();
    let mut run = Run {
        template,
        pipeline,
        params,
        aws,
        work,
        source: source.clone(),
        artifacts: BTreeMap::from([("SourceArtifact".to_string(), source.clone())]),
        namespaces: BTreeMap::new(),
        log_group,
        path,
        busybox_sh,
        records,
    };
    run.namespaces.insert(
        "SourceVariables".into(),
        BTreeMap::from([
            ("CommitId".to_string(), commit.clone()),
            ("BranchName".to_string(), "main".to_string()),
            ("FullRepositoryName".to_string(), "example/relsign".to_string()),
        ]),
    );

    // Extract, then the batch. The real packaging runs over the static binaries built once.
    let binaries = musl_binaries().display().to_string();
    run.action("Extract", "Buildspecs", None, &[]);
    let stand_in = run.work.path().join("arm-stand-in.yml");
    std::fs::write(&stand_in, ARM_STAND_IN).unwrap();
    let own = |env: &[(&str, &str)]| StandIn {
        buildspec: None,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    let arm = |file: &str| StandIn {
        buildspec: Some(stand_in.clone()),
        env: vec![("ARCH_BUILD".to_string(), file.to_string())],
    };
    let stand_ins = BTreeMap::from([
        ("amd".to_string(), own(&[("RELSIGN_BINARIES_DIR", &binaries)])),
        ("ubuntu_amd".to_string(), own(&[("RELSIGN_BINARIES_DIR", &binaries)])),
        ("arm".to_string(), arm("relsign-0.1.0-aarch64-linux-musl.tar.gz")),
        ("ubuntu_arm".to_string(), arm("relsign_0.1.0-1_arm64.deb")),
    ]);
    let outcomes = run.batch("Build", "Builds", &stand_ins);
    assert_eq!(outcomes.len(), 12, "{:?}", outcomes.keys());

    // Each build's output is a folder of the one combined artifact, named by its identifier.
    let combined = run.artifacts["BuildArtifacts"].clone();
    let mut artifacts: Vec<String> = Vec::new();
    for rel in files_under(&combined) {
        let (build, name) = rel.split_once('/').expect("every file lies in its build's folder");
        assert!(outcomes.contains_key(build), "{rel}");
        if name != "release-version" {
            artifacts.push(name.to_string());
        }
    }
    artifacts.sort();
    assert_eq!(artifacts.len(), 12, "{artifacts:?}");
    let tarball = artifacts.iter().find(|a| a.ends_with("-x86_64-linux-musl.tar.gz")).unwrap().clone();
    let deb = artifacts.iter().find(|a| a.ends_with("_amd64.deb")).unwrap().clone();
    check_packages(&combined.join("amd").join(&tarball), &combined.join("ubuntu_amd").join(&deb), &run);

    // Without the signing image, signing and copying install the relsign tarball pinned by
    // its SHA-256: here, the one the AMD build made in this very run, served by file://.
    let tarball_path = combined.join("amd").join(&tarball);
    run.params.insert("RelsignTarballUrl".into(), format!("file://{}", tarball_path.display()));
    run.params.insert("RelsignTarballSha256".into(), sha256_hex(&tarball_path));
    let install_dir = run.work.path().join("relsign-bin");
    let install = install_dir.to_str().unwrap().to_string();

    // Sign hands on only what it made: no artifact goes through it a second time.
    let signed = run.action("Sign", "GPG", None, &[("RELSIGN_INSTALL_DIR", &install)]);
    assert_eq!(signed.exported["SIGNER_KEY_FINGERPRINT"], fpr);
    assert_eq!(signed.exported["SIGNER_SIGNED_COUNT"], "12", "{}", signed.log);
    assert!(signed.log.contains("every build made version 0.1.0"), "{}", signed.log);
    let handed_on = files_under(&run.artifacts["Signatures"]);
    let mut expected: Vec<String> = artifacts.iter().map(|a| format!("{a}.asc")).collect();
    expected.extend(
        [
            "SHA256SUMS",
            "SHA256SUMS.asc",
            "manifest.json",
            "provenance.intoto.jsonl",
            "provenance.intoto.jsonl.asc",
            "release-pointer.json",
            "release-pointer.json.asc",
        ]
        .map(String::from),
    );
    expected.sort();
    let mut handed = handed_on.clone();
    handed.sort();
    assert_eq!(handed, expected, "Sign must hand on its own files only");

    std::fs::remove_dir_all(&install_dir).unwrap(); // copy installs its own
    let copy = run.action("Copy", "ToS3", None, &[("RELSIGN_INSTALL_DIR", &install)]);
    assert!(copy.log.contains("SHA256SUMS.asc"), "{}", copy.log);
    assert!(signed.log.contains("signer check: a run would start"), "{}", signed.log);
    assert!(copy.log.contains("copier check: a run would start"), "{}", copy.log);
    for report in ["GPG-Sign/src/reports/signatures.xml", "ToS3-Copy/src/reports/uploads.xml"] {
        let path = run.work.path().join(report);
        validate_junit(&path);
        let xml = std::fs::read_to_string(&path).unwrap();
        assert!(xml.contains("<testcase ") && !xml.contains("<failure"), "{report}: {xml}");
    }
    assert_eq!(copy.exported["COPY_EXIT_CODE"], "0", "{}", copy.log);
    let export = run.action("Copy", "ExportLogs", None, &[]);
    // Last, the release checked where it was published, by the read-only role's action: every
    // object (the logs beside it allowed), then the pointer and the release it names.
    let verified = run.action("Copy", "VerifyPublished", None, &[("RELSIGN_INSTALL_DIR", &install)]);
    assert!(
        verified.log.contains(&format!("OK    s3://{BUCKET}/{commit}/SHA256SUMS.asc  signed by")),
        "{}",
        verified.log
    );
    assert!(verified.log.contains(&format!("OK    s3://{BUCKET}/{commit}/logs/")), "{}", verified.log);
    assert!(
        verified
            .log
            .contains(&format!("OK    release 0.1.0 named by s3://{BUCKET}/latest.json  digest matches")),
        "{}",
        verified.log
    );
    assert!(!verified.log.contains("FAIL"), "{}", verified.log);
    for report in
        ["VerifyPublished-Copy/src/reports/published.xml", "VerifyPublished-Copy/src/reports/pointer.xml"]
    {
        let path = run.work.path().join(report);
        validate_junit(&path);
        let xml = std::fs::read_to_string(&path).unwrap();
        assert!(xml.contains("<testcase ") && !xml.contains("<failure"), "{report}: {xml}");
    }

    // A release changed after it was published (one byte, its metadata kept, behind copier's
    // back) fails VerifyPublished, and so the stage; put back, it passes again.
    let tar_key = format!("{commit}/{tarball}");
    run.aws.seed(&["rewrite", BUCKET, &tar_key, "--swap"], b"");
    let Err(failed) = run.try_action("Copy", "VerifyPublished", None, &[("RELSIGN_INSTALL_DIR", &install)])
    else {
        panic!("a changed release passed VerifyPublished");
    };
    assert!(failed.log.contains(&format!("FAIL  s3://{BUCKET}/{tar_key}: BAD signature")), "{}", failed.log);
    run.aws.seed(
        &["put-object", BUCKET, &tar_key],
        &std::fs::read(combined.join("amd").join(&tarball)).unwrap(),
    );
    run.action("Copy", "VerifyPublished", None, &[("RELSIGN_INSTALL_DIR", &install)]);

    // The pointer Copy promoted, as boto3 reads it and gpg judges it: version 0.1.0, naming
    // this commit's folder beside it and its SHA256SUMS.
    let pointer_dir = run.work.path().join("pointer");
    run.aws.get_tree(BUCKET, "latest", &pointer_dir); // keys less the prefix: .json, .json.asc
    let (json, asc) = (pointer_dir.join(".json"), pointer_dir.join(".json.asc"));
    let (ok, why) = GnuPg::verifies_with(&cert, &asc, &json);
    assert!(ok, "gpg rejects the pointer: {why}");
    let pointer: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(pointer["version"], "0.1.0");
    assert_eq!(pointer["release"], format!("{commit}/"));

    // The final bucket holds one release: every artifact with its signature, the signed list,
    // no release-version, and the logs of every build of this execution, each of the batch's.
    let keys = run.aws.keys(BUCKET, &format!("{commit}/"));
    let names: Vec<&str> = keys.iter().map(|k| &k[commit.len() + 1..]).collect();
    for artifact in &artifacts {
        assert!(names.contains(&artifact.as_str()), "{artifact} missing from {names:?}");
        assert!(names.contains(&format!("{artifact}.asc").as_str()), "{artifact}.asc missing from {names:?}");
    }
    for meta in ["SHA256SUMS", "SHA256SUMS.asc", "manifest.json", "provenance.intoto.jsonl"] {
        assert!(names.contains(&meta), "{meta} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("release-version")), "{names:?}");
    let builds_ran: Vec<&str> = outcomes.values().map(|o| o.build_id.as_str()).collect();
    for id in builds_ran {
        assert!(export.log.contains(&format!("exported {id} ")), "no export of {id}:\n{}", export.log);
    }
    assert!(names.iter().any(|n| n.starts_with("logs/")), "no exported logs ({names:?})");

    // Verified as a user would, from the bucket: signer verify, and gpg on every .asc.
    let download = run.work.path().join("download");
    run.aws.get_tree(BUCKET, &format!("{commit}/"), &download);
    std::fs::remove_dir_all(download.join("logs")).unwrap();
    let cert_file = run.work.path().join("cert.asc");
    std::fs::write(&cert_file, &cert).unwrap();
    TestCommand::signer()
        .args(["verify", "--require-sums", "--require-provenance", "--cert"])
        .arg(&cert_file)
        .arg(&download)
        .expect_ok();
    let signatures: Vec<String> =
        files_under(&download).into_iter().filter(|r| r.ends_with(".asc")).collect();
    // The twelve artifacts', the provenance's and the pointer's the release carries.
    assert_eq!(signatures.len(), 15, "{signatures:?}");
    check_provenance(&download, &gpg, &fpr, &run, &outcomes, &commit, &artifacts);
    for rel in signatures {
        let sig = download.join(&rel);
        let file = download.join(rel.trim_end_matches(".asc"));
        let (ok, why) = GnuPg::verifies_with(&cert, &sig, &file);
        assert!(ok, "gpg rejects {rel}: {why}");
    }
}

/// The release's provenance, as published: judged by tests/fixtures/provenance_oracle.py
/// (securesystemslib, `cryptography` over the PAE, in-toto-attestation) with the key gpg
/// exports, and each field traced to what CodeBuild and CodePipeline recorded of this run.
/// The statement is printed (run with --nocapture to read it).
fn check_provenance(
    download: &Path,
    gpg: &GnuPg,
    fpr: &str,
    run: &Run,
    outcomes: &BTreeMap<String, relsign_tests::codebuild::Outcome>,
    commit: &str,
    artifacts: &[String],
) {
    let key = run.work.path().join("release-key.ssh");
    std::fs::write(&key, gpg.ok(&["--export-ssh-key", &format!("{fpr}!")], b"")).unwrap();
    let out = Command::new(relsign_tests::local_aws::venv().join("bin/python"))
        .arg(repo_root().join("tests/fixtures/provenance_oracle.py"))
        .arg(download.join("provenance.intoto.jsonl"))
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the oracle refuses the provenance: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statement: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "provenance statement of the pipeline run:\n{}",
        serde_json::to_string_pretty(&statement).unwrap()
    );
    let mut subjects: Vec<&str> =
        statement["subject"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    subjects.sort();
    let mut want: Vec<&str> = artifacts.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(subjects, want, "the subjects are the release's artifacts");
    let p = &statement["predicate"];
    let pipeline = run.records.pipeline.clone();
    assert_eq!(p["buildDefinition"]["externalParameters"]["pipeline"]["name"], pipeline.as_str());
    assert_eq!(
        p["buildDefinition"]["externalParameters"]["pipeline"]["executionId"],
        run.records.execution_id.as_str()
    );
    assert_eq!(p["buildDefinition"]["externalParameters"]["sources"][0]["revision"], commit);
    assert_eq!(p["buildDefinition"]["externalParameters"]["sources"][0]["repository"], "example/relsign");
    let builder = p["runDetails"]["builder"]["id"].as_str().unwrap();
    assert!(builder.ends_with(":project/relsign-artifact-sign"), "{builder}");
    // The builds: Extract and each of the batch's twelve, never the signing build itself.
    let runs: Vec<&str> = p["runDetails"]["byproducts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["uri"].as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 13, "{runs:?}");
    for o in outcomes.values() {
        assert!(
            runs.iter().any(|r| r.ends_with(&format!("build/{}", o.build_id))),
            "{} missing: {runs:?}",
            o.build_id
        );
    }
}

/// The tarball and the .deb carry the man pages and completions, which render and parse.
fn check_packages(tarball: &Path, deb: &Path, run: &Run) {
    let listing = Command::new("dpkg-deb").arg("--contents").arg(deb).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for entry in [
        "./usr/bin/relsign",
        "./usr/bin/signer -> relsign",
        "./usr/bin/copier -> relsign",
        "./usr/share/man/man1/signer.1.gz",
        "./usr/share/man/man1/signer-sign.1.gz",
        "./usr/share/man/man1/signer-check.1.gz",
        "./usr/share/man/man1/copier.1.gz",
        "./usr/share/man/man1/copier-check.1.gz",
        "./usr/share/bash-completion/completions/signer",
        "./usr/share/bash-completion/completions/copier",
        "./usr/share/zsh/vendor-completions/_signer",
        "./usr/share/fish/vendor_completions.d/copier.fish",
    ] {
        assert!(listing.contains(entry), "{entry} not in the .deb:\n{listing}");
    }
    let listing = Command::new("tar").arg("-tzf").arg(tarball).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let name = tarball.file_name().unwrap().to_str().unwrap();
    let top = name.trim_end_matches(".tar.gz");
    for entry in [
        "share/man/man1/signer.1",
        "share/man/man1/copier.1",
        "share/bash-completion/completions/signer",
        "share/zsh/vendor-completions/_copier",
    ] {
        assert!(listing.contains(&format!("{top}/{entry}")), "{entry} not in the tarball:\n{listing}");
    }
    let unpacked = run.work.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    assert!(Command::new("tar")
        .arg("-xzf")
        .arg(tarball)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap()
        .success());
    let man = std::fs::read_to_string(unpacked.join(top).join("share/man/man1/signer-check.1")).unwrap();
    assert!(man.starts_with(".ie") || man.contains(".TH signer-check"), "{man}");
    let bash = Command::new("bash")
        .arg("-n")
        .arg(unpacked.join(top).join("share/bash-completion/completions/signer"))
        .output()
        .unwrap();
    assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
}

/// signing.yml's version check, run as the Sign build runs it (busybox sh), on a combined
/// artifact whose builds agree, disagree, or forgot the file.
#[test]
fn builds_that_disagree_on_the_version_stop_the_signing() {
    let spec = relsign_wiring::Buildspec::load(&repo_root().join("buildspecs/signing.yml")).unwrap();
    let check = spec
        .phases_in_order()
        .flat_map(|(_, p)| p.commands.iter())
        .find(|c| c.contains("release-version"))
        .expect("signing.yml checks the builds' release-version")
        .clone();
    let run = |layout: &[(&str, Option<&str>)]| {
        let dir = tempfile::tempdir().unwrap();
        for (build, version) in layout {
            std::fs::create_dir_all(dir.path().join(build)).unwrap();
            std::fs::write(dir.path().join(build).join("app.bin"), b"x").unwrap();
            if let Some(v) = version {
                std::fs::write(dir.path().join(build).join("release-version"), v).unwrap();
            }
        }
        let out = Command::new(require_tool("busybox", "busybox-static"))
            .args(["sh", "-c", &check])
            .env_clear()
            .env("CODEBUILD_SRC_DIR_BuildArtifacts", dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, _, out) = run(&[("amd", Some("1.4.0\n")), ("arm", Some("1.4.0"))]);
    assert!(ok && out.contains("every build made version 1.4.0"), "{out}");
    let (ok, err, _) = run(&[("amd", Some("1.4.0\n")), ("arm", Some("1.4.1\n"))]);
    assert!(!ok && err.contains("the builds disagree on the version (1.4.0, \"1.4.1\""), "{err}");
    let (ok, err, _) = run(&[("amd", Some("1.4.0\n")), ("arm", None)]);
    assert!(!ok && err.contains("has no release-version"), "{err}");
    let (ok, err, _) = run(&[]);
    assert!(!ok && err.contains("holds no build folder"), "{err}");
}
