//! The one error type of relsign-kms: each error names the key (its message), its exit code
//! and what to do about it (relsign-error's [`Contract`]).

use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use relsign_error::{Contract, Exit, Fix};

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

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::Aws(e) => e.fix(),
            Error::NotFound { .. } => "check --kms-key-id (a key ARN, key id or alias/NAME) and the region".into(),
            Error::Disabled { key } => with_key_id(key, |id| {
                Fix::run("enable it", ["aws", "kms", "enable-key", "--key-id", id])
                    .then_say("or pass another --kms-key-id")
            }),
            Error::PendingDeletion { key, .. } => with_key_id(key, |id| {
                Fix::run("cancel its deletion", ["aws", "kms", "cancel-key-deletion", "--key-id", id])
                    .then_run("enable it", ["aws", "kms", "enable-key", "--key-id", id])
                    .then_say("or pass another --kms-key-id")
            }),
            Error::NotEnabled { .. } => "wait until it is Enabled or pass another --kms-key-id".into(),
            Error::Unsupported { .. } => "create a SIGN_VERIFY key of spec RSA_4096 or ECC_NIST_P384 (templates/kms-signing-key-stack.yml)".into(),
            Error::AccessDenied { action, .. } => format!("allow kms:{action} on this key for this role (key policy and IAM policy)").into(),
            Error::Throttled { .. } => "retry later, or raise the account's KMS cryptographic-operations request-rate quota".into(),
            Error::Unreachable { .. } => "check the network, AWS_REGION and AWS_ENDPOINT_URL*".into(),
            Error::Service { .. } => Fix::none(),
            Error::Malformed { .. } => "check AWS_ENDPOINT_URL* points at KMS".into(),
        }
    }

    /// The key itself cannot serve (exit 4), or KMS cannot be reached or used (exit 5).
    fn exit(&self) -> Exit {
        match self {
            Error::Aws(e) => e.exit(),
            Error::Disabled { .. }
            | Error::PendingDeletion { .. }
            | Error::NotEnabled { .. }
            | Error::Unsupported { .. } => Exit::Key,
            Error::NotFound { .. }
            | Error::AccessDenied { .. }
            | Error::Throttled { .. }
            | Error::Unreachable { .. }
            | Error::Service { .. }
            | Error::Malformed { .. } => Exit::Remote,
        }
    }
}

/// The steps of `fix` for `key`, given as `--key-id` of `aws kms enable-key` and
/// `cancel-key-deletion`: they take a key id or key ARN but no alias, so an alias is
/// first resolved with `describe-key` (its answer is what KEY_ID stands for).
fn with_key_id(key: &str, fix: impl Fn(&str) -> Fix) -> Fix {
    let alias = key.starts_with("alias/") || (key.starts_with("arn:") && key.contains(":alias/"));
    match alias {
        true => Fix::run(
            "find the key id of the alias",
            [
                "aws",
                "kms",
                "describe-key",
                "--key-id",
                key,
                "--query",
                "KeyMetadata.KeyId",
                "--output",
                "text",
            ],
        )
        .then(fix("KEY_ID")),
        false => fix(key),
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

impl Error {
    /// One error of each kind whose fix runs a command, for the test that checks every
    /// suggested command (crates/relsign/src/fixes.rs): a key named by id and by alias.
    #[doc(hidden)]
    pub fn examples() -> Vec<Error> {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab".to_string();
        let alias = "alias/release-signing".to_string();
        vec![
            Error::Disabled { key: id.clone() },
            Error::Disabled { key: alias.clone() },
            Error::PendingDeletion { key: id, when: String::new() },
            Error::PendingDeletion { key: alias, when: String::new() },
        ]
    }
}

#[cfg(test)]
mod tests {
    use relsign_error::Contract;

    #[test]
    fn an_alias_is_resolved_before_the_suggested_command() {
        let fix = super::Error::Disabled { key: "alias/release".into() }.fix();
        let commands: Vec<_> = fix.commands().collect();
        assert_eq!(
            commands[0],
            [
                "aws",
                "kms",
                "describe-key",
                "--key-id",
                "alias/release",
                "--query",
                "KeyMetadata.KeyId",
                "--output",
                "text"
            ]
        );
        assert_eq!(commands[1], ["aws", "kms", "enable-key", "--key-id", "KEY_ID"]);
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let fix = super::Error::Disabled { key: arn.into() }.fix();
        assert_eq!(fix.commands().collect::<Vec<_>>(), [["aws", "kms", "enable-key", "--key-id", arn]]);
    }
}
