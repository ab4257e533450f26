//! Keys held in AWS KMS: moto's KMS (corrected to sign a DIGEST message as given, by
//! tests/moto/kms_digest_server.py) through the real SDK, and every signature judged by gpg,
//! gpgv and sqv given only the certificate `signer kms-cert` made.

use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use relsign_tests::gpg::GnuPg;
use relsign_tests::implementations::{Check, Verifier};
use relsign_tests::local_aws::{aws_env, free_port, LocalAws};
use relsign_tests::proxy::{Edit, Fault, Proxy, Rewrite};
use relsign_tests::*;

fn kms() -> &'static LocalAws {
    static KMS: OnceLock<LocalAws> = OnceLock::new();
    KMS.get_or_init(|| LocalAws::moto_kms_with(&[]))
}

fn with(mut env: Vec<(String, String)>, more: &[(&str, &str)]) -> Vec<(String, String)> {
    env.extend(more.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// The endpoint as `host:port`, for the fault proxy.
fn upstream(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").to_string()
}

/// `signer kms-cert` for `key`: the armored certificate.
fn kms_cert(key: &str, env: &[(String, String)]) -> Vec<u8> {
    let res = TestCommand::new("signer")
        .args([
            "kms-cert",
            "--kms-key-id",
            key,
            "--user-id",
            "Release Signing <release@example.org>",
            "--expires",
            "2y",
        ])
        .envs(env)
        .output();
    assert!(res.status.success(), "kms-cert {key}: {:?}", stderr_lines(&res));
    res.stdout
}

/// gpg's reading of a certificate in a fresh home: its fingerprint, and whether its user ID
/// carries a self-signature gpg checked good (`sig:!`).
fn gpg_reads_cert(cert: &[u8]) -> (String, bool) {
    let g = GnuPg::new();
    g.ok(&["--import"], cert);
    let listing = String::from_utf8(g.ok(&["--with-colons", "--check-signatures"], b"")).unwrap();
    let fpr = listing.lines().find(|l| l.starts_with("fpr:")).and_then(|l| l.split(':').nth(9)).unwrap();
    let good_self_sig = listing.lines().any(|l| l.starts_with("sig:!:"));
    (fpr.to_string(), good_self_sig && listing.contains("Release Signing <release@example.org>"))
}

fn sign_kms(key: &str, cert: Option<&Path>, dist: &Path, out: &Path, env: &[(String, String)]) -> Output {
    let mut args = vec!["sign", "--kms-key-id", key, "--out", out.to_str().unwrap()];
    if let Some(cert) = cert {
        args.extend(["--cert", cert.to_str().unwrap()]);
    }
    args.push(dist.to_str().unwrap());
    TestCommand::new("signer").args(&args).envs(env).output()
}

/// The test that the correction is needed and right, judged by Python `cryptography`: an
/// unpatched moto's DIGEST signature does not verify over the digest, the patched one does.
#[test]
fn moto_needs_and_gets_the_digest_correction() {
    let plain = LocalAws::moto();
    for spec in ["RSA_2048", "ECC_NIST_P256", "ECC_NIST_P384"] {
        let verdict = |m: &LocalAws| stdout(&m.seed(&["kms-digest-verifies", spec], b"")).trim().to_string();
        assert_eq!(verdict(&plain), "invalid", "{spec}: unpatched moto signs the digest as given");
        assert_eq!(verdict(kms()), "valid", "{spec}: the patched moto does not");
    }
}

/// kms-cert, then sign: gpg (fresh home, only the certificate), gpgv and sqv accept every
/// signature; the certificate's self-signature is good; `signer verify` agrees; two runs
/// give one fingerprint; one Sign per artifact and one for SHA256SUMS, and no Secrets
/// Manager call at all.
#[test]
fn every_key_spec_signs_for_gpg_gpgv_and_sqv() {
    let m = kms();
    for spec in ["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384"] {
        let arn = m.kms_key(spec, "SIGN_VERIFY");
        let alias = format!("relsign-{}", spec.to_lowercase().replace('_', "-"));
        m.seed(&["kms-alias", &alias, &arn], b"");
        let alias = format!("alias/{alias}");
        let work = tempfile::tempdir().unwrap();
        let cert = kms_cert(&alias, &m.env());
        let again = kms_cert(&arn, &m.env());
        let (fpr, self_sig_good) = gpg_reads_cert(&cert);
        assert!(self_sig_good, "{spec}: gpg does not check the self-signature good");
        assert_eq!(gpg_reads_cert(&again).0, fpr, "{spec}: two runs, two fingerprints");
        let cert_path = work.path().join("public.asc");
        std::fs::write(&cert_path, &cert).unwrap();

        let dist = work.path().join("dist");
        sample_tree(&dist);
        let out = work.path().join("signed");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let proxy = Proxy::start(&upstream(&m.endpoint), move |s, _| {
            log.lock().unwrap().push(s.amz_target.clone().unwrap_or_default());
            Fault::Pass
        });
        // The pipeline's Secrets Manager variable is set too, and must not be read.
        let env = with(
            aws_env(&proxy.endpoint, work.path()),
            &[("PRIVATE_KEY_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:release-key")],
        );
        let res = sign_kms(&arn, Some(&cert_path), &dist, &out, &env);
        assert!(res.status.success(), "{spec}: {:?}", stderr_lines(&res));
        let targets = seen.lock().unwrap().clone();
        let signs = targets.iter().filter(|t| t.as_str() == "TrentService.Sign").count();
        assert_eq!(signs, 4 + 1, "{spec}: one Sign per artifact and one for SHA256SUMS: {targets:?}");
        assert!(!targets.iter().any(|t| t.starts_with("secretsmanager")), "{spec}: {targets:?}");

        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["signer"]["fingerprint"], fpr.as_str(), "{spec}");
        assert_eq!(manifest["signer"]["user_id"], "Release Signing <release@example.org>", "{spec}");
        let mut checks: Vec<Check> = manifest["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["path"].as_str().unwrap())
            .chain(["SHA256SUMS"])
            .map(|name| Check {
                cert: cert_path.clone(),
                sig: out.join(format!("{name}.asc")),
                data: out.join(name),
            })
            .collect();
        checks.sort_by(|a, b| a.data.cmp(&b.data));
        for verifier in [Verifier::Gpg, Verifier::Gpgv, Verifier::Sqv] {
            let verdicts = verifier.verify(&checks);
            for (check, verdict) in checks.iter().zip(&verdicts) {
                assert!(
                    verdict.is_ok(),
                    "{spec}: {} rejects {}: {verdict:?}",
                    verifier.name(),
                    check.sig.display()
                );
            }
            eprintln!("{spec}: {} accepts all {} signatures", verifier.name(), verdicts.len());
        }
        assert!(sha256sum_check(&out), "{spec}");
        let v = TestCommand::signer()
            .args(["verify", "--cert", cert_path.to_str().unwrap(), out.to_str().unwrap()])
            .output();
        assert!(stdout(&v).contains("6 files checked, 0 failed"), "{spec}: {}", stdout(&v));
    }
}

/// One clear line, the documented code, and nothing in --out.
fn assert_refused(res: &Output, out: &Path, code: i32, says: &str) {
    assert_fails(res, code, says);
    assert!(!out.exists(), "{} was written", out.display());
    assert!(partial_leftovers(out.parent().unwrap()).is_empty());
}

#[test]
fn kms_key_errors_are_one_line_with_their_exit_code() {
    let m = kms();
    let disabled = m.kms_key("ECC_NIST_P384", "SIGN_VERIFY");
    m.seed(&["kms-disable", &disabled], b"");
    let deleted = m.kms_key("RSA_2048", "SIGN_VERIFY");
    m.seed(&["kms-schedule-deletion", &deleted], b"");
    let encrypt = m.kms_key("RSA_2048", "ENCRYPT_DECRYPT");
    let hmac = m.kms_key("HMAC_256", "GENERATE_VERIFY_MAC");
    let k1 = m.kms_key("ECC_SECG_P256K1", "SIGN_VERIFY");
    let other = m.kms_key("ECC_NIST_P256", "SIGN_VERIFY");
    let good = m.kms_key("ECC_NIST_P256", "SIGN_VERIFY");
    let work = tempfile::tempdir().unwrap();
    let other_cert = work.path().join("other.asc");
    std::fs::write(&other_cert, kms_cert(&other, &m.env())).unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let missing = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000";
    let cases: [(&str, Option<&Path>, i32, &str); 7] = [
        (missing, None, 5, "not found"),
        (&disabled, None, 4, "is disabled: enable it"),
        (&deleted, None, 4, "is pending deletion"),
        (&encrypt, None, 4, "RSA_2048 for ENCRYPT_DECRYPT"),
        (&hmac, None, 4, "HMAC_256 for GENERATE_VERIFY_MAC"),
        (&k1, None, 4, "ECC_SECG_P256K1 for SIGN_VERIFY"),
        (&good, Some(&other_cert), 4, "holds no certificate of key"),
    ];
    for (key, cert, code, says) in cases {
        let res = sign_kms(key, cert, &dist, &out, &m.env());
        eprintln!("{key} -> {:?}", stderr_lines(&res));
        assert_refused(&res, &out, code, says);
    }
    // Nothing listens there: fails quickly with the remote code.
    let dead = aws_env(&format!("http://127.0.0.1:{}", free_port()), work.path());
    let res = sign_kms(&good, None, &dist, &out, &with(dead, &[("SIGNER_MAX_ATTEMPTS", "1")]));
    assert_refused(&res, &out, 5, "cannot reach KMS");
    assert_readable(&res);
}

#[test]
fn access_denied_names_the_permission() {
    // moto checks IAM once its first N requests are done: the seeding below makes exactly
    // that many (the key, the user, its access key, and its policy).
    let m = LocalAws::moto_kms_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let key = m.kms_key("ECC_NIST_P256", "SIGN_VERIFY");
    let may_describe = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:DescribeKey", "kms:GetPublicKey"], "Resource": "*"}]});
    let creds = m.seed(&["deny-user", "--policy"], may_describe.to_string().as_bytes());
    let creds: serde_json::Value = serde_json::from_slice(&creds.stdout).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let env = with(
        m.env(),
        &[
            ("AWS_ACCESS_KEY_ID", creds["id"].as_str().unwrap()),
            ("AWS_SECRET_ACCESS_KEY", creds["secret"].as_str().unwrap()),
        ],
    );
    let res = sign_kms(&key, None, &dist, &out, &env);
    assert_refused(&res, &out, 5, "allow kms:Sign on this key");
    let check = TestCommand::new("signer")
        .args(["check", "--kms-key-id", &key, "--out", out.to_str().unwrap(), dist.to_str().unwrap()])
        .envs(&env)
        .output();
    assert_eq!(check.status.code(), Some(5), "{}", stdout(&check));
    assert!(stdout(&check).contains("ECC_NIST_P256 for SIGN_VERIFY, Enabled"), "{}", stdout(&check));
    assert!(stdout(&check).contains("kms:Sign"), "{}", stdout(&check));
}

#[test]
fn throttling_is_retried_and_the_run_completes() {
    let m = kms();
    let key = m.kms_key("RSA_2048", "SIGN_VERIFY");
    let work = tempfile::tempdir().unwrap();
    let cert = work.path().join("public.asc");
    std::fs::write(&cert, kms_cert(&key, &m.env())).unwrap();
    let throttled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = throttled.clone();
    let proxy = Proxy::start(&upstream(&m.endpoint), move |s, _| {
        let sign = s.amz_target.as_deref() == Some("TrentService.Sign");
        if sign && count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            Fault::Status(400, "ThrottlingException")
        } else {
            Fault::Pass
        }
    });
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = sign_kms(&key, Some(&cert), &dist, &out, &aws_env(&proxy.endpoint, work.path()));
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert_eq!(proxy.faults.load(std::sync::atomic::Ordering::SeqCst), 2, "two Sign calls throttled");
    let cert_bytes = std::fs::read(&cert).unwrap();
    for name in ["agent v1.0.tar", "SHA256SUMS"] {
        let (ok, log) = GnuPg::verifies_with(&cert_bytes, &out.join(format!("{name}.asc")), &out.join(name));
        assert!(ok, "{name}: {log}");
    }
}

#[test]
fn check_reports_the_key_and_proves_it_signs() {
    let m = kms();
    let key = m.kms_key("ECC_NIST_P384", "SIGN_VERIFY");
    let work = tempfile::tempdir().unwrap();
    let cert = kms_cert(&key, &m.env());
    let (fpr, _) = gpg_reads_cert(&cert);
    let cert_path = work.path().join("public.asc");
    std::fs::write(&cert_path, &cert).unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let args = [
        "check",
        "--kms-key-id",
        &key,
        "--cert",
        cert_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let res = TestCommand::new("signer")
        .args([&args[..], &[dist.to_str().unwrap()]].concat())
        .envs(&m.env())
        .output();
    assert_check_passed(
        &res,
        &[
            "ECC_NIST_P384 for SIGN_VERIFY, Enabled",
            "ECDSA P-384, signs over SHA-384 with ECDSA_SHA_384",
            &fpr,
            "this role may sign",
        ],
    );
    m.seed(&["kms-disable", &key], b"");
    let res = TestCommand::new("signer")
        .args([&args[..], &[dist.to_str().unwrap()]].concat())
        .envs(&m.env())
        .output();
    assert_eq!(res.status.code(), Some(4), "{}", stdout(&res));
    assert!(stdout(&res).contains("Disabled"), "{}", stdout(&res));
}

/// A KMS `Sign` answer with one byte of its signature flipped (the last: inside `s` for
/// ECDSA's DER, so it still parses).
fn flip_signature(answer: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut json: serde_json::Value = serde_json::from_slice(answer).expect("a JSON Sign answer");
    let mut signature = b64.decode(json["Signature"].as_str().expect("a Signature")).unwrap();
    *signature.last_mut().unwrap() ^= 0x01;
    json["Signature"] = b64.encode(signature).into();
    serde_json::to_vec(&json).unwrap()
}

/// A `Sign` request sent to the key `other` instead of the one asked for.
fn to_key(other: String) -> Edit {
    std::sync::Arc::new(move |request: &[u8]| {
        let mut json: serde_json::Value = serde_json::from_slice(request).expect("a JSON Sign request");
        json["KeyId"] = other.clone().into();
        serde_json::to_vec(&json).unwrap()
    })
}

/// A proxy to moto's KMS rewriting every `Sign` as `rewrite` says, and how many it did.
fn rewriting_proxy(rewrite: Rewrite) -> Proxy {
    Proxy::start(&upstream(&kms().endpoint), move |s, _| match s.amz_target.as_deref() {
        Some("TrentService.Sign") => Fault::Rewrite(rewrite.clone()),
        _ => Fault::Pass,
    })
}

/// `signer sign` through `proxy` (with and without `--cert`) exits 5 with one line naming an
/// artifact and the key, and writes nothing. Had it written a release (as it did before
/// signatures were checked), gpg, given only the certificate, judges what it wrote: the
/// test then fails with gpg's verdict.
fn refuses_changed_answers(spec: &str, key: &str, proxy: &Proxy, cert: &Path, fpr: &str) {
    for with_cert in [false, true] {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        sample_tree(&dist);
        let out = work.path().join("signed");
        let before = proxy.faults.load(std::sync::atomic::Ordering::SeqCst);
        let env = aws_env(&proxy.endpoint, work.path());
        let res = sign_kms(key, with_cert.then_some(cert), &dist, &out, &env);
        let rewritten = proxy.faults.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(rewritten >= 1, "{spec}: no Sign went through the proxy");
        if res.status.success() {
            let cert_bytes = std::fs::read(cert).unwrap();
            let verdicts: Vec<String> = ["agent v1.0.tar", "SHA256SUMS"]
                .iter()
                .map(|name| {
                    let sig = out.join(format!("{name}.asc"));
                    let (ok, log) = GnuPg::verifies_with(&cert_bytes, &sig, &out.join(name));
                    format!("{name}: gpg {}: {}", if ok { "accepts" } else { "REJECTS" }, log.trim())
                })
                .collect();
            panic!(
                "{spec} (--cert {with_cert}): signer wrote {} from changed KMS answers; {verdicts:#?}",
                out.display()
            );
        }
        let line = stderr_lines(&res).join("\n");
        eprintln!("{spec} (--cert {with_cert}): {line}");
        assert_refused(&res, &out, 5, "does not verify");
        assert!(line.contains(fpr), "{spec}: the key is not named: {line}");
        assert!(line.contains(dist.to_str().unwrap()), "{spec}: no artifact is named: {line}");
    }
}

#[test]
fn a_kms_answer_changed_on_the_way_is_never_written() {
    let m = kms();
    for spec in ["RSA_2048", "ECC_NIST_P256"] {
        let key = m.kms_key(spec, "SIGN_VERIFY");
        let work = tempfile::tempdir().unwrap();
        let cert = work.path().join("public.asc");
        std::fs::write(&cert, kms_cert(&key, &m.env())).unwrap();
        let fpr = gpg_reads_cert(&std::fs::read(&cert).unwrap()).0;
        let proxy =
            rewriting_proxy(Rewrite { request: None, response: Some(std::sync::Arc::new(flip_signature)) });
        refuses_changed_answers(spec, &key, &proxy, &cert, &fpr);

        // The certificate's own self-signature is checked too: nothing on stdout.
        let res = TestCommand::new("signer")
            .args(["kms-cert", "--kms-key-id", &key, "--user-id", "Release Signing <release@example.org>"])
            .envs(&aws_env(&proxy.endpoint, work.path()))
            .output();
        if res.status.success() {
            let (_, good) = gpg_reads_cert(&res.stdout);
            panic!("{spec}: kms-cert printed a certificate from a changed answer; gpg checks its self-signature good: {good}");
        }
        assert_fails(&res, 5, "self-signature");
        assert!(res.stdout.is_empty(), "{spec}: kms-cert printed something");
    }
}

#[test]
fn a_sign_sent_to_another_kms_key_is_never_written() {
    let m = kms();
    let key = m.kms_key("RSA_2048", "SIGN_VERIFY");
    let other = m.kms_key("RSA_2048", "SIGN_VERIFY");
    let work = tempfile::tempdir().unwrap();
    let cert = work.path().join("public.asc");
    std::fs::write(&cert, kms_cert(&key, &m.env())).unwrap();
    let fpr = gpg_reads_cert(&std::fs::read(&cert).unwrap()).0;
    let proxy = rewriting_proxy(Rewrite { request: Some(to_key(other)), response: None });
    refuses_changed_answers("RSA_2048 to another key", &key, &proxy, &cert, &fpr);
}
