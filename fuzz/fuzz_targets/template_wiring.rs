//! Any text as a CloudFormation template (and as a buildspec): parsed, and if it holds a
//! pipeline, checked against the repository's buildspecs; problems are fine, panics not.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use relsign_wiring::{check_release_pipeline, Buildspec, Template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Buildspec::parse("fuzz", text);
    if let Ok(t) = Template::parse("fuzz", text) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let _ = check_release_pipeline(&t, &root);
    }
});
