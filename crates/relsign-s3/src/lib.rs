//! Publishing a signed release folder to S3.
//!
//! Plan first (every local file with its SHA-256, what the destination already holds), then
//! upload in an order that makes a present `SHA256SUMS.asc` mean a complete release:
//! artifacts, signatures, the manifest and checksum list, and the list's signature last.
//! Every PUT carries its SHA-256 and every part its CRC32C, so S3 checks the bytes; the
//! checksums S3 returns are compared; each file's SHA-256 is computed from the bytes sent
//! and must be the signed one; a multipart upload is aborted on any failure.

mod destination;
mod error;
mod plan;
mod upload;

pub use destination::Destination;
pub use error::{Error, ErrorKind};
pub use plan::{scan, Action, LocalFile, Phase, Plan, PlannedFile, RemoteObject};
pub use upload::{abort_stale_uploads, execute, preflight, Preflight, Progress, UploadOptions, Uploaded};
