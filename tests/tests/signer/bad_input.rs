//! Bad input, one case per row: each gives one clear line on stderr, the documented exit
//! code, and leaves nothing in `--out` (and no staging folder beside it).

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use relsign_tests::keys::{keys, KeyFile};
use relsign_tests::*;

/// What a case runs: arguments (after `sign`), environment, and whether to run as an
/// unprivileged user (root reads any file, so "unreadable" needs someone else).
struct Run {
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    unprivileged: bool,
}

struct Case {
    name: &'static str,
    code: i32,
    says: &'static str,
    setup: fn(&Path) -> Run,
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn dist(work: &Path) -> PathBuf {
    work.join("dist")
}

fn out(work: &Path) -> PathBuf {
    work.join("signed")
}

/// `--key-file KEY --out OUT [--passphrase-file F] dist`, the usual shape.
fn with_key(work: &Path, key: &KeyFile, passphrase: Option<&[u8]>) -> Run {
    let mut args = vec!["--key-file".into(), s(&key.secret), "--out".into(), s(&out(work))];
    if let Some(p) = passphrase {
        let f = work.join("passphrase");
        std::fs::write(&f, p).unwrap();
        args.extend(["--passphrase-file".into(), s(&f)]);
    }
    args.push(s(&dist(work)));
    Run { args, env: vec![], unprivileged: false }
}

fn good(work: &Path) -> Run {
    with_key(work, &keys().ed25519, None)
}

fn key_file(work: &Path, bytes: &[u8]) -> Run {
    let f = work.join("key.asc");
    std::fs::write(&f, bytes).unwrap();
    Run {
        args: vec!["--key-file".into(), s(&f), "--out".into(), s(&out(work)), s(&dist(work))],
        env: vec![],
        unprivileged: false,
    }
}

const PASS: &[u8] = relsign_tests::gpg::PASSPHRASE.as_bytes();

const CASES: &[Case] = &[
    Case {
        name: "wrong passphrase",
        code: 4,
        says: "wrong passphrase",
        setup: |w| with_key(w, &keys().rsa4096, Some(b"not it")),
    },
    Case {
        name: "empty passphrase for a protected key",
        code: 4,
        says: "passphrase is empty",
        setup: |w| {
            let mut r = with_key(w, &keys().rsa4096, None);
            r.env.push(("PASSPHRASE", String::new()));
            r
        },
    },
    Case {
        name: "no passphrase for a protected key",
        code: 4,
        says: "protected by a passphrase",
        setup: |w| with_key(w, &keys().p256, None),
    },
    Case {
        name: "public key only",
        code: 4,
        says: "only the public certificate",
        setup: |w| key_file(w, &std::fs::read(&keys().rsa4096.public).unwrap()),
    },
    Case {
        name: "expired key",
        code: 4,
        says: "expired on",
        setup: |w| with_key(w, &keys().expired, Some(PASS)),
    },
    Case {
        name: "revoked key",
        code: 4,
        says: "is revoked",
        setup: |w| with_key(w, &keys().revoked, Some(PASS)),
    },
    Case {
        name: "key without signing capability",
        code: 4,
        says: "cannot sign",
        setup: |w| with_key(w, &keys().no_signing, Some(PASS)),
    },
    Case {
        name: "garbage key file",
        code: 4,
        says: "OpenPGP",
        setup: |w| key_file(w, b"this is not a key\x00\x01\x02\xff"),
    },
    Case { name: "empty key file", code: 4, says: "no OpenPGP key found", setup: |w| key_file(w, b"") },
    Case {
        name: "truncated key file",
        code: 4,
        says: "damaged or truncated",
        setup: |w| {
            let full = std::fs::read(&keys().rsa4096.secret).unwrap();
            key_file(w, &full[..full.len() / 2])
        },
    },
    Case {
        name: "two keys without --signing-key",
        code: 4,
        says: "choose one with --signing-key",
        setup: |w| key_file(w, &std::fs::read(&keys().two_certs).unwrap()),
    },
    Case {
        name: "--signing-key that is not in the file",
        code: 4,
        says: "check --signing-key",
        setup: |w| {
            let mut r = good(w);
            r.args.extend(["--signing-key".into(), keys().p256.fingerprint.clone()]);
            r
        },
    },
    Case {
        name: "no key given",
        code: 2,
        says: "no key given",
        setup: |w| Run {
            args: vec!["--out".into(), s(&out(w)), s(&dist(w))],
            env: vec![],
            unprivileged: false,
        },
    },
    Case {
        name: "missing input path",
        code: 3,
        says: "does not exist",
        setup: |w| {
            let mut r = good(w);
            r.args.push(s(&w.join("no-such-build-output")));
            r
        },
    },
    Case {
        name: "unreadable file",
        code: 3,
        says: "cannot read input",
        setup: |w| {
            let f = dist(w).join("secret.tar");
            std::fs::write(&f, b"x").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
            let mut r = good(w);
            r.unprivileged = true;
            r
        },
    },
    Case {
        name: "output folder inside an input folder",
        code: 6,
        says: "inside input",
        setup: |w| {
            let mut r = good(w);
            let i = r.args.iter().position(|a| a == "--out").unwrap();
            r.args[i + 1] = s(&dist(w).join("signed"));
            r
        },
    },
    Case {
        name: "output is a file",
        code: 6,
        says: "not a folder",
        setup: |w| {
            std::fs::write(out(w), b"a file").unwrap();
            good(w)
        },
    },
    Case {
        name: "output folder not empty",
        code: 6,
        says: "is not empty",
        setup: |w| {
            std::fs::create_dir(out(w)).unwrap();
            std::fs::write(out(w).join("old.txt"), b"previous run").unwrap();
            good(w)
        },
    },
    Case {
        name: "an input named like the checksum list",
        code: 3,
        says: "a name relsign writes itself",
        setup: |w| {
            std::fs::write(dist(w).join("SHA256SUMS"), b"x").unwrap();
            good(w)
        },
    },
    Case {
        name: "the same name from two folders",
        code: 3,
        says: "two artifacts would be published as",
        setup: |w| {
            let other = w.join("other");
            write_tree(&other, &[("agent v1.0.tar", b"different")]);
            let mut r = good(w);
            r.args.push(s(&other));
            r
        },
    },
    Case {
        name: "symlink out of the source",
        code: 3,
        says: "outside",
        setup: |w| {
            std::fs::write(w.join("outside.txt"), b"not part of the build").unwrap();
            std::os::unix::fs::symlink(w.join("outside.txt"), dist(w).join("link.txt")).unwrap();
            good(w)
        },
    },
    Case {
        name: "FIFO in the source",
        code: 3,
        says: "FIFO",
        setup: |w| {
            let fifo = dist(w).join("pipe");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            good(w)
        },
    },
];

fn run(work: &Path, r: &Run) -> Output {
    let mut binary = bin("signer");
    let mut cmd;
    if r.unprivileged && unsafe { libc::geteuid() } == 0 {
        // nobody must be able to run the binary and write beside --out.
        std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o777)).unwrap();
        let copy = work.join("signer-bin");
        std::fs::copy(&binary, &copy).unwrap();
        binary = copy;
        cmd = Command::new(&binary);
        cmd.uid(65534).gid(65534);
    } else {
        cmd = Command::new(&binary);
    }
    cmd.arg("sign").args(&r.args).env_remove("PASSPHRASE").stdin(Stdio::null());
    for (k, v) in &r.env {
        cmd.env(k, v);
    }
    cmd.output().expect("run signer")
}

