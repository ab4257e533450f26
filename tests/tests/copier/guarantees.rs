//! copier's three promises tried as a second pipeline run, a hostile build stage and a
//! careless operator would: what is published is exactly what was signed; a present
//! `SHA256SUMS.asc` means a complete, consistent release; nothing secret is published.
//! Each verdict is GnuPG's, sha256sum's or the S3 server's, not copier's own.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, quick_key};
use relsign_tests::local_aws::{aws_env, LocalAws};
use relsign_tests::proxy::{Fault, Proxy, Seen};
use relsign_tests::*;

use super::{assert_same_tree, pattern, setup};

pub(crate) fn upstream(server: &LocalAws) -> String {
    server.endpoint.trim_start_matches("http://").to_string()
}

pub(crate) fn path_of(req: &Seen) -> &str {
    req.target.split('?').next().unwrap_or("")
}

/// Signs `dist` into `out` as build `build_id`: two builds of one commit sign the same
/// artifacts into different releases (their manifests differ).
pub(crate) fn sign_as(dist: &Path, out: &Path, build_id: &str) {
    super::sign_with_env(dist, out, &[("CODEBUILD_BUILD_ID", build_id)]);
}

/// The same sources signed twice under `work`, by builds build-a and build-b: two releases
/// of one commit that differ (new signatures, manifest.json, SHA256SUMS). Returns (a, b).
pub(crate) fn signed_twice(work: &Path) -> (PathBuf, PathBuf) {
    let dist = work.join("dist");
    sample_tree(&dist);
    let (a, b) = (work.join("a"), work.join("b"));
    sign_as(&dist, &a, "build-a");
    sign_as(&dist, &b, "build-b");
    (a, b)
}

/// The release under `prefix` as a user downloads it, checked by GnuPG, sha256sum and
/// `signer verify`; it must be exactly `signed`.
pub(crate) fn assert_published(server: &LocalAws, prefix: &str, signed: &Path, work: &Path) {
    let back = work.join(format!("back-{}", prefix.replace('/', "-")));
    server.get_tree("releases", &format!("{prefix}/"), &back);
    assert_same_tree(signed, &back);
    let cert = std::fs::read(&quick_key().public).unwrap();
    let (ok, why) = GnuPg::verifies_with(&cert, &back.join("SHA256SUMS.asc"), &back.join("SHA256SUMS"));
    assert!(ok, "gpg refuses the published checksum list: {why}");
    assert!(sha256sum_check(&back), "sha256sum -c fails on the published release");
    let cert = quick_key().public.to_str().unwrap().to_string();
    let v = TestCommand::signer()
        .args(["verify", "--require-sums", "--cert", &cert, back.to_str().unwrap()])
        .output();
    assert!(v.status.success(), "{}", stdout(&v));
}

fn two_signings_racing_to_one_prefix(server: LocalAws) {
    let work = tempfile::tempdir().unwrap();
    let (a, b) = signed_twice(work.path());
    assert_ne!(std::fs::read(a.join("SHA256SUMS")).unwrap(), std::fs::read(b.join("SHA256SUMS")).unwrap());
    server.make_bucket("releases");
    // Timed so that, were each object written unconditionally, b's checksum list and a's
    // signature of its own list would each be the last write: a mixed release.
    let held = |suffix: &'static str, secs: u64| {
        move |req: &Seen, _: usize| {
            if req.method == "PUT" && path_of(req).ends_with(suffix) {
                Fault::Delay(Duration::from_secs(secs))
            } else {
                Fault::Pass
            }
        }
    };
    let proxy_a = Proxy::start(&upstream(&server), held("/SHA256SUMS.asc", 2));
    let proxy_b = Proxy::start(&upstream(&server), held("/SHA256SUMS", 1));
    let run = |from: &Path, proxy: &Proxy| {
        let env = aws_env(&proxy.endpoint, work.path());
        TestCommand::copier()
            .args(["--from", from.to_str().unwrap(), "--to", "s3://releases/race", "--path-style"])
            .envs(&env)
            .spawn()
    };
    let (child_a, child_b) = (run(&a, &proxy_a), run(&b, &proxy_b));
    let (out_a, out_b) = (child_a.wait_with_output().unwrap(), child_b.wait_with_output().unwrap());
    let codes = (out_a.status.code(), out_b.status.code());
    assert_eq!(codes, (Some(0), Some(6)), "a: {:?}\nb: {:?}", stderr_lines(&out_a), stderr_lines(&out_b));
    assert_fails(&out_b, 6, "claimed by another signing of this release");
    assert_published(&server, "race", &a, work.path());
}

