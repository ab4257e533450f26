//! The signing image under CodeBuild's conventions, as AWS documents them: every command of a
//! buildspec runs by itself through `sh -c` inside the build's container, with the image's
//! own environment (its ENV) plus the CODEBUILD_* variables and the project's, the primary
//! source in CODEBUILD_SRC_DIR and each secondary source as a folder named by
//! CODEBUILD_SRC_DIR_<name>; a buildspec's `run-as` runs them as another Linux user the image
//! names. Nothing else about the agent is documented (docs/pipeline.md says what is known).
//!
//! So the real signing.yml, copy.yml and verify-published.yml run here, chrooted into the built image (busybox its
//! only shell and tool, none of the host's), against moto, as root and as the image's
//! non-root user, with HOME and TMPDIR set; the SDK (credentials and config looked up under
//! HOME) and the commands (the pinned binaries linked under /tmp) must work, and what a
//! program writes to /tmp and $HOME must land.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use relsign_tests::codebuild::Build;
use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::local_aws::LocalAws;
use relsign_tests::{repo_root, require_tool};
use serde_json::Value;

use crate::image::{build_image, Buildah, TAG};

/// The image's own environment (its ENV), as the container starts with it.
fn image_env(buildah: &Buildah, container: &str) -> BTreeMap<String, String> {
    let inspect: Value = serde_json::from_str(&buildah.run(&["inspect", container])).unwrap();
    inspect["OCIv1"]["config"]["Env"]
        .as_array()
        .expect("the image's Env")
        .iter()
        .filter_map(|kv| kv.as_str()?.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

/// A user's HOME as the image's /etc/passwd gives it.
fn home_of(root: &Path, uid: u32) -> String {
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("the image has /etc/passwd");
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 6 && f[2] == uid.to_string())
        .unwrap_or_else(|| panic!("the image's /etc/passwd names no uid {uid}:\n{passwd}"))[5]
        .to_string()
}

/// A buildspec of this test's, for what the agent and the SDK take for granted.
const PROBE: &str = r#"version: 0.2
phases:
  build:
    commands:
      - '[ -n "$HOME" ] && [ -d "$HOME" ] && [ -w "$HOME" ] || { echo "HOME ($HOME) is not a folder this user can write" >&2; exit 1; }'
      - 'echo probe > "$HOME/.relsign-probe" && [ -s "$HOME/.relsign-probe" ]'
      - 'echo probe > "${TMPDIR:-/tmp}/relsign-probe" && [ -s "${TMPDIR:-/tmp}/relsign-probe" ]'
      - 'echo probe > /tmp/relsign-probe-2 && [ -s /tmp/relsign-probe-2 ]'
"#;

fn run_as(buildah: &Buildah, uid: Option<u32>) {
    let container = buildah.run(&["from", "--pull-never", TAG]);
    let root = PathBuf::from(buildah.run(&["mount", &container]));
    let inside = |p: &str| root.join(p.trim_start_matches('/'));
    let who = uid.map_or("root".to_string(), |u| format!("uid {u}"));

    // The sources, where CodeBuild puts them: the Buildspecs artifact (buildspecs/ and the
    // certificate) and the batch's combined artifact, a folder per build.
    let gpg = GnuPg::new();
    let fpr = gpg.gen_key("Image <image@example.org>", "rsa3072", "sign,cert", "never", PASSPHRASE, None);
    let src = "/codebuild/output/src1/src";
    let builds = "/codebuild/output/src2/BuildArtifacts";
    std::fs::create_dir_all(inside(src).join("keys")).unwrap();
    relsign_tests::copy_tree(&repo_root().join("buildspecs"), &inside(src).join("buildspecs"));
    std::fs::write(inside(src).join("keys/release-signing-key.asc"), gpg.export_public(&fpr)).unwrap();
    for build in ["amd", "arm"] {
        let dir = inside(builds).join(build);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("relsign-{build}.tar.gz")), vec![build.len() as u8; 100_000])
            .unwrap();
        std::fs::write(dir.join("release-version"), "1.2.3\n").unwrap();
    }
    let tmp = "/codebuild/output/tmp";
    std::fs::create_dir_all(inside(tmp)).unwrap();
    if let Some(uid) = uid {
        let ok = Command::new("chown")
            .args(["-R", &format!("{uid}:{uid}")])
            .arg(inside("/codebuild"))
            .status()
            .unwrap();
        assert!(ok.success());
    }

    // What CodePipeline and CodeBuild record of the run, which signer sign --provenance reads.
    let records_dir = tempfile::tempdir().unwrap();
    let mut records =
        crate::run::Records::new(records_dir.path().join("records.json"), "relsign-release-pipeline");
    let aws = LocalAws::moto_kms_with(&[("RELSIGN_PIPELINE_RECORDS", records.path.to_str().unwrap())]);
    let template =
        relsign_wiring::Template::load(&repo_root().join("templates/release-pipeline-stack.yml")).unwrap();
    let pipeline = relsign_wiring::Pipeline::of(&template).unwrap();
    let gpg_action = pipeline.action("GPG").unwrap().clone();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let sign_id = format!("relsign-artifact-sign:{}", relsign_tests::codebuild::uuid_like());
    records.execution(commit, "example/relsign");
    records.build(&sign_id, Some(TAG), Some(commit), None);
    records.action(&gpg_action, &sign_id);
    let key_arn = aws.put_secret_arn("relsign/release-key", &gpg.export_secret(&fpr, PASSPHRASE));
    aws.make_bucket("releases");
    let mut env = image_env(buildah, &container);
    // HOME as the image names it for the user (CodeBuild documents no HOME of its own), and
    // the SDK's files looked up under it: only the endpoint and the keys come from outside.
    env.insert("HOME".into(), home_of(&root, uid.unwrap_or(0)));
    env.insert("TMPDIR".into(), "/tmp".into());
    for (k, v) in aws.env() {
        if !k.starts_with("AWS_CONFIG_FILE") && !k.starts_with("AWS_SHARED_CREDENTIALS_FILE") {
            env.insert(k, v);
        }
    }
    env.insert("SIGNING_CERT".into(), "keys/release-signing-key.asc".into());
    env.insert("GIT_COMMIT_SHA".into(), commit.into());
    env.insert("SIGNER_PIPELINE_EXECUTION_ID".into(), records.execution_id.clone());
    let container_build = |project: &str, spec: PathBuf| {
        let mut b = Build::new(project, spec, src);
        b.root = Some(root.clone());
        b.user = uid.map(|u| format!("{u}:{u}"));
        b.env = env.clone();
        b
    };

    let probe_spec = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(probe_spec.path(), PROBE).unwrap();
    let probe = container_build("relsign-probe", probe_spec.path().to_path_buf());
    probe
        .run(Path::new(&format!("{tmp}/probe")))
        .unwrap_or_else(|f| panic!("as {who}, HOME or /tmp is not writable in the image: {f}"));

    let mut sign = container_build("relsign-artifact-sign", repo_root().join("buildspecs/signing.yml"));
    sign.secondary.push(("BuildArtifacts".into(), PathBuf::from(builds)));
    sign.env.insert("PRIVATE_KEY_ARN".into(), key_arn);
    sign.secrets.insert("PASSPHRASE".into(), PASSPHRASE.into());
    sign.id = Some(sign_id.clone());
    let signed = sign
        .run(Path::new(&format!("{tmp}/sign")))
        .unwrap_or_else(|f| panic!("signing.yml in the image as {who}: {f}"));
    assert_eq!(signed.exported["SIGNER_KEY_FINGERPRINT"], fpr, "{}", signed.log);
    assert_eq!(signed.exported["SIGNER_SIGNED_COUNT"], "2", "{}", signed.log);
    let (ok, why) = GnuPg::verifies_with(
        &gpg.export_public(&fpr),
        &signed.artifact.as_ref().unwrap().join("relsign-amd.tar.gz.asc"),
        &inside(builds).join("amd/relsign-amd.tar.gz"),
    );
    assert!(ok, "gpg rejects the signature made in the image as {who}: {why}");

    let mut copy = container_build("relsign-artifact-copy", repo_root().join("buildspecs/copy.yml"));
    copy.secondary.push(("Signatures".into(), PathBuf::from(format!("{tmp}/sign/artifact"))));
    copy.secondary.push(("BuildArtifacts".into(), PathBuf::from(builds)));
    copy.env.insert("RESULTS_BUCKET_URI".into(), "s3://releases/rel".into());
    copy.env.insert("COPIER_PATH_STYLE".into(), "true".into());
    let copied = copy
        .run(Path::new(&format!("{tmp}/copy")))
        .unwrap_or_else(|f| panic!("copy.yml in the image as {who}: {f}"));
    assert_eq!(
        copied.exported["COPY_EXIT_CODE"], "0",
        "copier failed in the image as {who}:\n{}",
        copied.log
    );
    let keys = aws.keys("releases", "rel/");
    assert!(
        keys.iter().any(|k| k.ends_with("/SHA256SUMS.asc"))
            && keys.iter().any(|k| k.ends_with("/relsign-arm.tar.gz")),
        "{keys:?}"
    );

    // The Copy stage's last action, in the image too: the release read back where it was
    // published (signer verify s3://, streamed, nothing on disk).
    let mut verify =
        container_build("relsign-release-verify", repo_root().join("buildspecs/verify-published.yml"));
    verify.env.insert("RESULTS_BUCKET_URI".into(), "s3://releases/rel".into());
    verify.env.insert("SIGNER_PATH_STYLE".into(), "true".into());
    let verified = verify
        .run(Path::new(&format!("{tmp}/verify")))
        .unwrap_or_else(|f| panic!("verify-published.yml in the image as {who}: {f}"));
    assert!(
        verified.log.contains("SHA256SUMS.asc  signed by") && verified.log.contains(" checked, 0 failed"),
        "{}",
        verified.log
    );

    buildah.run(&["umount", &container]);
    buildah.run(&["rm", &container]);
}

#[test]
fn signing_and_copy_buildspecs_run_in_the_image_as_codebuild_runs_them() {
    require_tool("chroot", "coreutils");
    let buildah = build_image();
    run_as(&buildah, None);
    run_as(&buildah, Some(1000));
}
