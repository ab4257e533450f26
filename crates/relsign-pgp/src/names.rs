//! The names of a release, in one place: the files relsign writes beside the artifacts, how
//! a signature is named after what it signs, and which names a release may publish.

use std::path::{Component, Path, PathBuf};

/// The checksum list, in `sha256sum` format.
pub const SUMS_NAME: &str = "SHA256SUMS";
/// The checksum list's signature: the last object published, it seals the release.
pub const SUMS_SIG_NAME: &str = "SHA256SUMS.asc";
/// What was signed, by which key, when and by what tool; listed in the checksum list.
pub const MANIFEST_NAME: &str = "manifest.json";
/// The names relsign writes itself: no artifact may take one, or a folder named like one.
pub const RESERVED_NAMES: [&str; 3] = [SUMS_NAME, SUMS_SIG_NAME, MANIFEST_NAME];

/// What a detached, armored signature's name adds to the name of the file it signs.
pub const SIGNATURE_SUFFIX: &str = ".asc";

/// Linux file systems hold names of at most this many bytes: users download into one.
pub const MAX_NAME_PART_BYTES: usize = 255;

/// The file name of the detached signature that goes beside `name`.
pub fn signature_name(name: &str) -> String {
    format!("{name}{SIGNATURE_SUFFIX}")
}

/// Whether a file name is a detached signature (`*.asc`), which is never signed again.
pub fn is_signature_name(name: &str) -> bool {
    name.ends_with(SIGNATURE_SUFFIX)
}

/// The path of the detached signature that goes beside the file at `path`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(SIGNATURE_SUFFIX);
    PathBuf::from(name)
}

/// The name of the file a signature signs: `a.tar` for `a.tar.asc`.
pub fn signed_name(signature: &str) -> Option<&str> {
    signature.strip_suffix(SIGNATURE_SUFFIX)
}

/// Checks a relative, `/`-separated name as it appears in `SHA256SUMS`, the manifest and
/// S3 keys: nothing but plain names, no way out of the folder, no line breaks or control
/// characters. Returns why it is refused.
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
    use super::*;

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

    #[test]
    fn signature_names_round_trip() {
        assert_eq!(signature_name("a/b.tar"), "a/b.tar.asc");
        assert_eq!(signed_name(&signature_name("a/b.tar")), Some("a/b.tar"));
        assert!(is_signature_name(SUMS_SIG_NAME));
        assert_eq!(signed_name(SUMS_SIG_NAME), Some(SUMS_NAME));
        assert_eq!(signed_name("a.tar"), None);
    }
}
