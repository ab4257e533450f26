//! The command line; every option also reads an environment variable.

use std::path::PathBuf;

use clap::builder::FalseyValueParser;
use clap::{Parser, Subcommand};
use relsign_cli::exit_codes_help;

fn help() -> String {
    let exit_codes = exit_codes_help();
    format!(
        "Examples:\n  \
         # In CodeBuild: to $RESULTS_BUCKET_URI/$GIT_COMMIT_SHA, only if every signature verifies\n  \
         copier --from \"$CODEBUILD_SRC_DIR_SignedArtifact\" --require-signatures --cert public.asc\n  \
         # Explicit destination, what would happen, as JSON\n  \
         copier --from signed --to s3://releases/v1.90.0 --dry-run --json\n  \
         # Preflight with the same flags; a JUnit report of the upload for CodeBuild\n  \
         copier check --from signed --to s3://releases/v1.90.0\n  \
         copier --from signed --to s3://releases/v1.90.0 --junit reports/upload.xml\n  \
         # The hand-off: signatures from the signing action, artifacts from the builds\n  \
         copier --from \"$CODEBUILD_SRC_DIR_Signatures\" --artifacts-from \"$CODEBUILD_SRC_DIR_BuildArtifacts\" \\\n      \
         --require-signatures --cert public.asc\n  \
         # A bucket with S3 Object Lock: every object kept, undeletable, for ten years\n  \
         copier --from signed --to s3://releases/v1.90.0 --object-lock-mode COMPLIANCE --object-lock-days 3650\n\n\
         Order: SHA256SUMS first (the claim), then artifacts, .asc files and manifest.json, and\n\
         SHA256SUMS.asc last (the seal), so its presence marks a complete release. An object is\n\
         identical only when S3 verified a SHA-256 of exactly the local bytes (never a CRC or an\n\
         MD5 ETag): it is skipped; a different or unproven one is refused (nothing is uploaded)\n\
         unless --overwrite (or, for an unproven one, --existing rehash).\n\n{exit_codes}"
    )
}

fn size(s: &str) -> Result<u64, String> {
    s.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{s:?} is not a size such as 16MiB: {e}"))
}

/// `--existing`: what to do with an object S3 keeps no SHA-256 of.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Existing {
    /// Not identical: refused (or replaced with --overwrite)
    Refuse,
    /// Read back and hashed: identical when its SHA-256 is the local file's
    Rehash,
}

