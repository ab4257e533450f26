//! `signer verify s3://BUCKET/PREFIX/` (and `http(s)://`): a release the real signer made
//! and the real copier published, checked where it lives, then tampered with behind
//! copier's back (boto3 straight to the server, the object's content type and metadata
//! kept): a same-size byte swap, a deleted signature, a stale extra object, a seal by
//! another key, a missing seal, a Content-Encoding. Each fails with exit 1 and a line
//! naming the object; GnuPG judges the downloaded bytes of the byte swap and the foreign
//! seal too, so relsign is not the only judge of its verdict.

use std::process::Output;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::quick_key;
use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use super::{setup, Setup};

const PREFIX: &str = "s3://releases/v1/";

/// The sample release signed and published by copier under `v1/`.
fn published(server: LocalAws) -> Setup {
    let s = setup(server, relsign_tests::sample_tree);
    let cert = quick_key().public.to_str().unwrap();
    TestCommand::copier()
        .args(["--from", s.signed.to_str().unwrap(), "--to", "s3://releases/v1", "--path-style"])
        .args(["--require-signatures", "--cert", cert])
        .envs(&s.env)
        .expect_ok();
    s
}

fn verify(s: &Setup, location: &str, extra: &[&str]) -> Output {
    TestCommand::signer()
        .args(["verify", "--cert", quick_key().public.to_str().unwrap(), "--path-style"])
        .args(extra)
        .arg(location)
        .envs(&s.env)
        .output()
}

#[track_caller]
fn assert_verifies(out: &Output) {
    assert!(out.status.success(), "stdout: {}\nstderr: {:?}", stdout(out), stderr_lines(out));
    assert!(!stdout(out).contains("FAIL"), "{}", stdout(out));
}

/// Exit 1, and the failing lines are exactly one per object in `objects`, each naming it
/// and saying `says`.
#[track_caller]
pub(super) fn assert_rejects(out: &Output, objects: &[&str], says: &str) {
    let text = stdout(out);
    assert_eq!(out.status.code(), Some(1), "stdout: {text}\nstderr: {:?}", stderr_lines(out));
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), objects.len(), "{text}");
    for (object, line) in objects.iter().zip(&failed) {
        let named = format!("FAIL  {object}: ");
        assert!(line.starts_with(&named) && line.contains(says), "want {named}...{says}, got {line}");
    }
}

/// Puts the signed file `name` back at `v1/name`, as copier published it.
fn restore(s: &Setup, name: &str) {
    let bytes = std::fs::read(s.signed.join(name)).unwrap();
    s.server.seed(&["put-object", "releases", &format!("v1/{name}")], &bytes);
}

