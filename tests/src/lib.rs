//! Helpers for relsign's cross-binary suites: the built binaries, real GnuPG homes with
//! keys of the shapes users have, `sqv`, and child processes measured for peak memory.
//!
//! Every external tool is required: a missing one fails the test with what to install,
//! it never skips.

pub mod codebuild;
pub mod command;
pub mod cw_pattern;
pub mod gpg;
pub mod implementations;
pub mod keys;
pub mod local_aws;
pub mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use command::TestCommand;

/// The path of a binary built from this workspace (`cargo build` puts them beside the
/// test executables' `deps/` folder), or from `RELSIGN_TEST_BINARIES` when set: the
/// suites run against another build, an older one for instance, to see a test fail where
/// the defect it guards is still there.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = match std::env::var_os("RELSIGN_TEST_BINARIES") {
        Some(dir) => PathBuf::from(dir),
        None => exe.parent().and_then(Path::parent).expect("target profile folder").to_path_buf(),
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is not built: run `cargo build --workspace` first (scripts/test does)",
        path.display()
    );
    path
}

/// Fails the test unless `tool` is on PATH.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(tool);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{tool} is not installed: install the Debian package {package} (scripts/test does)");
}

/// The lines of stderr, for "one clear line" checks.
pub fn stderr_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr).lines().map(str::to_string).collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts the command failed with `code` and said so in exactly one stderr line that
/// contains `needle`.
pub fn assert_fails(out: &Output, code: i32, needle: &str) {
    let lines = stderr_lines(out);
    assert_eq!(out.status.code(), Some(code), "exit code; stderr: {lines:?}");
    assert_eq!(lines.len(), 1, "want one stderr line, got {lines:?}");
    assert!(lines[0].contains(needle), "stderr {:?} should mention {needle:?}", lines[0]);
}

/// The error line says what went wrong in words: no `Debug` dump of the SDK's error
/// (`DispatchFailure(...)`, `ResponseError(...)`, `hyper::Error`, `ConnectorError {`).
pub fn assert_readable(out: &Output) {
    let lines = stderr_lines(out).join("\n");
    for dump in ["DispatchFailure(", "ResponseError(", "hyper::", "ConnectorError", "source: "] {
        assert!(!lines.contains(dump), "a raw SDK error ({dump}) in {lines:?}");
    }
}

/// Whether `dir` holds anything named like a staging folder of `out` (left-overs).
pub fn partial_leftovers(parent: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(parent)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(".partial-")))
                .collect()
        })
        .unwrap_or_default()
}

/// `sqv --keyring CERT SIG FILE`: whether sqv accepts the signature.
pub fn sqv_accepts(cert: &Path, sig: &Path, file: &Path) -> bool {
    let sqv = require_tool("sqv", "sqv");
    let out = Command::new(sqv).arg("--keyring").arg(cert).arg(sig).arg(file).output().expect("run sqv");
    out.status.success()
}

/// `sha256sum -c SHA256SUMS` in `dir`.
pub fn sha256sum_check(dir: &Path) -> bool {
    let tool = require_tool("sha256sum", "coreutils");
    Command::new(tool)
        .args(["--strict", "-c", "SHA256SUMS"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("run sha256sum")
        .success()
}

/// Runs `cmd` (a `TestCommand`'s: environment cleared but for what it set) to completion,
/// its output discarded, and returns its exit status and its own peak RSS in KiB, as GNU
/// time reads it. Not from wait4 on a child of this process: Rust spawns with vfork
/// (CLONE_VM), and Linux's exec records the old address space's high-water mark in the
/// child's ru_maxrss, which is then this test process's peak, not the program's; GNU time's
/// own small process is what the program is exec'd from.
pub fn run_measured(cmd: &mut Command) -> (std::process::ExitStatus, u64) {
    let time = require_tool("time", "time");
    let report = tempfile::NamedTempFile::new().expect("temporary file");
    let mut timed = Command::new(time);
    timed.env_clear().args(["-f", "%M", "-o"]).arg(report.path()).arg(cmd.get_program()).args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            timed.env(k, v);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let status = timed
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run GNU time");
    let text = std::fs::read_to_string(report.path()).unwrap_or_default();
    let kib = text.lines().filter_map(|l| l.trim().parse::<u64>().ok()).next_back().expect("GNU time's %M");
    (status, kib)
}

/// Writes `files` (relative name, content) under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &[u8])]) {
    for (name, content) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// A release-shaped sample: nested paths, spaces, non-ASCII names, an empty file.
pub fn sample_tree(dir: &Path) {
    write_tree(
        dir,
        &[
            ("agent v1.0.tar", b"tarball bytes\n" as &[u8]),
            ("ünïcödé-paket_1.0_arm64.deb", b"deb bytes"),
            ("scripts/install.sh", b"#!/bin/sh\necho hi\n"),
            ("nested/deeper/empty.bin", b""),
        ],
    );
}

/// Copies every file under `from` to the same place under `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for rel in files_under(from) {
        let dest = to.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), dest).unwrap();
    }
}

/// Every file under `dir`, relative and `/`-separated, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_str().unwrap().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The root of the relsign checkout these tests belong to.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The folder of this checkout's static musl `relsign` (signer and copier in one binary),
/// which scripts/test builds with `scripts/package binaries` before the tests run. Not built
/// here: cargo holds the target folder's lock while the tests run.
pub fn musl_binaries() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe.ancestors().nth(3).expect("the target folder");
    let dir = target.join(format!("{}-unknown-linux-musl/release", std::env::consts::ARCH));
    assert!(
        dir.join("relsign").is_file(),
        "{} is not built: run scripts/package binaries (scripts/test does)",
        dir.join("relsign").display()
    );
    dir
}

/// Whether `path` is JUnit XML as CodeBuild reads it: valid against
/// `tests/fixtures/junit.xsd` (checked with xmlschema from the venv), else why not.
pub fn junit_validation(path: &Path) -> Result<(), String> {
    let py = local_aws::venv().join("bin/python");
    let xsd = repo_root().join("tests/fixtures/junit.xsd");
    let res = Command::new(&py)
        .args(["-c", "import sys, xmlschema; xmlschema.XMLSchema(sys.argv[1]).validate(sys.argv[2])"])
        .arg(&xsd)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}: run scripts/test (it installs xmlschema)", py.display()));
    if res.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&res.stderr).into_owned())
    }
}

/// Fails unless `path` is valid JUnit XML (see [`junit_validation`]).
pub fn validate_junit(path: &Path) {
    if let Err(why) = junit_validation(path) {
        panic!("{} is not valid JUnit XML: {why}", path.display());
    }
}

/// The names of the test cases of a JUnit report that hold a `<failure>`.
pub fn failing_cases(xml: &str) -> Vec<String> {
    xml.split("<testcase ")
        .skip(1)
        .filter(|case| case.contains("<failure"))
        .map(|case| case.split('"').nth(1).unwrap_or_default().to_string())
        .collect()
}

/// Asserts a preflight (`signer check`, `copier check`) passed and its report mentions each
/// of `needles`.
pub fn assert_check_passed(res: &Output, needles: &[&str]) {
    let text = stdout(res);
    assert!(res.status.success(), "{text}{:?}", stderr_lines(res));
    for needle in needles {
        assert!(text.contains(needle), "check output lacks {needle:?}:\n{text}");
    }
}
