//! Signing each artifact as soon as it is hashed, for keys held in KMS: a signature is a
//! network round trip there, not CPU work, so the requests (at most
//! `relsign_kms::MAX_IN_FLIGHT` at once) overlap the reading of the other artifacts.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Mutex;

use relsign_cli::{Exit, Failure, REPORT_BUG};

use relsign_pgp::{SignatureHasher, Signed, SigningKey};

/// Why the hashing of the artifacts stopped before the end.
pub(crate) enum Stopped {
    /// The key failed (or, with a KMS key, refused a signature), and its error is the one
    /// to report.
    ForTheKey,
    Failed(Failure),
}

impl<E: Into<Failure>> From<E> for Stopped {
    fn from(e: E) -> Stopped {
        Stopped::Failed(e.into())
    }
}

/// One artifact after hashing: its hash, or the signature under way.
pub enum Progress {
    Hashed(SignatureHasher),
    Signing(Receiver<Result<Signed, Failure>>),
}

impl Progress {
    /// The signature of the artifact `what`, made by `key` now if it was not already.
    pub fn signed(self, key: &mut SigningKey, what: &str) -> Result<Signed, Failure> {
        match self {
            Progress::Hashed(hasher) => Ok(key.finish(hasher, what)?),
            Progress::Signing(signature) => signature.recv().map_err(|_| {
                Failure::new(Exit::Internal, "a signing worker stopped early").with_fix(REPORT_BUG)
            })?,
        }
    }
}

/// Runs `hash_each` with a continuation that hands every hashed artifact to a signing
/// worker. The first signature refused cancels the reading, and is the error reported.
pub fn sign_as_hashed(
    key: &SigningKey,
    cancel: &AtomicBool,
    hash_each: impl FnOnce(&(dyn Fn(&Path, SignatureHasher) -> Progress + Sync)) -> Result<Vec<Progress>, Stopped>,
) -> Result<Vec<Progress>, Stopped> {
    let workers = rayon::ThreadPoolBuilder::new()
        .num_threads(relsign_kms::MAX_IN_FLIGHT)
        .thread_name(|i| format!("kms-sign-{i}"))
        .build()
        .map_err(|e| {
            Failure::new(Exit::Internal, format!("cannot start the signing threads: {e}"))
                .with_fix(REPORT_BUG)
        })?;
    let refused: Mutex<Option<Failure>> = Mutex::new(None);
    let stages = workers.in_place_scope(|scope| {
        hash_each(&|path, hasher| {
            let (done, signature) = sync_channel(1);
            let mut key = key.clone();
            let refused = &refused;
            let what = path.display().to_string();
            scope.spawn(move |_| {
                let signed = key.finish(hasher, &what).map_err(Failure::from);
                if let Err(f) = &signed {
                    cancel.store(true, Ordering::Relaxed);
                    let mut first = refused.lock().unwrap_or_else(|e| e.into_inner());
                    first.get_or_insert_with(|| f.clone());
                }
                let _ = done.send(signed);
            });
            Progress::Signing(signature)
        })
    });
    match refused.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(first) => Err(Stopped::Failed(first)),
        None => stages,
    }
}
