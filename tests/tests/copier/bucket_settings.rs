//! Final buckets as regulated accounts set them up: S3 Object Lock (copier sets a retention on
//! every object it writes, and a locked object can be neither deleted nor overwritten), and
//! default encryption with a customer-managed KMS key. moto is the server (corrected for
//! Object Lock on multipart uploads, tests/moto/multipart_lock_server.py); boto3 judges what
//! the server keeps.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use crate::{pattern, sign};

/// What the bucket keeps of one object: its retention, whether its version can be deleted,
/// whether a new write of the key leaves the version's bytes.
fn lock_state(server: &LocalAws, bucket: &str, key: &str) -> serde_json::Value {
    let out = server.seed(&["lock-state", bucket, key], b"");
    assert!(out.status.success(), "lock-state {key}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn moto_needs_and_gets_the_multipart_lock_correction() {
    // Plain moto drops the lock given at CreateMultipartUpload: the object can be deleted.
    let plain = LocalAws::moto();
    plain.seed(&["make-bucket", "locked", "--object-lock"], b"");
    let out = plain.seed(&["multipart-locked", "locked"], b"");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        state["mode"],
        serde_json::Value::Null,
        "moto keeps the multipart lock now: drop the correction"
    );
    assert_eq!(state["delete"], "deleted");
    // The corrected server keeps it, as AWS does and as moto does for a PutObject.
    let corrected = LocalAws::moto_lock();
    corrected.seed(&["make-bucket", "locked", "--object-lock"], b"");
    let out = corrected.seed(&["multipart-locked", "locked"], b"");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(state["mode"], "COMPLIANCE", "{state}");
    assert!(state["delete"].as_str().unwrap().starts_with("refused"), "{state}");
    assert_eq!(state["kept"], true, "{state}");
}

/// A release of small files and one that goes up in parts.
fn release(dist: &Path) {
    sample_tree(dist);
    write_tree(dist, &[("big/image.img", pattern(6 << 20, 7).as_slice())]);
}

#[test]
fn every_object_copier_writes_is_locked_and_cannot_be_deleted_or_overwritten() {
    let server = LocalAws::moto_lock();
    server.seed(&["make-bucket", "releases", "--object-lock"], b"");
    let work = tempfile::tempdir().unwrap();
    release(&work.path().join("dist"));
    let signed = work.path().join("signed");
    sign(&work.path().join("dist"), &signed);
    let mut env = server.env();
    // Through the variables, as the release stack's Copy project sets them.
    env.push(("COPIER_OBJECT_LOCK_MODE".into(), "COMPLIANCE".into()));
    env.push(("COPIER_OBJECT_LOCK_DAYS".into(), "2".into()));
    let args = ["--from", signed.to_str().unwrap(), "--to", "s3://releases/v1", "--path-style"];
    let res = TestCommand::copier().arg("check").args(args).envs(&env).output();
    assert_check_passed(&res, &["has Object Lock", "COMPLIANCE", "2 day(s)"]);
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let res = TestCommand::copier()
        .args(args)
        .args(["--multipart-threshold", "5MiB", "--part-size", "5MiB", "--json"])
        .envs(&env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    let big = summary["files"].as_array().unwrap().iter().find(|f| f["name"] == "big/image.img").unwrap();
    assert_eq!(big["parts"], 2, "the big file must go up in parts: {big}");
    let keys = server.keys("releases", "v1/");
    assert_eq!(keys.len(), files_under(&signed).len());
    let two_days = 2.0 * 86_400.0;
    for key in &keys {
        let state = lock_state(&server, "releases", key);
        assert_eq!(state["mode"], "COMPLIANCE", "{key} is not locked: {state}");
        let until = state["until"].as_f64().unwrap();
        assert!(
            (until - started - two_days).abs() < 3600.0,
            "{key} is retained until {until}, not two days after {started}"
        );
        assert!(
            state["delete"].as_str().unwrap().starts_with("refused"),
            "{key}'s version was deleted: {state}"
        );
        assert_eq!(state["kept"], true, "{key}'s bytes changed under a new write: {state}");
    }
}

#[test]
fn a_retention_on_a_bucket_without_object_lock_is_refused_before_anything_is_written() {
    let server = LocalAws::moto_lock();
    server.make_bucket("releases");
    let work = tempfile::tempdir().unwrap();
    release(&work.path().join("dist"));
    let signed = work.path().join("signed");
    sign(&work.path().join("dist"), &signed);
    let base = ["--from", signed.to_str().unwrap(), "--to", "s3://releases/v1", "--path-style"];
    let lock = ["--object-lock-mode", "GOVERNANCE", "--object-lock-days", "30"];
    let res = TestCommand::copier().arg("check").args(base).args(lock).envs(&server.env()).output();
    assert_eq!(res.status.code(), Some(6), "{}{:?}", stdout(&res), stderr_lines(&res));
    assert!(stdout(&res).contains("has no S3 Object Lock"), "{}", stdout(&res));
    let res = TestCommand::copier().args(base).args(lock).envs(&server.env()).output();
    assert_fails(&res, 6, "has no S3 Object Lock");
    assert!(server.keys("releases", "").is_empty(), "objects written to a bucket that cannot lock them");
    assert_eq!(server.uploads("releases"), Some(0));
    // A mode without days, or a mode S3 does not know: usage errors.
    let res = TestCommand::copier()
        .args(base)
        .args(["--object-lock-mode", "GOVERNANCE"])
        .envs(&server.env())
        .output();
    assert_eq!(res.status.code(), Some(2), "{:?}", stderr_lines(&res));
    let res = TestCommand::copier()
        .args(base)
        .args(["--object-lock-mode", "FOREVER", "--object-lock-days", "1"])
        .envs(&server.env())
        .output();
    assert_eq!(res.status.code(), Some(2), "{:?}", stderr_lines(&res));
}

#[test]
fn copier_publishes_to_a_bucket_encrypted_with_a_customer_managed_kms_key() {
    let server = LocalAws::moto();
    let out = server.seed(&["make-bucket-kms", "releases"], b"");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let work = tempfile::tempdir().unwrap();
    release(&work.path().join("dist"));
    let signed = work.path().join("signed");
    sign(&work.path().join("dist"), &signed);
    let args = [
        "--from",
        signed.to_str().unwrap(),
        "--to",
        "s3://releases/v1",
        "--path-style",
        "--multipart-threshold",
        "5MiB",
        "--part-size",
        "5MiB",
        "--json",
    ];
    let res = TestCommand::copier().args(args).envs(&server.env()).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    for name in ["big/image.img", "SHA256SUMS.asc"] {
        let head: serde_json::Value =
            serde_json::from_slice(&server.seed(&["head", "releases", &format!("v1/{name}")], b"").stdout)
                .unwrap();
        assert_eq!(head["ServerSideEncryption"], "aws:kms", "{name}: {head}");
        assert_eq!(head["SSEKMSKeyId"], key.as_str(), "{name}: {head}");
    }
    let back = work.path().join("back");
    server.get_tree("releases", "v1/", &back);
    crate::assert_same_tree(&signed, &back);
    // A re-run finds every object identical (the SHA-256 S3 verified, not an MD5 ETag, which
    // SSE-KMS objects do not have).
    let res = TestCommand::copier().args(args).envs(&server.env()).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(summary["uploaded"], 0, "{summary}");
}
