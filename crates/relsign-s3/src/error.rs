//! The one error type of relsign-s3: each error names the object or file (its message), its
//! exit code and what to do about it (relsign-error's [`Contract`]).

use std::path::PathBuf;

use relsign_error::{Contract, Exit, Fix};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("destination {destination:?}: {why}")]
    BadDestination { destination: String, why: String },

    #[error("cannot read {path}: {detail}")]
    Read { path: PathBuf, detail: String },

    #[error("{path} is not a regular file (symlink or special file)")]
    NotRegular { path: PathBuf },

    #[error("{path}: {why}")]
    BadName { path: PathBuf, why: String },

    #[error("{path} holds OpenPGP secret-key material, which is never published")]
    SecretMaterial { path: PathBuf },

    #[error("{path} would be published under a key of {key_bytes} bytes, and S3 keys hold at most 1024")]
    KeyTooLong { path: PathBuf, key_bytes: usize },

    #[error("{key:?} has a part of {part_bytes} bytes, and file systems hold names of at most 255")]
    PartTooLong { key: String, part_bytes: usize },

    #[error("s3://{bucket}/{key} is claimed by another signing of this release (its SHA256SUMS differs and was written first)")]
    Claimed { bucket: String, key: String },

    #[error("s3://{bucket}/{key} holds a sealed release of another signing (SHA256SUMS.asc is there) and {count} object(s) differ or cannot be proven identical ({keys})")]
    Sealed { bucket: String, key: String, count: usize, keys: String },

    #[error("s3://{bucket}/{key} is claimed by another signing, not sealed (by {claimant}, claimed {claimed}; no SHA256SUMS.asc), its lease running until {expires}: that run may still be publishing")]
    Leftover { bucket: String, key: String, claimant: String, claimed: String, expires: String },

    #[error("s3://{bucket}/{key} was taken over by another run while this one published (its claim's lease ran out)")]
    TakenOver { bucket: String, key: String },

    #[error("the bucket refuses to replace s3://{bucket}/{key}, the seal of a published release: its policy allows only new objects (write-once)")]
    WriteOnce { bucket: String, key: String },

    #[error("s3://{bucket}/{key} was written by another run while this one published ({operation} refused by its condition)")]
    Raced { bucket: String, key: String, operation: String },

    #[error("s3://{bucket}/{key} changed or vanished after this run wrote or checked it")]
    NotSealed { bucket: String, key: String },

    #[error("{detail}")]
    Internal { detail: String },

    #[error("{path} changed since it was signed (its SHA-256 is not the one in SHA256SUMS)")]
    Changed { path: PathBuf },

    #[error("{count} object(s) already at the destination differ from the local files or cannot be proven identical ({keys})")]
    Conflict { count: usize, keys: String, unproven: bool },

    #[error("bucket {bucket} does not exist")]
    NoBucket { bucket: String },

    #[error("bucket {bucket} has no S3 Object Lock, so it cannot keep the retention asked for")]
    NoObjectLock { bucket: String },

    #[error("access denied to s3://{bucket}/{key} ({operation})")]
    AccessDenied { bucket: String, key: String, operation: String, action: &'static str, resource: String },

    #[error("cannot reach S3 ({operation} s3://{bucket}/{key}): {detail}")]
    Unreachable { bucket: String, key: String, operation: String, detail: String },

    #[error("no AWS credentials found: {detail}")]
    NoCredentials { detail: String },

    #[error("S3 {operation} s3://{bucket}/{key} failed: {detail}")]
    Service { bucket: String, key: String, operation: String, detail: String },

    #[error("S3 returned checksum {got} for s3://{bucket}/{key}, expected {want}")]
    ChecksumMismatch { bucket: String, key: String, want: String, got: String },
}

