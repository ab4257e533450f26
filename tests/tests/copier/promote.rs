//! `copier --promote`: the release pointer moves only forward in SemVer order, only from a
//! pointer that verifies, each write conditional on what was read, on moto and s3s-fs. The
//! bucket is read with boto3 (fixtures/aws.py), never with relsign, and gpg judges every
//! pointer left there against its .asc with the release certificate.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, quick_key, KeyFile};
use relsign_tests::local_aws::{aws_env, LocalAws};
use relsign_tests::proxy::{Fault, Proxy};
use relsign_tests::*;

use super::guarantees::{path_of, upstream};

pub(super) const POINTER: &str = "s3://releases/rel/latest.json";

pub(super) struct Bucket {
    pub(super) server: LocalAws,
    pub(super) work: tempfile::TempDir,
}

impl Bucket {
    pub(super) fn new(server: LocalAws) -> Bucket {
        server.make_bucket("releases");
        Bucket { server, work: tempfile::tempdir().unwrap() }
    }

    /// Signs a release of `version` with `key` (each version's manifest differs, and so its
    /// SHA256SUMS); its pointer names the folder `version/` beside rel/latest.json.
    pub(super) fn release(&self, version: &str, key: &KeyFile) -> PathBuf {
        let dist = self.work.path().join(format!("dist-{version}"));
        if !dist.exists() {
            sample_tree(&dist);
        }
        let out = self.work.path().join(format!("signed-{version}-{}", &key.fingerprint[..8]));
        TestCommand::sign(key, self.work.path())
            .args(["--release-version", version, "--out"])
            .arg(&out)
            .arg(&dist)
            .expect_ok();
        out
    }

    pub(super) fn copier(&self, signed: &Path, version: &str, extra: &[&str]) -> TestCommand {
        let mut c = TestCommand::copier();
        c.arg("--from")
            .arg(signed)
            .args(["--to", &format!("s3://releases/rel/{version}"), "--path-style", "--require-signatures"])
            .arg("--cert")
            .arg(&quick_key().public)
            .args(["--promote", POINTER])
            // Only the error: a refusal is then exactly one line.
            .args(["--log-level", "error"])
            .args(extra)
            .envs(&self.server.env());
        c
    }

    /// Publishes and promotes `version`, expecting success.
    pub(super) fn promote(&self, version: &str, extra: &[&str]) -> PathBuf {
        let signed = self.release(version, quick_key());
        self.copier(&signed, version, extra).expect_ok();
        signed
    }

    /// rel/latest.json and its .asc as boto3 reads them.
    pub(super) fn pointer(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        self.server.get_tree("releases", "rel/latest", dir.path());
        (std::fs::read(dir.path().join(".json")).ok(), std::fs::read(dir.path().join(".json.asc")).ok())
    }

    /// The version the pointer names, once gpg has verified it with the release certificate.
    fn verified_version(&self) -> String {
        let (json, sig) = self.pointer();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.json"), json.expect("a pointer")).unwrap();
        std::fs::write(dir.path().join("p.json.asc"), sig.expect("its signature")).unwrap();
        let cert = std::fs::read(&quick_key().public).unwrap();
        let (ok, log) =
            GnuPg::verifies_with(&cert, &dir.path().join("p.json.asc"), &dir.path().join("p.json"));
        assert!(ok, "gpg: {log}");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("p.json")).unwrap()).unwrap();
        v["version"].as_str().unwrap().to_string()
    }

    pub(super) fn put(&self, key: &str, bytes: &[u8]) {
        self.server.seed(&["put-object", "releases", key], bytes);
    }
}

