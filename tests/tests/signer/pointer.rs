//! `signer sign --release-version`: the version recorded in manifest.json, and the release
//! pointer (release-pointer.json) naming the version, the location and the SHA-256 of
//! SHA256SUMS, signed like every artifact. gpg judges the pointer's signature, sha256sum the
//! digest it names; a version that is not SemVer is refused before anything is written.

use std::path::Path;
use std::process::Command;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::quick_key;
use relsign_tests::*;

use crate::sign_with;

/// `sha256sum`'s digest of `path`: the oracle for the digest the pointer names.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().split_whitespace().next().unwrap().to_string()
}

#[test]
fn a_release_version_is_recorded_and_its_pointer_signed() {
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = sign_with(
        k,
        work.path(),
        &[&dist],
        &out,
        &["--release-version", "1.10.0", "--release-location", "abc123"],
    );
    assert!(res.status.success(), "{:?}", stderr_lines(&res));

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["release_version"], "1.10.0");
    let pointer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("release-pointer.json")).unwrap()).unwrap();
    assert_eq!(pointer["schema"], "relsign-pointer/1");
    assert_eq!(pointer["version"], "1.10.0");
    assert_eq!(pointer["release"], "abc123/");
    assert_eq!(pointer["sha256sums"], sha256sum(&out.join("SHA256SUMS")).as_str());
    let cert = std::fs::read(&k.public).unwrap();
    let (ok, log) =
        GnuPg::verifies_with(&cert, &out.join("release-pointer.json.asc"), &out.join("release-pointer.json"));
    assert!(ok, "{log}");
    // Not listed in SHA256SUMS (it names the list's digest), yet the folder verifies.
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    assert!(!sums.contains("release-pointer"), "{sums}");
    TestCommand::signer()
        .arg("verify")
        .arg("--cert")
        .arg(&k.public)
        .arg("--require-sums")
        .arg(&out)
        .expect_ok();

    // Another release's pointer (signed by the same key) in this folder is refused.
    let other = work.path().join("other");
    std::fs::write(dist.join("extra.bin"), b"another release").unwrap();
    let res = sign_with(k, work.path(), &[&dist], &other, &["--release-version", "1.11.0"]);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    for name in ["release-pointer.json", "release-pointer.json.asc"] {
        std::fs::copy(other.join(name), out.join(name)).unwrap();
    }
    let res = TestCommand::signer().arg("verify").arg("--cert").arg(&k.public).arg(&out).output();
    assert_eq!(res.status.code(), Some(1), "{:?}", stderr_lines(&res));
    let stdout = String::from_utf8_lossy(&res.stdout);
    assert!(stdout.contains("names the SHA256SUMS of another release"), "{stdout}");
    // Its default location is the version.
    let pointer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(other.join("release-pointer.json")).unwrap()).unwrap();
    assert_eq!(pointer["release"], "1.11.0/");
}

#[test]
fn a_version_that_is_not_semver_is_refused_before_anything_is_written() {
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    for bad in ["v1.4.0", "1.4", "latest"] {
        let res = sign_with(k, work.path(), &[&dist], &out, &["--release-version", bad]);
        assert_fails(&res, 2, "is not a semantic version");
        assert!(!out.exists());
    }
    let res = sign_with(
        k,
        work.path(),
        &[&dist],
        &out,
        &["--release-version", "1.4.0", "--release-location", "../up"],
    );
    assert_fails(&res, 2, "release location \"../up\"");
    assert!(!out.exists());
}

fn copy_dir(from: &Path, to: &Path) {
    assert!(Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap().success());
}

/// `signer verify latest.json`: the pointer against its .asc, then the release it names,
/// found from the pointer's folder; a pointer in front of another release fails (exit 1).
#[test]
fn verify_checks_a_pointer_and_the_release_it_names() {
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let signed = work.path().join("signed");
    let res = sign_with(
        k,
        work.path(),
        &[&dist],
        &signed,
        &["--release-version", "1.4.0", "--release-location", "abc123"],
    );
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let published = work.path().join("published");
    std::fs::create_dir(&published).unwrap();
    std::fs::copy(signed.join("release-pointer.json"), published.join("latest.json")).unwrap();
    std::fs::copy(signed.join("release-pointer.json.asc"), published.join("latest.json.asc")).unwrap();
    copy_dir(&signed, &published.join("abc123"));
    let pointer = published.join("latest.json");
    let out = TestCommand::signer().arg("verify").arg("--cert").arg(&k.public).arg(&pointer).expect_ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("OK    release 1.4.0 named by"), "{stdout}");
    assert!(stdout.contains("abc123/SHA256SUMS"), "{stdout}");

    // Another release of the same key where the pointer says this one is.
    std::fs::write(dist.join("extra.bin"), b"another release").unwrap();
    let other = work.path().join("other");
    assert!(sign_with(k, work.path(), &[&dist], &other, &[]).status.success());
    std::fs::remove_dir_all(published.join("abc123")).unwrap();
    copy_dir(&other, &published.join("abc123"));
    let res = TestCommand::signer().arg("verify").arg("--cert").arg(&k.public).arg(&pointer).output();
    assert_eq!(res.status.code(), Some(1), "{:?}", stderr_lines(&res));
    assert!(String::from_utf8_lossy(&res.stdout).contains("the pointer is for another release"));

    // The pointer changed by one byte: gpg and signer both refuse it.
    copy_dir(&signed, &published.join("good"));
    let mut bytes = std::fs::read(&pointer).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&pointer, &bytes).unwrap();
    let cert = std::fs::read(&k.public).unwrap();
    assert!(!GnuPg::verifies_with(&cert, &published.join("latest.json.asc"), &pointer).0);
    let res = TestCommand::signer().arg("verify").arg("--cert").arg(&k.public).arg(&pointer).output();
    assert_eq!(res.status.code(), Some(1), "{:?}", stderr_lines(&res));
}
