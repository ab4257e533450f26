//! Memory stays flat whatever the file size: a 2 GiB sparse file signs in well under
//! 100 MiB of peak RSS, and gpg accepts its signature.

use std::process::Stdio;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::keys;
use relsign_tests::*;

#[test]
fn two_gib_sparse_file_signs_with_flat_memory() {
    let k = &keys().ed25519;
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let big = dist.join("big.img");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(2 << 30).unwrap();
    drop(f);
    let out = work.path().join("signed");
    let mut cmd = TestCommand::signer();
    cmd.args([
        "sign",
        "--key-file",
        k.secret.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        dist.to_str().unwrap(),
    ]);
    let (status, peak_kib) = run_measured(cmd.command().stdout(Stdio::null()).stderr(Stdio::inherit()));
    assert!(status.success());
    eprintln!("peak RSS signing 2 GiB: {} KiB", peak_kib);
    assert!(peak_kib < 100 * 1024, "peak RSS {peak_kib} KiB is over 100 MiB");
    let (ok, log) = GnuPg::verifies_with(
        &std::fs::read(&k.public).unwrap(),
        &out.join("big.img.asc"),
        &out.join("big.img"),
    );
    assert!(ok, "{log}");
}