fn tampering_behind_copiers_back(server: LocalAws) {
    let s = published(server);
    let cert = std::fs::read(&quick_key().public).unwrap();
    let out = verify(&s, PREFIX, &[]);
    assert_verifies(&out);
    // Every object of the release has its line (the signatures are checked with their files).
    let listed = std::fs::read_to_string(s.signed.join("SHA256SUMS")).unwrap().lines().count();
    assert!(stdout(&out).contains(&format!("{} files checked, 0 failed", listed + 1)), "{}", stdout(&out));

    // A same-size byte swap, the object's metadata (its sha256 claim) kept.
    let tar = "agent v1.0.tar";
    s.server.seed(&["rewrite", "releases", &format!("v1/{tar}"), "--swap"], b"");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}{tar}")], "BAD signature");
    let back = s.work.path().join("swapped");
    s.server.get_tree("releases", "v1/", &back);
    assert_eq!(
        std::fs::metadata(back.join(tar)).unwrap().len(),
        std::fs::metadata(s.signed.join(tar)).unwrap().len()
    );
    let (gpg_ok, said) = GnuPg::verifies_with(&cert, &back.join(format!("{tar}.asc")), &back.join(tar));
    assert!(!gpg_ok, "gpg accepts the swapped bytes: {said}");
    let deb = "ünïcödé-paket_1.0_arm64.deb";
    let (gpg_ok, said) = GnuPg::verifies_with(&cert, &back.join(format!("{deb}.asc")), &back.join(deb));
    assert!(gpg_ok, "gpg refuses an untouched file: {said}");
    restore(&s, tar);

    // A file and its signature from another signing by the same key (each good alone): its
    // digest is not the one the sealed list holds.
    let dist2 = s.work.path().join("dist2");
    relsign_tests::sample_tree(&dist2);
    std::fs::write(dist2.join(tar), b"tarball bytes of another build\n").unwrap();
    let signed2 = s.work.path().join("signed2");
    super::sign(&dist2, &signed2);
    for name in [tar.to_string(), format!("{tar}.asc")] {
        let bytes = std::fs::read(signed2.join(&name)).unwrap();
        s.server.seed(&["rewrite", "releases", &format!("v1/{name}"), "--stdin"], &bytes);
    }
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}{tar}")], "differs from SHA256SUMS");
    restore(&s, tar);
    restore(&s, &format!("{tar}.asc"));
    // The manifest has no signature of its own: the sealed list's digest is its check.
    s.server.seed(&["rewrite", "releases", "v1/manifest.json", "--swap"], b"");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}manifest.json")], "differs from SHA256SUMS");
    restore(&s, "manifest.json");

    // A deleted signature.
    s.server.seed(&["delete", "releases", "v1/scripts/install.sh.asc"], b"");
    assert_rejects(
        &verify(&s, PREFIX, &[]),
        &[&format!("{PREFIX}scripts/install.sh")],
        "install.sh.asc is missing",
    );
    restore(&s, "scripts/install.sh.asc");

    // A stale object the release does not list: an error, unless --allow-extra.
    s.server.seed(&["put-object", "releases", "v1/old/agent v0.9.tar"], b"an older tarball");
    let stale = format!("{PREFIX}old/agent v0.9.tar");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&stale], "not part of the release");
    let out = verify(&s, PREFIX, &["--allow-extra"]);
    assert_verifies(&out);
    assert!(stdout(&out).contains(&format!(
        "OK    {stale}  not part of the release (allowed by --allow-extra or --allow-extra-under)"
    )));
    let out = TestCommand::signer()
        .args(["verify", "--cert", quick_key().public.to_str().unwrap(), PREFIX])
        .envs(&s.env)
        .envs(&[("SIGNER_PATH_STYLE", "1"), ("SIGNER_ALLOW_EXTRA", "true")])
        .output();
    assert_verifies(&out);
    // A folder of other files beside the release (the pipeline's exported logs): allowed by
    // --allow-extra-under that folder, which allows nothing else.
    s.server.seed(&["put-object", "releases", "v1/logs/Sign/build.log"], b"a build log");
    let logs = format!("{PREFIX}logs/Sign/build.log");
    assert_rejects(
        &verify(&s, PREFIX, &["--allow-extra-under", "logs/"]),
        &[&stale],
        "not part of the release",
    );
    s.server.seed(&["delete", "releases", "v1/old/agent v0.9.tar"], b"");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&logs], "--allow-extra-under FOLDER/");
    assert_rejects(&verify(&s, PREFIX, &["--allow-extra-under", "log"]), &[&logs], "not part of the release");
    let out = TestCommand::signer()
        .args(["verify", "--cert", quick_key().public.to_str().unwrap(), PREFIX])
        .envs(&s.env)
        .envs(&[("SIGNER_PATH_STYLE", "1"), ("SIGNER_ALLOW_EXTRA_UNDER", "old/,logs")])
        .output();
    assert_verifies(&out);
    assert!(stdout(&out).contains(&format!("OK    {logs}  not part of the release")), "{}", stdout(&out));
    assert_fails(&verify(&s, PREFIX, &["--allow-extra-under", "../x"]), 2, "--allow-extra-under \"../x\"");
    s.server.seed(&["delete", "releases", "v1/logs/Sign/build.log"], b"");

    // A seal by another key, which gpg refuses too.
    let other = GnuPg::new();
    let fpr = other.gen_key("Other <other@example.org>", "ed25519", "sign,cert", "never", "", None);
    let sums = s.work.path().join("SHA256SUMS");
    std::fs::copy(s.signed.join("SHA256SUMS"), &sums).unwrap();
    let foreign = other.detach_sign(&fpr, &sums, "");
    let (gpg_ok, _) = GnuPg::verifies_with(&cert, &foreign, &sums);
    assert!(!gpg_ok, "gpg accepts the foreign seal");
    s.server
        .seed(&["rewrite", "releases", "v1/SHA256SUMS.asc", "--stdin"], &std::fs::read(&foreign).unwrap());
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}SHA256SUMS.asc")], "which no --cert holds");

    // No seal at all.
    s.server.seed(&["delete", "releases", "v1/SHA256SUMS.asc"], b"");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}SHA256SUMS.asc")], "not sealed");
    restore(&s, "SHA256SUMS.asc");

    // The right bytes, served with Content-Encoding: gzip (a browser would gunzip them).
    s.server.seed(&["rewrite", "releases", &format!("v1/{deb}"), "--encoding", "gzip"], b"");
    assert_rejects(&verify(&s, PREFIX, &[]), &[&format!("{PREFIX}{deb}")], "Content-Encoding: gzip");
    restore(&s, deb);

    assert_verifies(&verify(&s, PREFIX, &[]));
}

