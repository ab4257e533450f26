//! The SDK configuration every relsign client starts from.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::Error;

/// What the command line may override; everything else comes from the standard chain.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    /// Attempts per request, the first included (the SDK's standard retry mode).
    pub max_attempts: Option<u32>,
    /// Seconds to establish a connection.
    pub connect_timeout: Option<u64>,
    /// Seconds to wait for the first byte of a response before the attempt is retried.
    pub read_timeout: Option<u64>,
}

/// Loads the configuration. Fails when no region is known, since every call would.
pub async fn load(opts: &AwsOptions) -> Result<SdkConfig, Error> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.unwrap_or(3).max(1)))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(opts.connect_timeout.unwrap_or(5)))
                .read_timeout(Duration::from_secs(opts.read_timeout.unwrap_or(60)))
                .build(),
        );
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(Error::NoRegion);
    }
    Ok(config)
}

/// An S3 client. `path_style` addresses buckets as `endpoint/bucket/key`, which local and
/// S3-compatible servers need (the SDK reads no environment variable for it).
pub fn s3_client(config: &SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let s3 = aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build();
    aws_sdk_s3::Client::from_conf(s3)
}
