//! Seals that never lie. Replacing a sealed release voids its seal first (a conditional
//! write), so the bucket never shows the old seal over new files, checked at the moment
//! between by holding the new seal at a proxy; a bucket that refuses replacement says why.
//! A claim left unsealed by a run killed with SIGKILL is taken over once its lease has run
//! out; a live run renews its lease and still wins. GnuPG judges every published release.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::quick_key;
use relsign_tests::local_aws::{aws_env, LocalAws};
use relsign_tests::proxy::{Fault, Proxy};
use relsign_tests::*;

use super::guarantees::{assert_published, path_of, signed_twice, upstream};

/// Two signings of one release (their manifests differ), A published under `prefix`.
struct Two {
    server: LocalAws,
    work: tempfile::TempDir,
    a: std::path::PathBuf,
    b: std::path::PathBuf,
}

fn two_signings(publish_a: Option<&str>) -> Two {
    let server = LocalAws::moto();
    server.make_bucket("releases");
    let work = tempfile::tempdir().unwrap();
    let (a, b) = signed_twice(work.path());
    if let Some(prefix) = publish_a {
        copier(&a, prefix, &server.env(), &[]).expect_ok();
    }
    Two { server, work, a, b }
}

fn copier(from: &Path, prefix: &str, env: &[(String, String)], extra: &[&str]) -> TestCommand {
    let mut cmd = TestCommand::copier();
    cmd.args(["--from", from.to_str().unwrap(), "--to", &format!("s3://releases/{prefix}"), "--path-style"])
        .args(extra)
        .envs(env);
    cmd
}

/// Waits until `done` holds, for at most a minute.
fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn overwrite_voids_the_seal_before_it_replaces_a_sealed_release() {
    let t = two_signings(Some("o"));
    let new_seal = std::fs::read(t.b.join("SHA256SUMS.asc")).unwrap();
    let old_seal = std::fs::read(t.a.join("SHA256SUMS.asc")).unwrap();
    // The new seal (known by its length) held at the proxy: the moment between.
    let len = new_seal.len();
    let proxy = Proxy::start(&upstream(&t.server), move |req, _| {
        if req.method == "PUT" && path_of(req).ends_with("/SHA256SUMS.asc") && req.body_len == len {
            Fault::Delay(Duration::from_secs(4))
        } else {
            Fault::Pass
        }
    });
    let env = aws_env(&proxy.endpoint, t.work.path());
    let child = copier(&t.b, "o", &env, &["--overwrite"]).spawn();
    wait_for("the new seal to reach the proxy", || proxy.faults.load(Ordering::SeqCst) > 0);
    let between = t.work.path().join("between");
    t.server.get_tree("releases", "o/", &between);
    let seal = std::fs::read(between.join("SHA256SUMS.asc")).unwrap();
    assert_ne!(seal, old_seal, "the old seal stands over the new files");
    assert_eq!(
        std::fs::read(between.join("SHA256SUMS")).unwrap(),
        std::fs::read(t.b.join("SHA256SUMS")).unwrap()
    );
    let cert = std::fs::read(&quick_key().public).unwrap();
    let (ok, _) = GnuPg::verifies_with(&cert, &between.join("SHA256SUMS.asc"), &between.join("SHA256SUMS"));
    assert!(!ok, "gpg accepts a seal over a release being replaced");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    assert_published(&t.server, "o", &t.b, t.work.path());
}

#[test]
fn a_bucket_that_refuses_replacement_keeps_the_sealed_release_and_says_why() {
    let t = two_signings(Some("w"));
    // What a write-once bucket policy answers to the copy role's conditional overwrite.
    let proxy = Proxy::start(&upstream(&t.server), |req, _| {
        if req.method == "PUT" && path_of(req).ends_with("/SHA256SUMS.asc") {
            Fault::Status(403, "AccessDenied")
        } else {
            Fault::Pass
        }
    });
    let env = aws_env(&proxy.endpoint, t.work.path());
    copier(&t.b, "w", &env, &["--overwrite"])
        .expect_fails(6, "its policy allows only new objects (write-once)");
    assert_published(&t.server, "w", &t.a, t.work.path());
    // Without --overwrite: a sealed release, told apart from an unsealed leftover.
    copier(&t.b, "w", &t.server.env(), &[]).expect_fails(6, "holds a sealed release of another signing");
}

#[test]
fn a_claim_left_by_a_killed_run_is_taken_over_once_its_lease_runs_out() {
    let t = two_signings(None);
    // Everything after the claim is held, so the run is killed between claim and seal.
    let proxy = Proxy::start(&upstream(&t.server), |req, _| {
        if req.method == "PUT" && !path_of(req).ends_with("/SHA256SUMS") {
            Fault::Stall(Duration::from_secs(60))
        } else {
            Fault::Pass
        }
    });
    let env = aws_env(&proxy.endpoint, t.work.path());
    let lease = ["--claim-lease", "3"];
    let child = copier(&t.a, "k", &env, &lease).env("CODEBUILD_BUILD_ID", "copy-a:1").spawn();
    wait_for("the claim", || t.server.keys("releases", "k/").contains(&"k/SHA256SUMS".to_string()));
    // SAFETY: our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) }, 0);
    let _ = child.wait_with_output();
    // A new signing of the same commit: while the lease lasts, the leftover is named as
    // such (not as a sealed release); once it has run out, the new run takes over.
    let res =
        copier(&t.b, "k", &t.server.env(), &lease).expect_fails(6, "claimed by another signing, not sealed");
    assert!(stderr_lines(&res)[0].contains("by copy-a:1, claimed 20"), "{:?}", stderr_lines(&res));
    std::thread::sleep(Duration::from_secs(4));
    copier(&t.b, "k", &t.server.env(), &lease).expect_ok();
    assert_published(&t.server, "k", &t.b, t.work.path());
}

#[test]
fn a_live_run_renews_its_lease_and_another_signing_still_loses() {
    let t = two_signings(None);
    // A's uploads after its claim are held longer than its lease.
    let proxy = Proxy::start(&upstream(&t.server), |req, _| {
        if req.method == "PUT" && !path_of(req).ends_with("/SHA256SUMS") {
            Fault::Delay(Duration::from_secs(5))
        } else {
            Fault::Pass
        }
    });
    let env = aws_env(&proxy.endpoint, t.work.path());
    let lease = ["--claim-lease", "2"];
    let child = copier(&t.a, "live", &env, &lease).spawn();
    wait_for("the claim", || t.server.keys("releases", "live/").contains(&"live/SHA256SUMS".to_string()));
    std::thread::sleep(Duration::from_secs(3));
    copier(&t.b, "live", &t.server.env(), &lease).expect_fails(6, "claimed by another signing, not sealed");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", stderr_lines(&out));
    assert_published(&t.server, "live", &t.a, t.work.path());
}