#[test]
fn every_bad_input_fails_cleanly() {
    let mut problems = Vec::new();
    for case in CASES {
        let work = tempfile::tempdir().unwrap();
        sample_tree(&dist(work.path()));
        let r = (case.setup)(work.path());
        let before = std::fs::symlink_metadata(out(work.path())).ok().map(|m| m.is_dir());
        let res = run(work.path(), &r);
        let lines = stderr_lines(&res);
        let mut bad = Vec::new();
        if res.status.code() != Some(case.code) {
            bad.push(format!("exit {:?}, want {}", res.status.code(), case.code));
        }
        if lines.len() != 1 || !lines[0].contains(case.says) || !lines[0].starts_with("signer: error: ") {
            bad.push(format!("stderr {lines:?}, want one line saying {:?}", case.says));
        }
        let after = std::fs::symlink_metadata(out(work.path())).ok().map(|m| m.is_dir());
        if before != after {
            bad.push(format!("--out changed: {before:?} -> {after:?}"));
        }
        if after == Some(true) {
            let entries: Vec<_> =
                std::fs::read_dir(out(work.path())).unwrap().map(|e| e.unwrap().file_name()).collect();
            if entries != [std::ffi::OsString::from("old.txt")] {
                bad.push(format!("--out holds {entries:?}"));
            }
        }
        for parent in [work.path().to_path_buf(), dist(work.path())] {
            let left = partial_leftovers(&parent);
            if !left.is_empty() {
                bad.push(format!("left behind {left:?}"));
            }
        }
        if !bad.is_empty() {
            problems.push(format!("{}: {}", case.name, bad.join("; ")));
        } else {
            eprintln!("{:<40} exit {}  {}", case.name, case.code, lines[0]);
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} cases wrong:\n{}",
        problems.len(),
        CASES.len(),
        problems.join("\n")
    );
}

#[test]
fn a_trailing_newline_in_the_passphrase_file_is_tolerated() {
    let work = tempfile::tempdir().unwrap();
    sample_tree(&dist(work.path()));
    let mut pass = PASS.to_vec();
    pass.push(b'\n');
    let r = with_key(work.path(), &keys().rsa4096, Some(&pass));
    let res = run(work.path(), &r);
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
}