impl Contract for Error {
    fn fix(&self) -> Fix {
        match self {
            Error::BadDestination { .. } => Fix::from("use s3://BUCKET/PREFIX"),
            Error::Read { .. } => Fix::none(),
            Error::NotRegular { .. } => Fix::from("a release folder holds only files"),
            Error::BadName { .. } => Fix::from("rename it"),
            Error::SecretMaterial { .. } => Fix::from("remove it from the folder"),
            Error::KeyTooLong { .. } => Fix::from("shorten the name or the prefix"),
            Error::PartTooLong { .. } => Fix::from("users could not download it; shorten the prefix or the name"),
            Error::Claimed { .. } => Fix::from("nothing of this run was uploaded; if that release's SHA256SUMS.asc is there and verifies it is published, else publish to a new prefix or pass --overwrite"),
            Error::Sealed { .. } => Fix::from("nothing was uploaded; publish to a new prefix, or pass --overwrite to replace that release (its seal is voided first)"),
            Error::Leftover { .. } => Fix::from("nothing was uploaded; if that run is dead, run again once its lease has run out and this run takes the prefix over (--claim-lease sets the lease), or pass --overwrite"),
            Error::TakenOver { .. } => Fix::from("SHA256SUMS.asc was not written; check which build publishes to this prefix, and give the claim a longer lease (--claim-lease) if this run was only slow"),
            Error::WriteOnce { .. } => Fix::from("nothing was replaced; a sealed release cannot be replaced in this bucket: publish to a new prefix"),
            Error::Raced { .. } => Fix::from("SHA256SUMS.asc was not written; check who else publishes to this prefix, then run again"),
            Error::NotSealed { .. } => Fix::from("SHA256SUMS.asc was not written, so the release is not marked complete; check who else writes to this prefix, then run again"),
            Error::Internal { .. } => Fix::from(relsign_error::REPORT_BUG),
            Error::Changed { .. } => Fix::from("sign again"),
            Error::Conflict { unproven: false, .. } => Fix::from("nothing was uploaded; publish to a new prefix or pass --overwrite"),
            Error::Conflict { unproven: true, .. } => Fix::say("nothing was uploaded")
                .then_run("read such objects back and hash them", ["copier", "--existing", "rehash"])
                .then_say("or pass --overwrite to replace them, or publish to a new prefix"),
            Error::NoBucket { .. } => Fix::from("create it or check --to"),
            Error::NoObjectLock { .. } => Fix::from("publish to a bucket created with Object Lock, or drop --object-lock-mode and --object-lock-days"),
            Error::AccessDenied { action, resource, .. } => Fix::from(format!("allow {action} on {resource} for this role")),
            Error::Unreachable { .. } => Fix::from("check the network, AWS_REGION and AWS_ENDPOINT_URL*"),
            Error::NoCredentials { .. } => Fix::from("run inside CodeBuild, or set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"),
            Error::Service { .. } => Fix::none(),
            Error::ChecksumMismatch { .. } => Fix::from("the object is not what was sent; run again"),
        }
    }

    /// The exit code: the destination side is exit 6 (output), as it is for signer.
    fn exit(&self) -> Exit {
        match self {
            Error::Read { .. }
            | Error::NotRegular { .. }
            | Error::BadName { .. }
            | Error::Changed { .. }
            | Error::SecretMaterial { .. }
            | Error::KeyTooLong { .. }
            | Error::PartTooLong { .. } => Exit::Input,
            Error::BadDestination { .. } => Exit::Usage,
            Error::Conflict { .. }
            | Error::Claimed { .. }
            | Error::Sealed { .. }
            | Error::Leftover { .. }
            | Error::TakenOver { .. }
            | Error::WriteOnce { .. }
            | Error::Raced { .. }
            | Error::NotSealed { .. }
            | Error::NoObjectLock { .. } => Exit::Output,
            Error::NoBucket { .. }
            | Error::AccessDenied { .. }
            | Error::Unreachable { .. }
            | Error::NoCredentials { .. }
            | Error::Service { .. }
            | Error::ChecksumMismatch { .. } => Exit::Remote,
            Error::Internal { .. } => Exit::Internal,
        }
    }
}

/// Whether S3 refused a conditional write: 412 PreconditionFailed (the condition does not
/// hold), or 409 ConditionalRequestConflict (a concurrent write to the same key won).
pub(crate) fn is_precondition_failure<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
    R: HttpStatus,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status_code();
            code == "PreconditionFailed"
                || code == "ConditionalRequestConflict"
                || status == 412
                || status == 409
        }
        _ => false,
    }
}

