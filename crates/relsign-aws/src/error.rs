//! The one error type of relsign-aws: each error names the secret (its message), its exit
//! code and what to do about it (relsign-error's [`Contract`]); none ever holds a secret value.

use relsign_error::{Contract, Exit, Fix};

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

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::NoRegion => "set AWS_REGION (CodeBuild sets it) or pass --region".into(),
            Error::SecretNotFound { .. } => "check the secret ARN or name and the region".into(),
            Error::AccessDenied { .. } => {
                "allow secretsmanager:GetSecretValue on it (and kms:Decrypt on its key) for this role".into()
            }
            Error::Decrypt { .. } => "allow kms:Decrypt on the secret's key for this role".into(),
            Error::NoCredentials { .. } => {
                "run inside CodeBuild, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into()
            }
            Error::Unreachable { .. } => "check the network, AWS_REGION and AWS_ENDPOINT_URL*".into(),
            Error::Service { .. } => Fix::none(),
            Error::EmptySecret { .. } => "store the value in it".into(),
            Error::NotJson { .. } => "drop the field option or store JSON".into(),
            Error::MissingField { .. } => "check the field name".into(),
        }
    }

    /// What the secret holds is key material: a problem with it is a key problem.
    fn exit(&self) -> Exit {
        match self {
            Error::EmptySecret { .. } | Error::NotJson { .. } | Error::MissingField { .. } => Exit::Key,
            Error::NoRegion
            | Error::SecretNotFound { .. }
            | Error::AccessDenied { .. }
            | Error::Decrypt { .. }
            | Error::NoCredentials { .. }
            | Error::Unreachable { .. }
            | Error::Service { .. } => Exit::Remote,
        }
    }
}

/// An SDK error as one readable line: the message of each error in its chain, outermost
/// first (`dispatch failure: io error: ... Connection refused (os error 111)`), without the
/// `Debug` dump of the whole error (`DispatchFailure(... hyper::Error ...)`) that the SDK's
/// `DisplayErrorContext` appends. Every relsign crate formats SDK errors here.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        // Wrappers often repeat their cause's message: say each thing once.
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn the_chain_is_one_line_without_debug_dumps() {
        let e = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer("Connection refused (os error 111)", None))),
            ))),
        );
        let line = super::error_chain(&e);
        assert_eq!(line, "dispatch failure: io error: Connection refused (os error 111)");
        assert!(!line.contains("Layer("));
    }
}
