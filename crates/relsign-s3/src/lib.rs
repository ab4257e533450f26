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
//!
//! And reading a release back where it is published (`published.rs`, over `fetch.rs`: S3 or
//! plain HTTP(S)), each object streamed into its signature check, nothing written to disk;
//! a release pointer there and the release it names (`pointed.rs`).

mod claim;
mod destination;
mod error;
mod fetch;
mod housekeeping;
mod local;
mod object;
mod plan;
mod pointed;
mod published;
mod schedule;
mod small;
mod transfer;

pub use claim::Claimant;
pub use destination::{Destination, MAX_KEY_BYTES};
pub use error::Error;
pub use fetch::{is_remote, parse_base_url, Missing, Opened, Source};
pub use housekeeping::{
    abort_stale_uploads, object_lock_enabled, preflight, require_object_lock, Inflight, Preflight,
};
pub use local::{LocalFile, Phase};
pub use object::{Existing, Mismatch, Proof, RemoteObject};
pub use plan::{check_keys, scan, Action, Plan, PlanOptions, PlannedFile};
pub use pointed::{is_pointer_location, split_pointer_location, verify_published_pointer, PointerReport};
pub use published::{verify_published, PublishedOptions, PublishedReport};
pub use small::{read_small, write_small_over, SmallObject};
pub use transfer::{execute, ObjectLock, Progress, UploadOptions, Uploaded};