#[test]
fn two_signings_racing_to_one_prefix_leave_one_complete_release_on_moto() {
    two_signings_racing_to_one_prefix(LocalAws::moto());
}

#[test]
fn two_signings_racing_to_one_prefix_leave_one_complete_release_on_s3s_fs() {
    two_signings_racing_to_one_prefix(LocalAws::s3s_fs());
}

#[test]
fn the_same_release_copied_twice_at_once_completes_in_both() {
    let s = setup(LocalAws::moto(), relsign_tests::sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let args = ["--from", from.as_str(), "--to", "s3://releases/twice", "--path-style"];
    let (one, two) = (
        TestCommand::copier().args(args).envs(&s.env).spawn(),
        TestCommand::copier().args(args).envs(&s.env).spawn(),
    );
    for out in [one.wait_with_output().unwrap(), two.wait_with_output().unwrap()] {
        assert!(out.status.success(), "{:?}", stderr_lines(&out));
    }
    assert_published(&s.server, "twice", &s.signed, s.work.path());
}

fn a_tampered_object_is_a_conflict(server: LocalAws) {
    let s = setup(server, relsign_tests::sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let args = ["--from", from.as_str(), "--to", "s3://releases/t", "--path-style"];
    let res = TestCommand::copier().args(args).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));

    // Other bytes of the same size, carrying the original's sha256 metadata, put by hand
    // with a client that sends the new bytes' own checksum (as any current client does).
    let name = "agent v1.0.tar";
    let original = std::fs::read(s.signed.join(name)).unwrap();
    let forged: Vec<u8> = original.iter().map(|b| b ^ 0x20).collect();
    let sums = std::fs::read_to_string(s.signed.join("SHA256SUMS")).unwrap();
    let digest = sums.lines().find(|l| l.ends_with(name)).unwrap().split_whitespace().next().unwrap();
    let put = s.server.seed(&["put-object", "releases", &format!("t/{name}"), digest], &forged);
    assert!(put.status.success(), "{}", String::from_utf8_lossy(&put.stderr));

    let res = TestCommand::copier().args(args).envs(&s.env).output();
    assert_fails(&res, 6, &format!("t/{name}: its sha256 metadata disagrees with the SHA-256 S3 verified"));
    let res = TestCommand::copier().args([&args[..], &["--overwrite"]].concat()).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert_published(&s.server, "t", &s.signed, s.work.path());
}

/// A file larger than copier's read buffer (256 KiB) streams from disk with the signed
/// SHA-256 in its checksum header, hashing nothing itself: the server's check is what
/// stops a file changed since it was signed (here without the gate, which would refuse it
/// first). s3s-fs checks it; moto does not (it takes any bytes under any
/// x-amz-checksum-sha256), so only s3s-fs judges. s3s-fs answers BadDigest but leaves the
/// bytes it received at the key (it moves the file into place before comparing); S3 stores
/// nothing. So the verdict read here is the refusal and the unsealed release, not the
/// key's absence.
#[test]
fn a_streamed_artifact_changed_after_signing_is_refused_by_the_server() {
    let s = setup(LocalAws::s3s_fs(), |dist| {
        relsign_tests::sample_tree(dist);
        std::fs::write(dist.join("large.bin"), vec![7u8; 1 << 20]).unwrap();
    });
    copy_refused_as_changed(&s, "large.bin", 512 << 10);
}

