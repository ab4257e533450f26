//! While signer holds a secret, no other process of its user can read its memory or
//! environment, and it would leave no core file: it is non-dumpable and RLIMIT_CORE is 0.
//!
//! Checked from outside, as an attacker of the same uid would try: signer runs as `nobody`
//! and waits on a FIFO for its passphrase; another `nobody` process then tries to read its
//! /proc/<pid>/environ. A plain `nobody` process is the control: its environ is readable.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relsign_tests::keys::quick_key;
use relsign_tests::{assert_fails, bin, require_tool};

const NOBODY: [&str; 3] = ["--reuid=65534", "--regid=65534", "--clear-groups"];

fn as_nobody(program: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(require_tool("setpriv", "util-linux"));
    cmd.args(NOBODY).arg(program).args(args);
    cmd
}

fn environ_readable_by_nobody(pid: u32) -> bool {
    let out = Command::new(require_tool("setpriv", "util-linux"))
        .args(NOBODY)
        .args(["cat", &format!("/proc/{pid}/environ")])
        .output()
        .unwrap();
    out.status.success()
}

/// A signer run that takes a while: it hashes an 8 GiB sparse artifact (hard-linked into
/// its staging folder beside `out`) after unlocking the key. Waits until the staging folder
/// is there.
fn long_sign_run(dir: &Path, program: &Path, as_user_nobody: bool) -> Child {
    let key = dir.join("key.asc");
    std::fs::copy(&quick_key().secret, &key).unwrap();
    let dist = dir.join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::File::create(dist.join("huge.img")).unwrap().set_len(8 << 30).unwrap();
    for f in [&key, &dist.join("huge.img")] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&dist, std::fs::Permissions::from_mode(0o755)).unwrap();
    if as_user_nobody {
        // Owned by the runner, so that it may hard-link the artifact (protected_hardlinks)
        // instead of copying 8 GiB.
        for f in [&key, &dist, &dist.join("huge.img")] {
            std::os::unix::fs::chown(f, Some(65534), Some(65534)).unwrap();
        }
    }
    let out = dir.join("out");
    let args =
        ["sign", "--key-file", key.to_str().unwrap(), "--out", out.to_str().unwrap(), dist.to_str().unwrap()];
    let mut cmd = if as_user_nobody {
        as_nobody(program, &args)
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    };
    let mut child = cmd
        .env_clear()
        .env("RELSIGN_MARKER", "visible-if-dumpable")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while relsign_tests::partial_leftovers(dir).is_empty() {
        assert!(Instant::now() < deadline, "no staging folder appeared");
        assert!(child.try_wait().unwrap().is_none(), "the process ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The key (unprotected) is unlocked while the artifact is read.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be observed");
    child
}

/// Sends `signal` and checks the stopped run's promise: exit code, one line, nothing left.
fn stop_and_check(dir: &Path, child: Child, signal: libc::c_int, code: i32, says: &str) {
    // SAFETY: our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    assert_fails(&child.wait_with_output().unwrap(), code, says);
    assert!(relsign_tests::partial_leftovers(dir).is_empty(), "the staging folder was left behind");
    assert!(!dir.join("out").exists(), "--out was written by a stopped run");
}

#[test]
fn sigint_removes_the_staging_folder_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let child = long_sign_run(dir.path(), &bin("signer"), false);
    stop_and_check(dir.path(), child, libc::SIGINT, 130, "stopped by SIGINT");
}

#[test]
fn signer_holding_a_key_is_not_dumpable_and_dumps_no_core() {
    // A folder nobody may write in but its own: the binary, the key, the artifact.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let signer = dir.path().join("signer");
    std::fs::copy(bin("signer"), &signer).unwrap();
    // setpriv execs signer in place: the pid is signer's.
    let child = long_sign_run(dir.path(), &signer, true);
    let pid = child.id();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap().to_string();
    let readable = environ_readable_by_nobody(pid);
    // SIGTERM, as CodeBuild stops a build: the run cleans up and says so.
    stop_and_check(dir.path(), child, libc::SIGTERM, 143, "stopped by SIGTERM");

    assert!(core.split_whitespace().filter(|w| *w == "0").count() >= 2, "core dumps not disabled: {core}");
    assert!(!readable, "another process of the same user could read signer's environment");

    // The control: an ordinary process of that user is readable, so the check above means it.
    let mut control = as_nobody(Path::new("/bin/sleep"), &["30"]).spawn().unwrap();
    let cpid = control.id();
    std::thread::sleep(Duration::from_millis(300));
    let control_readable = environ_readable_by_nobody(cpid);
    let _ = control.kill();
    let _ = control.wait();
    assert!(control_readable, "the control process was not readable: the check proves nothing here");
}
