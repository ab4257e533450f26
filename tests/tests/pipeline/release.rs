//! A release through the pipeline as deployed, run locally: every CodeBuild action of
//! `release-pipeline-stack.yml` in stage order, with the buildspec, variables, sources and
//! secrets the template gives it, against a moto server. The AMD and Ubuntu AMD builds run
//! the real merge-build buildspecs (static tarball, .deb); the ARM builds, which need an
//! aarch64 machine, are stand-ins that export the same variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relsign_tests::codebuild::{Build, Outcome};
use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::local_aws::{venv, LocalAws};
use relsign_tests::{
    copy_tree, files_under, musl_binaries, repo_root, require_tool, validate_junit, TestCommand,
};
use relsign_wiring::{Action, Buildspec, Params, Pipeline, Template};

const BUCKET: &str = "relsign-releases";

/// The ARM builds' stand-in: the same exports as merge-build.yml, an aarch64-named file.
const ARM_STAND_IN: &str = r#"
version: 0.2
env:
  exported-variables: [CODEBUILD_BUILD_ID, RELSIGN_VERSION, RELSIGN_TARBALL, RELSIGN_DEB, GIT_COMMIT_SHORT_SHA]
phases:
  build:
    commands:
      - RELSIGN_VERSION=$(scripts/package version)
      - GIT_COMMIT_SHORT_SHA=$(git rev-parse --short=8 HEAD)
      - RELSIGN_TARBALL=relsign-$RELSIGN_VERSION-aarch64-linux-musl.tar.gz
      - RELSIGN_DEB=relsign_$RELSIGN_VERSION-1_arm64.deb
      - mkdir -p out && echo "aarch64 stand-in ($ARCH_BUILD)" > "out/$ARCH_BUILD"
artifacts:
  base-directory: out
  files: ['*']
"#;

struct Run {
    template: Template,
    pipeline: Pipeline,
    params: Params,
    aws: LocalAws,
    work: tempfile::TempDir,
    source: PathBuf,
    /// Output artifacts by name, and each namespace's variables.
    artifacts: BTreeMap<String, PathBuf>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    log_group: String,
    /// PATH for the builds: the machine's, without any signer or copier, plus the AWS CLI.
    path: String,
    /// busybox, called as `sh`.
    busybox_sh: PathBuf,
}

impl Run {
    fn project_of(&self, a: &Action) -> String {
        a.project.clone().unwrap_or_else(|| panic!("{} runs no CodeBuild project", a.name))
    }