/// A small file is read whole and hashed before it is sent, so a change since signing is
/// refused even by a server that checks no checksum: moto, which would store it, holds
/// nothing at its key afterwards (nor a seal).
#[test]
fn a_small_artifact_changed_after_signing_is_never_sent_even_where_the_server_checks_nothing() {
    let s = setup(LocalAws::moto(), relsign_tests::sample_tree);
    let keys = copy_refused_as_changed(&s, "agent v1.0.tar", 0);
    assert!(!keys.contains(&"c/agent v1.0.tar".to_string()), "the changed file was stored: {keys:?}");
}

/// Flips the byte at `at` of the signed file `name` (the same size: only the digest tells),
/// copies the folder to `c/` without the gate and expects exit 3 naming the file and no
/// seal; the keys under `c/` afterwards.
fn copy_refused_as_changed(s: &super::Setup, name: &str, at: usize) -> Vec<String> {
    let changed = s.signed.join(name);
    let mut bytes = std::fs::read(&changed).unwrap();
    bytes[at] ^= 1;
    std::fs::write(&changed, &bytes).unwrap();
    let from = s.signed.to_str().unwrap().to_string();
    let res = TestCommand::copier()
        .args(["--from", from.as_str(), "--to", "s3://releases/c", "--path-style"])
        .envs(&s.env)
        .output();
    let lines = stderr_lines(&res);
    assert_eq!(res.status.code(), Some(3), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains(&format!("{name} changed since it was signed"))),
        "the error should name the changed file: {lines:?}"
    );
    let keys = s.server.keys("releases", "c/");
    assert!(!keys.contains(&"c/SHA256SUMS.asc".to_string()), "the release was sealed: {keys:?}");
    keys
}

#[test]
fn a_tampered_object_is_a_conflict_not_identical_on_moto() {
    a_tampered_object_is_a_conflict(LocalAws::moto());
}

#[test]
fn a_tampered_object_is_a_conflict_not_identical_on_s3s_fs() {
    a_tampered_object_is_a_conflict(LocalAws::s3s_fs());
}

#[test]
fn keys_over_1024_bytes_fail_in_the_plan_before_any_upload() {
    // 954 bytes: a name signer takes (its .asc fits an S3 key), under a 101-byte prefix.
    fn long_name(d: &Path) {
        let name = format!("{}/{}", vec!["d".repeat(200); 4].join("/"), "f".repeat(150));
        write_tree(d, &[("ok.txt", b"x"), (name.as_str(), b"y")]);
    }
    let s = setup(LocalAws::s3s_fs(), long_name);
    let from = s.signed.to_str().unwrap().to_string();
    let to = format!("s3://releases/{}", "p".repeat(100));
    let args = ["--from", from.as_str(), "--to", to.as_str(), "--path-style"];
    for extra in [&["--dry-run"][..], &[]] {
        let res = TestCommand::copier().args([&args[..], extra].concat()).envs(&s.env).output();
        assert_fails(&res, 3, "S3 keys hold at most 1024");
    }
    let res = TestCommand::copier().args([&["check"][..], &args[..]].concat()).envs(&s.env).output();
    assert_eq!(res.status.code(), Some(3), "{}", stdout(&res));
    assert!(stdout(&res).contains("at most 1024"), "{}", stdout(&res));
    // A prefix part no file system can hold: S3 takes it, users could not download it.
    let to = format!("s3://releases/{}", "q".repeat(300));
    let res = TestCommand::copier()
        .args(["--from", from.as_str(), "--to", to.as_str(), "--path-style", "--dry-run"])
        .envs(&s.env)
        .output();
    assert_fails(&res, 3, "file systems hold names of at most 255");
    assert!(s.server.keys("releases", "").is_empty(), "something was uploaded");
}

