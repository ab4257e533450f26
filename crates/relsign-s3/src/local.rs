//! A file of the release folder as the plan and the transfer see it, and the phase of the
//! upload it belongs to. Apart from plan.rs so that object.rs (which compares local files
//! with objects) and plan.rs (which uses object.rs) do not import each other.

use std::path::PathBuf;

use relsign_pgp::{Sha256, MANIFEST_NAME, SUMS_NAME, SUMS_SIG_NAME};

/// Upload order: a later phase starts only when the earlier one is complete, so the
/// checksum list's signature, uploaded last, marks a complete release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The checksum list, first: written only where no other list is, it claims the prefix
    /// for this signing, so a second signing racing this one stops before it writes.
    Claim,
    Artifact,
    Signature,
    Metadata,
    Seal,
}

impl Phase {
    pub(crate) fn of(name: &str) -> Phase {
        match name {
            SUMS_SIG_NAME => Phase::Seal,
            SUMS_NAME => Phase::Claim,
            MANIFEST_NAME => Phase::Metadata,
            n if relsign_pgp::is_signature_name(n) => Phase::Signature,
            _ => Phase::Artifact,
        }
    }

    pub const ALL: [Phase; 5] =
        [Phase::Claim, Phase::Artifact, Phase::Signature, Phase::Metadata, Phase::Seal];
}

/// A file of the release folder.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Relative, `/`-separated: the key suffix.
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    /// From `SHA256SUMS` when listed there (checked again as the bytes are read for
    /// upload), else computed.
    pub sha256: Sha256,
    pub phase: Phase,
}
