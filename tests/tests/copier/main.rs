//! `copier` against two real S3 servers on loopback, moto and s3s-fs (which checks every
//! checksum), through the real AWS SDK: the release arrives byte for byte, a re-run uploads
//! nothing, differences are refused, the gate holds, and failures leave no orphan.

use std::path::{Path, PathBuf};

use relsign_tests::keys::{keys, quick_key};
use relsign_tests::local_aws::{aws_env, free_port, LocalAws};
use relsign_tests::*;

mod bucket_settings;
mod faults;
mod guarantees;
mod identity;
mod memory;
mod operator;
mod pointed;
mod promote;
mod published;
mod seals;

/// Signs `dist` into `out` with the quick key.
pub fn sign(dist: &Path, out: &Path) {
    sign_with_env(dist, out, &[]);
}

/// [`sign`] with extra environment for signer.
pub fn sign_with_env(dist: &Path, out: &Path, env: &[(&str, &str)]) {
    let work = out.parent().expect("out has a parent");
    TestCommand::sign(quick_key(), work).arg("--out").arg(out).arg(dist).envs(env).expect_ok();
}

/// Deterministic bytes (no two parts alike).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// 30 files: nested paths, spaces, non-ASCII names, an empty file and a 100 MiB file.
pub fn thirty_files(dist: &Path) {
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("big/disk image.img".into(), pattern(100 << 20, 1)),
        ("empty.bin".into(), Vec::new()),
        ("ünïcödé/日本語 パッケージ.deb".into(), pattern(3000, 2)),
        ("a b c/d e f/g h.tar".into(), pattern(70_000, 3)),
    ];
    for i in 0..26 {
        files.push((format!("dir{}/file {i}.bin", i % 4), pattern(1000 + i * 517, 10 + i as u64)));
    }
    for (name, content) in &files {
        write_tree(dist, &[(name.as_str(), content.as_slice())]);
    }
}

pub fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (files_under(a), files_under(b));
    assert_eq!(ta, tb);
    for f in &ta {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
}

pub struct Setup {
    pub server: LocalAws,
    pub work: tempfile::TempDir,
    pub signed: PathBuf,
    pub env: Vec<(String, String)>,
}

pub fn setup(server: LocalAws, make: fn(&Path)) -> Setup {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    make(&dist);
    let signed = work.path().join("signed");
    sign(&dist, &signed);
    server.make_bucket("releases");
    let env = server.env();
    Setup { server, work, signed, env }
}

fn small(dist: &Path) {
    relsign_tests::sample_tree(dist);
}

/// Whether the server lists a multipart object's parts with their SHA-256s (S3 does, and
/// moto as corrected by tests/moto/s3_object_parts.py; s3s-fs 0.14 does not), which is what
/// proves on a re-run that the object is the file.
fn round_trip(server: LocalAws, keeps_multipart_checksums: bool) {
    let s = setup(server, thirty_files);
    let cert = quick_key().public.to_str().unwrap().to_string();
    let args = [
        "--from",
        s.signed.to_str().unwrap(),
        "--to",
        "s3://releases/abc123",
        "--path-style",
        "--require-signatures",
        "--cert",
        &cert,
        "--multipart-threshold",
        "16MiB",
        "--part-size",
        "5MiB",
        "--json",
    ];
    let res = TestCommand::copier().args(args).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(summary["uploaded"], 30 + 30 + 3);
    let big =
        summary["files"].as_array().unwrap().iter().find(|f| f["name"] == "big/disk image.img").unwrap();
    assert_eq!(big["parts"], 20, "100 MiB in 5 MiB parts");

    let mut want: Vec<String> = files_under(&s.signed).iter().map(|f| format!("abc123/{f}")).collect();
    want.sort();
    assert_eq!(s.server.keys("releases", "abc123/"), want, "keys exactly as the local names");
    let back = s.work.path().join("back");
    s.server.get_tree("releases", "abc123/", &back);
    assert_same_tree(&s.signed, &back);
    let v = TestCommand::signer()
        .args(["verify", "--cert", &cert, "--require-sums", back.to_str().unwrap()])
        .output();
    assert!(v.status.success(), "{}", stdout(&v));
    assert!(sha256sum_check(&back));

    let mut again = args.to_vec();
    if !keeps_multipart_checksums {
        // Nothing S3 verified proves the 100 MiB object is the file: its sha256 metadata
        // alone is a claim anyone with PutObject could have copied onto other bytes. The
        // run says so and names the choice; --existing rehash reads it back.
        let res = TestCommand::copier().args(args).envs(&s.env).output();
        assert_fails(&res, 6, "--existing rehash");
        assert!(stderr_lines(&res)[0].contains("big/disk image.img: "), "{:?}", stderr_lines(&res));
        again.extend(["--existing", "rehash"]);
    }
    // A second run uploads nothing.
    let res = TestCommand::copier().args(&again).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let summary: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!((summary["uploaded"].as_u64(), summary["skipped"].as_u64()), (Some(0), Some(63)));
    assert!(matches!(s.server.uploads("releases"), None | Some(0)));
}

