//! Any bytes as a key file: loaded, its certificates exported, a signing key chosen and
//! unlocked with a fixed passphrase; errors are fine, panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relsign_pgp::{KeyRing, Passphrase};

fuzz_target!(|data: &[u8]| {
    if let Ok(ring) = KeyRing::from_bytes(data, "fuzz") {
        let _ = ring.public_certificates(None);
        let pass = Passphrase::new(b"fuzz".to_vec());
        let _ = ring.signing_key(None, Some(&pass));
    }
});
