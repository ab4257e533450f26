//! A secret value as Secrets Manager returns it (plain text, binary, or a JSON object with a
//! `key` field when the first byte is odd), decoded, then loaded as a key: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relsign_aws::{decode_secret, Zeroizing};
use relsign_pgp::KeyRing;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, value)) = data.split_first() else { return };
    let field = (mode & 1 == 1).then_some("key");
    if let Ok(bytes) = decode_secret("fuzz", Zeroizing::new(value.to_vec()), field) {
        if let Ok(ring) = KeyRing::from_bytes(&bytes, "fuzz") {
            let _ = ring.public_certificates(None);
        }
    }
});
