//! No name the validation accepts can lead outside the folder it is published in.

use std::path::{Component, Path};

use proptest::prelude::*;
use relsign_pgp::validate_relative;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn an_accepted_name_stays_under_its_root(name in "([a-z./\\\\ \\-]|\\.\\.|/|\\PC){0,24}") {
        if validate_relative(&name).is_ok() {
            let root = Path::new("/release/root");
            prop_assert!(root.join(&name).starts_with(root));
            for c in Path::new(&name).components() {
                prop_assert!(matches!(c, Component::Normal(_)), "{:?} has {:?}", name, c);
            }
            prop_assert!(!name.chars().any(char::is_control));
        }
    }

    #[test]
    fn a_dot_dot_part_is_always_refused(prefix in "[a-z]{0,5}", suffix in "[a-z]{0,5}") {
        for name in [format!("{prefix}/../{suffix}"), format!("../{suffix}"), format!("{prefix}/..")] {
            prop_assert!(validate_relative(&name).is_err(), "{:?} accepted", name);
        }
    }
}
