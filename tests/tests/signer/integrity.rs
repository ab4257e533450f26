//! What `signer sign` writes is what was signed, by the key users know: a `--cert` that is
//! not the signing key's is refused whatever the key source, the signed folder is a
//! snapshot that a later change to an input cannot touch, the passphrase is never
//! published, and `signer verify` reads every armor block of an `.asc`. gpg judges every
//! signature.

use std::path::Path;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, quick_key};
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

/// `signer verify` reads every armor block of an `.asc`, as gpg does: a good block followed
/// by a BAD one, or by another key's, fails with exit 1 where gpg fails; the good block
/// twice passes where gpg passes. gpg's exit code is the judge of each case.
#[test]
fn verify_reads_every_armor_block_as_gpg_does() {
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let signed = work.path().join("signed");
    let other = work.path().join("other");
    assert!(sign_with(k, work.path(), &[&dist], &signed, &[]).status.success());
    assert!(sign_with(&keys().ed25519, work.path(), &[&dist], &other, &[]).status.success());
    let name = "agent v1.0.tar";
    let good = std::fs::read(signed.join(format!("{name}.asc"))).unwrap();
    let cases = [
        ("the good block twice", good.clone(), true),
        (
            "a good block, then a BAD one",
            std::fs::read(signed.join("scripts/install.sh.asc")).unwrap(),
            false,
        ),
        (
            "a good block, then another key's",
            std::fs::read(other.join(format!("{name}.asc"))).unwrap(),
            false,
        ),
    ];
    let cert = std::fs::read(&k.public).unwrap();
    for (label, second, good_for_gpg) in cases {
        let case = work.path().join(label.replace([' ', ','], "-"));
        copy_tree(&signed, &case);
        let asc = case.join(format!("{name}.asc"));
        std::fs::write(&asc, [good.clone(), second].concat()).unwrap();
        let g = GnuPg::new();
        g.ok(&["--import"], &cert);
        let gpg = g.run(&["--verify", asc.to_str().unwrap(), case.join(name).to_str().unwrap()], b"");
        assert_eq!(gpg.status.success(), good_for_gpg, "{label}: gpg's verdict is not the expected one");
        let res = TestCommand::signer()
            .args(["verify", "--cert", k.public.to_str().unwrap(), case.join(name).to_str().unwrap()])
            .output();
        let gpg_code = gpg.status.code();
        if good_for_gpg {
            assert!(
                res.status.success(),
                "{label}: gpg accepts it (exit {gpg_code:?}), signer verify does not: {}",
                stdout(&res)
            );
        } else {
            assert_eq!(
                res.status.code(),
                Some(1),
                "{label}: gpg refuses it (exit {gpg_code:?}), signer verify says {}",
                stdout(&res)
            );
        }
    }
}

