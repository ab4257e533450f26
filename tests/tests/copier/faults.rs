//! Faults between copier and S3 (moto, which can list multipart uploads; s3s-fs cannot),
//! injected by a proxy on loopback: throttling, a server
//! error on a part, a connection reset mid-body, a stalled response, and kill -9 during a
//! multipart upload. Each fault is survived by the run it hits, through the SDK's retries
//! (counted at the proxy), and ends with a complete, correct release and no multipart upload
//! left behind; kill -9 ends with a clean re-run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use relsign_tests::keys::quick_key;
use relsign_tests::local_aws::{aws_env, LocalAws};
use relsign_tests::proxy::{Fault, Proxy, Seen};
use relsign_tests::*;

use super::{assert_same_tree, pattern, setup, Setup};

fn release(dist: &std::path::Path) {
    write_tree(
        dist,
        &[
            ("big.tar", &pattern(24 << 20, 7)[..]),
            ("small one.txt", b"small"),
            ("nested/ü.deb", &pattern(200_000, 8)[..]),
        ],
    );
}

fn args<'a>(s: &'a Setup, prefix: &'a str) -> Vec<String> {
    vec![
        "--from".into(),
        s.signed.display().to_string(),
        "--to".into(),
        format!("s3://releases/{prefix}"),
        "--path-style".into(),
        "--multipart-threshold".into(),
        "8MiB".into(),
        "--part-size".into(),
        "5MiB".into(),
        "--max-attempts".into(),
        "4".into(),
    ]
}

fn upstream(server: &LocalAws) -> String {
    server.endpoint.trim_start_matches("http://").to_string()
}

/// Runs copier through a proxy applying `rule`: the run must succeed through the faults, the
/// SDK having sent every failed request again, and leave a complete, correct release with
/// no multipart upload in progress.
fn survive(server: LocalAws, name: &str, rule: impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static) {
    let s = setup(server, release);
    let proxy = Proxy::start(&upstream(&s.server), rule);
    let through_proxy = aws_env(&proxy.endpoint, s.work.path());
    let mut a = args(&s, name);
    a.extend(["--read-timeout".into(), "2".into()]);
    TestCommand::copier().args(&a).envs(&through_proxy).expect_ok();
    let (retried, failed) = proxy.retried();
    assert!(failed > 0, "{name}: the fault was never injected");
    assert_eq!(retried, failed, "{name}: {failed} request(s) failed by the proxy, {retried} sent again");
    assert_eq!(s.server.uploads("releases"), Some(0), "{name}: multipart upload left behind");
    let back = s.work.path().join("back");
    s.server.get_tree("releases", &format!("{name}/"), &back);
    assert_same_tree(&s.signed, &back);
    TestCommand::signer()
        .args([
            "verify",
            "--cert",
            quick_key().public.to_str().unwrap(),
            "--require-sums",
            back.to_str().unwrap(),
        ])
        .expect_ok();
}

fn once(
    pred: impl Fn(&Seen) -> bool + Send + Sync + 'static,
    fault: Fault,
) -> impl Fn(&Seen, usize) -> Fault + Send + Sync + 'static {
    let fired = AtomicBool::new(false);
    move |seen, _| {
        if pred(seen) && !fired.swap(true, Ordering::SeqCst) {
            fault.clone()
        } else {
            Fault::Pass
        }
    }
}

#[test]
fn throttling_503_slowdown_backs_off_and_completes() {
    survive(LocalAws::moto(), "slowdown", |_, i| {
        if i % 3 == 1 && i < 40 {
            Fault::Status(503, "SlowDown")
        } else {
            Fault::Pass
        }
    });
}

#[test]
fn a_500_on_a_part_is_retried() {
    survive(
        LocalAws::moto(),
        "part500",
        once(|s| s.target.contains("partNumber=2"), Fault::Status(500, "InternalError")),
    );
}

#[test]
fn a_connection_reset_mid_body() {
    survive(
        LocalAws::moto(),
        "reset",
        once(|s| s.method == "PUT" && s.body_len > (1 << 20), Fault::ResetMidBody),
    );
}

#[test]
fn a_stalled_response() {
    survive(LocalAws::moto(), "stall", once(|s| s.method == "PUT", Fault::Stall(Duration::from_secs(6))));
}

