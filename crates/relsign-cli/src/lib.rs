//! What relsign's two binaries share: the exit codes, which mean the same in both; the
//! mapping of every library error to one of them, with its problem and fix kept apart; the
//! one-line error report on stderr; the `check` report (`preflight`), JUnit reports,
//! logging, process hardening, stop signals and the verifier both build from flags.

use std::fmt;

mod exit_codes;
pub mod junit;
pub mod logging;
pub mod preflight;
mod process;
mod signals;
pub use exit_codes::{exit_codes_help, exit_codes_markdown, ExitCode, EXIT_CODES};
pub use process::{harden, harden_or_warn, quiet_library_backtraces};
pub use signals::{on_stop_signal, StopSignal};

/// The documented exit codes of `signer` and `copier`; what each means, for users, is in
/// [`EXIT_CODES`] (exit_codes.rs), from which `--help`, the README and the reference are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Verify = 1,
    Usage = 2,
    Input = 3,
    Key = 4,
    Remote = 5,
    Output = 6,
    Rollback = 7,
    Internal = 70,
    Interrupted = 130,
    Terminated = 143,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The advice of every internal error.
pub const REPORT_BUG: &str = "this is a bug in relsign: please report it";

/// A failure to report: what is wrong and what to do about it, kept apart (so `check` can
/// show them apart), joined as one line on stderr; and an exit code.
#[derive(Debug, Clone)]
pub struct Failure {
    pub exit: Exit,
    pub problem: String,
    pub fix: Option<String>,
}

impl Failure {
    /// A failure with nothing more to advise than its problem says.
    pub fn new(exit: Exit, problem: impl fmt::Display) -> Failure {
        Failure { exit, problem: problem.to_string(), fix: None }
    }

    /// What to do about it.
    pub fn with_fix(mut self, fix: impl fmt::Display) -> Failure {
        self.fix = Some(fix.to_string());
        self
    }

    /// Prints `program: error: problem: fix` on stderr, on one line whatever they hold.
    pub fn report(&self, program: &str) {
        let line = self.to_string();
        let one_line: String =
            line.split(['\n', '\r']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        if tracing::dispatcher::has_been_set() {
            tracing::error!(exit_code = self.exit.code(), "{one_line}");
        } else {
            eprintln!("{program}: error: {one_line}");
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.fix {
            Some(fix) => write!(f, "{}: {fix}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for Failure {}

/// The verifier for `--cert` and `--signer-fingerprint`, as `signer verify` and the copier's
/// gate use it: with several certificates and no fingerprint named, any of them may sign,
/// which is worth a warning.
pub fn verifier(certs: &[std::path::PathBuf], signers: &[String]) -> Result<relsign_pgp::Verifier, Failure> {
    let mut verifier = relsign_pgp::Verifier::from_files(certs)?;
    if !signers.is_empty() {
        verifier.only_signers(signers)?;
    } else if let Some(warning) = verifier.ambiguity() {
        tracing::warn!("{warning}");
    }
    Ok(verifier)
}

/// The number of worker threads when the user does not say: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

impl From<relsign_pgp::Error> for Failure {
    fn from(e: relsign_pgp::Error) -> Failure {
        // A KMS that refused a signature: its own error and exit code.
        if let relsign_pgp::Error::External { source, .. } = &e {
            if let Some(kms) = source.downcast_ref::<relsign_kms::Error>() {
                return Failure { exit: kms_exit(kms), problem: kms.to_string(), fix: kms.fix() };
            }
        }
        let exit = match e.kind() {
            relsign_pgp::ErrorKind::Key => Exit::Key,
            relsign_pgp::ErrorKind::Input => Exit::Input,
            relsign_pgp::ErrorKind::Internal => Exit::Internal,
            relsign_pgp::ErrorKind::Remote => Exit::Remote,
        };
        Failure { exit, fix: e.fix(), problem: e.to_string() }
    }
}

fn kms_exit(e: &relsign_kms::Error) -> Exit {
    match e.kind() {
        relsign_kms::ErrorKind::Key => Exit::Key,
        relsign_kms::ErrorKind::Remote => Exit::Remote,
    }
}

impl From<relsign_kms::Error> for Failure {
    fn from(e: relsign_kms::Error) -> Failure {
        Failure { exit: kms_exit(&e), fix: e.fix(), problem: e.to_string() }
    }
}

impl From<relsign_codebuild::Error> for Failure {
    fn from(e: relsign_codebuild::Error) -> Failure {
        let exit = match e.kind() {
            relsign_codebuild::ErrorKind::Input => Exit::Input,
            relsign_codebuild::ErrorKind::Output => Exit::Output,
        };
        Failure { exit, fix: e.fix(), problem: e.to_string() }
    }
}

impl From<relsign_aws::Error> for Failure {
    fn from(e: relsign_aws::Error) -> Failure {
        let exit = match e.kind() {
            relsign_aws::ErrorKind::Remote => Exit::Remote,
            relsign_aws::ErrorKind::Content => Exit::Key,
        };
        Failure { exit, fix: e.fix(), problem: e.to_string() }
    }
}

impl From<relsign_s3::Error> for Failure {
    fn from(e: relsign_s3::Error) -> Failure {
        let exit = match e.kind() {
            relsign_s3::ErrorKind::Usage => Exit::Usage,
            relsign_s3::ErrorKind::Input => Exit::Input,
            relsign_s3::ErrorKind::Destination => Exit::Output,
            relsign_s3::ErrorKind::Remote => Exit::Remote,
            relsign_s3::ErrorKind::Internal => Exit::Internal,
        };
        Failure { exit, fix: e.fix(), problem: e.to_string() }
    }
}

/// The exit code of a run, reporting its failure (if any) on stderr first.
pub fn exit_code(program: &str, result: Result<Exit, Failure>) -> i32 {
    match result {
        Ok(exit) => exit.code(),
        Err(failure) => {
            failure.report(program);
            failure.exit.code()
        }
    }
}
