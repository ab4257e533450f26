//! The report of `signer check` and `copier check`: what a run would use, each item OK or a
//! problem with its fix, on stdout (text or JSON); one error line and a non-zero exit when a
//! run would fail.

use std::io::Write;

use serde::Serialize;

use crate::{Exit, Failure, Fix};

#[derive(Debug, Serialize)]
pub struct Item {
    pub topic: String,
    pub ok: bool,
    pub detail: String,
    /// The fix as one line of text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The fix as data: its steps, each said or run (argv).
    #[serde(skip_serializing_if = "Fix::is_none")]
    pub steps: Fix,
    #[serde(skip)]
    exit: Exit,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
}

impl Report {
    pub fn ok(&mut self, topic: impl Into<String>, detail: impl Into<String>) {
        self.items.push(Item {
            topic: topic.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
            steps: Fix::none(),
            exit: Exit::Ok,
        });
    }

    /// A problem from a relsign error, with its fix.
    pub fn failure(&mut self, topic: impl Into<String>, failure: &Failure) {
        self.items.push(Item {
            topic: topic.into(),
            ok: false,
            detail: failure.problem.clone(),
            fix: failure.fix.text(),
            steps: failure.fix.clone(),
            exit: failure.exit,
        });
    }

    /// A problem the check itself found, with its fix.
    pub fn problem(
        &mut self,
        topic: impl Into<String>,
        exit: Exit,
        detail: impl Into<String>,
        fix: impl Into<Fix>,
    ) {
        let steps = fix.into();
        self.items.push(Item {
            topic: topic.into(),
            ok: false,
            detail: detail.into(),
            fix: steps.text(),
            steps,
            exit,
        });
    }

    pub fn problems(&self) -> usize {
        self.items.iter().filter(|i| !i.ok).count()
    }

    /// Prints the report; fails, with the exit code of the first problem, if there is one.
    pub fn finish(self, program: &str, json: bool) -> Result<Exit, Failure> {
        let mut out = std::io::stdout().lock();
        let problems = self.problems();
        if json {
            let _ = serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({ "ok": problems == 0, "items": &self.items }),
            );
            let _ = writeln!(out);
        } else {
            let width = self.items.iter().map(|i| i.topic.len()).max().unwrap_or(0);
            for item in &self.items {
                let status = if item.ok { "OK  " } else { "FAIL" };
                let _ = writeln!(out, "{status}  {:<width$}  {}", item.topic, item.detail);
                if let Some(fix) = &item.fix {
                    let _ = writeln!(out, "      {:<width$}  fix: {fix}", "");
                }
            }
            let verdict = if problems == 0 {
                format!("{program} check: a run would start with this setup")
            } else {
                format!("{program} check: a run would fail: {problems} problem(s) above")
            };
            let _ = writeln!(out, "{verdict}");
        }
        match self.items.iter().find(|i| !i.ok) {
            None => Ok(Exit::Ok),
            Some(first) => {
                let failure = Failure::new(
                    first.exit,
                    format!(
                        "a run would fail: {problems} problem(s) (listed on stdout), the first: {}",
                        first.detail
                    ),
                );
                Err(failure.with_fix(first.steps.clone()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A library error as the domain crates make them: a message holding colons, a fix.
    #[derive(Debug)]
    struct Unreadable(Fix);

    impl std::fmt::Display for Unreadable {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot read /k: Permission denied: os error 13")
        }
    }

    impl std::error::Error for Unreadable {}

    impl crate::Contract for Unreadable {
        fn exit(&self) -> Exit {
            Exit::Input
        }
        fn fix(&self) -> Fix {
            self.0.clone()
        }
    }

    #[test]
    fn a_library_error_keeps_its_fix_apart_from_a_detail_holding_colons() {
        let mut r = Report::default();
        r.failure("key", &Failure::from(Unreadable(Fix::none())));
        assert_eq!(r.items[0].detail, "cannot read /k: Permission denied: os error 13");
        assert_eq!(r.items[0].fix, None);
        assert_eq!(r.items[0].exit, Exit::Input);
        let fix = Fix::run("make it readable", ["chmod", "a+r", "/k"]);
        r.failure("key", &Failure::from(Unreadable(fix.clone())));
        assert_eq!(r.items[1].fix.as_deref(), Some("make it readable: `chmod a+r /k`"));
        assert_eq!(r.items[1].steps, fix);
    }

    #[test]
    fn the_first_problem_decides_the_exit_code() {
        let mut r = Report::default();
        r.ok("a", "fine");
        r.failure("key", &Failure::new(Exit::Key, "wrong passphrase for key F").with_fix("check PASSPHRASE"));
        r.problem("out", Exit::Output, "not empty", "empty it");
        let err = r.finish("signer", true).unwrap_err();
        assert_eq!(err.exit, Exit::Key);
        assert!(err.problem.contains("2 problem(s)"), "{}", err.problem);
        assert_eq!(err.fix.text().as_deref(), Some("check PASSPHRASE"));
    }
}
