//! The one error type of relsign-aws: each error names the secret (its message) and what to
//! do about it ([`Error::fix`]); neither ever holds a secret value.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no AWS region configured")]
    NoRegion,

    #[error("secret {id} not found in Secrets Manager ({region})")]
    SecretNotFound { id: String, region: String },

    #[error("access denied reading secret {id}: {detail}")]
    AccessDenied { id: String, detail: String },

    #[error("cannot decrypt secret {id} (KMS): {detail}")]
    Decrypt { id: String, detail: String },

    #[error("no AWS credentials found: {detail}")]
    NoCredentials { detail: String },

    #[error("cannot reach Secrets Manager for secret {id}: {detail}")]
    Unreachable { id: String, detail: String },

    #[error("Secrets Manager refused reading secret {id}: {detail}")]
    Service { id: String, detail: String },

    #[error("secret {id} is empty (no SecretString or SecretBinary)")]
    EmptySecret { id: String },

    #[error("secret {id} is not a JSON object, so it has no field {field:?}")]
    NotJson { id: String, field: String },

    #[error("secret {id} has no string field {field:?} (it has: {fields})")]
    MissingField { id: String, field: String, fields: String },
}

impl Error {
    /// What to do about it, apart from the problem itself: the one-line report joins
    /// them as `problem: fix`, and `check` shows them on separate lines.
    pub fn fix(&self) -> Option<String> {
        match self {
            Error::NoRegion => Some("set AWS_REGION (CodeBuild sets it) or pass --region".to_string()),
            Error::SecretNotFound { .. } => Some("check the secret ARN or name and the region".to_string()),
            Error::AccessDenied { .. } => Some(
                "allow secretsmanager:GetSecretValue on it (and kms:Decrypt on its key) for this role"
                    .to_string(),
            ),
            Error::Decrypt { .. } => Some("allow kms:Decrypt on the secret's key for this role".to_string()),
            Error::NoCredentials { .. } => Some(
                "run inside CodeBuild, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                    .to_string(),
            ),
            Error::Unreachable { .. } => {
                Some("check the network, AWS_REGION and AWS_ENDPOINT_URL*".to_string())
            }
            Error::Service { .. } => None,
            Error::EmptySecret { .. } => Some("store the value in it".to_string()),
            Error::NotJson { .. } => Some("drop the field option or store JSON".to_string()),
            Error::MissingField { .. } => Some("check the field name".to_string()),
        }
    }
}

/// Whether the problem is reaching AWS or what the secret holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Remote,
    Content,
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptySecret { .. } | Error::NotJson { .. } | Error::MissingField { .. } => {
                ErrorKind::Content
            }
            Error::NoRegion
            | Error::SecretNotFound { .. }
            | Error::AccessDenied { .. }
            | Error::Decrypt { .. }
            | Error::NoCredentials { .. }
            | Error::Unreachable { .. }
            | Error::Service { .. } => ErrorKind::Remote,
        }
    }
}