#[test]
fn clean_up_touches_only_this_releases_uploads() {
    let s = setup(LocalAws::moto(), relsign_tests::sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let open = |key: &str| assert!(s.server.seed(&["start-upload", "releases", key], b"").status.success());
    let uploads = || {
        stdout(&s.server.seed(&["upload-keys", "releases"], b""))
            .lines()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    // Another release's upload in progress, and one a killed run of this release left.
    open("other-release/big.iso");
    open("agent v1.0.tar");
    let res = TestCommand::copier()
        .args(["--from", &from, "--to", "s3://releases", "--path-style"])
        .envs(&s.env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert_eq!(uploads(), ["other-release/big.iso"], "copier aborted an upload that was not its own");

    // An upload another run aborted first: NoSuchUpload is what was wanted.
    open("v2/agent v1.0.tar");
    let proxy = Proxy::start(&upstream(&s.server), |req, _| {
        if req.method == "DELETE" && req.target.contains("uploadId=") {
            Fault::Status(404, "NoSuchUpload")
        } else {
            Fault::Pass
        }
    });
    let env = aws_env(&proxy.endpoint, s.work.path());
    let res = TestCommand::copier()
        .args(["--from", &from, "--to", "s3://releases/v2", "--path-style"])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(proxy.faults.load(Ordering::SeqCst) > 0, "the abort was never answered NoSuchUpload");
}

#[test]
fn sigterm_aborts_the_multipart_uploads_in_flight() {
    let s = setup(LocalAws::moto(), |d| write_tree(d, &[("big.tar", &pattern(24 << 20, 5)[..])]));
    // Parts are held, so the run is mid-upload when it is stopped.
    let proxy = Proxy::start(&upstream(&s.server), |req, _| {
        if req.method == "PUT" && req.target.contains("partNumber=") {
            Fault::Delay(Duration::from_secs(20))
        } else {
            Fault::Pass
        }
    });
    let from = s.signed.to_str().unwrap().to_string();
    let env = aws_env(&proxy.endpoint, s.work.path());
    let args = [
        "--from",
        from.as_str(),
        "--to",
        "s3://releases/stopped",
        "--path-style",
        "--multipart-threshold",
        "8MiB",
    ];
    let child = TestCommand::copier().args(args).envs(&env).spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.faults.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no part was ever sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(s.server.uploads("releases"), Some(1), "the upload should be in progress");
    // SAFETY: our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    // The progress lines of what was uploaded, then one error line.
    let lines = stderr_lines(&out);
    assert_eq!(out.status.code(), Some(143), "{lines:?}");
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("copier: error:")).collect();
    assert_eq!(errors.len(), 1, "{lines:?}");
    assert!(errors[0].contains("stopped by SIGTERM: 1 multipart upload(s) aborted"), "{lines:?}");
    assert_eq!(s.server.uploads("releases"), Some(0), "an orphan multipart upload was left");
    assert!(!s.server.keys("releases", "stopped/").iter().any(|k| k.ends_with("SHA256SUMS.asc")));
}

/// `copier --require-signatures` of `from` to `releases/gated`: refused, nothing uploaded.
fn assert_gate_refuses(s: &super::Setup, from: &Path, certs: &[&Path], extra: &[&str], file: &str) -> Output {
    let mut args: Vec<String> = [
        "--from",
        from.to_str().unwrap(),
        "--to",
        "s3://releases/gated",
        "--path-style",
        "--require-signatures",
    ]
    .map(String::from)
    .to_vec();
    for c in certs {
        args.extend(["--cert".into(), c.display().to_string()]);
    }
    args.extend(extra.iter().map(|e| e.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let res = TestCommand::copier().args(&args).envs(&s.env).output();
    assert_fails(&res, 1, "nothing was uploaded");
    assert!(stdout(&res).contains(&format!("FAIL  {file}")), "{}", stdout(&res));
    assert!(s.server.keys("releases", "gated/").is_empty(), "something was uploaded");
    res
}

#[test]
fn the_gate_is_as_strict_as_gpg_verify() {
    let s = setup(LocalAws::s3s_fs(), relsign_tests::sample_tree);
    let g = GnuPg::new();
    let binary = |p: PathBuf| g.ok(&["--dearmor"], &std::fs::read(p).unwrap());
    let name = "agent v1.0.tar";
    let good = binary(s.signed.join(format!("{name}.asc")));
    // The same artifacts signed with another key.
    let other = s.work.path().join("other");
    let res = TestCommand::signer()
        .args([
            "sign",
            "--key-file",
            keys().ed25519.secret.to_str().unwrap(),
            "--out",
            other.to_str().unwrap(),
            s.work.path().join("dist").to_str().unwrap(),
        ])
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let cases = [
        ("a good signature, then one over other bytes", binary(s.signed.join("scripts/install.sh.asc"))),
        ("a good signature, then another key's", binary(other.join(format!("{name}.asc")))),
    ];
    let cert = quick_key().public.clone();
    let armored = |p: PathBuf| std::fs::read(p).unwrap();
    let armored_cases = [
        ("two armor blocks, the second over other bytes", armored(s.signed.join("scripts/install.sh.asc"))),
        ("two armor blocks, the second another key's", armored(other.join(format!("{name}.asc")))),
    ];
    let armored_good = armored(s.signed.join(format!("{name}.asc")));
    let cases = cases.into_iter().map(|(l, second)| (l, [good.clone(), second].concat()));
    let armored_cases =
        armored_cases.into_iter().map(|(l, second)| (l, [armored_good.clone(), second].concat()));
    for (label, asc) in cases.chain(armored_cases) {
        let copy = s.work.path().join(label.replace([' ', ','], "-"));
        copy_tree(&s.signed, &copy);
        std::fs::write(copy.join(format!("{name}.asc")), asc).unwrap();
        // The users' verifier is the judge: gpg refuses this .asc.
        let (gpg_ok, _) = GnuPg::verifies_with(
            &std::fs::read(&cert).unwrap(),
            &copy.join(format!("{name}.asc")),
            &copy.join(name),
        );
        assert!(!gpg_ok, "{label}: gpg accepts it, so the case proves nothing");
        assert_gate_refuses(&s, &copy, &[&cert], &[], name);
    }

    // Two certificates: any may sign, with a warning; --signer-fingerprint names which.
    let other_cert = keys().ed25519.public.clone();
    let from = s.signed.to_str().unwrap().to_string();
    let two = ["--cert", cert.to_str().unwrap(), "--cert", other_cert.to_str().unwrap()];
    let base = [
        "--from",
        from.as_str(),
        "--to",
        "s3://releases/two",
        "--path-style",
        "--require-signatures",
        "--dry-run",
    ];
    let res = TestCommand::copier().args([&base[..], &two].concat()).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(
        stderr_lines(&res)
            .iter()
            .any(|l| l.contains("2 certificates may sign") && l.contains("--signer-fingerprint")),
        "{:?}",
        stderr_lines(&res)
    );
    let other_fpr = keys().ed25519.fingerprint.clone();
    let res = assert_gate_refuses(
        &s,
        &s.signed,
        &[&cert, &other_cert],
        &["--signer-fingerprint", &other_fpr],
        name,
    );
    assert!(stdout(&res).contains("which no --signer-fingerprint names"), "{}", stdout(&res));
    let fpr = quick_key().fingerprint.clone();
    let res = TestCommand::copier()
        .args([&base[..], &two, &["--signer-fingerprint", &fpr]].concat())
        .envs(&s.env)
        .output();
    assert!(res.status.success() && stderr_lines(&res).is_empty(), "{:?}", stderr_lines(&res));
}

#[test]
fn secret_key_material_is_never_published_even_when_gnupg_signed_it() {
    let s = setup(LocalAws::s3s_fs(), relsign_tests::sample_tree);
    // A release made with GnuPG alone, every signature good, one file carrying a secret key
    // after 64 KiB of text (beyond any look at a file's start).
    let g = GnuPg::new();
    g.ok(&["--import"], &std::fs::read(&quick_key().secret).unwrap());
    let rel = s.work.path().join("foreign");
    let mut notes = "release notes\n".repeat(6000).into_bytes();
    notes.extend(std::fs::read(&keys().p256.secret).unwrap());
    write_tree(&rel, &[("app.tar", b"the app" as &[u8]), ("notes.txt", &notes)]);
    for f in ["app.tar", "notes.txt"] {
        g.detach_sign(&quick_key().fingerprint, &rel.join(f), "");
    }
    let sums = Command::new("sha256sum").args(["app.tar", "notes.txt"]).current_dir(&rel).output().unwrap();
    std::fs::write(rel.join("SHA256SUMS"), &sums.stdout).unwrap();
    g.detach_sign(&quick_key().fingerprint, &rel.join("SHA256SUMS"), "");
    let cert = std::fs::read(&quick_key().public).unwrap();
    let (ok, why) = GnuPg::verifies_with(&cert, &rel.join("notes.txt.asc"), &rel.join("notes.txt"));
    assert!(ok, "gpg should accept the signature over the notes: {why}");

    let res = assert_gate_refuses(&s, &rel, &[&quick_key().public], &[], "notes.txt");
    assert!(stdout(&res).contains("secret-key material"), "{}", stdout(&res));
}

/// A re-run proves each object by the SHA-256 S3 verified (one HeadObject each), never by
/// the listing's MD5 ETags, and reads no object back unless asked to.
#[test]
fn a_rerun_proves_each_object_by_the_sha256_s3_verified() {
    let s = setup(LocalAws::moto(), relsign_tests::sample_tree);
    let from = s.signed.to_str().unwrap().to_string();
    let args = ["--from", from.as_str(), "--to", "s3://releases/again", "--path-style", "--json"];
    assert!(TestCommand::copier().args(args).envs(&s.env).output().status.success());
    // A zero delay: each HeadObject and GetObject is counted as a fault, passed on unchanged.
    let proxy = Proxy::start(&upstream(&s.server), |req, _| {
        let object_get =
            req.method == "GET" && !req.target.contains("list-type") && !req.target.contains('?');
        if req.method == "HEAD" || object_get {
            Fault::Delay(Duration::ZERO)
        } else {
            Fault::Pass
        }
    });
    let res = TestCommand::copier().args(args).envs(&aws_env(&proxy.endpoint, s.work.path())).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!((summary["uploaded"].as_u64(), summary["skipped"].as_u64()), (Some(0), Some(11)));
    assert_eq!(proxy.faults.load(Ordering::SeqCst), 11, "one HeadObject per object, no object read");
}

/// Without the gate, the walk itself refuses a key file, whether SHA256SUMS lists it (its
/// start is read) or not (it is hashed, and its start judged from the same read); the
/// server holds nothing afterwards.
#[test]
fn a_key_file_is_refused_by_the_walk_listed_or_not() {
    let s = setup(LocalAws::s3s_fs(), relsign_tests::sample_tree);
    let key = std::fs::read(&keys().p256.secret).unwrap();
    for (prefix, listed) in [("unlisted", false), ("listed", true)] {
        let rel = s.work.path().join(prefix);
        write_tree(&rel, &[("app.tar", b"the app" as &[u8]), ("backup.key", &key)]);
        if listed {
            let sums =
                Command::new("sha256sum").args(["app.tar", "backup.key"]).current_dir(&rel).output().unwrap();
            std::fs::write(rel.join("SHA256SUMS"), &sums.stdout).unwrap();
        }
        let res = TestCommand::copier()
            .args([
                "--from",
                rel.to_str().unwrap(),
                "--to",
                &format!("s3://releases/{prefix}"),
                "--path-style",
            ])
            .envs(&s.env)
            .output();
        let lines = stderr_lines(&res);
        assert_eq!(res.status.code(), Some(3), "{prefix}: {lines:?}");
        assert!(
            lines.iter().any(|l| l.contains("backup.key")),
            "{prefix}: the error should name the file: {lines:?}"
        );
        assert!(
            s.server.keys("releases", &format!("{prefix}/")).is_empty(),
            "{prefix}: something was uploaded"
        );
    }
}
