//! Any bytes as manifest.json: parsed; what parses writes back and parses again, and no
//! accepted artifact path leaves the folder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relsign_pgp::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data, "fuzz") {
        let again = Manifest::parse(&m.to_json(), "fuzz").expect("its own output parses");
        assert_eq!(m.artifacts.len(), again.artifacts.len());
        for a in &m.artifacts {
            assert!(!a.path.starts_with('/') && !a.path.split('/').any(|p| p == ".."), "{:?} escapes", a.path);
        }
    }
});
