//! What `signer sign` writes is what was signed, by the key users know: a `--cert` that is
//! not the signing key's is refused whatever the key source, the signed folder is a
//! snapshot that a later change to an input cannot touch, the passphrase is never
//! published, and `signer verify` reads every armor block of an `.asc`. gpg judges every
//! signature.

use std::path::Path;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::keys;
use relsign_tests::*;

use crate::sign_with;

/// gpg's verdict (given only `cert`) on `name` in `out` and its `.asc`.
fn gpg_verifies(cert: &Path, out: &Path, name: &str) -> (bool, String) {
    let cert = std::fs::read(cert).unwrap();
    GnuPg::verifies_with(&cert, &out.join(format!("{name}.asc")), &out.join(name))
}

#[test]
fn a_cert_that_is_not_the_key_files_is_refused() {
    let k = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let other = keys().p256.public.to_str().unwrap();
    let res = sign_with(k, work.path(), &[&dist], &out, &["--cert", other]);
    assert_fails(&res, 4, &format!("holds no certificate of key {}", k.fingerprint));
    assert!(!out.exists(), "{} was written", out.display());
    assert!(partial_leftovers(work.path()).is_empty());

    // Its own certificate: signed, and every signature checked with it (gpg agrees).
    let res = sign_with(k, work.path(), &[&dist], &out, &["--cert", k.public.to_str().unwrap()]);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    for name in ["agent v1.0.tar", "SHA256SUMS"] {
        let (ok, log) = gpg_verifies(&k.public, &out, name);
        assert!(ok, "{name}: {log}");
    }
}