    /// Runs the action as CodePipeline and CodeBuild would; `buildspec` replaces the project's.
    fn action(
        &mut self,
        stage: &str,
        name: &str,
        buildspec: Option<PathBuf>,
        extra: &[(&str, &str)],
    ) -> Outcome {
        let a = self.pipeline.actions.iter().find(|a| a.stage == stage && a.name == name);
        let a = a.unwrap_or_else(|| panic!("no action {stage}.{name}")).clone();
        let project = self.project_of(&a);
        let project_name = self
            .template
            .resolve(&self.params, self.template.property(&project, &["Name"]).unwrap())
            .unwrap();
        let spec_path =
            self.template.property(&project, &["Source", "BuildSpec"]).and_then(|v| v.as_str()).unwrap();

        // Sources: the primary one (PrimarySource, or the only input) and the others.
        let primary_name = a.primary_source.clone().unwrap_or_else(|| a.inputs[0].clone());
        let dir = self.work.path().join(format!("{name}-{}", a.stage));
        let fresh = dir.join("src");
        let primary = if primary_name == "SourceArtifact" {
            clone(&self.source, &fresh); // each build gets its own checkout, as in CodeBuild
            fresh.clone()
        } else {
            copy_tree(&self.artifacts[&primary_name], &fresh);
            fresh.clone()
        };
        let mut build =
            Build::new(&project_name, buildspec.unwrap_or_else(|| primary.join(spec_path)), &primary);
        for input in a.inputs.iter().filter(|i| **i != primary_name) {
            build.secondary.push((input.clone(), self.artifacts[input].clone()));
        }

        // Project variables, then the action's (which win), then what the test adds.
        for var in project_variables(&self.template, &project) {
            let value = self
                .template
                .resolve(&self.params, &var.2)
                .unwrap_or_else(|| panic!("{} does not resolve", var.0));
            match var.1.as_str() {
                "PLAINTEXT" => {
                    build.env.insert(var.0, value);
                }
                "SECRETS_MANAGER" => {
                    let secret = self.aws.seed(&["get-secret", &value], b"").stdout;
                    build.secrets.insert(var.0, String::from_utf8(secret).unwrap());
                }
                other => panic!("{project}: variable type {other} is not supported here"),
            }
        }
        for var in a.env_vars().unwrap() {
            build.env.insert(var.name, self.substitute(&var.value));
        }
        build.env.extend(self.aws.env());
        build.env.insert("PATH".into(), self.path.clone());
        build.env.insert("COPIER_PATH_STYLE".into(), "true".into());
        for (k, v) in extra {
            build.env.insert(k.to_string(), v.to_string());
        }

        // Sign and Copy run in the signing image, whose only shell is busybox.
        if a.stage == "Sign" || a.stage == "Copy" {
            build.shell = self.busybox_sh.clone();
        }
        let outcome = build.run(&dir.join("build"));
        let outcome = outcome.unwrap_or_else(|f| panic!("{}.{name}: {f}", a.stage));
        // CodeBuild's log stream is <StreamName>/<uuid> = the build id with ':' as '/'.
        let stream = outcome.build_id.replace(':', "/");
        self.aws.seed(&["put-logs", &self.log_group, &stream], outcome.log.as_bytes());
        if let (Some(out), Some(dir)) = (a.outputs.first(), &outcome.artifact) {
            self.artifacts.insert(out.clone(), dir.clone());
        }
        if let Some(ns) = &a.namespace {
            self.namespaces.insert(ns.clone(), outcome.exported.clone());
        }
        outcome
    }

    /// Resolves `#{Namespace.Variable}` as CodePipeline does before the action starts.
    fn substitute(&self, value: &str) -> String {
        let mut out = value.to_string();
        while let Some(start) = out.find("#{") {
            let end = start + out[start..].find('}').expect("closed reference");
            let (ns, var) = out[start + 2..end].split_once('.').expect("#{Ns.Var}");
            let resolved = self
                .namespaces
                .get(ns)
                .and_then(|vars| vars.get(var))
                .unwrap_or_else(|| {
                    panic!("#{{{ns}.{var}}} is not available (namespaces: {:?})", self.namespaces)
                })
                .clone();
            out.replace_range(start..=end, &resolved);
        }
        out
    }
}

/// A project's environment variables as (name, type, value as written).
fn project_variables(t: &Template, project: &str) -> Vec<(String, String, serde_json::Value)> {
    let list = t.property(project, &["Environment", "EnvironmentVariables"]).and_then(|v| v.as_array());
    list.into_iter()
        .flatten()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or("PLAINTEXT").to_string();
            (s("Name"), s("Type"), v["Value"].clone())
        })
        .collect()
}

fn clone(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    git(None, &["clone", "-q", from.to_str().unwrap(), to.to_str().unwrap()]);
}

