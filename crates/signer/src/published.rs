//! `signer verify s3://BUCKET/PREFIX/` and `https://HOST/PATH/`: a published release
//! checked where it lives, by relsign-s3 (the copier's client and scheduling), with the
//! standard AWS configuration and the flags of `verify`; and a published release pointer
//! (`s3://BUCKET/KEY.json`) with the release it names.

use std::sync::Arc;

use relsign_cli::{Exit, Failure};
use relsign_pgp::Verifier;
use relsign_s3::{PointerReport, PublishedOptions, PublishedReport, Source};

use crate::cli::VerifyArgs;

/// Downloads at once when `--jobs` is not given: the copier's default, 4 per core, 4 to 16
/// (each mostly waits on the network).
fn default_downloads() -> usize {
    (relsign_cli::default_jobs() * 4).clamp(4, 16)
}

/// Small objects (signatures, the manifest) read at once beside the large ones: each is
/// mostly a first-byte wait.
const REQUESTS: usize = 64;

/// What one published location turned out to be, checked.
pub enum Checked {
    Release(PublishedReport),
    Pointer(Box<PointerReport>),
}

pub fn check(args: &VerifyArgs, location: &str, verifier: Arc<Verifier>) -> Result<Checked, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(relsign_cli::default_jobs().max(2))
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Exit::Internal, format!("cannot start the async runtime: {e}")))?;
    let opts = PublishedOptions {
        jobs: args.jobs.map(usize::from).unwrap_or_else(default_downloads),
        requests: REQUESTS,
        allow_extra: args.allow_extra,
        allow_extra_under: crate::settings::extra_folders(&args.allow_extra_under)?,
    };
    runtime.block_on(async {
        if !relsign_s3::is_pointer_location(location) {
            let source = source(args, location).await?;
            return Ok(Checked::Release(relsign_s3::verify_published(&source, verifier, &opts).await?));
        }
        let (folder, name) = relsign_s3::split_pointer_location(location).ok_or_else(|| {
            Failure::new(
                Exit::Usage,
                format!("{location}: a release pointer is an object in a bucket or under a URL"),
            )
            .with_fix("pass s3://BUCKET/KEY.json or https://HOST/PATH/KEY.json")
        })?;
        let source = source(args, folder).await?;
        Ok(Checked::Pointer(Box::new(
            relsign_s3::verify_published_pointer(&source, name, verifier, &opts).await?,
        )))
    })
}

/// The store a location (a folder) is read from: S3 with the standard AWS configuration, or
/// plain HTTP(S).
async fn source(args: &VerifyArgs, location: &str) -> Result<Source, Failure> {
    Ok(if location.starts_with("s3://") {
        let destination: relsign_s3::Destination = location.parse()?;
        let config = relsign_aws::load(&crate::settings::aws_options(&args.aws)).await?;
        Source::S3 { client: relsign_aws::s3_client(&config, args.path_style), destination }
    } else {
        Source::http(relsign_s3::parse_base_url(location)?)?
    })
}
