//! `signer verify-script`: the script a consumer without relsign runs. Judged by running it
//! with /bin/sh (dash on Debian) against a release served by Python's http.server, with the
//! real curl, gpgv, sqv and sha256sum, on a clean release and in the four ways it must fail
//! closed: no gpgv or sqv, a signature by a key the user's own keyring trusts, a changed
//! file, a missing signature. A failure exits non-zero with one line and leaves nothing in
//! the output folder.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use relsign_tests::gpg::GnuPg;
use relsign_tests::keys::quick_key;
use relsign_tests::local_aws::{free_port, venv};
use relsign_tests::{assert_fails, files_under, require_tool, write_tree, TestCommand};

/// A signed release served over HTTP at `url`, and the script made for it.
struct Served {
    _dir: tempfile::TempDir,
    /// The folder served as the release (tests tamper with it).
    release: PathBuf,
    /// What signer made, kept apart as the reference.
    signed: PathBuf,
    script: PathBuf,
    server: Child,
    work: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Names users write: nested, a space, a leading dash, non-ASCII.
const FILES: [(&str, &[u8]); 4] = [
    ("agent.tar", b"the agent, version 1.4.0\n"),
    ("pkg/agent 1.4.0.deb", b"a package with a space in its name\n"),
    ("-rf.txt", b"a name that looks like a flag\n"),
    ("notes/\u{fc}ber.txt", b"non-ASCII\n"),
];

fn served() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let input = work.join("dist");
    write_tree(&input, &FILES);
    let signed = work.join("signed");
    let key = quick_key();
    let out = TestCommand::sign(key, &work).arg("--out").arg(&signed).arg(&input).output();
    assert!(out.status.success(), "signer sign: {}", String::from_utf8_lossy(&out.stderr));
    let root = work.join("www");
    let release = root.join("rel/1.4.0");
    relsign_tests::copy_tree(&signed, &release);

    let port = free_port();
    let server = Command::new(venv().join("bin/python"))
        .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python's http.server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let script = work.join("verify-release.sh");
    let url = format!("http://127.0.0.1:{port}/rel/1.4.0/");
    TestCommand::signer()
        .args(["verify-script", "--base-url", &url, "--cert"])
        .arg(&key.public)
        .arg("--output")
        .arg(&script)
        .expect_ok();
    Served { _dir: dir, release, signed, script, server, work }
}

/// A folder of links to the tools the script may use, without those in `without`.
fn tools(dir: &Path, without: &[&str]) -> PathBuf {
    let bin = dir.join(format!("bin-without-{}", without.join("-")));
    std::fs::create_dir_all(&bin).unwrap();
    let wanted = [
        ("curl", "curl"),
        ("gpgv", "gpgv"),
        ("sqv", "sqv"),
        ("sha256sum", "coreutils"),
        ("mktemp", "coreutils"),
        ("mkdir", "coreutils"),
        ("rm", "coreutils"),
        ("mv", "coreutils"),
        ("cp", "coreutils"),
        ("od", "coreutils"),
        ("dirname", "coreutils"),
        ("tail", "coreutils"),
        ("head", "coreutils"),
        ("wc", "coreutils"),
        ("tr", "coreutils"),
        ("grep", "grep"),
    ];
    for (tool, package) in wanted {
        if !without.contains(&tool) {
            let target = require_tool(tool, package);
            let link = bin.join(tool);
            if !link.exists() {
                std::os::unix::fs::symlink(target, link).unwrap();
            }
        }
    }
    bin
}

impl Served {
    /// Runs the script with /bin/sh into a fresh output folder, with only `tools` on PATH
    /// and `gnupg_home` as the user's GnuPG home.
    fn run(&self, tools: &Path, gnupg_home: Option<&Path>, files: &[&str]) -> (Output, PathBuf) {
        let out_dir = tempfile::tempdir_in(&self.work).unwrap().keep();
        let mut cmd = Command::new("/bin/sh");
        cmd.arg(&self.script).arg("-o").arg(&out_dir).args(files).env_clear().env("PATH", tools);
        cmd.env("HOME", &self.work);
        if let Some(home) = gnupg_home {
            cmd.env("GNUPGHOME", home);
        }
        (cmd.output().expect("run the script"), out_dir)
    }

