//! Publishing a signed release folder to S3.
//!
//! Plan first (every local file with its SHA-256, what the destination already holds, judged
//! only by SHA-256s S3 itself verified: never a CRC or an MD5), then upload in an order that makes a present
//! `SHA256SUMS.asc` mean a complete release: the checksum list first, written only if no
//! other signing's list is there (it claims the prefix), then artifacts, signatures and the
//! manifest, each written only where nothing is (or over exactly the object planned
//! against, with `--overwrite`), and the list's signature last, once every other object is
//! confirmed in place. Every PUT and every part carries its SHA-256, so S3 checks the bytes
//! and keeps what proves them on a re-run; each file's SHA-256 is computed from the bytes sent and must be the
//! signed one; a multipart upload is aborted on any failure.

mod claim;
mod destination;
mod error;
mod housekeeping;
mod object;
mod plan;
mod schedule;
mod small;
mod transfer;

pub use claim::Claimant;
pub use destination::Destination;
pub use error::{Error, ErrorKind};
pub use housekeeping::{
    abort_stale_uploads, object_lock_enabled, preflight, require_object_lock, Inflight, Preflight,
};
pub use object::{Existing, Mismatch, Proof, RemoteObject};
pub use plan::{check_keys, scan, Action, LocalFile, Phase, Plan, PlanOptions, PlannedFile};
pub use small::{read_small, write_small_over, SmallObject};
pub use transfer::{execute, ObjectLock, Progress, UploadOptions, Uploaded};