/// Maps an SDK failure of `operation` on `bucket`/`key` to what the user should do.
pub(crate) fn from_sdk<E, R>(
    e: aws_sdk_s3::error::SdkError<E, R>,
    bucket: &str,
    key: &str,
    operation: &str,
) -> Error
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus + Send + Sync + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let detail = readable(&e);
    let (bucket, key, operation) = (bucket.to_string(), key.to_string(), operation.to_string());
    match &e {
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("");
            let status = se.raw().status_code();
            if code == "NoSuchBucket" {
                Error::NoBucket { bucket }
            } else if code == "AccessDenied" || code == "AllAccessDisabled" || status == 403 {
                let (action, on_bucket) = iam_action(&operation);
                let resource = if on_bucket {
                    format!("arn:aws:s3:::{bucket}")
                } else {
                    format!("arn:aws:s3:::{bucket}/{key}")
                };
                Error::AccessDenied { bucket, key, operation, action, resource }
            } else {
                let msg = se.err().message().unwrap_or("");
                Error::Service { bucket, key, operation, detail: format!("{code} (HTTP {status}): {msg}") }
            }
        }
        _ if detail.contains("no credentials") || detail.contains("credentials provider") => {
            Error::NoCredentials { detail }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            Error::Unreachable { bucket, key, operation, detail }
        }
        SdkError::ResponseError(r) if r.raw().status_code() == 404 && operation == "ListObjectsV2" => {
            Error::NoBucket { bucket }
        }
        _ => Error::Service { bucket, key, operation, detail },
    }
}

/// An error and its causes as one readable line: the one formatting of SDK errors that
/// every relsign crate shares.
pub(crate) use relsign_aws::error_chain as readable;

/// The IAM action that authorizes an S3 API call, and whether it applies to the bucket
/// (rather than the object): API names and IAM actions differ.
fn iam_action(operation: &str) -> (&'static str, bool) {
    match operation {
        "ListObjectsV2" | "HeadBucket" => ("s3:ListBucket", true),
        "ListMultipartUploads" => ("s3:ListBucketMultipartUploads", true),
        "HeadObject" | "GetObject" => ("s3:GetObject", false),
        "GetObjectAttributes" => ("s3:GetObjectAttributes", false),
        "AbortMultipartUpload" => ("s3:AbortMultipartUpload", false),
        "ListParts" => ("s3:ListMultipartUploadParts", false),
        "DeleteObject" => ("s3:DeleteObject", false),
        "GetObjectLockConfiguration" => ("s3:GetBucketObjectLockConfiguration", true),
        // PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload
        _ => ("s3:PutObject", false),
    }
}

/// The HTTP status of a raw response, whatever its type.
pub(crate) trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

impl Error {
    /// One error of each kind whose fix runs a command, for the test that parses every
    /// suggested `copier` command against its flags (crates/relsign/src/fixes.rs).
    #[doc(hidden)]
    pub fn examples() -> Vec<Error> {
        vec![Error::Conflict { count: 1, keys: String::new(), unproven: true }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_chain_reads_as_one_line_without_debug_dumps() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        ));
        assert_eq!(readable(&e), "dispatch failure: Connection refused (os error 111)");
    }

    #[test]
    fn api_calls_map_to_the_iam_actions_a_policy_names() {
        assert_eq!(iam_action("UploadPart"), ("s3:PutObject", false));
        assert_eq!(iam_action("CompleteMultipartUpload"), ("s3:PutObject", false));
        assert_eq!(iam_action("HeadObject"), ("s3:GetObject", false));
        assert_eq!(iam_action("ListObjectsV2"), ("s3:ListBucket", true));
        assert_eq!(iam_action("ListMultipartUploads"), ("s3:ListBucketMultipartUploads", true));
        assert_eq!(iam_action("GetObjectLockConfiguration"), ("s3:GetBucketObjectLockConfiguration", true));
    }
}
