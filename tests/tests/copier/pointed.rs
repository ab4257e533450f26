//! `signer verify s3://BUCKET/KEY.json`: the pointer copier promoted and the release it
//! names, checked where they are published, on moto and s3s-fs, then tampered with behind
//! copier's back (boto3 straight to the server): a release swapped under a good pointer, a
//! same-size byte swap in the release, a pointer changed by one byte, signed by another key,
//! or without its signature. Each fails with exit 1 and a line naming what is wrong; gpg
//! judges the pointers' bytes too.

use std::process::Output;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, quick_key};
use relsign_tests::local_aws::LocalAws;
use relsign_tests::*;

use super::promote::{Bucket, POINTER};
use super::published::assert_rejects;

fn verify(b: &Bucket, location: &str) -> Output {
    TestCommand::signer()
        .args(["verify", "--cert", quick_key().public.to_str().unwrap(), "--path-style", location])
        .envs(&b.server.env())
        .output()
}

/// Whether gpg takes `json` signed by `sig` with the release certificate.
fn gpg_accepts(b: &Bucket, json: &[u8], sig: &[u8]) -> bool {
    let dir = tempfile::tempdir_in(b.work.path()).unwrap();
    let (data, asc) = (dir.path().join("p.json"), dir.path().join("p.json.asc"));
    std::fs::write(&data, json).unwrap();
    std::fs::write(&asc, sig).unwrap();
    GnuPg::verifies_with(&std::fs::read(&quick_key().public).unwrap(), &asc, &data).0
}

fn pointer_in_place(server: LocalAws) {
    let b = Bucket::new(server);
    b.promote("1.4.0", &[]);
    let newest = b.promote("1.10.0", &[]);
    let release = "s3://releases/rel/1.10.0/";
    let named = format!("release 1.10.0 named by {POINTER}");

    let out = verify(&b, POINTER);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{:?}", stderr_lines(&out));
    assert!(text.contains(&format!("OK    {POINTER}  signed by {}", quick_key().fingerprint)), "{text}");
    assert!(text.contains(&format!("OK    {release}SHA256SUMS.asc  signed by")), "{text}");
    assert!(text.contains(&format!("OK    {named}  digest matches")), "{text}");
    // The pointer, the seal, every listed file, the pointer the release carries, the binding.
    assert!(text.contains(&format!("OK    {release}release-pointer.json  signed by")), "{text}");
    let listed = std::fs::read_to_string(newest.join("SHA256SUMS")).unwrap().lines().count();
    assert!(text.contains(&format!("{} files checked, 0 failed", listed + 4)), "{text}");

    // A same-size byte swap in the release the pointer names.
    let tar = "agent v1.0.tar";
    b.server.seed(&["rewrite", "releases", &format!("rel/1.10.0/{tar}"), "--swap"], b"");
    assert_rejects(&verify(&b, POINTER), &[&format!("{release}{tar}")], "BAD signature");
    b.put(&format!("rel/1.10.0/{tar}"), &std::fs::read(newest.join(tar)).unwrap());
    assert!(verify(&b, POINTER).status.success());

    // The pointer changed by one byte (1.10.0 -> 1.10.1, same size): it does not verify,
    // and gpg agrees.
    let (json, sig) = b.pointer();
    let (json, sig) = (json.unwrap(), sig.unwrap());
    let text_json = String::from_utf8(json.clone()).unwrap();
    let forged = text_json.replacen("\"1.10.0\"", "\"1.10.1\"", 1).into_bytes();
    assert_eq!(forged.len(), json.len());
    assert!(!gpg_accepts(&b, &forged, &sig) && gpg_accepts(&b, &json, &sig));
    b.put("rel/latest.json", &forged);
    assert_rejects(&verify(&b, POINTER), &[POINTER], "does not verify");

    // A pointer signed by another key, naming a release signed by it.
    let other = b.release("9.0.0", &keys().ed25519);
    let other_json = std::fs::read(other.join("release-pointer.json")).unwrap();
    let other_sig = std::fs::read(other.join("release-pointer.json.asc")).unwrap();
    assert!(!gpg_accepts(&b, &other_json, &other_sig));
    b.put("rel/latest.json", &other_json);
    b.put("rel/latest.json.asc", &other_sig);
    assert_rejects(&verify(&b, POINTER), &[POINTER], "does not verify");

    // No signature beside it.
    b.put("rel/latest.json", &json);
    b.server.seed(&["delete", "releases", "rel/latest.json.asc"], b"");
    assert_rejects(&verify(&b, POINTER), &[POINTER], "latest.json.asc is missing");
    b.put("rel/latest.json.asc", &sig);
    assert!(verify(&b, POINTER).status.success());

    // The pointer the release carries, replaced by another release's (signed, but naming
    // another SHA256SUMS).
    let older = b.work.path().join(format!("signed-1.4.0-{}", &quick_key().fingerprint[..8]));
    for name in ["release-pointer.json", "release-pointer.json.asc"] {
        b.put(&format!("rel/1.10.0/{name}"), &std::fs::read(older.join(name)).unwrap());
    }
    assert_rejects(
        &verify(&b, POINTER),
        &[&format!("{release}release-pointer.json")],
        "names the SHA256SUMS of another release",
    );
    for name in ["release-pointer.json", "release-pointer.json.asc"] {
        b.put(&format!("rel/1.10.0/{name}"), &std::fs::read(newest.join(name)).unwrap());
    }

    // Another good release, sealed by the same key, swapped in under the good pointer: every
    // file of it verifies, but its SHA256SUMS is not the one the pointer names.
    for key in b.server.keys("releases", "rel/1.10.0/") {
        b.server.seed(&["delete", "releases", &key], b"");
    }
    TestCommand::copier()
        .arg("--from")
        .arg(&older)
        .args(["--to", release, "--path-style", "--require-signatures", "--cert"])
        .arg(&quick_key().public)
        .envs(&b.server.env())
        .expect_ok();
    assert_rejects(&verify(&b, POINTER), &[&named], "the pointer is for another release");

    // Nothing at the key.
    assert_rejects(
        &verify(&b, "s3://releases/rel/none.json"),
        &["s3://releases/rel/none.json"],
        "no release pointer here",
    );
}

#[test]
fn a_published_pointer_and_its_release_are_verified_in_place_on_moto() {
    pointer_in_place(LocalAws::moto());
}

#[test]
fn a_published_pointer_and_its_release_are_verified_in_place_on_s3s_fs() {
    pointer_in_place(LocalAws::s3s_fs());
}

/// A public bucket read by plain GETs: the pointer's relative location is followed as a URL.
#[test]
fn a_published_pointer_is_verified_over_http() {
    let b = Bucket::new(LocalAws::moto());
    b.promote("1.4.0", &[]);
    b.server.seed(&["public-read", "releases"], b"");
    let url = format!("{}/releases/rel/latest.json", b.server.endpoint);
    let out = verify(&b, &url);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{:?}", stderr_lines(&out));
    let release = format!("{}/releases/rel/1.4.0/", b.server.endpoint);
    assert!(text.contains(&format!("OK    {release}SHA256SUMS.asc  signed by")), "{text}");
    assert!(text.contains(&format!("OK    release 1.4.0 named by {url}  digest matches")), "{text}");
    b.server.seed(&["rewrite", "releases", "rel/1.4.0/agent v1.0.tar", "--swap"], b"");
    assert_rejects(&verify(&b, &url), &[&format!("{release}agent%20v1.0.tar")], "BAD signature");
}
