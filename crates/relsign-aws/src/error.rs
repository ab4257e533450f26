//! The one error type of relsign-aws. Messages name the secret and what to do; they never
//! hold a secret value.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no AWS region configured: set AWS_REGION (CodeBuild sets it) or pass --region")]
    NoRegion,

    #[error(
        "secret {id} not found in Secrets Manager ({region}): check the secret ARN or name and the region"
    )]
    SecretNotFound { id: String, region: String },

    #[error("access denied reading secret {id}: {detail}: allow secretsmanager:GetSecretValue on it (and kms:Decrypt on its key) for this role")]
    AccessDenied { id: String, detail: String },

    #[error(
        "cannot decrypt secret {id} (KMS): {detail}: allow kms:Decrypt on the secret's key for this role"
    )]
    Decrypt { id: String, detail: String },

    #[error("no AWS credentials found: {detail}: run inside CodeBuild, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")]
    NoCredentials { detail: String },

    #[error("cannot reach Secrets Manager for secret {id}: {detail}: check the network, AWS_REGION and AWS_ENDPOINT_URL*")]
    Unreachable { id: String, detail: String },

    #[error("Secrets Manager refused reading secret {id}: {detail}")]
    Service { id: String, detail: String },

    #[error("secret {id} is empty (no SecretString or SecretBinary): store the value in it")]
    EmptySecret { id: String },

    #[error(
        "secret {id} is not a JSON object, so it has no field {field:?}: drop the field option or store JSON"
    )]
    NotJson { id: String, field: String },

    #[error("secret {id} has no string field {field:?} (it has: {fields}): check the field name")]
    MissingField { id: String, field: String, fields: String },
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
            _ => ErrorKind::Remote,
        }
    }
}
