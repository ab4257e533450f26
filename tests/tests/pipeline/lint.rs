//! cfn-lint (from the venv scripts/test makes) accepts every template: no errors, and no
//! warnings but those suppressed in the template with a comment saying why.

use std::process::Command;

use relsign_tests::local_aws::venv;
use relsign_tests::repo_root;

const TEMPLATES: [&str; 3] =
    ["release-pipeline-stack.yml", "minimal-signing-build-stack.yml", "audit-logs-stack.yml"];

#[test]
fn cfn_lint_accepts_every_template() {
    let cfn_lint = venv().join("bin/cfn-lint");
    assert!(
        cfn_lint.is_file(),
        "{} is missing: run scripts/test (it installs cfn-lint into the venv)",
        cfn_lint.display()
    );
    for name in TEMPLATES {
        let path = repo_root().join("templates").join(name);
        let out = Command::new(&cfn_lint).arg(&path).output().expect("run cfn-lint");
        let report =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && report.trim().is_empty(), "cfn-lint {name}:\n{report}");
    }
}

#[test]
fn every_suppressed_finding_says_why() {
    for name in TEMPLATES {
        let text = std::fs::read_to_string(repo_root().join("templates").join(name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.contains("ignore_checks") {
                let comment_above =
                    lines[..i].iter().rev().take_while(|l| l.trim_start().starts_with('#')).count();
                assert!(comment_above > 0, "{name}:{}: ignore_checks without a comment saying why", i + 1);
            }
        }
    }
}