#[test]
fn a_published_release_is_verified_in_place_and_tampering_is_named_on_moto() {
    tampering_behind_copiers_back(LocalAws::moto());
}

#[test]
fn a_published_release_is_verified_in_place_and_tampering_is_named_on_s3s_fs() {
    tampering_behind_copiers_back(LocalAws::s3s_fs());
}

/// A public bucket read by plain GETs (moto honours the bucket policy for anonymous requests).
#[test]
fn a_release_is_verified_over_http_without_listing() {
    let s = published(LocalAws::moto());
    let base = format!("{}/releases/v1/", s.server.endpoint);
    // Private, the bucket answers an anonymous GET with 403: the release is not there to a user.
    let out = verify(&s, &base, &[]);
    assert_rejects(&out, &[&format!("{base}SHA256SUMS")], "missing (HTTP 403)");
    s.server.seed(&["public-read", "releases"], b"");
    let out = verify(&s, &base, &[]);
    assert_verifies(&out);
    assert!(stdout(&out).contains("extra objects cannot be listed over HTTP(S)"), "{}", stdout(&out));
    // A stale object cannot be seen, but a changed one can.
    s.server.seed(&["put-object", "releases", "v1/stale.bin"], b"stale");
    assert_verifies(&verify(&s, &base, &[]));
    s.server.seed(&["rewrite", "releases", "v1/agent v1.0.tar", "--swap"], b"");
    assert_rejects(&verify(&s, &base, &[]), &[&format!("{base}agent%20v1.0.tar")], "BAD signature");
    s.server.seed(&["delete", "releases", "v1/SHA256SUMS.asc"], b"");
    let out = verify(&s, &base, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains(&format!("FAIL  {base}SHA256SUMS.asc: missing (HTTP 404)")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_release_that_cannot_be_read_is_a_remote_failure_not_a_verdict() {
    let s = published(LocalAws::s3s_fs());
    let out = verify(&s, "s3://no-such-bucket/v1/", &[]);
    assert_fails(&out, 5, "bucket no-such-bucket does not exist");
    let out = verify(&s, "s3://Bad_Bucket/v1/", &[]);
    assert_fails(&out, 2, "not a valid S3 bucket name");
    // A prefix with nothing published: no checksum list, nothing verified.
    let out = verify(&s, "s3://releases/v2/", &[]);
    assert_rejects(&out, &["s3://releases/v2/SHA256SUMS"], "missing");
}
