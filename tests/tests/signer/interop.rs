//! Every key shape users have signs artifacts that gpg and sqv accept; signatures GnuPG
//! makes verify with `signer verify`; tampering is caught with the right reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::keys::{keys, KeyFile};
use relsign_tests::*;

use crate::sign_with;

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// Signs a release-shaped folder and checks the result with gpg, sqv, sha256sum and
/// `signer verify`.
fn signs_for_every_verifier(key: &KeyFile) -> String {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = sign_with(key, work.path(), &[&dist], &out, &[]);
    assert!(res.status.success(), "{}: {:?}", key.label, stderr_lines(&res));

    let cert = std::fs::read(&key.public).unwrap();
    let m = manifest(&out);
    let artifacts = m["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 4);
    let mut signed: Vec<String> = artifacts.iter().map(|a| a["path"].as_str().unwrap().to_string()).collect();
    signed.push("SHA256SUMS".into());
    for name in &signed {
        let file = out.join(name);
        let sig = out.join(format!("{name}.asc"));
        let (ok, log) = GnuPg::verifies_with(&cert, &sig, &file);
        assert!(ok, "{}: gpg rejects {name}: {log}", key.label);
        assert!(log.contains("Good signature"), "{log}");
        assert!(sqv_accepts(&key.public, &sig, &file), "{}: sqv rejects {name}", key.label);
    }
    assert!(sha256sum_check(&out), "{}: sha256sum -c fails", key.label);
    let v = TestCommand::signer()
        .args(["verify", "--cert", key.public.to_str().unwrap(), out.to_str().unwrap()])
        .output();
    assert!(v.status.success(), "{}: signer verify: {}", key.label, stdout(&v));
    assert!(stdout(&v).contains("6 files checked, 0 failed"), "{}", stdout(&v));
    m["signer"]["fingerprint"].as_str().unwrap().to_string()
}

#[test]
fn rsa4096_with_passphrase_signs_for_gpg_and_sqv() {
    let k = &keys().rsa4096;
    assert_eq!(signs_for_every_verifier(k), k.fingerprint, "the RSA primary signs");
}

#[test]
fn default_shape_signs_with_its_signing_subkey() {
    let k = &keys().default_shape;
    assert_ne!(signs_for_every_verifier(k), k.fingerprint, "a cert-only primary must not sign");
}

#[test]
fn unprotected_ed25519_signs() {
    signs_for_every_verifier(&keys().ed25519);
}

#[test]
fn nist_p256_signs() {
    signs_for_every_verifier(&keys().p256);
}

#[test]
fn expired_subkey_is_passed_over_for_the_valid_one() {
    let k = &keys().expired_subkey;
    let used = signs_for_every_verifier(k);
    let listing = GnuPg::new().ok(&["--with-colons", "--show-keys", k.public.to_str().unwrap()], b"");
    let listing = String::from_utf8(listing).unwrap();
    // `sub` records carry the validity ('e' = expired); the next `fpr` is that subkey's.
    let mut expired = Vec::new();
    let mut lines = listing.lines().peekable();
    while let Some(l) = lines.next() {
        if l.starts_with("sub:e:") {
            if let Some(f) = lines.peek().and_then(|f| f.strip_prefix("fpr:")) {
                expired.push(f.trim_matches(':').to_string());
            }
        }
    }
    assert_eq!(expired.len(), 1, "{listing}");
    assert_ne!(used, expired[0]);
    assert_ne!(used, k.fingerprint);
}

#[test]
fn export_secret_subkeys_stub_primary_signs_with_the_subkey() {
    let k = &keys().stub_primary;
    assert_ne!(signs_for_every_verifier(k), k.fingerprint);
}

#[test]
fn signatures_made_by_gpg_verify_with_signer() {
    for k in [&keys().rsa4096, &keys().default_shape, &keys().p256, &keys().ed25519] {
        let g = GnuPg::new();
        g.ok(&["--import", k.secret.to_str().unwrap()], b"");
        let work = tempfile::tempdir().unwrap();
        let file = work.path().join("gpg made ü.tar");
        std::fs::write(&file, b"payload signed by GnuPG").unwrap();
        let sig = g.detach_sign(&k.fingerprint, &file, k.passphrase);
        for target in [&file, &sig] {
            let v = TestCommand::signer()
                .args(["verify", "--cert", k.public.to_str().unwrap(), target.to_str().unwrap()])
                .output();
            assert!(v.status.success(), "{}: {} {:?}", k.label, stdout(&v), stderr_lines(&v));
        }
        let v = TestCommand::signer()
            .args(["verify", "--cert", k.public.to_str().unwrap(), work.path().to_str().unwrap()])
            .output();
        assert!(v.status.success(), "{}: folder: {}", k.label, stdout(&v));
    }
}

/// A signed folder to tamper with.
fn signed_folder() -> (tempfile::TempDir, PathBuf) {
    let k = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    assert!(sign_with(k, work.path(), &[&dist], &out, &[]).status.success());
    (work, out)
}

fn verify(cert: &Path, target: &Path) -> Output {
    TestCommand::signer()
        .args(["verify", "--cert", cert.to_str().unwrap(), target.to_str().unwrap()])
        .output()
}

#[test]
fn tampered_artifact_fails_with_bad_signature() {
    let (_w, out) = signed_folder();
    let file = out.join("agent v1.0.tar");
    // Break the hard link first so the input stays intact, then change one byte.
    let mut bytes = std::fs::read(&file).unwrap();
    std::fs::remove_file(&file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let v = verify(&keys().ed25519.public, &file);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("BAD signature"), "{}", stdout(&v));
    let v = verify(&keys().ed25519.public, &out);
    assert_eq!(v.status.code(), Some(1));
    let text = stdout(&v);
    assert!(text.contains("FAIL") && text.contains("agent v1.0.tar"), "{text}");
}

#[test]
fn tampered_signature_fails() {
    let (_w, out) = signed_folder();
    let sig = out.join("scripts/install.sh.asc");
    let text = std::fs::read_to_string(&sig).unwrap();
    // Flip a character in the base64 body (not the header or the checksum line).
    let lines: Vec<&str> = text.lines().collect();
    let body = lines.iter().position(|l| l.is_empty()).unwrap() + 1;
    let mut changed: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    let c = changed[body].remove(10);
    changed[body].insert(10, if c == 'A' { 'B' } else { 'A' });
    std::fs::write(&sig, changed.join("\n") + "\n").unwrap();
    let v = verify(&keys().ed25519.public, &out.join("scripts/install.sh"));
    assert_eq!(v.status.code(), Some(1), "{}", stdout(&v));
    assert!(stdout(&v).contains("FAIL"), "{}", stdout(&v));
}

#[test]
fn wrong_certificate_names_the_unknown_key() {
    let (_w, out) = signed_folder();
    let v = verify(&keys().p256.public, &out);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("which no --cert holds"), "{}", stdout(&v));
    let v = TestCommand::signer()
        .args(["verify", "--json", "--cert", keys().p256.public.to_str().unwrap(), out.to_str().unwrap()])
        .output();
    assert_eq!(v.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(report["ok"], false);
    let files = report["files"].as_array().unwrap();
    assert!(files.iter().all(|f| f["ok"] == false && f["problem"].as_str().is_some()), "{report}");
}

#[test]
fn folder_with_an_unsigned_or_unlisted_file_fails() {
    let (_w, out) = signed_folder();
    std::fs::write(out.join("smuggled.bin"), b"not signed").unwrap();
    let v = verify(&keys().ed25519.public, &out);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("smuggled.bin: no signature"), "{}", stdout(&v));

    let (_w, out) = signed_folder();
    std::fs::remove_file(out.join("nested/deeper/empty.bin")).unwrap();
    std::fs::remove_file(out.join("nested/deeper/empty.bin.asc")).unwrap();
    let v = verify(&keys().ed25519.public, &out);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("listed in SHA256SUMS but missing"), "{}", stdout(&v));
}

