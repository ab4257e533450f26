//! The fixes relsign's errors suggest, checked against what they name: every suggested
//! `signer` or `copier` command parses with the programs' real flags, and every suggested
//! `gpg` command runs, in a throwaway GnuPG home, on a real key. The commands come from the
//! errors' contracts as argv (relsign-error's `Fix`), never parsed back out of the text.

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use relsign_error::{Contract, Fix};

    /// The fixes of every example error of every crate whose fixes run commands.
    fn every_fix(primary: &str, subkey: &str) -> Vec<(String, Fix)> {
        let mut fixes = Vec::new();
        fixes.extend(relsign_pgp::Error::examples(primary, subkey).iter().map(|e| (e.to_string(), e.fix())));
        fixes.extend(relsign_kms::Error::examples().iter().map(|e| (e.to_string(), e.fix())));
        fixes.extend(relsign_codebuild::Error::examples().iter().map(|e| (e.to_string(), e.fix())));
        fixes.extend(relsign_s3::Error::examples().iter().map(|e| (e.to_string(), e.fix())));
        fixes
    }

    /// gpg in `home`, without a prompt (the test key has no passphrase).
    fn gpg(home: &Path, args: &[&str]) -> std::process::Output {
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .args(["--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .expect("gpg must be installed (scripts/test installs it)")
    }

    /// A primary key and its signing subkey in a fresh home: their fingerprints.
    fn key(home: &Path) -> (String, String) {
        let made = gpg(home, &["--quick-gen-key", "Fixes Test <fixes@example.org>", "ed25519", "cert", "1y"]);
        assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
        let listing = gpg(home, &["--with-colons", "--list-keys"]);
        let fprs: Vec<String> = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_string())
            .collect();
        let added = gpg(home, &["--quick-add-key", &fprs[0], "ed25519", "sign", "1y"]);
        assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
        let listing = gpg(home, &["--with-colons", "--list-keys", &fprs[0]]);
        let fprs: Vec<String> = String::from_utf8_lossy(&listing.stdout)
            .lines()
            .filter(|l| l.starts_with("fpr:"))
            .map(|l| l.split(':').nth(9).unwrap().to_string())
            .collect();
        (fprs[0].clone(), fprs[1].clone())
    }

    #[test]
    fn every_suggested_command_names_what_exists() {
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        let (primary, subkey) = key(home.path());
        let programs = crate::docs::programs();
        let (mut ours, mut gpgs) = (0, 0);
        for (error, fix) in every_fix(&primary, &subkey) {
            for argv in fix.commands() {
                match argv[0].as_str() {
                    program @ ("signer" | "copier") => {
                        let (_, command) = programs.iter().find(|(name, _)| *name == program).unwrap();
                        match command.clone().try_get_matches_from(argv) {
                            Ok(_) => {}
                            // A fix names the flag to change; the run's other flags stay.
                            Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {}
                            Err(e) => panic!("{error}: the suggested {argv:?} does not parse: {e}"),
                        }
                        ours += 1;
                    }
                    "gpg" => {
                        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
                        let out = gpg(home.path(), &args);
                        assert!(
                            out.status.success(),
                            "{error}: the suggested {argv:?} fails: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                        gpgs += 1;
                    }
                    // AWS CLI commands need an account; their shape is checked where made.
                    "aws" => {}
                    other => panic!("{error}: a fix runs {other:?}, which this test does not know"),
                }
            }
        }
        // The examples hold this many: a reader that finds none proves nothing.
        assert!(ours >= 8, "only {ours} signer/copier commands checked");
        assert!(gpgs >= 20, "only {gpgs} gpg commands run");
    }
}
