//! `s3://bucket/prefix`: where a release goes, and S3's rules for its names.

use std::fmt;
use std::str::FromStr;

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub bucket: String,
    /// Empty, or ending in `/`.
    pub prefix: String,
}

/// S3's longest object key, in bytes, prefix included (Amazon S3 User Guide, "Naming Amazon
/// S3 objects"): every published name, its signature's included, must fit under the
/// destination prefix.
pub const MAX_KEY_BYTES: usize = 1024;

impl Destination {
    /// The object key of the file published as `name`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// S3's rules for (general purpose) bucket names.
fn valid_bucket(b: &str) -> bool {
    let ok_chars = b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    let ends = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && ok_chars
        && ends(b.bytes().next())
        && ends(b.bytes().last())
        && !b.contains("..")
        && !b.split('.').all(|p| p.parse::<u8>().is_ok())
}

impl FromStr for Destination {
    type Err = Error;

    fn from_str(s: &str) -> Result<Destination, Error> {
        let bad = |why: &str| Error::BadDestination { destination: s.to_string(), why: why.to_string() };
        let rest = s.strip_prefix("s3://").ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        if !valid_bucket(bucket) {
            return Err(bad("not a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)"));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() {
            relsign_pgp::validate_relative(prefix)
                .map_err(|why| bad(&format!("the prefix is refused ({why})")))?;
        }
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        Ok(Destination { bucket: bucket.to_string(), prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bucket_and_prefix() {
        let d: Destination = "s3://my-bucket/releases/abc123".parse().unwrap();
        assert_eq!(d.bucket, "my-bucket");
        assert_eq!(d.key("a b.tar"), "releases/abc123/a b.tar");
        let d: Destination = "s3://my-bucket".parse().unwrap();
        assert_eq!(d.key("x"), "x");
        let d: Destination = "s3://my-bucket/p/".parse().unwrap();
        assert_eq!(d.prefix, "p/");
    }

    #[test]
    fn refuses_bad_destinations() {
        for bad in [
            "my-bucket/x",
            "s3://",
            "s3:///prefix",
            "s3://Bad_Bucket/x",
            "s3://ab",
            "s3://192.168.1.1/x",
            "s3://b-b/../x",
        ] {
            assert!(bad.parse::<Destination>().is_err(), "{bad}");
        }
    }
}
