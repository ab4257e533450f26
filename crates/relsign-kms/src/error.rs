//! The one error type of relsign-kms: each error names the key (its message) and what to
//! do about it ([`Error::fix`]).

use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};

/// What went wrong with a KMS key, in words a release engineer can act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Aws(#[from] relsign_aws::Error),

    #[error("KMS key {key} not found in {region}")]
    NotFound { key: String, region: String },

    #[error("KMS key {key} is disabled")]
    Disabled { key: String },

    #[error("KMS key {key} is pending deletion{when}")]
    PendingDeletion { key: String, when: String },

    #[error("KMS key {key} is {state}, so it cannot sign")]
    NotEnabled { key: String, state: String },

    #[error("KMS key {key} is {spec} for {usage}, which cannot make OpenPGP signatures")]
    Unsupported { key: String, spec: String, usage: String },

    #[error("access denied to {action} on KMS key {key}: {detail}")]
    AccessDenied { key: String, action: &'static str, detail: String },

    #[error("KMS throttled {action} on key {key} past every retry (--max-attempts): {detail}")]
    Throttled { key: String, action: &'static str, detail: String },

    #[error("cannot reach KMS for key {key}: {detail}")]
    Unreachable { key: String, detail: String },

    #[error("KMS refused {action} on key {key}: {detail}")]
    Service { key: String, action: &'static str, detail: String },

    #[error("KMS returned a {what} for key {key} that cannot be read ({detail})")]
    Malformed { key: String, what: &'static str, detail: String },
}

impl Error {
    /// What to do about it, apart from the problem itself: the one-line report joins
    /// them as `problem: fix`, and `check` shows them on separate lines.
    pub fn fix(&self) -> Option<String> {
        match self {
            Error::Aws(e) => e.fix(),
            Error::NotFound { .. } => Some("check --kms-key-id (a key ARN, key id or alias/NAME) and the region".to_string()),
            Error::Disabled { key } => Some(format!("enable it (`aws kms enable-key --key-id {}`) or pass another --kms-key-id", key_id_arg(key))),
            Error::PendingDeletion { key, .. } => Some(format!("cancel it (`aws kms cancel-key-deletion --key-id {}`, then enable the key) or pass another --kms-key-id", key_id_arg(key))),
            Error::NotEnabled { .. } => Some("wait until it is Enabled or pass another --kms-key-id".to_string()),
            Error::Unsupported { .. } => Some("create a SIGN_VERIFY key of spec RSA_4096 or ECC_NIST_P384 (templates/kms-signing-key-stack.yml)".to_string()),
            Error::AccessDenied { action, .. } => Some(format!("allow kms:{action} on this key for this role (key policy and IAM policy)")),
            Error::Throttled { .. } => Some("retry later, or raise the account's KMS cryptographic-operations request-rate quota".to_string()),
            Error::Unreachable { .. } => Some("check the network, AWS_REGION and AWS_ENDPOINT_URL*".to_string()),
            Error::Service { .. } => None,
            Error::Malformed { .. } => Some("check AWS_ENDPOINT_URL* points at KMS".to_string()),
        }
    }
}

/// `key` as `--key-id` of `aws kms enable-key` and `cancel-key-deletion`, which take a key
/// id or key ARN but no alias: an alias is resolved by `describe-key` in the command.
fn key_id_arg(key: &str) -> String {
    let alias = key.starts_with("alias/") || (key.starts_with("arn:") && key.contains(":alias/"));
    match alias {
        true => format!("$(aws kms describe-key --key-id {key} --query KeyMetadata.KeyId --output text)"),
        false => key.to_string(),
    }
}

/// Whether the key itself cannot serve, or KMS cannot be reached or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Key,
    Remote,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Aws(e) => match e.kind() {
                relsign_aws::ErrorKind::Remote => ErrorKind::Remote,
                relsign_aws::ErrorKind::Content => ErrorKind::Key,
            },
            Error::Disabled { .. }
            | Error::PendingDeletion { .. }
            | Error::NotEnabled { .. }
            | Error::Unsupported { .. } => ErrorKind::Key,
            Error::NotFound { .. }
            | Error::AccessDenied { .. }
            | Error::Throttled { .. }
            | Error::Unreachable { .. }
            | Error::Service { .. }
            | Error::Malformed { .. } => ErrorKind::Remote,
        }
    }
}

/// The error of one KMS call (`action`, as IAM names it) on `key`.
pub(crate) fn classify<E>(
    key: &str,
    region: &str,
    action: &'static str,
    e: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let key = key.to_string();
    let detail = relsign_aws::error_chain(&e);
    let SdkError::ServiceError(se) = &e else {
        return match e {
            _ if detail.contains("no credentials") || detail.contains("credentials provider") => {
                Error::Aws(relsign_aws::Error::NoCredentials { detail })
            }
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Error::Unreachable { key, detail },
            _ => Error::Service { key, action, detail },
        };
    };
    let code = se.err().code().unwrap_or_default();
    let message = se.err().message().unwrap_or_default().to_string();
    match code {
        "NotFoundException" => Error::NotFound { key, region: region.to_string() },
        "DisabledException" => Error::Disabled { key },
        "KMSInvalidStateException" => Error::NotEnabled { key, state: format!("not usable ({message})") },
        _ if se.raw().status().as_u16() == 403 => Error::AccessDenied { key, action, detail: message },
        "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
            Error::AccessDenied { key, action, detail: format!("{code}: {message}") }
        }
        "ThrottlingException" => Error::Throttled { key, action, detail: message },
        _ => Error::Service { key, action, detail: format!("{code}: {message}") },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_alias_is_resolved_in_the_suggested_command() {
        let fix = super::Error::Disabled { key: "alias/release".into() }.fix().unwrap();
        assert!(
            fix.contains("--key-id $(aws kms describe-key --key-id alias/release --query KeyMetadata.KeyId"),
            "{fix}"
        );
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let fix = super::Error::Disabled { key: arn.into() }.fix().unwrap();
        assert!(fix.contains(&format!("enable-key --key-id {arn}`")), "{fix}");
    }
}