impl From<Existing> for relsign_s3::Existing {
    fn from(e: Existing) -> relsign_s3::Existing {
        match e {
            Existing::Refuse => relsign_s3::Existing::Refuse,
            Existing::Rehash => relsign_s3::Existing::Rehash,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "copier",
    version,
    about = "Publish a signed release folder to S3: gated, verified, idempotent",
    after_help = help(),
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub args: Args,

    #[command(flatten)]
    pub log: relsign_cli::logging::LogArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Preflight: report what a copy would use and whether it can, uploading nothing
    #[command(after_help = CHECK_HELP)]
    Check(Args),
}

const CHECK_HELP: &str = "\
Takes the flags and environment of a copy and reports, without uploading anything: the
folder and its files (and, with --require-signatures, whether every signature verifies),
the destination, the AWS region and where the credentials come from, and whether the
bucket can be listed and written (a multipart upload is started under the prefix and
aborted: no object is written) and, with --object-lock-mode, whether it has S3 Object Lock.
Each problem comes with its fix; the exit code is the one the copy would fail with.

Examples:
  copier check --from signed --to s3://releases/v1.90.0
  copier check --require-signatures --cert public.asc --json";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The signed folder to publish
    #[arg(long, env = "COPIER_FROM", value_name = "DIR", default_value = ".")]
    pub from: PathBuf,

    /// The hand-off: --from holds only what signer made (the .asc files, SHA256SUMS, its
    /// signature, manifest.json), and each artifact SHA256SUMS lists is taken from these
    /// build outputs instead: a folder, or a batch's combined artifact (one folder per
    /// build). Files they hold that SHA256SUMS does not list are not published. Repeatable
    #[arg(long = "artifacts-from", env = "COPIER_ARTIFACTS_FROM", value_name = "DIR", value_delimiter = ',')]
    pub artifacts_from: Vec<PathBuf>,

    /// Destination [default: $RESULTS_BUCKET_URI/$GIT_COMMIT_SHA]
    #[arg(long, env = "COPIER_TO", value_name = "s3://BUCKET/PREFIX")]
    pub to: Option<String>,

    /// Refuse to publish unless every file has a verifying signature and SHA256SUMS.asc
    /// verifies and lists every file with the right digest
    #[arg(long, env = "COPIER_REQUIRE_SIGNATURES", value_parser = FalseyValueParser::new())]
    pub require_signatures: bool,

    /// Certificate(s) to verify with (repeatable; comma-separated in the variable)
    #[arg(long, env = "COPIER_CERT", value_name = "FILE", value_delimiter = ',')]
    pub cert: Vec<PathBuf>,

    /// Fingerprint of the certificate that may sign (repeatable; comma-separated in the
    /// variable). Needed to tell which of several --cert may sign; any of them otherwise
    #[arg(long, env = "COPIER_SIGNER_FINGERPRINT", value_name = "FINGERPRINT", value_delimiter = ',')]
    pub signer_fingerprint: Vec<String>,

    /// Replace objects that differ instead of refusing
    #[arg(long, env = "COPIER_OVERWRITE", value_parser = FalseyValueParser::new())]
    pub overwrite: bool,

    /// What to do with an object already at the destination that S3 keeps no SHA-256 of (a
    /// multipart object uploaded without SHA-256 part checksums, a store that keeps none):
    /// refuse it as unproven (CRC and MD5 can be forged), or rehash it (read it back and
    /// hash it: its bytes are downloaded). Example: --existing rehash
    #[arg(long, env = "COPIER_EXISTING", value_name = "POLICY", value_enum, default_value_t = Existing::Refuse)]
    pub existing: Existing,

    /// The lease of this run's claim (SHA256SUMS, written first), in seconds: recorded with
    /// the claim and renewed every third of it while the run lives. A claim left unsealed
    /// by a dead run is taken over by the next run once its lease has run out; while the
    /// claiming run lives, another signing of the release still loses. Example:
    /// --claim-lease 900
    #[arg(long, env = "COPIER_CLAIM_LEASE", value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub claim_lease: u64,

    /// Print the plan and upload nothing
    #[arg(long, env = "COPIER_DRY_RUN", value_parser = FalseyValueParser::new())]
    pub dry_run: bool,

    /// Print the summary as JSON on stdout
    #[arg(long, env = "COPIER_JSON", value_parser = FalseyValueParser::new())]
    pub json: bool,

    /// Also write each file's outcome as JUnit XML (one test case per file), for a CodeBuild report
    #[arg(long, env = "COPIER_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Transfers (parts, and whole files over 256 KiB) in flight at once; memory stays under
    /// about N x --part-size [default: 4 per core, 4 to 16]
    #[arg(long, short, env = "COPIER_JOBS", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Small requests (whole files of at most 256 KiB, HeadObjects) in flight at once, beside
    /// the --jobs transfers: on S3 each mostly waits for the first byte
    #[arg(long, env = "COPIER_REQUESTS", value_name = "N", default_value = "64", value_parser = clap::value_parser!(u16).range(1..))]
    pub requests: u16,

    /// Files at least this large always go up in parts (S3 takes at most 5 GiB in one PUT).
    /// Smaller files go whole, streamed from disk, unless one is more than a connection's
    /// share of the release (its bytes / --jobs): that one goes in parts
    #[arg(long, env = "COPIER_MULTIPART_THRESHOLD", value_name = "SIZE", default_value = "5GiB", value_parser = size)]
    pub multipart_threshold: u64,

    /// Part size (grown automatically so that 10,000 parts suffice)
    #[arg(long, env = "COPIER_PART_SIZE", value_name = "SIZE", default_value = "8MiB", value_parser = size)]
    pub part_size: u64,

    /// Server-side encryption: AES256 or aws:kms
    #[arg(long, env = "COPIER_SSE", value_name = "ALGORITHM")]
    pub sse: Option<String>,

    /// KMS key for --sse aws:kms
    #[arg(long, env = "COPIER_SSE_KMS_KEY_ID", value_name = "KEY", requires = "sse")]
    pub sse_kms_key_id: Option<String>,

    /// Storage class, such as STANDARD or INTELLIGENT_TIERING
    #[arg(long, env = "COPIER_STORAGE_CLASS", value_name = "CLASS")]
    pub storage_class: Option<String>,

    /// Canned ACL, such as bucket-owner-full-control
    #[arg(long, env = "COPIER_ACL", value_name = "ACL")]
    pub acl: Option<String>,

    /// S3 Object Lock: the retention set on every object written, GOVERNANCE or COMPLIANCE
    /// (with --object-lock-days; the bucket must have Object Lock, which is checked first)
    #[arg(long, env = "COPIER_OBJECT_LOCK_MODE", value_name = "MODE", value_parser = ["GOVERNANCE", "COMPLIANCE"], requires = "object_lock_days")]
    pub object_lock_mode: Option<String>,

    /// Days each object written is retained from the start of the run (with --object-lock-mode)
    #[arg(long, env = "COPIER_OBJECT_LOCK_DAYS", value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36500), requires = "object_lock_mode")]
    pub object_lock_days: Option<u32>,

    /// AWS region
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    pub region: Option<String>,

    /// Attempts per request, the first included (standard retry mode; throttling backs off)
    #[arg(long, env = "COPIER_MAX_ATTEMPTS", value_name = "N", default_value_t = 5)]
    pub max_attempts: u32,

    /// Seconds to wait for the first byte of a response before retrying the request
    #[arg(long, env = "COPIER_READ_TIMEOUT", value_name = "SECONDS", default_value_t = 60)]
    pub read_timeout: u64,

    /// Address buckets as endpoint/bucket/key (local and S3-compatible servers)
    #[arg(long, env = "COPIER_PATH_STYLE", value_parser = FalseyValueParser::new())]
    pub path_style: bool,
}
