//! The report of `signer check` and `copier check`: what a run would use, each item OK or a
//! problem with its fix, on stdout (text or JSON); one error line and a non-zero exit when a
//! run would fail.

use std::io::Write;

use serde::Serialize;

use crate::{Exit, Failure};

#[derive(Debug, Serialize)]
pub struct Item {
    pub topic: String,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip)]
    exit: Exit,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub items: Vec<Item>,
}

/// Every relsign error message ends with what to do, after its last `: `: the problem
/// and its fix, apart.
fn split_fix(message: &str) -> (String, Option<String>) {
    match message.rsplit_once(": ") {
        Some((problem, fix)) if !fix.trim().is_empty() => (problem.to_string(), Some(fix.trim().to_string())),
        _ => (message.to_string(), None),
    }
}

impl Report {
    pub fn ok(&mut self, topic: impl Into<String>, detail: impl Into<String>) {
        self.items.push(Item {
            topic: topic.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
            exit: Exit::Ok,
        });
    }

    /// A problem from a relsign error: its message, and its closing advice as the fix.
    pub fn failure(&mut self, topic: impl Into<String>, failure: &Failure) {
        let (detail, fix) = split_fix(&failure.message);
        self.items.push(Item { topic: topic.into(), ok: false, detail, fix, exit: failure.exit });
    }

    /// A problem the check itself found, with its fix.
    pub fn problem(
        &mut self,
        topic: impl Into<String>,
        exit: Exit,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.items.push(Item {
            topic: topic.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
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
                let fix = first.fix.as_deref().map(|f| format!(": {f}")).unwrap_or_default();
                Err(Failure::new(
                    first.exit,
                    format!(
                        "a run would fail: {problems} problem(s) (listed on stdout), the first: {}{fix}",
                        first.detail
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fix_is_the_advice_after_the_last_colon() {
        assert_eq!(
            split_fix("secret x not found in Secrets Manager (us-east-1): check the secret ARN"),
            (
                "secret x not found in Secrets Manager (us-east-1)".to_string(),
                Some("check the secret ARN".to_string())
            )
        );
        assert_eq!(split_fix("no colon here"), ("no colon here".to_string(), None));
    }

    #[test]
    fn the_first_problem_decides_the_exit_code() {
        let mut r = Report::default();
        r.ok("a", "fine");
        r.failure("key", &Failure::new(Exit::Key, "wrong passphrase for key F: check PASSPHRASE"));
        r.problem("out", Exit::Output, "not empty", "empty it");
        let err = r.finish("signer", true).unwrap_err();
        assert_eq!(err.exit, Exit::Key);
        assert!(err.message.contains("2 problem(s)"), "{}", err.message);
    }
}
