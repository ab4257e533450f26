//! The rules an artifact's published name must meet.

use std::path::{Component, Path};

/// Checks a relative, `/`-separated name as it will appear in `SHA256SUMS`, the manifest
/// and S3 keys. Returns why it is refused.
pub fn validate_relative(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty name");
    }
    if name.starts_with('/') || Path::new(name).is_absolute() {
        return Err("absolute path");
    }
    if name.chars().any(|c| c == '\n' || c == '\r') {
        return Err("line break in the name");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("control character in the name");
    }
    for part in name.split('/') {
        match part {
            "" => return Err("empty path component"),
            "." | ".." => return Err("`.` or `..` path component"),
            _ => {}
        }
    }
    // Belt and braces: the platform's own parser must agree there is nothing but names.
    if !Path::new(name).components().all(|c| matches!(c, Component::Normal(_))) {
        return Err("path escapes its folder");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_relative;

    #[test]
    fn accepts_plain_nested_and_odd_but_harmless_names() {
        for ok in ["a.tar", "dir/b c.deb", "ünï/ça.rpm", "-rf", "--help", "x..y"] {
            assert_eq!(validate_relative(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_escapes_and_line_breaks() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a\nb", "a\rb", "a\u{7}b", "a/"] {
            assert!(validate_relative(bad).is_err(), "{bad:?}");
        }
    }
}
