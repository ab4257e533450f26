//! What relsign's programs share, and nothing of the domain: the exit codes' table (their
//! values and every library error's contract are in relsign-error, below the domain
//! crates); the failure a run ends with and its one-line report on stderr; the `check`
//! report (`preflight`), JUnit reports, logging, process hardening and stop signals.

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

pub use relsign_error::{Contract, Exit, Fix, Step, REPORT_BUG};

/// A failure to report: what is wrong and what to do about it, kept apart (so `check` can
/// show them apart), joined as one line on stderr; and an exit code.
#[derive(Debug, Clone)]
pub struct Failure {
    pub exit: Exit,
    pub problem: String,
    pub fix: Fix,
}

impl Failure {
    /// A failure with nothing more to advise than its problem says.
    pub fn new(exit: Exit, problem: impl fmt::Display) -> Failure {
        Failure { exit, problem: problem.to_string(), fix: Fix::none() }
    }

    /// What to do about it: words (`"check --from"`) or a [`Fix`] with commands.
    pub fn with_fix(mut self, fix: impl Into<Fix>) -> Failure {
        self.fix = fix.into();
        self
    }

    /// Prints `program: error: problem: fix` on stderr, on one line whatever they hold.
    pub fn report(&self, program: &str) {
        let line = self.to_string();
        let one_line: String =
            line.split(['\n', '\r']).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        if tracing::dispatcher::has_been_set() {
            // The fix's steps as data for JSON lines: its commands as argv, never re-parsed.
            let steps = serde_json::to_string(&self.fix).unwrap_or_default();
            tracing::error!(exit_code = self.exit.code(), fix = steps.as_str(), "{one_line}");
        } else {
            eprintln!("{program}: error: {one_line}");
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fix.is_none() {
            true => f.write_str(&self.problem),
            false => write!(f, "{}: {}", self.problem, self.fix),
        }
    }
}

impl std::error::Error for Failure {}

/// The number of worker threads when the user does not say: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// Every library error becomes a failure through its contract: its exit code, its problem
/// (its message) and its fix. (Failure itself keeps no contract, so this cannot overlap
/// `From<Failure> for Failure`.)
impl<E: Contract> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure { exit: e.exit(), fix: e.fix(), problem: e.to_string() }
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