fn forward_only(server: LocalAws) {
    let b = Bucket::new(server);
    b.promote("1.4.0", &[]);
    assert_eq!(b.verified_version(), "1.4.0");
    // SemVer order: 1.10.0 is newer than 1.4.0 (as text it would sort before it).
    b.promote("1.10.0", &[]);
    assert_eq!(b.verified_version(), "1.10.0");
    let before = b.pointer();

    // An older release is published, the pointer not moved: exit 7, one line.
    let older = b.release("1.9.0", quick_key());
    b.copier(&older, "1.9.0", &[])
        .expect_fails(7, "names 1.10.0 (a newer release), so it is not moved back to 1.9.0");
    assert_eq!(b.pointer(), before, "the pointer changed");
    assert!(b.server.keys("releases", "rel/1.9.0/").iter().any(|k| k.ends_with("SHA256SUMS.asc")));

    // A re-run of the release it names changes nothing and succeeds.
    let newest = b.work.path().join(format!("signed-1.10.0-{}", &quick_key().fingerprint[..8]));
    b.copier(&newest, "1.10.0", &[]).expect_ok();
    assert_eq!(b.pointer(), before);

    // --allow-rollback moves it back.
    b.copier(&older, "1.9.0", &["--allow-rollback"]).expect_ok();
    assert_eq!(b.verified_version(), "1.9.0");
}

#[test]
fn the_pointer_only_moves_forward_on_moto() {
    forward_only(LocalAws::moto());
}

#[test]
fn the_pointer_only_moves_forward_on_s3s_fs() {
    forward_only(LocalAws::s3s_fs());
}

fn forged(server: LocalAws) {
    let b = Bucket::new(server);
    let first = b.promote("1.4.0", &[]);
    let newer = b.release("1.10.0", quick_key());

    // One byte changed behind copier's back: refused, even with --allow-rollback.
    let mut json = std::fs::read(first.join("release-pointer.json")).unwrap();
    let at = json.iter().position(|&c| c == b'4').unwrap();
    json[at] = b'5';
    b.put("rel/latest.json", &json);
    let before = b.pointer();
    for extra in [&[][..], &["--allow-rollback"][..]] {
        b.copier(&newer, "1.10.0", extra).expect_fails(1, "does not verify with --cert");
        assert_eq!(b.pointer(), before, "the forged pointer was replaced");
    }

    // A pointer signed by another key: refused too.
    let other = b.release("9.0.0", &keys().ed25519);
    b.put("rel/latest.json", &std::fs::read(other.join("release-pointer.json")).unwrap());
    b.put("rel/latest.json.asc", &std::fs::read(other.join("release-pointer.json.asc")).unwrap());
    let before = b.pointer();
    b.copier(&newer, "1.10.0", &[]).expect_fails(1, "it may be forged");
    assert_eq!(b.pointer(), before);

    // The operator, knowing why, replaces it.
    b.copier(&newer, "1.10.0", &["--replace-unverified-pointer"]).expect_ok();
    assert_eq!(b.verified_version(), "1.10.0");
}

#[test]
fn a_forged_pointer_is_refused_on_moto() {
    forged(LocalAws::moto());
}

#[test]
fn a_forged_pointer_is_refused_on_s3s_fs() {
    forged(LocalAws::s3s_fs());
}

fn missing_signature(server: LocalAws) {
    let b = Bucket::new(server);
    // A run cut between its two writes: KEY there, KEY.asc not.
    let first = b.release("1.4.0", quick_key());
    b.put("rel/latest.json", &std::fs::read(first.join("release-pointer.json")).unwrap());
    let newer = b.release("1.10.0", quick_key());
    b.copier(&newer, "1.10.0", &[]).expect_fails(1, "latest.json.asc is missing");
    assert_eq!(b.pointer().1, None);
    // The same release again finishes its own promotion.
    b.copier(&first, "1.4.0", &[]).expect_ok();
    assert_eq!(b.verified_version(), "1.4.0");
    b.copier(&newer, "1.10.0", &[]).expect_ok();
    assert_eq!(b.verified_version(), "1.10.0");
}

#[test]
fn a_pointer_without_its_signature_is_refused_on_moto() {
    missing_signature(LocalAws::moto());
}