#[test]
fn sha256sums_path_checks_signature_and_every_digest() {
    let (_w, out) = signed_folder();
    let sums = out.join("SHA256SUMS");
    assert!(verify(&keys().ed25519.public, &sums).status.success());
    std::fs::remove_file(out.join("ünïcödé-paket_1.0_arm64.deb")).unwrap();
    std::fs::write(out.join("ünïcödé-paket_1.0_arm64.deb"), b"other").unwrap();
    let v = verify(&keys().ed25519.public, &sums);
    assert_eq!(v.status.code(), Some(1));
    assert!(stdout(&v).contains("differs from SHA256SUMS"), "{}", stdout(&v));
}

#[test]
fn json_summary_and_environment_configuration() {
    let k = &keys().rsa4096;
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = TestCommand::signer()
        .args(["sign", dist.to_str().unwrap()])
        .envs(&[
            ("SIGNER_KEY_FILE", k.secret.to_str().unwrap()),
            ("PASSPHRASE", PASSPHRASE),
            ("SIGNER_OUT", out.to_str().unwrap()),
            ("SIGNER_JSON", "1"),
            ("SIGNER_JOBS", "3"),
        ])
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(summary["artifacts"].as_array().unwrap().len(), 4);
    assert_eq!(summary["signer"]["fingerprint"], k.fingerprint.as_str());
    let sums = std::fs::read(out.join("SHA256SUMS")).unwrap();
    let digest = Command::new("sha256sum").arg(out.join("SHA256SUMS")).output().unwrap();
    assert!(String::from_utf8_lossy(&digest.stdout).starts_with(summary["sha256sums"].as_str().unwrap()));
    assert!(!sums.is_empty());
}

