//! Properties of the formats signer writes and verify reads, over generated input.

use proptest::prelude::*;
use relsign_pgp::{ChecksumList, Manifest, Sha256};

/// Names as they appear in releases: path parts of printable characters (spaces and
/// backslashes included), never `.`, `..` or empty.
fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9 _.+\\\\-]{1,12}", 1..4)
        .prop_filter("no . or .. part", |parts| parts.iter().all(|p| p != "." && p != ".."))
        .prop_map(|parts| parts.join("/"))
}

proptest! {
    #[test]
    fn sha256sums_written_then_read_are_the_same(entries in proptest::collection::vec((name(), any::<[u8; 32]>()), 0..20)) {
        let mut list = ChecksumList::new();
        let mut seen = std::collections::BTreeSet::new();
        for (n, d) in &entries {
            if seen.insert(n.clone()) {
                list.push(n.clone(), Sha256(*d));
            }
        }
        let again = ChecksumList::parse(&list.to_text(), "generated").unwrap();
        prop_assert_eq!(list.entries(), again.entries());
    }

    #[test]
    fn any_text_as_sha256sums_parses_or_fails_cleanly(text in "\\PC*") {
        if let Ok(list) = ChecksumList::parse(&text, "generated") {
            for (n, _) in list.entries() {
                prop_assert!(!n.starts_with('/') && !n.split('/').any(|p| p == ".."), "{:?} escapes", n);
            }
        }
    }

    #[test]
    fn any_bytes_as_manifest_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Manifest::parse(&bytes, "generated");
    }
}

/// Inputs the fuzzers found (fuzz/regressions/<target>/), kept so the fixes stay fixed.
#[test]
fn fuzz_regressions_parse_safely() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/sha256sums");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        if let Ok(list) = ChecksumList::parse(text, "regression") {
            for (n, _) in list.entries() {
                assert!(!n.starts_with('/') && !n.split('/').any(|p| p == ".."), "{n:?} escapes");
            }
            let again = ChecksumList::parse(&list.to_text(), "regression").unwrap();
            assert_eq!(list.entries(), again.entries());
        }
        seen += 1;
    }
    assert!(seen > 0, "no regression inputs in {}", dir.display());
}
