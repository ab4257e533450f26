//! The command line. Every option also reads an environment variable, so a buildspec can
//! configure signer without long command lines.

use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand};
use relsign_cli::EXIT_CODES_HELP;

#[derive(Parser)]
#[command(
    name = "signer",
    version,
    about = "Sign release artifacts with detached OpenPGP signatures that GnuPG and sqv accept",
    after_help = main_help(),
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

fn main_help() -> String {
    format!(
        "Examples:\n  \
         signer sign --key-file private.asc --passphrase-file pass.txt --out signed dist/\n  \
         signer verify --cert public.asc signed/\n  \
         signer export-cert --key-file private.asc > public.asc\n\n{EXIT_CODES_HELP}"
    )
}

#[derive(Subcommand)]
pub enum Command {
    /// Sign files and folders into an output folder with SHA256SUMS, its signature and a manifest
    #[command(after_help = SIGN_HELP)]
    Sign(SignArgs),
    /// Check signatures, a signed SHA256SUMS, or a whole signed folder
    #[command(after_help = VERIFY_HELP)]
    Verify(VerifyArgs),
    /// Print the public certificate of a secret key (what users verify with)
    #[command(after_help = EXPORT_HELP)]
    ExportCert(ExportCertArgs),
}

const SIGN_HELP: &str = "\
Examples:
  # Sign everything under dist/ (recursively) into ./signed
  PASSPHRASE=... signer sign --key-file private.asc dist/
  # Passphrase from a file, a chosen subkey, JSON summary on stdout
  signer sign --key-file private.asc --passphrase-file pass.txt \\
      --signing-key 0123456789ABCDEF0123456789ABCDEF01234567 --json --out out/ a.tar b.deb

Output: each artifact at its path relative to the folder it came from (a file given by
itself at the top), <artifact>.asc beside it, then manifest.json, SHA256SUMS and
SHA256SUMS.asc. The output folder must be absent or empty; it appears only when complete.

The passphrase never goes on the command line: it is read from --passphrase-file or from
the environment variable named by --passphrase-env (PASSPHRASE, as CodeBuild fills it).
See `signer --help` for the exit codes.";

const VERIFY_HELP: &str = "\
Examples:
  signer verify --cert public.asc signed/              # a whole signed folder
  signer verify --cert public.asc app.tar              # app.tar against app.tar.asc
  signer verify --cert public.asc app.tar.asc          # the same
  signer verify --cert public.asc signed/SHA256SUMS    # the signed list and every digest

One line per file on stdout; exit 1 if anything fails. In a folder, every file needs a
signature that verifies (manifest.json may rely on the signed SHA256SUMS instead), and a
SHA256SUMS, when present, must verify and list every file with the right digest.";

const EXPORT_HELP: &str = "\
Examples:
  signer export-cert --key-file private.asc > public.asc
  signer export-cert --key-file keys.asc --signing-key 0123456789ABCDEF0123456789ABCDEF01234567";

/// Where the secret key comes from.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Secret key file, armored or binary, as `gpg --armor --export-secret-key` writes it
    #[arg(long, env = "SIGNER_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,

    /// Fingerprint or key ID of the certificate or subkey to sign with (default: the newest
    /// valid signing key, as GnuPG chooses)
    #[arg(long, env = "SIGNER_SIGNING_KEY", value_name = "FPR")]
    pub signing_key: Option<String>,
}

/// Where the passphrase comes from (never the command line).
#[derive(Args, Debug)]
pub struct PassphraseArgs {
    /// File holding the passphrase (one trailing newline is tolerated)
    #[arg(long, env = "SIGNER_PASSPHRASE_FILE", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Name of the environment variable holding the passphrase
    #[arg(
        long,
        env = "SIGNER_PASSPHRASE_ENV",
        value_name = "VAR",
        default_value = "PASSPHRASE"
    )]
    pub passphrase_env: String,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    /// Output folder (absent or empty)
    #[arg(
        long,
        short,
        env = "SIGNER_OUT",
        value_name = "DIR",
        default_value = "signed"
    )]
    pub out: PathBuf,

    /// Files signed at once (default: one per core)
    #[arg(long, short, env = "SIGNER_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Print the summary as JSON on stdout
    #[arg(long, env = "SIGNER_JSON", value_parser = FalseyValueParser::new())]
    pub json: bool,

    /// Files and folders to sign (folders recursively; existing .asc files are skipped)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Certificate(s) to trust, armored or binary (repeatable; comma-separated in the variable)
    #[arg(
        long,
        env = "SIGNER_CERT",
        value_name = "FILE",
        required = true,
        value_delimiter = ','
    )]
    pub cert: Vec<PathBuf>,

    /// Fail a folder that has no SHA256SUMS
    #[arg(long, env = "SIGNER_REQUIRE_SUMS", value_parser = FalseyValueParser::new())]
    pub require_sums: bool,

    /// Files checked at once (default: one per core)
    #[arg(long, short, env = "SIGNER_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Print the results as JSON on stdout
    #[arg(long, env = "SIGNER_JSON", value_parser = FalseyValueParser::new())]
    pub json: bool,

    /// Signed folders, artifacts, .asc files or SHA256SUMS files
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportCertArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    /// Write to FILE instead of stdout
    #[arg(long, short = 'o', env = "SIGNER_CERT_OUT", value_name = "FILE")]
    pub output: Option<PathBuf>,
}