#[test]
fn export_cert_prints_what_gpg_verifies_with() {
    let k = &keys().default_shape;
    let res = TestCommand::signer().args(["export-cert", "--key-file", k.secret.to_str().unwrap()]).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(stdout(&res).starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!stdout(&res).contains("PRIVATE"));
    let (_w, out) = {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        sample_tree(&dist);
        let out = work.path().join("signed");
        assert!(sign_with(k, work.path(), &[&dist], &out, &[]).status.success());
        (work, out)
    };
    let (ok, log) = GnuPg::verifies_with(&res.stdout, &out.join("SHA256SUMS.asc"), &out.join("SHA256SUMS"));
    assert!(ok, "{log}");
}

#[test]
fn two_keys_in_one_file_sign_with_the_one_named() {
    let k = keys();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = TestCommand::signer()
        .args([
            "sign",
            "--key-file",
            k.two_certs.to_str().unwrap(),
            "--signing-key",
            &k.ed25519.fingerprint,
            "--out",
            out.to_str().unwrap(),
            dist.to_str().unwrap(),
        ])
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(verify(&k.ed25519.public, &out).status.success());
}

#[test]
fn names_with_spaces_and_non_ascii_sign_as_single_files() {
    let k = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let a = work.path().join("a b ç.tar");
    let b = work.path().join("日本語.rpm");
    std::fs::write(&a, b"a").unwrap();
    std::fs::write(&b, b"b").unwrap();
    let out = work.path().join("out dir");
    let res = sign_with(k, work.path(), &[&a, &b], &out, &[]);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(out.join("a b ç.tar.asc").is_file() && out.join("日本語.rpm.asc").is_file());
    assert!(sha256sum_check(&out));
    let (ok, log) = GnuPg::verifies_with(
        &std::fs::read(&k.public).unwrap(),
        &out.join("日本語.rpm.asc"),
        &out.join("日本語.rpm"),
    );
    assert!(ok, "{log}");
}
