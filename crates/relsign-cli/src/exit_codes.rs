//! The exit codes' meanings, written once: `--help` of both programs, the README's table
//! and docs/troubleshooting.md's headings are made from this table (`relsign
//! generate-docs`, whose check mode the tests run).

use crate::Exit;

/// One exit code as users read it.
pub struct ExitCode {
    pub exit: Exit,
    /// The line in `--help`.
    pub summary: &'static str,
    /// The README's row: the summary with every case it covers.
    pub detail: &'static str,
}

pub const EXIT_CODES: [ExitCode; 11] = [
    ExitCode { exit: Exit::Ok, summary: "success", detail: "success" },
    ExitCode {
        exit: Exit::Verify,
        summary: "verification failed: a signature or checksum does not verify",
        detail: "verification failed: a signature or checksum does not verify \
                 (`relsign check-pipeline`: wiring problems found)",
    },
    ExitCode {
        exit: Exit::Usage,
        summary: "usage: wrong flags or arguments",
        detail: "usage: wrong flags or arguments",
    },
    ExitCode {
        exit: Exit::Input,
        summary: "input: missing, unreadable or refused input (bad name, symlink out, duplicate)",
        detail: "input: missing, unreadable or refused input (bad name, symlink out of its folder, \
                 duplicate name, FIFO)",
    },
    ExitCode {
        exit: Exit::Key,
        summary: "key: key unreadable, wrong passphrase, expired, revoked, no signing key, KMS key unusable",
        detail: "key: key unreadable, wrong or missing passphrase, expired, revoked, no signing key, \
                 ambiguous; a KMS key disabled, pending deletion, of another spec or usage, or \
                 `--cert` of another key",
    },
    ExitCode {
        exit: Exit::Remote,
        summary: "remote: secret, KMS key or AWS service not found, access denied, unreachable",
        detail: "remote: secret, KMS key or AWS service not found, access denied, throttled past \
                 the retries, unreachable",
    },
    ExitCode {
        exit: Exit::Output,
        summary: "output: output or destination cannot be written or holds something else",
        detail: "output: output folder or destination cannot be written, is a file, or is not empty",
    },
    ExitCode {
        exit: Exit::Rollback,
        summary: "rollback: the release pointer names a newer release (copier --promote; --allow-rollback)",
        detail: "rollback: the release pointer already names a newer release, or the same version of \
                 another release, so `copier --promote` left it as it was (`--allow-rollback` moves it \
                 anyway)",
    },
    ExitCode {
        exit: Exit::Internal,
        summary: "internal error (a bug: please report it)",
        detail: "internal error (a bug: please report it)",
    },
    ExitCode {
        exit: Exit::Interrupted,
        summary: "interrupted: stopped by SIGINT, after removing what it had half-written",
        detail: "interrupted: stopped by SIGINT (Ctrl-C) after removing what it had half-written \
                 (signer: its staging folder; copier: its multipart uploads)",
    },
    ExitCode {
        exit: Exit::Terminated,
        summary: "terminated: stopped by SIGTERM, after removing what it had half-written",
        detail: "terminated: stopped by SIGTERM (CodeBuild stopping the build), after the same clean-up",
    },
];

/// The table at the end of `signer --help` and `copier --help`.
pub fn exit_codes_help() -> String {
    let mut out = String::from("Exit codes (the same for signer and copier):");
    for c in &EXIT_CODES {
        out.push_str(&format!("\n  {:<3} {}", c.exit.code(), c.summary));
    }
    out
}

/// The README's table (Markdown).
pub fn exit_codes_markdown() -> String {
    let mut out = String::from("| code | meaning |\n|---|---|\n");
    for c in &EXIT_CODES {
        out.push_str(&format!("| {} | {} |\n", c.exit.code(), c.detail));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_once_in_order() {
        let codes: Vec<i32> = EXIT_CODES.iter().map(|c| c.exit.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 7, 70, 130, 143]);
        assert!(EXIT_CODES.iter().all(|c| c.detail.starts_with(c.summary.split(':').next().unwrap())));
    }
}