#[test]
fn kill_9_during_a_multipart_upload_then_a_clean_rerun() {
    let s = setup(LocalAws::moto(), release);
    // Parts 1 and 2 go through; part 3 stalls, so the upload is certainly in progress.
    let proxy = Proxy::start(&upstream(&s.server), |seen, _| {
        if seen.target.contains("partNumber=3") {
            Fault::Stall(Duration::from_secs(60))
        } else {
            Fault::Pass
        }
    });
    let a = args(&s, "killed");
    let mut child = TestCommand::copier()
        .args(&a)
        .args(["--read-timeout", "120"])
        .envs(&aws_env(&proxy.endpoint, s.work.path()))
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.faults.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the multipart upload never reached part 3");
        assert!(child.try_wait().unwrap().is_none(), "copier ended before it was killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(s.server.uploads("releases") >= Some(1), "the killed run should leave its upload in progress");
    assert!(
        !s.server.keys("releases", "killed/").iter().any(|k| k.ends_with("SHA256SUMS.asc")),
        "a killed run must not look complete"
    );

    let res = TestCommand::copier().args(&a).envs(&s.env).expect_ok();
    assert!(
        stderr_lines(&res).iter().any(|l| l.contains("aborted 1 multipart upload")),
        "{:?}",
        stderr_lines(&res)
    );
    assert_eq!(s.server.uploads("releases"), Some(0));
    let back = s.work.path().join("back");
    s.server.get_tree("releases", "killed/", &back);
    assert_same_tree(&s.signed, &back);
}

#[test]
fn upload_order_makes_the_signed_checksum_list_the_last_word() {
    let s = setup(LocalAws::moto(), release);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String)>::new()));
    let log = seen.clone();
    let proxy = Proxy::start(&upstream(&s.server), move |req, _| {
        if req.method == "PUT" || req.method == "POST" {
            let path = req.target.split('?').next().unwrap_or("").to_string();
            log.lock().unwrap().push((req.method.clone(), path));
        }
        Fault::Pass
    });
    TestCommand::copier().args(args(&s, "order")).envs(&aws_env(&proxy.endpoint, s.work.path())).expect_ok();
    let writes = seen.lock().unwrap().clone();
    // The checksum list first (it claims the prefix for this signing), the list's
    // signature last (it seals the release); the rest in between, in any order.
    let rank = |path: &str| {
        if path.ends_with("SHA256SUMS.asc") {
            2
        } else if path.ends_with("SHA256SUMS") {
            0
        } else {
            1
        }
    };
    let ranks: Vec<u8> = writes.iter().map(|(_, p)| rank(p)).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "out of order: {writes:?}");
    assert_eq!(ranks.first(), Some(&0));
    assert_eq!(ranks.last(), Some(&2));
    assert_eq!(ranks.iter().filter(|r| **r == 2).count(), 1);
}

fn many_small(dist: &std::path::Path) {
    for i in 0..12 {
        write_tree(dist, &[(&format!("doc-{i:02}.html"), &pattern(1000 + i, i as u64)[..])]);
    }
}

/// Small files (at most 256 KiB) go under `--requests`, not `--jobs`: on S3 each is a
/// first-byte wait, not bytes. Every PUT is held 1 s at the proxy, so the PUTs that reach it
/// within 1 s of the first one after the claim were all in flight at once: exactly
/// `--requests` of them, though `--jobs` is 1.
#[test]
fn small_files_go_up_requests_at_a_time_not_jobs_at_a_time() {
    let s = setup(LocalAws::moto(), many_small);
    let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(Instant, String)>::new()));
    let log = arrivals.clone();
    let proxy = Proxy::start(&upstream(&s.server), move |req, _| {
        if req.method == "PUT" {
            log.lock().unwrap().push((Instant::now(), req.target.clone()));
            return Fault::Delay(Duration::from_secs(1));
        }
        Fault::Pass
    });
    let mut a = args(&s, "requests");
    a.extend(["--jobs", "1", "--requests", "4"].map(String::from));
    TestCommand::copier().args(&a).envs(&aws_env(&proxy.endpoint, s.work.path())).expect_ok();
    let seen = arrivals.lock().unwrap().clone();
    let release: Vec<Instant> = seen
        .iter()
        .filter(|(_, t)| !t.split('?').next().unwrap().contains("SHA256SUMS"))
        .map(|(at, _)| *at)
        .collect();
    assert!(release.len() >= 12, "{seen:?}");
    let first = *release.iter().min().unwrap();
    let together = release.iter().filter(|at| **at < first + Duration::from_millis(900)).count();
    assert_eq!(together, 4, "PUTs in flight at once: {seen:?}");
}
