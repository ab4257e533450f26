//! Any text as SHA256SUMS: parsed; what parses writes back and parses to the same entries,
//! and no accepted name leaves the folder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use relsign_pgp::ChecksumList;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(list) = ChecksumList::parse(text, "fuzz") {
        let again = ChecksumList::parse(&list.to_text(), "fuzz").expect("its own output parses");
        assert_eq!(list.entries(), again.entries());
        for (name, _) in list.entries() {
            assert!(!name.starts_with('/') && !name.split('/').any(|p| p == ".."), "{name:?} escapes");
        }
    }
});