/// An artifact holding the passphrase's bytes is refused with exit 3, naming the file and
/// not the passphrase, whether the passphrase comes from a file (with its newline) or
/// from `PASSPHRASE`; nothing is written. A file holding only part of it signs.
#[test]
fn an_artifact_holding_the_passphrase_is_never_published() {
    let k = &keys().rsa4096;
    let pass = k.passphrase;
    let cases: [(&str, String, bool); 3] = [
        ("notes.txt", format!("release notes\nkey passphrase: {pass} (do not share)\n"), true),
        ("build.env", format!("VERSION=1.0\nPASSPHRASE={pass}\n"), false),
        ("almost.txt", format!("{} and more\n", &pass[..pass.len() - 1]), true),
    ];
    for (name, content, from_file) in cases {
        let work = tempfile::tempdir().unwrap();
        let dist = work.path().join("dist");
        sample_tree(&dist);
        std::fs::write(dist.join(name), &content).unwrap();
        let out = work.path().join("signed");
        let mut cmd = TestCommand::signer();
        cmd.args(["sign", "--key-file", k.secret.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        if from_file {
            let file = work.path().join("passphrase");
            std::fs::write(&file, format!("{pass}\n")).unwrap();
            cmd.arg("--passphrase-file").arg(&file);
        } else {
            cmd.env("PASSPHRASE", pass);
        }
        let res = cmd.arg(&dist).output();
        if name == "almost.txt" {
            assert!(res.status.success(), "{name}: {:?}", stderr_lines(&res));
            continue;
        }
        assert_fails(&res, 3, &format!("{} holds the signing key's passphrase", dist.join(name).display()));
        let said = [stdout(&res), stderr_lines(&res).join("\n")].concat();
        assert!(!said.contains(pass), "{name}: the passphrase was printed");
        assert!(!out.exists(), "{name}: {} was written", out.display());
        assert!(partial_leftovers(work.path()).is_empty(), "{name}");
    }
}

/// What `--out` holds is a copy of what was signed: rewriting a source in place afterwards
/// (same size, as a build tool reusing its output file would) leaves the signed copy as
/// it was, and gpg still verifies it.
#[test]
fn the_signed_folder_is_a_snapshot_of_the_inputs() {
    use std::io::{Seek, Write};
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let res = sign_with(k, work.path(), &[&dist], &out, &[]);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let name = "agent v1.0.tar";
    let signed = std::fs::read(out.join(name)).unwrap();
    let mut source = std::fs::OpenOptions::new().write(true).open(dist.join(name)).unwrap();
    source.seek(std::io::SeekFrom::Start(0)).unwrap();
    source.write_all(&vec![b'X'; signed.len()]).unwrap();
    drop(source);
    assert_eq!(std::fs::metadata(dist.join(name)).unwrap().len(), signed.len() as u64);
    let (ok, log) = gpg_verifies(&k.public, &out, name);
    assert!(ok, "the signed copy changed with its source; gpg: {log}");
    assert_eq!(std::fs::read(out.join(name)).unwrap(), signed, "the signed copy changed with its source");
}

/// `--exported-vars` inside an input (a new file in a source folder, or an artifact itself)
/// is refused with exit 6 before anything is read or written; the artifact is untouched.
#[test]
fn exported_vars_inside_an_input_is_refused() {
    let k = quick_key();
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let out = work.path().join("signed");
    let artifact = dist.join("agent v1.0.tar");
    let before = std::fs::read(&artifact).unwrap();
    for vars in [dist.join("signer.env"), artifact.clone()] {
        let res = sign_with(k, work.path(), &[&dist], &out, &["--exported-vars", vars.to_str().unwrap()]);
        assert_fails(&res, 6, &format!("--exported-vars {} is inside input", vars.display()));
        assert!(!out.exists(), "{} was written", out.display());
        assert!(partial_leftovers(work.path()).is_empty());
    }
    assert!(!dist.join("signer.env").exists(), "the variables file was written into the input");
    assert_eq!(std::fs::read(&artifact).unwrap(), before, "the artifact was overwritten");

    // The preflight says so too, with the exit code the run fails with; outside, it passes.
    for vars in [dist.join("signer.env"), artifact.clone()] {
        let res = TestCommand::check(k, work.path())
            .args(["--out", out.to_str().unwrap(), "--exported-vars", vars.to_str().unwrap()])
            .arg(&dist)
            .output();
        assert_eq!(res.status.code(), Some(6), "{}\n{:?}", stdout(&res), stderr_lines(&res));
        assert!(
            stdout(&res).contains(&format!("--exported-vars {} is inside input", vars.display())),
            "{}",
            stdout(&res)
        );
    }
    let outside = work.path().join("signer.env");
    let res = TestCommand::check(k, work.path())
        .args(["--out", out.to_str().unwrap(), "--exported-vars", outside.to_str().unwrap()])
        .arg(&dist)
        .output();
    assert!(res.status.success(), "{}\n{:?}", stdout(&res), stderr_lines(&res));
    assert!(!outside.exists() && !dist.join("signer.env").exists(), "the preflight wrote the variables");
}

/// An input whose path is longer than the system opens (4096 bytes, reached through deep
/// folders made one at a time) is reported as such, not as a permissions problem.
#[test]
fn a_path_too_long_to_open_is_not_called_a_permissions_problem() {
    let work = tempfile::tempdir().unwrap();
    let dist = work.path().join("dist");
    sample_tree(&dist);
    let part = "d".repeat(200);
    // Relative steps: no single call sees the whole path.
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd \"$1\" && for i in $(seq 22); do mkdir {part} && cd -P {part} || exit 1; done; echo x > f"
        ))
        .arg("sh")
        .arg(&dist)
        .status()
        .unwrap();
    assert!(made.success());
    let out = work.path().join("signed");
    let res = sign_with(quick_key(), work.path(), &[&dist], &out, &[]);
    assert_fails(&res, 3, "shorten its name or the folders above it");
    assert!(!stderr_lines(&res).join(" ").contains("permissions"), "{:?}", stderr_lines(&res));
    assert!(!out.exists());
}
