//! The exit codes are one table, the same in both programs' --help and in the README.

use relsign_tests::{repo_root, TestCommand};

#[test]
fn both_programs_and_the_readme_document_the_same_exit_codes() {
    let table = relsign_cli_table();
    for program in ["signer", "copier"] {
        let out = TestCommand::new(program).arg("--help").expect_ok();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(&table), "{program} --help lacks the exit code table:\n{help}");
    }
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    for line in table.lines().skip(1) {
        let (code, meaning) = line.trim().split_once(char::is_whitespace).unwrap();
        let word = meaning.trim().split(':').next().unwrap();
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {code} |")))
            .unwrap_or_else(|| panic!("README has no row for exit {code}"));
        assert!(
            row.to_lowercase().contains(&word.to_lowercase()),
            "README row for {code} ({row}) does not say {word}"
        );
    }
}

/// The table as the programs print it (from `signer --help`, whose text relsign-cli owns).
fn relsign_cli_table() -> String {
    let out = TestCommand::signer().arg("--help").expect_ok();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let start = help.find("Exit codes (the same for signer and copier):").expect("an exit code table");
    help[start..].lines().take_while(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}
