//! The template and buildspec readers take any text without panicking.

use proptest::prelude::*;
use relsign_wiring::{Buildspec, Template};

proptest! {
    #[test]
    fn any_text_as_a_template_or_buildspec_fails_cleanly(text in "(\\PC|\n|!Ref |!Sub |: |- ){0,200}") {
        let _ = Template::parse("generated", &text);
        let _ = Buildspec::parse("generated", &text);
    }

    #[test]
    fn a_template_with_generated_tags_resolves_without_panicking(tag in "(Ref|Sub|If|GetAtt|Join|Select|Equals|Not)", arg in "[A-Za-z.${}]{0,20}") {
        let text = format!("Resources:\n  R:\n    Type: X\n    Properties:\n      P: !{tag} '{arg}'\n");
        if let Ok(t) = Template::parse("generated", &text) {
            let _ = t.resolve(&Default::default(), t.property("R", &["P"]).unwrap());
        }
    }
}
