//! cfn-lint (from the venv scripts/test makes) accepts every template: no errors, and no
//! warnings but those suppressed in the template with a comment saying why.

use std::process::Command;

use relsign_tests::local_aws::venv;
use relsign_tests::repo_root;

const TEMPLATES: [&str; 4] = [
    "release-pipeline-stack.yml",
    "minimal-signing-build-stack.yml",
    "audit-logs-stack.yml",
    "kms-signing-key-stack.yml",
];

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

/// Every buildspec reads as one (version 0.2, known phases), and every command and shared
/// script is valid POSIX sh; signing.yml and copy.yml also under busybox, the image's shell.
#[test]
fn every_buildspec_and_script_is_valid_sh() {
    let dir = repo_root().join("buildspecs");
    let busybox = relsign_tests::require_tool("busybox", "busybox-static");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let spec = relsign_wiring::Buildspec::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let in_image = ["signing.yml", "copy.yml", "verify-published.yml"].contains(&name.as_str());
        for (phase, p) in spec.phases_in_order() {
            for command in p.commands.iter().chain(&p.finally) {
                let mut shells = vec![Command::new("sh")];
                if in_image {
                    let mut b = Command::new(&busybox);
                    b.arg("sh");
                    shells.push(b);
                }
                for mut sh in shells {
                    let out = sh.args(["-n", "-c", command]).output().unwrap();
                    assert!(
                        out.status.success(),
                        "{name} {phase}: `{command}`: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
        seen += 1;
    }
    assert!(seen >= 9, "expected the nine buildspecs, found {seen}");
    for entry in std::fs::read_dir(dir.join("lib")).unwrap() {
        let path = entry.unwrap().path();
        for shell in [vec!["sh"], vec![busybox.to_str().unwrap(), "sh"]] {
            let out = Command::new(shell[0]).args(&shell[1..]).arg("-n").arg(&path).output().unwrap();
            assert!(out.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        }
    }
}

/// The checkov venv scripts/test makes (`ensure_checkov`, a pinned checkov of its own).
fn checkov() -> std::path::PathBuf {
    let venv = std::env::var_os("RELSIGN_CHECKOV_VENV").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cache/relsign/checkov-venv")
    });
    let checkov = venv.join("bin/checkov");
    assert!(checkov.is_file(), "{} is missing: run scripts/test (it installs checkov)", checkov.display());
    checkov
}

/// checkov finds nothing in templates/ but the checks templates/.checkov.yaml skips.
#[test]
fn checkov_accepts_every_template() {
    let dir = repo_root().join("templates");
    let out = Command::new(checkov())
        .arg("-d")
        .arg(&dir)
        .arg("--config-file")
        .arg(dir.join(".checkov.yaml"))
        .output()
        .expect("run checkov");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("Failed checks: 0"),
        "checkov on templates/:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really read the three templates.
    let passed: u32 = report
        .split("Passed checks: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(passed >= 100, "checkov passed only {passed} checks: did it read the templates?\n{report}");
}

/// Every check templates/.checkov.yaml skips has its reason in a comment just above it.
#[test]
fn every_skipped_checkov_check_says_why() {
    let text = std::fs::read_to_string(repo_root().join("templates/.checkov.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut skipped = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("- CKV") {
            let reason = lines[..i].iter().rev().take_while(|l| l.trim_start().starts_with('#')).count();
            assert!(reason > 0, ".checkov.yaml:{}: {} skipped without a reason above it", i + 1, line.trim());
            skipped += 1;
        }
    }
    assert!(text.contains("skip-check:"), "no skip-check list");
    eprintln!("checkov: {skipped} checks skipped, each with its reason");
}
