//! relsign's error contract, below every domain crate: what each library error tells the
//! program that reports it. That is an exit code ([`Exit`]) and what to do about it
//! ([`Fix`]): steps to say and commands to run, each command kept as argv. The programs
//! show a fix as one line of text, but never parse that text back: tests take the argv and
//! run it (the gpg commands) or parse it against the programs' own flags (signer, copier).

use std::fmt;

use serde::Serialize;

/// The documented exit codes of `signer` and `copier`. What each means, for users, is
/// written once in relsign-cli's table, from which `--help` and the docs are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Verify = 1,
    Usage = 2,
    Input = 3,
    Key = 4,
    Remote = 5,
    Output = 6,
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

/// One thing to do about a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Words: what to check, change or choose.
    Say(String),
    /// A command to run, and what it does for the user (`extend it`).
    Run { purpose: String, argv: Vec<String> },
}

/// What to do about a problem: its steps, in order. No steps: the problem says it all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Fix {
    steps: Vec<Step>,
}

impl Fix {
    /// Nothing more to advise than the problem says.
    pub fn none() -> Fix {
        Fix::default()
    }

    /// One step in words.
    pub fn say(text: impl Into<String>) -> Fix {
        Fix::none().then_say(text)
    }

    /// One command: what it does, and its argv.
    pub fn run<I, S>(purpose: impl Into<String>, argv: I) -> Fix
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Fix::none().then_run(purpose, argv)
    }

    pub fn then_say(mut self, text: impl Into<String>) -> Fix {
        self.steps.push(Step::Say(text.into()));
        self
    }

    pub fn then_run<I, S>(mut self, purpose: impl Into<String>, argv: I) -> Fix
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let argv = argv.into_iter().map(Into::into).collect();
        self.steps.push(Step::Run { purpose: purpose.into(), argv });
        self
    }

    /// This fix, then every step of `next`.
    pub fn then(mut self, next: Fix) -> Fix {
        self.steps.extend(next.steps);
        self
    }

    pub fn is_none(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Every command the fix suggests, as argv.
    pub fn commands(&self) -> impl Iterator<Item = &[String]> {
        self.steps.iter().filter_map(|s| match s {
            Step::Run { argv, .. } => Some(argv.as_slice()),
            Step::Say(_) => None,
        })
    }

    /// The fix as one line (`extend it: `gpg ...`; store the new export: ...`), or nothing.
    pub fn text(&self) -> Option<String> {
        (!self.is_none()).then(|| self.to_string())
    }
}

impl From<&str> for Fix {
    fn from(text: &str) -> Fix {
        Fix::say(text)
    }
}

impl From<String> for Fix {
    fn from(text: String) -> Fix {
        Fix::say(text)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Say(text) => f.write_str(text),
            Step::Run { purpose, argv } => {
                // Quoted as sh reads it, so a pasted command does what the argv says.
                let words = argv.iter().map(|w| shlex::try_quote(w).unwrap_or_else(|_| w.into()));
                write!(f, "{purpose}: `{}`", words.collect::<Vec<_>>().join(" "))
            }
        }
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

/// The contract every library error keeps: its exit code and its fix.
pub trait Contract: std::error::Error {
    fn exit(&self) -> Exit;
    fn fix(&self) -> Fix;
}

/// An error that crossed an API that carries only `anyhow::Error` or `dyn Error` (sequoia's
/// `Signer`, say), with its contract kept: the layer above downcasts to this type instead
/// of to the error types of crates it does not depend on.
#[derive(Debug, Clone)]
pub struct Reported {
    pub message: String,
    pub exit: Exit,
    pub fix: Fix,
}

impl Reported {
    pub fn from_error<E: Contract + ?Sized>(e: &E) -> Reported {
        Reported { message: e.to_string(), exit: e.exit(), fix: e.fix() }
    }
}

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Reported {}

impl Contract for Reported {
    fn exit(&self) -> Exit {
        self.exit
    }
    fn fix(&self) -> Fix {
        self.fix.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_reads_as_one_line_and_keeps_its_argv() {
        let fix = Fix::run("extend it", ["gpg", "--quick-set-expire", "ABC", "1y"])
            .then_run("store the new export", ["gpg", "--armor", "--export-secret-key", "ABC"])
            .then_say("publish the updated certificate");
        assert_eq!(
            fix.to_string(),
            "extend it: `gpg --quick-set-expire ABC 1y`; store the new export: \
             `gpg --armor --export-secret-key ABC`; publish the updated certificate"
        );
        let commands: Vec<_> = fix.commands().collect();
        assert_eq!(commands.len(), 2);
        assert_eq!(commands[0], ["gpg", "--quick-set-expire", "ABC", "1y"]);
    }

    #[test]
    fn a_word_sh_would_split_is_quoted_in_the_text_only() {
        let fix = Fix::run("name it", ["signer", "sign", "--user-id", "Release <r@example.org>"]);
        assert_eq!(fix.to_string(), "name it: `signer sign --user-id 'Release <r@example.org>'`");
        assert_eq!(fix.commands().next().unwrap()[3], "Release <r@example.org>");
    }

    #[test]
    fn no_steps_is_no_fix() {
        assert_eq!(Fix::none().text(), None);
        assert_eq!(Fix::say("check --from").text().as_deref(), Some("check --from"));
    }
}
