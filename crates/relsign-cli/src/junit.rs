//! JUnit XML reports, one test case per artifact, for CodeBuild's report groups: the
//! console then lists each artifact's signature check or upload with its status.

use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::{Exit, Failure};

/// What became of one artifact.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Done; the text says how (signed by, uploaded as).
    Passed(String),
    /// Not done, and why: a failure in the report.
    Failed(String),
    /// Not attempted, and why (another artifact failed first).
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct Case {
    /// The artifact's path in the release.
    pub name: String,
    pub outcome: Outcome,
}

/// Writes `cases` as one suite to `path`, whole or not at all (a temporary file renamed).
pub fn write(path: &Path, program: &str, suite_name: &str, cases: &[Case]) -> Result<(), Failure> {
    let mut suite = TestSuite::new(suite_name);
    for case in cases {
        let status = match &case.outcome {
            Outcome::Passed(_) => TestCaseStatus::success(),
            Outcome::Failed(why) => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(why.as_str());
                s
            }
            Outcome::Skipped(why) => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(why.as_str());
                s
            }
        };
        let mut test = TestCase::new(case.name.as_str(), status);
        test.set_classname(suite_name);
        if let Outcome::Passed(how) = &case.outcome {
            test.set_system_out(how.as_str());
        }
        suite.add_test_case(test);
    }
    let mut report = Report::new(program);
    report.add_test_suite(suite);

    let fail = |e: &dyn std::fmt::Display| {
        Failure::new(Exit::Output, format!("cannot write the JUnit report {}: {e}", path.display()))
            .with_fix("check --junit")
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(&e))?;
    report.serialize(&mut file).map_err(|e| fail(&e))?;
    file.persist(path).map_err(|e| fail(&e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_artifact_is_a_failure_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports/verify.xml");
        let cases = vec![
            Case { name: "app.tar".into(), outcome: Outcome::Passed("signed by ABC".into()) },
            Case { name: "app.deb".into(), outcome: Outcome::Failed("bad signature <&>".into()) },
            Case { name: "app.rpm".into(), outcome: Outcome::Skipped("not uploaded".into()) },
        ];
        write(&path, "signer", "signatures", &cases).unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        assert!(xml.contains("<testsuites name=\"signer\" tests=\"3\" failures=\"1\""), "{xml}");
        assert!(xml.contains("<failure message=\"bad signature &lt;&amp;&gt;\""), "{xml}");
        assert!(xml.contains("<skipped message=\"not uploaded\""), "{xml}");
    }
}
