//! The command line. Every option also reads an environment variable, so a buildspec can
//! configure signer without long command lines.

use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Args, Parser, Subcommand};
use relsign_cli::exit_codes_help;

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

    #[command(flatten)]
    pub log: relsign_cli::logging::LogArgs,
}

fn main_help() -> String {
    let exit_codes = exit_codes_help();
    format!(
        "Examples:\n  \
         signer sign --key-file private.asc --passphrase-file pass.txt --out signed dist/\n  \
         signer verify --cert public.asc signed/\n  \
         signer export-cert --key-file private.asc > public.asc\n  \
         signer kms-cert --kms-key-id alias/release-signing --user-id 'Release <release@example.org>' > public.asc\n  \
         signer sign --kms-key-id alias/release-signing --out signed dist/\n\n{exit_codes}"
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
    /// Preflight: report what `sign` would use and whether it works, signing nothing
    #[command(after_help = CHECK_HELP)]
    Check(SignArgs),
    /// Print the public certificate of a secret key (what users verify with)
    #[command(after_help = EXPORT_HELP)]
    ExportCert(ExportCertArgs),
    /// Print a POSIX sh script that verifies a published release with curl, gpgv or sqv
    /// and sha256sum, pinned to the release certificate (for users without relsign)
    #[command(after_help = VERIFY_SCRIPT_HELP)]
    VerifyScript(VerifyScriptArgs),
    /// Make the OpenPGP certificate of an AWS KMS key, self-signed by KMS (what users verify with)
    #[command(after_help = KMS_CERT_HELP)]
    KmsCert(KmsCertArgs),
}

const KMS_CERT_HELP: &str = "\
Examples:
  signer kms-cert --kms-key-id alias/release-signing \\
      --user-id 'Release Signing <release@example.org>' --expires 2y > public.asc
  SIGNER_KMS_KEY_ID=arn:aws:kms:... signer kms-cert --user-id 'Release Signing <release@example.org>'

The key's public key and creation time come from KMS (GetPublicKey, DescribeKey), so the
fingerprint is the same on every run; the self-signature is one KMS Sign call. Keys of
spec RSA_2048, RSA_3072, RSA_4096, ECC_NIST_P256 or ECC_NIST_P384 with usage SIGN_VERIFY.
See `signer --help` for the exit codes.";

#[derive(Args, Debug)]
pub struct KmsCertArgs {
    /// AWS KMS key (key ARN, key id or alias/NAME)
    #[arg(long, env = "SIGNER_KMS_KEY_ID", value_name = "ID", required = true)]
    pub kms_key_id: String,

    /// The user ID the certificate names, as 'Name <email>'
    #[arg(long, env = "SIGNER_USER_ID", value_name = "UID", required = true)]
    pub user_id: String,

    /// How long the certificate is valid from now (e.g. 2y, 18months); default: no expiry
    #[arg(long, env = "SIGNER_CERT_EXPIRES", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub expires: Option<std::time::Duration>,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Write to FILE instead of stdout
    #[arg(long, short = 'o', env = "SIGNER_CERT_OUT", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

const SIGN_HELP: &str = "\
Examples:
  # In CodeBuild: key and passphrase from Secrets Manager, every secondary source signed
  PRIVATE_KEY_ARN=arn:aws:secretsmanager:... PASSPHRASE=... signer sign --out signed
  # A CodeBuild batch with combined artifacts: each build's folder is a source of its own
  signer sign --batch-source BuildArtifacts --out signed
  # Only the files named by exported variables, found in the sources
  signer sign --key-secret-id release-key --passphrase-secret-id release-pass \\
      --artifact-var AGENT_TAR --artifact-var AGENT_DEB --exported-vars signer.env
  # Locally: sign everything under dist/ (recursively) into ./signed
  PASSPHRASE=... signer sign --key-file private.asc dist/
  # A key held in AWS KMS (one Sign call per artifact): no secret, no passphrase
  signer sign --kms-key-id alias/release-signing --cert public.asc --out signed dist/
  # Every signature checked with the certificate users have before it is written
  signer sign --key-file private.asc --cert public.asc --out signed dist/
  # Version 1.4.0, with a signed pointer naming it for `copier --promote`
  signer sign --key-file private.asc --release-version 1.4.0 --release-location \"$GIT_COMMIT_SHA\" dist/
  # Passphrase from a file, a chosen subkey, JSON summary on stdout
  signer sign --key-file private.asc --passphrase-file pass.txt \\
      --signing-key 0123456789ABCDEF0123456789ABCDEF01234567 --json --out out/ a.tar b.deb
  # In the pipeline's signing action: SLSA provenance of the run, signed by the release key
  SIGNER_PIPELINE_EXECUTION_ID='#{codepipeline.PipelineExecutionId}' \\
      signer sign --provenance --batch-source BuildArtifacts --out signed

Output: each artifact at its path relative to the folder it came from (a file given by
itself at the top), <artifact>.asc beside it, then manifest.json, SHA256SUMS and
SHA256SUMS.asc (and, with --release-version, release-pointer.json and its .asc). The output folder must be absent or empty; it appears only when complete.
Each artifact is copied into it in the read that hashes it, so what was signed cannot
change with the input afterwards. Every signature is checked with the key's
certificate (and --cert) before it is written.

The passphrase never goes on the command line: it is read from --passphrase-file or from
the environment variable named by --passphrase-env (PASSPHRASE, as CodeBuild fills it).
See `signer --help` for the exit codes.";

const VERIFY_HELP: &str = "\
Examples:
  signer verify --cert public.asc signed/              # a whole signed folder
  signer verify --cert public.asc app.tar              # app.tar against app.tar.asc
  signer verify --cert public.asc app.tar.asc          # the same
  signer verify --cert public.asc signed/SHA256SUMS    # the signed list and every digest
  signer verify --cert public.asc releases/latest.json # a release pointer and the release it names
  signer verify --cert public.asc --junit reports/signatures.xml signed/   # and a CodeBuild report
  signer verify --cert public.asc --require-provenance signed/   # and its signed provenance

  # A published release, where it lives (streamed, nothing written to disk)
  signer verify --cert public.asc s3://releases/v1.90.0/
  signer verify --cert public.asc --allow-extra s3://releases/v1.90.0/   # other objects allowed
  signer verify --cert public.asc --allow-extra-under logs/ s3://releases/abc123/   # the pipeline's logs beside it
  signer verify --cert public.asc s3://releases/latest.json   # the published pointer and its release
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 signer verify --cert public.asc --path-style s3://releases/v1/
  signer verify --cert public.asc https://downloads.example.org/releases/1.90.0/

One line per file on stdout; exit 1 if anything fails. In a folder, every file needs a
signature that verifies (manifest.json may rely on the signed SHA256SUMS instead), and a
SHA256SUMS, when present, must verify and list every file with the right digest. A
folder's provenance.intoto.jsonl, when present (always, with --require-provenance), must
be signed by a --cert key (its DSSE envelope) and name exactly the artifacts SHA256SUMS
lists; what it says is printed. A release pointer (docs/pointer.md) must verify, and so
must the release it names (from the pointer's folder), whose SHA256SUMS must be the one
the pointer names.

A published release (s3://BUCKET/PREFIX/ with the standard AWS credentials, region and
AWS_ENDPOINT_URL; or https://HOST/PATH/ of a public bucket or CDN, anonymous GETs) must
have SHA256SUMS and its signature SHA256SUMS.asc, and every file SHA256SUMS lists, with
that digest and a good signature of its own (manifest.json: the digest). Each object is
streamed into its check; nothing is written to disk. Each failure names the object:
missing, changed, badly signed, unsealed; served with a Content-Encoding (a client that
decodes it saves other bytes); on S3, under the prefix but not in the release (an error
unless --allow-extra, or under a folder given to --allow-extra-under). Over https nothing
can be listed, so extra objects cannot be found: the output says so. A published pointer
(a location ending in .json, as `copier --promote` writes it) must verify with its .asc
beside it, and the release it names (relative to the pointer's folder, or an s3:// address)
is checked in place as above, its SHA256SUMS the one the pointer names. Exit 1 when the
release does not verify, 5 when it cannot be read.";

const CHECK_HELP: &str = "\
Takes the flags and environment of `signer sign` and reports, without signing anything:
the sources and how many files each holds, the output folder (and --exported-vars: outside
every input), the AWS region and where the
credentials come from, each secret read and decoded, the key chosen and unlocked (its
fingerprint shown), and with --provenance the pipeline execution read from AWS. Each
problem comes with its fix; the exit code is the one the run would fail with.

Examples:
  # In a buildspec, before the real run, with the same environment
  signer check --out signed
  # Locally, as JSON
  signer check --json --key-file private.asc --passphrase-file pass.txt dist/
  # A KMS key: its spec, usage, state and fingerprint, and a test signature verified here
  signer check --kms-key-id alias/release-signing --out signed dist/
  # With --provenance: the pipeline execution read as the signing run will read it
  signer check --provenance --out signed";

const EXPORT_HELP: &str = "\
Examples:
  signer export-cert --key-file private.asc > public.asc
  signer export-cert --key-file keys.asc --signing-key 0123456789ABCDEF0123456789ABCDEF01234567";

/// Where the secret key comes from.
#[derive(Args, Debug)]
pub struct KeyArgs {
    /// Secret key file, armored or binary, as `gpg --armor --export-secret-key` writes it
    #[arg(long, env = "SIGNER_KEY_FILE", value_name = "FILE", conflicts_with = "key_secret_id")]
    pub key_file: Option<PathBuf>,

    /// Secrets Manager secret (ARN or name) holding the armored secret key
    /// [env: SIGNER_KEY_SECRET_ID, else PRIVATE_KEY_ARN]
    #[arg(long, env = "SIGNER_KEY_SECRET_ID", value_name = "ID", hide_env = true)]
    pub key_secret_id: Option<String>,

    /// When the key secret is a JSON object: the field holding the key
    #[arg(long, env = "SIGNER_KEY_SECRET_FIELD", value_name = "NAME")]
    pub key_secret_field: Option<String>,

    /// Version stage of the key secret (default AWSCURRENT)
    #[arg(long, env = "SIGNER_KEY_SECRET_VERSION_STAGE", value_name = "STAGE")]
    pub key_secret_version_stage: Option<String>,

    /// Version id of the key secret
    #[arg(long, env = "SIGNER_KEY_SECRET_VERSION_ID", value_name = "ID")]
    pub key_secret_version_id: Option<String>,

    /// AWS KMS key that signs (key ARN, key id or alias/NAME): the secret never leaves KMS,
    /// and no key, passphrase or Secrets Manager secret is read
    #[arg(long, env = "SIGNER_KMS_KEY_ID", value_name = "ID",
          conflicts_with_all = ["key_file", "key_secret_id", "signing_key"])]
    pub kms_key_id: Option<String>,

    /// The signing key's certificate (what users verify with): the key must be in it, or
    /// the run is refused; every signature is checked with it before it is written, and its
    /// user ID goes into the manifest. For --kms-key-id, the certificate `signer kms-cert` made
    #[arg(long = "cert", env = "SIGNER_KMS_CERT", value_name = "FILE")]
    pub kms_cert: Option<PathBuf>,

    /// Fingerprint or key ID of the certificate or subkey to sign with (default: the newest
    /// valid signing key, as GnuPG chooses)
    #[arg(long, env = "SIGNER_SIGNING_KEY", value_name = "FPR")]
    pub signing_key: Option<String>,

    /// Also sign with RFC 9580 Ed25519/Ed448 keys (algorithms 27, 28), refused by default:
    /// GnuPG 2.2, sqv, rnp 0.16 and PGPy cannot verify their signatures. Only when every
    /// verifier of your releases reads RFC 9580; each run warns
    #[arg(long, env = "SIGNER_ALLOW_RFC9580", value_parser = clap::builder::FalseyValueParser::new())]
    pub allow_rfc9580: bool,
}

/// Where the passphrase comes from (never the command line).
#[derive(Args, Debug)]
pub struct PassphraseArgs {
    /// File holding the passphrase (one trailing newline is tolerated)
    #[arg(long, env = "SIGNER_PASSPHRASE_FILE", value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Secrets Manager secret (ARN or name) holding the passphrase
    /// [env: SIGNER_PASSPHRASE_SECRET_ID, else PASSPHRASE_ARN]
    #[arg(long, env = "SIGNER_PASSPHRASE_SECRET_ID", value_name = "ID", hide_env = true)]
    pub passphrase_secret_id: Option<String>,

    /// When the passphrase secret is a JSON object: the field holding the passphrase
    #[arg(long, env = "SIGNER_PASSPHRASE_SECRET_FIELD", value_name = "NAME")]
    pub passphrase_secret_field: Option<String>,

    /// Name of the environment variable holding the passphrase
    #[arg(long, env = "SIGNER_PASSPHRASE_ENV", value_name = "VAR", default_value = "PASSPHRASE")]
    pub passphrase_env: String,
}

/// AWS settings beyond the standard chain (environment, profile, container credentials).
#[derive(Args, Debug)]
pub struct AwsArgs {
    /// AWS region
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Attempts per AWS request, the first included (standard retry mode with backoff)
    #[arg(long, env = "SIGNER_MAX_ATTEMPTS", value_name = "N", default_value_t = 3)]
    #[arg(alias = "aws-max-attempts")] // the old name (with SIGNER_AWS_MAX_ATTEMPTS: lib.rs)
    pub max_attempts: u32,
}

/// How artifacts are published in the output folder.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// At their path relative to their source
    Flat,
    /// Under a folder named after their source: <ArtifactName>/<path>
    BySource,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub passphrase: PassphraseArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Add or replace a source folder (CodeBuild sets CODEBUILD_SRC_DIR_<NAME> for each)
    #[arg(long = "source", env = "SIGNER_SOURCES", value_name = "NAME=DIR", value_delimiter = ',',
          value_parser = relsign_codebuild::parse_source)]
    pub sources: Vec<relsign_codebuild::Source>,

    /// The source NAME is a CodeBuild batch's combined artifact (CombineArtifacts): each of
    /// its top-level folders is one build's output, signed as a source named by the folder
    /// (the build-list identifier). Repeatable
    #[arg(long = "batch-source", env = "SIGNER_BATCH_SOURCES", value_name = "NAME", value_delimiter = ',')]
    pub batch_sources: Vec<String>,

    /// Sign only the file named by this variable's value, found in one of the sources
    /// (repeatable)
    #[arg(long = "artifact-var", env = "SIGNER_ARTIFACT_VARS", value_name = "VAR", value_delimiter = ',')]
    pub artifact_vars: Vec<String>,

    /// Sign only artifacts whose path matches GLOB (repeatable)
    #[arg(long, env = "SIGNER_INCLUDE", value_name = "GLOB", value_delimiter = ',')]
    pub include: Vec<String>,

    /// Do not sign artifacts whose path matches GLOB (repeatable)
    #[arg(long, env = "SIGNER_EXCLUDE", value_name = "GLOB", value_delimiter = ',')]
    pub exclude: Vec<String>,

    /// Output layout when sources are used
    #[arg(long, env = "SIGNER_LAYOUT", value_enum, default_value_t = Layout::Flat)]
    pub layout: Layout,

    /// Write NAME=value lines (signed count, SHA-256 of SHA256SUMS, key fingerprint) for
    /// a buildspec's exported-variables
    #[arg(long, env = "SIGNER_EXPORTED_VARS", value_name = "FILE")]
    pub exported_vars: Option<PathBuf>,

    /// Also write provenance.intoto.jsonl at the top of the release: SLSA provenance v1 of
    /// this pipeline run in a DSSE envelope signed by the release key, its subjects every
    /// artifact, every field read from CodeBuild and CodePipeline (needs CODEBUILD_BUILD_ID
    /// and --pipeline-execution-id)
    #[arg(long, env = "SIGNER_PROVENANCE", value_parser = FalseyValueParser::new())]
    pub provenance: bool,

    /// The CodePipeline execution running this signing build, for --provenance: set it in
    /// the action to #{codepipeline.PipelineExecutionId}
    #[arg(long, env = "SIGNER_PIPELINE_EXECUTION_ID", value_name = "ID")]
    pub pipeline_execution_id: Option<String>,

    /// The release's version (SemVer, such as 1.4.0): recorded in manifest.json, and a
    /// signed pointer to the release written beside it (release-pointer.json and its .asc),
    /// which `copier --promote` publishes. In the pipeline, the version every build wrote
    /// to its release-version file
    #[arg(long, env = "SIGNER_RELEASE_VERSION", value_name = "VERSION")]
    pub release_version: Option<String>,

    /// Where the pointer says the release is: a folder relative to the pointer's own
    /// (promoted to s3://B/releases/latest.json, `abc123` names s3://B/releases/abc123/) or
    /// s3://BUCKET/PREFIX [default: the version]
    #[arg(long, env = "SIGNER_RELEASE_LOCATION", value_name = "LOCATION", requires = "release_version")]
    pub release_location: Option<String>,

    /// Output folder (absent or empty)
    #[arg(long, short, env = "SIGNER_OUT", value_name = "DIR", default_value = "signed")]
    pub out: PathBuf,

    /// Files signed at once (default: one per core)
    #[arg(long, short, env = "SIGNER_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Print the summary as JSON on stdout
    #[arg(long, env = "SIGNER_JSON", value_parser = FalseyValueParser::new())]
    pub json: bool,

    /// Files and folders to sign (folders recursively; existing .asc files are skipped).
    /// Without PATH: every CODEBUILD_SRC_DIR_* source and --source
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Certificate(s) to trust, armored or binary (repeatable; comma-separated in the variable)
    #[arg(long, env = "SIGNER_CERT", value_name = "FILE", required = true, value_delimiter = ',')]
    pub cert: Vec<PathBuf>,

    /// Fingerprint of the certificate that may sign (repeatable; comma-separated in the
    /// variable). Needed to tell which of several --cert may sign; any of them otherwise
    #[arg(long, env = "SIGNER_SIGNER_FINGERPRINT", value_name = "FINGERPRINT", value_delimiter = ',')]
    pub signer_fingerprint: Vec<String>,

    /// Fail a folder that has no SHA256SUMS
    #[arg(long, env = "SIGNER_REQUIRE_SUMS", value_parser = FalseyValueParser::new())]
    pub require_sums: bool,

    /// Fail a folder that has no provenance.intoto.jsonl (`signer sign --provenance`)
    #[arg(long, env = "SIGNER_REQUIRE_PROVENANCE", value_parser = FalseyValueParser::new())]
    pub require_provenance: bool,

    /// Files checked at once (default: one per core; for a published release, downloads at
    /// once: 4 per core, 4 to 16)
    #[arg(long, short, env = "SIGNER_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Print the results as JSON on stdout
    #[arg(long, env = "SIGNER_JSON", value_parser = FalseyValueParser::new())]
    pub json: bool,

    /// Also write the results as JUnit XML (one test case per file), for a CodeBuild report
    #[arg(long, env = "SIGNER_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// A published release (s3://): objects under the prefix that the release does not
    /// list are named but do not fail it. Example: --allow-extra
    #[arg(long, env = "SIGNER_ALLOW_EXTRA", value_parser = FalseyValueParser::new())]
    pub allow_extra: bool,

    /// A published release (s3://): objects under this folder of the release's prefix are
    /// not the release's and do not fail it (repeatable; comma-separated in the variable).
    /// The pipeline's exported build logs sit beside the release: --allow-extra-under logs/
    #[arg(long, env = "SIGNER_ALLOW_EXTRA_UNDER", value_name = "FOLDER", value_delimiter = ',')]
    pub allow_extra_under: Vec<String>,

    /// A published release (s3://): address buckets as endpoint/bucket/key (local and
    /// S3-compatible servers; the endpoint comes from AWS_ENDPOINT_URL)
    #[arg(long, env = "SIGNER_PATH_STYLE", value_parser = FalseyValueParser::new())]
    pub path_style: bool,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Signed folders, artifacts, .asc files, SHA256SUMS files or release pointers; or a
    /// published release, checked where it lives without writing it to disk:
    /// s3://BUCKET/PREFIX/ or https://HOST/PATH/, or a published pointer (a name ending in
    /// .json, such as s3://BUCKET/releases/latest.json) and the release it names
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

const VERIFY_SCRIPT_HELP: &str = "\
Examples:
  # A script users run to download and verify the newest release: publish it beside the release
  signer verify-script --cert keys/release-signing-key.asc \\
      --base-url https://downloads.example.org/releases/1.4.0/ > verify-release.sh
  # Then, on a machine with curl and gpgv (or sqv) but no relsign:
  sh verify-release.sh -o downloads/                 # every file of the release
  sh verify-release.sh -o downloads/ agent.tar       # one file, checked against the signed list
  sh verify-release.sh -u https://mirror.example.org/releases/1.4.0/ agent.tar

The script holds the certificate itself and checks every signature with a keyring holding
it alone (never the user's own keyring), then every digest with sha256sum -c; files reach
the output folder only when all of them verified. It fails closed, one line on stderr: exit
1 when a check fails (a changed file, a missing or foreign signature), 2 on usage or a
missing tool (no gpgv or sqv, no curl), 3 when a download fails.
See `signer --help` for signer's own exit codes.";

#[derive(Args, Debug)]
pub struct VerifyScriptArgs {
    /// The release certificate the script pins (one certificate, armored or binary)
    #[arg(long, env = "SIGNER_CERT", value_name = "FILE", required = true)]
    pub cert: PathBuf,

    /// Where the release is published (https://HOST/PATH/); users may give another with -u
    #[arg(long, env = "SIGNER_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,

    /// Write the script to FILE (mode 755) instead of stdout
    #[arg(long, short = 'o', env = "SIGNER_SCRIPT_OUT", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExportCertArgs {
    #[command(flatten)]
    pub key: KeyArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    /// Write to FILE instead of stdout
    #[arg(long, short = 'o', env = "SIGNER_CERT_OUT", value_name = "FILE")]
    pub output: Option<PathBuf>,
}
