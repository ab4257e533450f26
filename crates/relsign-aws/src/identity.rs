//! Which AWS identity a run would use, for the preflight checks: the region, where the
//! credentials come from, and whether they resolve at all. Nothing secret is shown: the
//! access key id is cut to its last four characters.

use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;

use crate::Error;

/// What the preflight shows of the identity.
#[derive(Debug, Clone)]
pub struct Identity {
    pub region: String,
    /// Where the default chain finds the credentials, in its own order.
    pub source: String,
    /// `…WXYZ`: enough to tell two keys apart in a log.
    pub access_key_hint: String,
    pub expires: Option<SystemTime>,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "region {}, credentials from {} (access key {})",
            self.region, self.source, self.access_key_hint
        )
    }
}

/// The first source of the SDK's default chain that the environment sets up: environment
/// variables, a profile, a web identity token, the container endpoint (CodeBuild's
/// service role), else the instance metadata service.
pub fn credentials_source() -> String {
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    if set("AWS_ACCESS_KEY_ID") {
        "environment variables (AWS_ACCESS_KEY_ID)".into()
    } else if set("AWS_PROFILE") {
        format!("profile {}", std::env::var("AWS_PROFILE").unwrap_or_default())
    } else if set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into()
    } else if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        "container credentials endpoint (CodeBuild or ECS service role)".into()
    } else {
        "shared config files, else the instance metadata service".into()
    }
}

/// Resolves the credentials of `config` once, as the first request would.
pub async fn identity(config: &SdkConfig) -> Result<Identity, Error> {
    let region = config.region().map(|r| r.to_string()).ok_or(Error::NoRegion)?;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| Error::NoCredentials { detail: "no credentials provider configured".into() })?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| Error::NoCredentials { detail: crate::error_chain(&e) })?;
    let id = creds.access_key_id();
    let tail: String = id.chars().skip(id.chars().count().saturating_sub(4)).collect();
    Ok(Identity {
        region,
        source: credentials_source(),
        access_key_hint: format!("…{tail}"),
        expires: creds.expiry(),
    })
}
