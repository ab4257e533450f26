//! `TestCommand`: the one way the suites run relsign's binaries. Isolated by default (only
//! `PATH` from the environment, so none of the developer's `AWS_*`, `SIGNER_*` or
//! `COPIER_*` settings leak in; stdin closed), with the assertions every suite makes: it
//! succeeded, or it failed with the documented exit code and one clear stderr line.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use crate::keys::KeyFile;
use crate::{assert_fails, bin, stderr_lines, stdout};

pub struct TestCommand {
    program: String,
    cmd: Command,
}

impl TestCommand {
    /// The workspace binary `name`, isolated.
    pub fn new(name: &str) -> TestCommand {
        TestCommand::with_binary(name, &bin(name))
    }

    /// `binary` (a copy of the workspace binary `name`, say), isolated.
    pub fn with_binary(name: &str, binary: &Path) -> TestCommand {
        let mut cmd = Command::new(binary);
        cmd.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).stdin(Stdio::null());
        TestCommand { program: name.to_string(), cmd }
    }

    pub fn signer() -> TestCommand {
        TestCommand::new("signer")
    }

    pub fn copier() -> TestCommand {
        TestCommand::new("copier")
    }

    /// `signer sign` with `key`, its passphrase (if it has one) read from a file written
    /// into `work`; the caller adds `--out` and the inputs.
    pub fn sign(key: &KeyFile, work: &Path) -> TestCommand {
        TestCommand::signer_with_key("sign", key, work)
    }

    /// `signer check` (the preflight of `sign`) with the same key flags as [`TestCommand::sign`].
    pub fn check(key: &KeyFile, work: &Path) -> TestCommand {
        TestCommand::signer_with_key("check", key, work)
    }

    fn signer_with_key(subcommand: &str, key: &KeyFile, work: &Path) -> TestCommand {
        let mut cmd = TestCommand::signer();
        cmd.arg(subcommand).arg("--key-file").arg(&key.secret);
        if !key.passphrase.is_empty() {
            let pass = work.join("passphrase");
            std::fs::write(&pass, key.passphrase).unwrap();
            cmd.arg("--passphrase-file").arg(pass);
        }
        cmd
    }

    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    pub fn envs<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, env: &[(K, V)]) -> &mut TestCommand {
        for (k, v) in env {
            self.cmd.env(k, v);
        }
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut TestCommand {
        self.cmd.current_dir(dir);
        self
    }

    /// The underlying command, for what the builder does not cover (piping stdin, say).
    pub fn command(&mut self) -> &mut Command {
        &mut self.cmd
    }

    /// Runs it to completion.
    pub fn output(&mut self) -> Output {
        self.cmd.output().unwrap_or_else(|e| panic!("run {}: {e}", self.program))
    }

    /// Starts it with stdout and stderr piped, for runs that race or get signalled.
    pub fn spawn(&mut self) -> Child {
        self.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.program))
    }

    /// Runs it and asserts it succeeded.
    pub fn expect_ok(&mut self) -> Output {
        let out = self.output();
        assert!(
            out.status.success(),
            "{} failed ({:?}): stderr {:?}, stdout {}",
            self.program,
            out.status.code(),
            stderr_lines(&out),
            stdout(&out)
        );
        out
    }

    /// Runs it and asserts it failed with `code`, saying so in exactly one stderr line that
    /// contains `says`.
    pub fn expect_fails(&mut self, code: i32, says: &str) -> Output {
        let out = self.output();
        assert_fails(&out, code, says);
        out
    }
}
