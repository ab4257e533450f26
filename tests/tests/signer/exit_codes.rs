//! The exit codes are written once, in relsign-cli's EXIT_CODES; both programs' --help and
//! the README's table are made from it, and docs/reference/ from the flag definitions.
//! `relsign generate-docs --check` is the judge that the committed docs are what the code
//! makes (it compares files; it does not read relsign's own output back).

use std::process::Command;

use relsign_tests::{bin, repo_root, TestCommand};

#[test]
fn both_programs_print_the_exit_codes_table() {
    let table = relsign_cli::exit_codes_help();
    for program in ["signer", "copier"] {
        let out = TestCommand::new(program).arg("--help").expect_ok();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains(&table), "{program} --help lacks the exit code table:\n{help}");
    }
}

#[test]
fn the_readme_and_the_reference_are_what_the_code_makes() {
    let out =
        Command::new(bin("relsign")).args(["generate-docs", "--check"]).arg(repo_root()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr).trim());
}

#[test]
fn a_drifted_readme_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    std::fs::write(dir.path().join("README.md"), readme.replace("| 2 | usage:", "| 2 | wrong usage:"))
        .unwrap();
    std::fs::create_dir_all(dir.path().join("docs/reference")).unwrap();
    std::fs::copy(
        repo_root().join("docs/reference/environment.md"),
        dir.path().join("docs/reference/environment.md"),
    )
    .unwrap();
    let out =
        Command::new(bin("relsign")).args(["generate-docs", "--check"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("README.md is not what the code makes"));
}