    fn fails_closed(&self, tools: &Path, gnupg_home: Option<&Path>, code: i32, says: &str) {
        let (out, dir) = self.run(tools, gnupg_home, &[]);
        assert_fails(&out, code, says);
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert!(left.is_empty(), "a failed run left {left:?} in the output folder");
    }
}

#[test]
fn a_clean_release_verifies_with_gpgv_and_with_sqv_alone() {
    let s = served();
    for without in [&[][..], &["gpgv"][..]] {
        let (out, dir) = s.run(&tools(&s.work, without), None, &[]);
        assert!(out.status.success(), "without {without:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&quick_key().fingerprint));
        // Everything signer made, byte for byte, and nothing else (no scratch folder left).
        assert_eq!(files_under(&dir), files_under(&s.signed), "without {without:?}");
        for name in files_under(&dir) {
            assert_eq!(
                std::fs::read(dir.join(&name)).unwrap(),
                std::fs::read(s.signed.join(&name)).unwrap(),
                "{name}"
            );
        }
    }
    // One file asked for: that file, its signature and the signed list.
    let (out, dir) = s.run(&tools(&s.work, &[]), None, &["pkg/agent 1.4.0.deb"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        files_under(&dir),
        ["SHA256SUMS", "SHA256SUMS.asc", "pkg/agent 1.4.0.deb", "pkg/agent 1.4.0.deb.asc"].map(String::from)
    );
    let (out, _) = s.run(&tools(&s.work, &[]), None, &["not-in-the-release"]);
    assert_fails(&out, 2, "not in this release's SHA256SUMS");
}

#[test]
fn without_gpgv_or_sqv_nothing_is_taken_as_verified() {
    let s = served();
    s.fails_closed(&tools(&s.work, &["gpgv", "sqv"]), None, 2, "neither gpgv nor sqv found");
}

#[test]
fn a_signature_by_a_key_the_users_own_keyring_trusts_is_refused() {
    // The user's GnuPG home trusts the release key and another, for gpg and for gpgv
    // (trustedkeys.kbx), as a user who imported both would have it.
    let user = GnuPg::new();
    let other = user.gen_key("Other <other@example.org>", "ed25519", "sign", "never", "", None);
    let release = std::fs::read(&quick_key().public).unwrap();
    for public in [user.export_public(&other), release] {
        user.ok(&["--no-default-keyring", "--keyring", "trustedkeys.kbx", "--import"], &public);
    }
    for signed in ["agent.tar", "SHA256SUMS"] {
        let s = served();
        let file = s.release.join(signed);
        let sig = user.detach_sign(&other, &file, "");
        // The trap is real: gpgv with the user's own keyring accepts the signature.
        let plain = Command::new(require_tool("gpgv", "gpgv"))
            .env("GNUPGHOME", user.home())
            .arg(&sig)
            .arg(&file)
            .output()
            .unwrap();
        assert!(plain.status.success(), "gpgv should accept it with the user's keyring");
        s.fails_closed(&tools(&s.work, &[]), Some(user.home()), 1, "is not a good signature by");
        s.fails_closed(&tools(&s.work, &["gpgv"]), Some(user.home()), 1, "is not a good signature by");
    }
}

#[test]
fn a_changed_file_is_refused_whether_it_has_a_signature_or_only_the_signed_list() {
    for name in ["agent.tar", "manifest.json"] {
        let s = served();
        let path = s.release.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 0x01; // same size, one bit
        std::fs::write(&path, bytes).unwrap();
        let says = if name == "manifest.json" {
            "its digest is not the signed one"
        } else {
            "is not a good signature"
        };
        s.fails_closed(&tools(&s.work, &[]), None, 1, says);
        s.fails_closed(&tools(&s.work, &["gpgv"]), None, 1, says);
    }
}

#[test]
fn a_missing_signature_is_refused() {
    for missing in ["notes/\u{fc}ber.txt.asc", "SHA256SUMS.asc"] {
        let s = served();
        std::fs::remove_file(s.release.join(missing)).unwrap();
        s.fails_closed(&tools(&s.work, &[]), None, 1, "not found at");
    }
}
