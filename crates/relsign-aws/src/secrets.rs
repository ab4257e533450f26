//! Reading a secret: a `SecretString` (what users are told to store: the armored key as
//! plain text), a `SecretBinary`, or one string field of a JSON object.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::error::SdkError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use zeroize::Zeroizing;

use crate::Error;

/// Which secret, which version of it, and which part.
#[derive(Debug, Clone, Default)]
pub struct SecretRef {
    /// ARN or name.
    pub id: String,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
    /// When the secret is a JSON object: the field holding the value.
    pub json_field: Option<String>,
}

pub struct SecretsClient {
    client: aws_sdk_secretsmanager::Client,
    region: String,
}

impl SecretsClient {
    pub fn new(config: &SdkConfig) -> SecretsClient {
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        SecretsClient { client: aws_sdk_secretsmanager::Client::new(config), region }
    }
}

/// Fetches the secret's value into a buffer that is zeroed when dropped.
pub async fn fetch_secret(client: &SecretsClient, secret: &SecretRef) -> Result<Zeroizing<Vec<u8>>, Error> {
    let out = client
        .client
        .get_secret_value()
        .secret_id(&secret.id)
        .set_version_stage(secret.version_stage.clone())
        .set_version_id(secret.version_id.clone())
        .send()
        .await
        .map_err(|e| classify(&secret.id, &client.region, e))?;
    let mut out = out;
    let value: Zeroizing<Vec<u8>> = if let Some(s) = out.secret_string.take() {
        Zeroizing::new(s.into_bytes())
    } else if let Some(b) = out.secret_binary.take() {
        Zeroizing::new(b.into_inner())
    } else {
        return Err(Error::EmptySecret { id: secret.id.clone() });
    };
    decode_secret(&secret.id, value, secret.json_field.as_deref())
}

/// The bytes a secret value stands for: the value itself, or the string in one field of a
/// JSON object. Pure, so it can be fuzzed; every copy of secret text it makes is zeroized.
pub fn decode_secret(
    id: &str,
    value: Zeroizing<Vec<u8>>,
    json_field: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    match json_field {
        None => Ok(value),
        Some(field) => take_json_field(id, &value, field),
    }
}

fn take_json_field(id: &str, value: &[u8], field: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    use zeroize::Zeroize;
    let not_json = || Error::NotJson { id: id.to_string(), field: field.to_string() };
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(value).map_err(|_| not_json())?;
    let taken = object.remove(field);
    let fields = object.keys().cloned().collect::<Vec<_>>().join(", ");
    // The other fields may be secrets too (a key and its passphrase in one secret).
    for v in object.values_mut() {
        if let serde_json::Value::String(s) = v {
            s.zeroize();
        }
    }
    match taken {
        Some(serde_json::Value::String(s)) => Ok(Zeroizing::new(s.into_bytes())),
        Some(mut other) => {
            if let serde_json::Value::String(s) = &mut other {
                s.zeroize();
            }
            Err(Error::MissingField { id: id.to_string(), field: field.to_string(), fields })
        }
        None => Err(Error::MissingField { id: id.to_string(), field: field.to_string(), fields }),
    }
}

fn classify(id: &str, region: &str, e: SdkError<GetSecretValueError>) -> Error {
    let id = id.to_string();
    let detail = crate::error_chain(&e);
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(err).unwrap_or("");
            let message =
                aws_sdk_secretsmanager::error::ProvideErrorMetadata::message(err).unwrap_or("").to_string();
            if err.is_resource_not_found_exception() {
                Error::SecretNotFound { id, region: region.to_string() }
            } else if err.is_decryption_failure() {
                Error::Decrypt { id, detail: message }
            } else if code == "AccessDeniedException"
                || code.contains("AccessDenied")
                || se.raw().status().as_u16() == 403
            {
                let detail =
                    if message.is_empty() { format!("HTTP {}", se.raw().status().as_u16()) } else { message };
                Error::AccessDenied { id, detail }
            } else if code == "UnrecognizedClientException" || code == "InvalidSignatureException" {
                Error::AccessDenied { id, detail: format!("{code}: {message}") }
            } else {
                Error::Service { id, detail: format!("{code}: {message}") }
            }
        }
        _ if detail.contains("no credentials") || detail.contains("credentials provider") => {
            Error::NoCredentials { detail }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Error::Unreachable { id, detail },
        _ => Error::Service { id, detail },
    }
}

#[cfg(test)]
mod tests {
    use super::take_json_field;

    #[test]
    fn take_json_field_takes_one_string() {
        let v = br#"{"key":"-----BEGIN PGP","other":1}"#;
        assert_eq!(&take_json_field("s", v, "key").unwrap()[..], b"-----BEGIN PGP");
        assert!(take_json_field("s", v, "nope").unwrap_err().to_string().contains("key, other"));
        assert!(take_json_field("s", b"plain text", "key").is_err());
    }
}
