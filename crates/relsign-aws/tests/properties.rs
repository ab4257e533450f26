//! Decoding a secret value never panics, and a JSON field comes back as written.

use proptest::prelude::*;
use relsign_aws::{decode_secret, Zeroizing};

proptest! {
    #[test]
    fn any_secret_value_decodes_or_fails_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256), field in proptest::option::of("[a-z]{1,6}")) {
        let _ = decode_secret("generated", Zeroizing::new(bytes), field.as_deref());
    }

    #[test]
    fn a_json_field_is_returned_as_written(value in "\\PC{0,64}", other in "\\PC{0,16}") {
        let json = serde_json::json!({"key": value, "passphrase": other}).to_string();
        let got = decode_secret("generated", Zeroizing::new(json.into_bytes()), Some("key")).unwrap();
        prop_assert_eq!(&got[..], value.as_bytes());
    }
}
