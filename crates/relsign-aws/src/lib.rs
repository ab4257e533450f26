//! AWS for relsign: SDK configuration from the standard chain (environment, profiles, the
//! container credentials CodeBuild provides, `AWS_ENDPOINT_URL*` overrides), bounded
//! timeouts and retries so an unreachable endpoint fails instead of hanging, and secret
//! loading from Secrets Manager.
//!
//! Secret values are handed out in zeroizing buffers and never formatted into errors.

mod config;
mod error;
mod identity;
mod secrets;

pub use config::{load, s3_client, AwsOptions};
pub use error::{error_chain, Error};
pub use identity::{credentials_source, identity, Identity};
pub use secrets::{decode_secret, fetch_secret, SecretRef, SecretsClient};
pub use zeroize::Zeroizing;