#[test]
fn thirty_files_arrive_byte_for_byte_on_moto() {
    round_trip(LocalAws::moto(), true);
}

#[test]
fn thirty_files_arrive_byte_for_byte_on_s3s_fs() {
    round_trip(LocalAws::s3s_fs(), false);
}

fn changed_files_are_refused_unless_overwrite(server: LocalAws) {
    let s = setup(server, small);
    let to = ["--to", "s3://releases/v1", "--path-style"];
    let from = s.signed.to_str().unwrap().to_string();
    let res = TestCommand::copier().args([&["--from", &from][..], &to].concat()).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));

    // The same release, rebuilt with one artifact changed and signed again.
    let dist2 = s.work.path().join("dist2");
    small(&dist2);
    std::fs::write(dist2.join("agent v1.0.tar"), b"a different tarball").unwrap();
    let signed2 = s.work.path().join("signed2");
    sign(&dist2, &signed2);
    let from2 = signed2.to_str().unwrap().to_string();
    let before = s.work.path().join("before");
    s.server.get_tree("releases", "v1/", &before);
    let res = TestCommand::copier().args([&["--from", &from2][..], &to].concat()).envs(&s.env).output();
    assert_fails(&res, 6, "--overwrite");
    let after = s.work.path().join("after");
    s.server.get_tree("releases", "v1/", &after);
    assert_same_tree(&before, &after);

    let res = TestCommand::copier()
        .args([&["--from", &from2, "--overwrite"][..], &to].concat())
        .envs(&s.env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let replaced = s.work.path().join("replaced");
    s.server.get_tree("releases", "v1/", &replaced);
    assert_same_tree(&signed2, &replaced);
}

#[test]
fn changed_files_are_refused_unless_overwrite_on_moto() {
    changed_files_are_refused_unless_overwrite(LocalAws::moto());
}

#[test]
fn changed_files_are_refused_unless_overwrite_on_s3s_fs() {
    changed_files_are_refused_unless_overwrite(LocalAws::s3s_fs());
}

#[test]
fn the_gate_uploads_nothing_when_a_signature_fails() {
    let s = setup(LocalAws::s3s_fs(), small);
    let good_cert = quick_key().public.to_str().unwrap().to_string();
    let wrong_cert = keys().ed25519.public.to_str().unwrap().to_string();
    // What is broken, how, and the certificate checked with.
    type Case<'a> = (&'a str, Box<dyn Fn(&Path)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing .asc",
            Box::new(|d: &Path| std::fs::remove_file(d.join("agent v1.0.tar.asc")).unwrap()),
            &good_cert,
        ),
        (
            "bad .asc",
            Box::new(|d: &Path| {
                std::fs::copy(d.join("scripts/install.sh.asc"), d.join("agent v1.0.tar.asc"))
                    .map(|_| ())
                    .unwrap()
            }),
            &good_cert,
        ),
        ("wrong certificate", Box::new(|_: &Path| {}), &wrong_cert),
        (
            "SHA256SUMS digest mismatch",
            Box::new(|d: &Path| {
                std::fs::remove_file(d.join("manifest.json")).unwrap();
                std::fs::write(d.join("manifest.json"), b"{}").unwrap();
            }),
            &good_cert,
        ),
    ];
    for (name, break_it, cert) in cases {
        let copy = s.work.path().join(format!("case-{}", name.replace(' ', "-")));
        copy_tree(&s.signed, &copy);
        break_it(&copy);
        let res = TestCommand::copier()
            .args([
                "--from",
                copy.to_str().unwrap(),
                "--to",
                "s3://releases/gated",
                "--path-style",
                "--require-signatures",
                "--cert",
                cert,
            ])
            .envs(&s.env)
            .output();
        assert_fails(&res, 1, "nothing was uploaded");
        assert!(stdout(&res).contains("FAIL"), "{name}: {}", stdout(&res));
        assert!(s.server.keys("releases", "gated/").is_empty(), "{name}: something was uploaded");
    }
}

