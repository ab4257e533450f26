//! The signing image: built FROM scratch with buildah (no daemon, no registry), holding
//! exactly the static relsign (signer and copier link to it), busybox as /bin/sh, a CA
//! bundle, /etc/passwd and /etc/group, a /tmp anyone may write and a HOME per user; run by
//! chroot into its root filesystem, it signs and verifies a release.

use std::path::Path;
use std::process::{Command, Output};

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::{files_under, musl_binaries, repo_root, require_tool};

/// The whole image's budget. The first target was 20 MB; the provenance's CodeBuild and
/// CodePipeline clients (#26) and the HTTPS verifier (#25) took the binary from 17.9 to
/// 19.0 MB, with busybox's 2.2 MB beside it: 21.2 MB. Raised to 22 MB on purpose, so that
/// any further growth is still a decision, not a drift.
const MAX_IMAGE_BYTES: u64 = 22_000_000;

pub(crate) struct Buildah {
    pub(crate) store: tempfile::TempDir,
}

impl Buildah {
    fn args(&self) -> Vec<String> {
        let root = self.store.path();
        vec![
            "--storage-driver".into(),
            "vfs".into(),
            "--root".into(),
            root.join("root").display().to_string(),
            "--runroot".into(),
            root.join("run").display().to_string(),
        ]
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = Command::new("buildah").args(self.args()).args(args).output().expect("run buildah");
        assert!(out.status.success(), "buildah {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

fn chroot(root: &Path, script: &str, env: &[(&str, &str)]) -> Output {
    Command::new(require_tool("chroot", "coreutils"))
        .arg(root)
        .args(["/bin/sh", "-c", script])
        .env_clear()
        .env("PATH", "/usr/local/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .expect("run chroot")
}

pub(crate) const TAG: &str = "localhost/relsign-signer:test";

/// Builds the image with scripts/image into a store of its own.
pub(crate) fn build_image() -> Buildah {
    require_tool("buildah", "buildah");
    let binaries = musl_binaries();
    let buildah = Buildah { store: tempfile::tempdir().unwrap() };
    let context = tempfile::tempdir().unwrap();
    let out = Command::new(repo_root().join("scripts/image"))
        .args(["--tag", TAG])
        .env("RELSIGN_BINARIES_DIR", &binaries)
        .env("RELSIGN_IMAGE_CONTEXT", context.path())
        .env("RELSIGN_BUILDAH_ROOT", buildah.store.path())
        .output()
        .expect("run scripts/image");
    assert!(out.status.success(), "scripts/image: {}", String::from_utf8_lossy(&out.stderr));
    buildah
}

#[test]
fn the_scratch_image_holds_only_relsign_and_signs_inside() {
    let buildah = build_image();
    let container = buildah.run(&["from", "--pull-never", TAG]);
    let root = std::path::PathBuf::from(buildah.run(&["mount", &container]));

    // Nothing else: busybox, relsign (signer and copier link to it), the CA bundle, the users.
    let is_link = |f: &String| root.join(f).symlink_metadata().unwrap().file_type().is_symlink();
    let mut files: Vec<String> = files_under(&root).into_iter().filter(|f| !is_link(f)).collect();
    files.sort();
    assert_eq!(
        files,
        ["bin/sh", "etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt", "usr/local/bin/relsign"],
        "unexpected files in the image"
    );
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    for (dir, mode, uid) in [("tmp", 0o1777, 0), ("root", 0o700, 0), ("home/relsign", 0o700, 1000)] {
        let meta = std::fs::metadata(root.join(dir))
            .unwrap_or_else(|e| panic!("/{dir} is missing from the image: {e}"));
        assert!(meta.is_dir(), "/{dir}");
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "/{dir}'s mode");
        assert_eq!(meta.uid(), uid, "/{dir}'s owner");
    }
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("root:x:0:0:") && l.contains(":/root:")), "{passwd}");
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    assert!(group.lines().any(|l| l.starts_with("root:x:0:")), "{group}");
    for link in ["signer", "copier"] {
        let target = std::fs::read_link(root.join("usr/local/bin").join(link)).expect("a link");
        assert_eq!(target, Path::new("relsign"), "{link} should link to relsign");
    }
    let size: u64 = files.iter().map(|f| std::fs::metadata(root.join(f)).unwrap().len()).sum();
    eprintln!("signing image: {size} bytes ({:.1} MB) in {} files", size as f64 / 1e6, files.len());
    assert!(size <= MAX_IMAGE_BYTES, "the image is {size} bytes, over {MAX_IMAGE_BYTES}");

    for check in ["signer --version", "copier --version", "true"] {
        let out = chroot(&root, check, &[]);
        assert!(out.status.success(), "{check} in the image: {}", String::from_utf8_lossy(&out.stderr));
    }

    // A real signing run inside, key and passphrase handed in as a build would.
    let gpg = GnuPg::new();
    let fpr = gpg.gen_key("Image <image@example.org>", "rsa3072", "sign,cert", "never", PASSPHRASE, None);
    let work = root.join("work");
    std::fs::create_dir_all(work.join("dist/sub")).unwrap();
    std::fs::write(work.join("key.asc"), gpg.export_secret(&fpr, PASSPHRASE)).unwrap();
    std::fs::write(work.join("cert.asc"), gpg.export_public(&fpr)).unwrap();
    std::fs::write(work.join("dist/app.tar"), vec![7u8; 300_000]).unwrap();
    std::fs::write(work.join("dist/sub/notes.txt"), "release notes\n").unwrap();
    let out = chroot(
        &root,
        "cd /work && signer sign --key-file key.asc --out signed dist && signer verify --require-sums --cert cert.asc signed",
        &[("PASSPHRASE", PASSPHRASE)],
    );
    assert!(
        out.status.success(),
        "sign and verify in the image: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, why) = GnuPg::verifies_with(
        &gpg.export_public(&fpr),
        &work.join("signed/app.tar.asc"),
        &work.join("signed/app.tar"),
    );
    assert!(ok, "gpg rejects the signature made in the image: {why}");

    buildah.run(&["umount", &container]);
    buildah.run(&["rm", &container]);
}
