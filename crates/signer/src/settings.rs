//! The flags of `signer sign` turned into what the domain takes: the inputs, how artifacts
//! are chosen and named, the AWS options. Both the run (sign.rs) and its preflight
//! (check.rs) take them here, so the two judge the same settings the same way.

use std::path::PathBuf;

use relsign_aws::AwsOptions;
use relsign_cli::{Exit, Failure};
use relsign_codebuild::{
    artifact_from_variable, expand_batches, merge_sources, sources_from_env, Input, Options,
};

use crate::cli::{AwsArgs, Layout, SignArgs};

/// How artifacts are chosen and named, for `sign` and `check` alike.
pub(crate) fn selection_options(args: &SignArgs) -> Options {
    let mut secret_files = Vec::new();
    if let Some(key) = &args.key.key_file {
        secret_files.push((key.clone(), "signing key file (--key-file)"));
    }
    if let Some(pass) = &args.passphrase.passphrase_file {
        secret_files.push((pass.clone(), "passphrase file (--passphrase-file)"));
    }
    Options {
        include: args.include.clone(),
        exclude: args.exclude.clone(),
        by_source: args.layout == Layout::BySource,
        secret_files,
    }
}

/// The folders (or files) the inputs come from, which `--out` may not lie inside.
pub(crate) fn input_roots(inputs: &[Input]) -> Vec<PathBuf> {
    inputs.iter().map(|i| i.root.clone().unwrap_or_else(|| i.path.clone())).collect()
}

/// What to sign: the PATH arguments, else the sources CodeBuild names (all their files, or
/// the files the `--artifact-var` variables name).
pub(crate) fn inputs(args: &SignArgs) -> Result<Vec<Input>, Failure> {
    if !args.paths.is_empty() {
        if !args.artifact_vars.is_empty() {
            return Err(Failure::new(
                Exit::Usage,
                "--artifact-var picks files from the sources (CODEBUILD_SRC_DIR_*, --source)",
            )
            .with_fix("drop the PATH arguments"));
        }
        return Ok(args.paths.iter().map(Input::path).collect());
    }
    let env = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let sources = expand_batches(merge_sources(sources_from_env(env), &args.sources), &args.batch_sources)?;
    if sources.is_empty() {
        return Err(relsign_codebuild::Error::NoSources.into());
    }
    if args.artifact_vars.is_empty() {
        return Ok(sources
            .iter()
            .map(|s| Input { path: s.dir.clone(), source: Some(s.name.clone()), ..Input::default() })
            .collect());
    }
    args.artifact_vars
        .iter()
        .map(|var| {
            let value = std::env::var(var).ok();
            artifact_from_variable(var, value.as_deref(), &sources).map_err(Failure::from)
        })
        .collect()
}

/// How the AWS clients are made: region and retries.
pub(crate) fn aws_options(aws: &AwsArgs) -> AwsOptions {
    AwsOptions {
        region: aws.region.clone(),
        max_attempts: Some(aws.max_attempts),
        connect_timeout: None,
        read_timeout: None,
    }
}

/// `--release-version` and `--release-location`, checked before anything is read: the
/// version must be SemVer (promotion orders releases by it), the location a relative folder
/// or an s3:// URI; it defaults to a folder named by the version, beside the pointer.
pub(crate) fn release_version(args: &SignArgs) -> Result<Option<relsign_pgp::ReleaseVersion>, Failure> {
    let Some(version) = &args.release_version else {
        return Ok(None);
    };
    let version = relsign_pgp::parse_version(version).map_err(|why| {
        Failure::new(Exit::Usage, why)
            .with_fix("pass --release-version (SIGNER_RELEASE_VERSION) such as 1.4.0")
    })?;
    let location = args.release_location.clone().unwrap_or_else(|| version.to_string());
    let location = relsign_pgp::normalize_location(&location).map_err(|why| {
        Failure::new(Exit::Usage, why).with_fix(
            "pass --release-location as a folder relative to the pointer (1.4.0/) or s3://BUCKET/PREFIX/",
        )
    })?;
    Ok(Some(relsign_pgp::ReleaseVersion { version, location }))
}

/// `verify --allow-extra-under`: folders of a published release's prefix, each a plain
/// relative path, given their trailing `/` (so `logs` does not also allow `logs-old/`).
pub(crate) fn extra_folders(folders: &[String]) -> Result<Vec<String>, Failure> {
    folders
        .iter()
        .map(|folder| {
            let trimmed = folder.trim_end_matches('/');
            relsign_pgp::validate_relative(trimmed).map(|()| format!("{trimmed}/")).map_err(|why| {
                Failure::new(Exit::Usage, format!("--allow-extra-under {folder:?}: {why}"))
                    .with_fix("pass a folder of the release's prefix, such as --allow-extra-under logs/")
            })
        })
        .collect()
}