#[test]
fn unreachable_endpoint_missing_bucket_and_access_denied_are_clear() {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    small(&dist);
    let signed = work.path().join("signed");
    sign(&dist, &signed);
    let from = signed.to_str().unwrap();

    let closed = aws_env(&format!("http://127.0.0.1:{}", free_port()), work.path());
    let res = TestCommand::copier()
        .args(["--from", from, "--to", "s3://releases/x", "--path-style", "--max-attempts", "2"])
        .envs(&closed)
        .output();
    assert_fails(&res, 5, "cannot reach S3");
    // The causes as words, not the SDK's Debug dump.
    for dump in ["DispatchFailure", "ResponseError", "hyper::Error", "ConnectorError", "Some("] {
        assert!(!stderr_lines(&res)[0].contains(dump), "{dump} in {:?}", stderr_lines(&res));
    }

    let s3 = LocalAws::s3s_fs();
    let res = TestCommand::copier()
        .args(["--from", from, "--to", "s3://no-such-bucket/x", "--path-style"])
        .envs(&s3.env())
        .output();
    assert_fails(&res, 5, "does not exist");

    let moto = LocalAws::moto_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    moto.make_bucket("locked");
    let creds: serde_json::Value = serde_json::from_slice(&moto.seed(&["deny-user"], b"").stdout).unwrap();
    let mut env = moto.env();
    env.retain(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET_ACCESS_KEY"));
    env.push(("AWS_ACCESS_KEY_ID".into(), creds["id"].as_str().unwrap().into()));
    env.push(("AWS_SECRET_ACCESS_KEY".into(), creds["secret"].as_str().unwrap().into()));
    let res = TestCommand::copier()
        .args(["--from", from, "--to", "s3://locked/x", "--path-style"])
        .envs(&env)
        .output();
    assert_fails(&res, 5, "access denied");

    // Destinations that are no destination at all.
    let res = TestCommand::copier().args(["--from", from, "--to", "s3:///x"]).envs(&closed).output();
    assert_fails(&res, 2, "no bucket name");
    let res =
        TestCommand::copier().args(["--from", from, "--to", "s3://Not_A_Bucket/x"]).envs(&closed).output();
    assert_fails(&res, 2, "not a valid S3 bucket name");
    let res = TestCommand::copier().args(["--from", from]).envs(&closed).output();
    assert_fails(&res, 2, "RESULTS_BUCKET_URI");
}

#[test]
fn results_bucket_uri_and_git_commit_sha_name_the_default_destination() {
    let mut s = setup(LocalAws::s3s_fs(), small);
    s.env.push(("RESULTS_BUCKET_URI".into(), "s3://releases/agent".into()));
    s.env.push(("GIT_COMMIT_SHA".into(), "0123abcd".into()));
    s.env.push(("COPIER_PATH_STYLE".into(), "true".into()));
    s.env.push(("COPIER_FROM".into(), s.signed.to_str().unwrap().into()));
    let res = TestCommand::copier().args(["--dry-run"]).envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(stdout(&res).contains("would have 11 uploaded"), "{}", stdout(&res));
    assert!(s.server.keys("releases", "").is_empty(), "a dry run uploads nothing");
    let res = TestCommand::copier().envs(&s.env).output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    assert!(s.server.keys("releases", "agent/0123abcd/").iter().any(|k| k.ends_with("SHA256SUMS.asc")));
}

#[test]
fn content_types_storage_class_and_encryption_reach_the_objects() {
    let s = setup(LocalAws::moto(), small);
    let res = TestCommand::copier()
        .args([
            "--from",
            s.signed.to_str().unwrap(),
            "--to",
            "s3://releases/opts",
            "--path-style",
            "--sse",
            "AES256",
            "--storage-class",
            "STANDARD_IA",
            "--acl",
            "bucket-owner-full-control",
        ])
        .envs(&s.env)
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let head = |key: &str| -> serde_json::Value {
        serde_json::from_slice(&s.server.seed(&["head", "releases", key], b"").stdout).unwrap()
    };
    let sig = head("opts/agent v1.0.tar.asc");
    assert_eq!(sig["ContentType"], "application/pgp-signature");
    assert_eq!(sig["StorageClass"], "STANDARD_IA");
    assert_eq!(sig["ServerSideEncryption"], "AES256");
    assert_eq!(head("opts/manifest.json")["ContentType"], "application/json");
    let tar = head("opts/agent v1.0.tar");
    let local =
        std::process::Command::new("sha256sum").arg(s.signed.join("agent v1.0.tar")).output().unwrap();
    assert!(String::from_utf8_lossy(&local.stdout).starts_with(tar["Metadata"]["sha256"].as_str().unwrap()));
}
