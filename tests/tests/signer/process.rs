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
use relsign_tests::{bin, require_tool};

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

fn wait_until_blocked(child: &mut Child, fifo_reader: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && !fifo_reader() {
        assert!(child.try_wait().unwrap().is_none(), "the process ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn signer_holding_a_key_is_not_dumpable_and_dumps_no_core() {
    // A folder nobody can read: the binary, the key, the FIFO the passphrase will come from.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let signer = dir.path().join("signer");
    std::fs::copy(bin("signer"), &signer).unwrap();
    let key = dir.path().join("key.asc");
    std::fs::copy(&quick_key().secret, &key).unwrap();
    let artifact = dir.path().join("a.txt");
    std::fs::write(&artifact, "x").unwrap();
    for f in [&key, &artifact] {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let fifo = dir.path().join("passphrase");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o666)).unwrap();

    let out = dir.path().join("out");
    let mut child = as_nobody(
        &signer,
        &[
            "sign",
            "--key-file",
            key.to_str().unwrap(),
            "--passphrase-file",
            fifo.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ],
    )
    .env_clear()
    .env("RELSIGN_MARKER", "visible-if-dumpable")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // setpriv execs signer in place: the pid is signer's once it blocks on the FIFO.
    let pid = child.id();
    let blocked = || {
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .map(|w| w.contains("fifo") || w.contains("pipe"))
            .unwrap_or(false)
            || std::fs::read_link(format!("/proc/{pid}/exe")).map(|e| e == signer).unwrap_or(false)
    };
    wait_until_blocked(&mut child, blocked);
    std::thread::sleep(Duration::from_millis(300));

    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap().to_string();
    let readable = environ_readable_by_nobody(pid);

    // Let it finish: the key is unprotected, an empty passphrase is fine.
    std::fs::write(&fifo, "").unwrap();
    let done = child.wait_with_output().unwrap();

    assert!(core.split_whitespace().filter(|w| *w == "0").count() >= 2, "core dumps not disabled: {core}");
    assert!(!readable, "another process of the same user could read signer's environment");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));

    // The control: an ordinary process of that user is readable, so the check above means it.
    let mut control = as_nobody(Path::new("/bin/sleep"), &["30"]).spawn().unwrap();
    let cpid = control.id();
    std::thread::sleep(Duration::from_millis(300));
    let control_readable = environ_readable_by_nobody(cpid);
    let _ = control.kill();
    let _ = control.wait();
    assert!(control_readable, "the control process was not readable: the check proves nothing here");
}
