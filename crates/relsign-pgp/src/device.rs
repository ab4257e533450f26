//! What a device holding a key (a KMS, an HSM) must offer to sign: a sequoia `Signer` each
//! signing worker can hold its own copy of. Apart from external.rs, which builds signing
//! keys over it, so that key.rs (which holds such a signer) and external.rs (which builds
//! on key.rs) do not import each other.

use openpgp::crypto::Signer;
use sequoia_openpgp as openpgp;

/// A signer each signing worker can hold its own copy of (cheap: a handle on the device).
pub trait ExternalSigner: Signer + Send + Sync {
    fn clone_box(&self) -> Box<dyn ExternalSigner>;
}

impl<T: Signer + Clone + Send + Sync + 'static> ExternalSigner for T {
    fn clone_box(&self) -> Box<dyn ExternalSigner> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn ExternalSigner> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}