fn git(dir: Option<&Path>, args: &[&str]) -> String {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd.args(args).output().expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The repository as the Source action hands it over: this checkout, uncommitted changes
/// included, plus the release key's public certificate where the template expects it.
fn source_repo(dir: &Path, cert: &[u8]) -> PathBuf {
    let root = repo_root();
    let src = dir.join("source");
    clone(&root, &src);
    let changed = git(Some(&root), &["ls-files", "-m", "-o", "--exclude-standard"]);
    for rel in changed.lines().filter(|l| !l.is_empty()) {
        let dest = src.join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(root.join(rel), dest).unwrap();
    }
    for rel in git(Some(&root), &["ls-files", "-d"]).lines().filter(|l| !l.is_empty()) {
        let _ = std::fs::remove_file(src.join(rel));
    }
    std::fs::create_dir_all(src.join("keys")).unwrap();
    std::fs::write(src.join("keys/release-signing-key.asc"), cert).unwrap();
    git(Some(&src), &["add", "-A"]);
    git(
        Some(&src),
        &[
            "-c",
            "user.name=relsign tests",
            "-c",
            "user.email=tests@example.org",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "release under test",
        ],
    );
    src
}

fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("run sha256sum");
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_release_runs_through_every_stage_to_a_signed_bucket() {
    require_tool("git", "git");
    require_tool("dpkg-deb", "dpkg");
    require_tool("curl", "curl");
    let gpg = GnuPg::new();
    let fpr = gpg.gen_key("Release <release@example.org>", "rsa4096", "sign,cert", "never", PASSPHRASE, None);
    let secret_key = gpg.export_secret(&fpr, PASSPHRASE);
    let cert = gpg.export_public(&fpr);

    // What the deployer sets up beforehand: the secrets, the final bucket; and what the stack
    // creates that the builds use: the log group.
    let aws = LocalAws::moto();
    let key_arn = aws.put_secret_arn("relsign/release-key", &secret_key);
    let pass_arn = aws.put_secret_arn("relsign/release-passphrase", PASSPHRASE.as_bytes());
    aws.make_bucket(BUCKET);

    let template = Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = Pipeline::of(&template).unwrap();
    let work = tempfile::tempdir().unwrap();
    let source = source_repo(work.path(), &cert);
    let commit = git(Some(&source), &["rev-parse", "HEAD"]);

    // Without the signing image, signing and copying install the relsign tarball pinned by
    // its SHA-256: here, the one the AMD build makes in this very run, served by file://.
    let mut params = Params::new();
    for (k, v) in [
        ("ReleaseArtifactsBucketName", BUCKET.to_string()),
        ("CodeStarConnectionArn", "arn:aws:codeconnections:us-east-1:123456789012:connection/test".into()),
        ("GithubFullRepoName", "example/relsign".into()),
        ("SecretKeyArn", key_arn.clone()),
        ("PassphraseArn", pass_arn.clone()),
        ("AWS::Region", "us-east-1".into()),
        ("AWS::AccountId", "123456789012".into()),
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
    };
    run.namespaces.insert(
        "SourceVariables".into(),
        BTreeMap::from([
            ("CommitId".to_string(), commit.clone()),
            ("BranchName".to_string(), "main".to_string()),
            ("FullRepositoryName".to_string(), "example/relsign".to_string()),
        ]),
    );

    // Extract, then the builds. The real packaging runs over the static binaries built once.
    let binaries = musl_binaries();
    let binaries = binaries.to_str().unwrap();
    run.action("Extract", "Buildspecs", None, &[]);
    let amd = run.action("Build", "MakeAmd", None, &[("RELSIGN_BINARIES_DIR", binaries)]);
    let deb = run.action("Build", "MakeUbuntuAmd", None, &[("RELSIGN_BINARIES_DIR", binaries)]);
    let stand_in = run.work.path().join("arm-stand-in.yml");
    std::fs::write(&stand_in, ARM_STAND_IN).unwrap();
    for real in ["merge-build.yml", "merge-build-ubuntu.yml"] {
        let spec = Buildspec::load(&source.join("buildspecs").join(real)).unwrap();
        let stand = Buildspec::load(&stand_in).unwrap();
        for var in &spec.env.exported_variables {
            assert!(stand.exports(var), "the ARM stand-in must export {var} like {real}");
        }
    }
    run.action(
        "Build",
        "MakeArm",
        Some(stand_in.clone()),
        &[("ARCH_BUILD", "relsign-0.1.0-aarch64-linux-musl.tar.gz")],
    );
    run.action(
        "Build",
        "MakeUbuntuArm",
        Some(stand_in.clone()),
        &[("ARCH_BUILD", "relsign_0.1.0-1_arm64.deb")],
    );

    let tarball = amd.exported["RELSIGN_TARBALL"].clone();
    assert!(tarball.ends_with("-x86_64-linux-musl.tar.gz"), "{tarball}");
    let tarball_path = run.artifacts["AmdBuildArtifact"].join(&tarball);
    let deb_name = deb.exported["RELSIGN_DEB"].clone();
    let deb_path = run.artifacts["UbuntuAmdBuildArtifact"].join(&deb_name);
    let listing = Command::new("dpkg-deb").arg("--contents").arg(&deb_path).output().unwrap();
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

    let listing = Command::new("tar").arg("-tzf").arg(&tarball_path).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let top = tarball.trim_end_matches(".tar.gz");
    for entry in [
        "share/man/man1/signer.1",
        "share/man/man1/copier.1",
        "share/bash-completion/completions/signer",
        "share/zsh/vendor-completions/_copier",
    ] {
        assert!(listing.contains(&format!("{top}/{entry}")), "{entry} not in the tarball:\n{listing}");
    }
    // The man pages render and the completions parse (bash -n).
    let unpacked = run.work.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    assert!(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball_path)
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

    run.params.insert("RelsignTarballUrl".into(), format!("file://{}", tarball_path.display()));
    run.params.insert("RelsignTarballSha256".into(), sha256_hex(&tarball_path));
    let install_dir = run.work.path().join("relsign-bin");
    let install = install_dir.to_str().unwrap().to_string();

    // Sign, Copy, ExportLogs.
    let signed = run.action("Sign", "GPG", None, &[("RELSIGN_INSTALL_DIR", &install)]);
    assert_eq!(signed.exported["SIGNER_KEY_FINGERPRINT"], fpr);
    assert_eq!(signed.exported["SIGNER_SIGNED_COUNT"], "4");
    std::fs::remove_dir_all(&install_dir).unwrap(); // copy installs its own
    let copy = run.action("Copy", "ToS3", None, &[("RELSIGN_INSTALL_DIR", &install)]);
    assert!(copy.log.contains("SHA256SUMS.asc"), "{}", copy.log);
    // Each stage ran its preflight and left a JUnit report where its `reports:` section reads it.
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

    // The final bucket holds every artifact with its signature, the signed list, the logs.
    let keys = run.aws.keys(BUCKET, &format!("{commit}/"));
    let names: Vec<&str> = keys.iter().map(|k| &k[commit.len() + 1..]).collect();
    for artifact in [
        tarball.as_str(),
        deb_name.as_str(),
        "relsign-0.1.0-aarch64-linux-musl.tar.gz",
        "relsign_0.1.0-1_arm64.deb",
    ] {
        assert!(names.contains(&artifact), "{artifact} missing from {names:?}");
        assert!(names.contains(&format!("{artifact}.asc").as_str()), "{artifact}.asc missing from {names:?}");
    }
    for meta in ["SHA256SUMS", "SHA256SUMS.asc", "manifest.json"] {
        assert!(names.contains(&meta), "{meta} missing from {names:?}");
    }
    let exported_logs = names.iter().filter(|n| n.starts_with("logs/")).count();
    assert!(
        exported_logs > 0,
        "no exported logs under {commit}/logs/ ({names:?}); export log:\n{}",
        export.log
    );

    // Verified as a user would, from the bucket: signer verify, and gpg on every .asc.
    let download = run.work.path().join("download");
    run.aws.get_tree(BUCKET, &format!("{commit}/"), &download);
    std::fs::remove_dir_all(download.join("logs")).unwrap();
    let cert_file = run.work.path().join("cert.asc");
    std::fs::write(&cert_file, &cert).unwrap();
    TestCommand::signer()
        .args(["verify", "--require-sums", "--cert"])
        .arg(&cert_file)
        .arg(&download)
        .expect_ok();
    for rel in files_under(&download).iter().filter(|r| r.ends_with(".asc")) {
        let sig = download.join(rel);
        let file = download.join(rel.trim_end_matches(".asc"));
        let (ok, why) = GnuPg::verifies_with(&cert, &sig, &file);
        assert!(ok, "gpg rejects {rel}: {why}");
    }
}