#[test]
fn a_pointer_without_its_signature_is_refused_on_s3s_fs() {
    missing_signature(LocalAws::s3s_fs());
}

/// Publishes 1.0.0 (promoted), 1.4.0 and 1.10.0 (not), for the races.
fn three_releases(b: &Bucket) -> (PathBuf, PathBuf, PathBuf) {
    let base = b.promote("1.0.0", &[]);
    let (old, new) = (b.release("1.4.0", quick_key()), b.release("1.10.0", quick_key()));
    // Published once, so that each race is the promotion alone.
    b.copier(&old, "1.4.0", &["--allow-rollback"]).expect_ok();
    b.copier(&new, "1.10.0", &["--allow-rollback"]).expect_ok();
    (base, old, new)
}

/// The interleaving forced: the older promotion reads 1.0.0 and decides, its write of the
/// pointer is held at a proxy while the newer promotion runs to the end, then arrives with
/// the ETag it read. Its condition fails, it reads again and refuses (exit 7): the pointer
/// ends at the newer, verified by gpg.
fn held_race(server: LocalAws) {
    let b = Bucket::new(server);
    let (base, old, new) = three_releases(&b);
    b.copier(&base, "1.0.0", &["--allow-rollback"]).expect_ok();
    let proxy = Proxy::start(&upstream(&b.server), |req, _| {
        if req.method == "PUT" && path_of(req).ends_with("/rel/latest.json") {
            Fault::Delay(Duration::from_secs(4))
        } else {
            Fault::Pass
        }
    });
    let mut held = b.copier(&old, "1.4.0", &[]);
    held.envs(&aws_env(&proxy.endpoint, b.work.path()));
    let held = held.spawn();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.faults.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the older promotion's write never reached the proxy");
        std::thread::sleep(Duration::from_millis(20));
    }
    b.copier(&new, "1.10.0", &[]).expect_ok();
    let out = held.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{:?}", stderr_lines(&out));
    assert_eq!(b.verified_version(), "1.10.0");
}

#[test]
fn a_promotion_that_loses_the_race_reads_again_on_moto() {
    held_race(LocalAws::moto());
}

#[test]
fn a_promotion_that_loses_the_race_reads_again_on_s3s_fs() {
    held_race(LocalAws::s3s_fs());
}

/// Two promotions at once, many times over: the pointer ends at the newer, verified by gpg;
/// the newer run succeeds, the older one succeeds (it went first) or exits 7. On moto only:
/// s3s-fs 0.14 checks If-Match and then writes, unlocked (src/s3.rs, put_object), so two
/// truly simultaneous conditional writes can both pass there, which S3 never lets happen;
/// the held race above covers s3s-fs.
#[test]
fn two_promotions_at_once_end_at_the_newer_on_moto() {
    let b = Bucket::new(LocalAws::moto());
    let (base, old, new) = three_releases(&b);
    for round in 0..8 {
        b.copier(&base, "1.0.0", &["--allow-rollback"]).expect_ok();
        assert_eq!(b.verified_version(), "1.0.0");
        let (first, second) = if round % 2 == 0 {
            ((&old, "1.4.0"), (&new, "1.10.0"))
        } else {
            ((&new, "1.10.0"), (&old, "1.4.0"))
        };
        let a = b.copier(first.0, first.1, &[]).spawn();
        let c = b.copier(second.0, second.1, &[]).spawn();
        let (a, c) = (a.wait_with_output().unwrap(), c.wait_with_output().unwrap());
        for (out, version) in [(&a, first.1), (&c, second.1)] {
            let code = out.status.code();
            let allowed = if version == "1.10.0" { vec![Some(0)] } else { vec![Some(0), Some(7)] };
            assert!(allowed.contains(&code), "round {round}, {version}: {code:?} {:?}", stderr_lines(out));
        }
        assert_eq!(b.verified_version(), "1.10.0", "round {round}");
    }
}
