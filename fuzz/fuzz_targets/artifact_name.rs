//! Any string as an artifact name: if accepted, it is relative, has no `.`/`..` part, no
//! control character, and joined to a root it stays under that root.
#![no_main]

use std::path::{Component, Path};

use libfuzzer_sys::fuzz_target;
use relsign_pgp::validate_relative;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else { return };
    if validate_relative(name).is_ok() {
        let root = Path::new("/release/root");
        let joined = root.join(name);
        assert!(joined.starts_with(root), "{name:?} leaves the root");
        for c in Path::new(name).components() {
            assert!(matches!(c, Component::Normal(_)), "{name:?} has a {c:?} part");
        }
        assert!(!name.chars().any(char::is_control), "{name:?} has a control character");
    }
});
