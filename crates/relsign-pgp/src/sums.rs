//! `SHA256SUMS`: the checksum list in the format `sha256sum` writes and `sha256sum -c`
//! checks, signed as `SHA256SUMS.asc`.

use crate::{Error, Sha256};

/// Paths (relative, `/`-separated) and their digests, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumList {
    entries: Vec<(String, Sha256)>,
}

impl ChecksumList {
    pub fn new() -> ChecksumList {
        ChecksumList::default()
    }

    pub fn push(&mut self, path: impl Into<String>, digest: Sha256) {
        self.entries.push((path.into(), digest));
    }

    pub fn entries(&self) -> &[(String, Sha256)] {
        &self.entries
    }

    pub fn get(&self, path: &str) -> Option<Sha256> {
        self.entries.iter().find(|(p, _)| p == path).map(|(_, d)| *d)
    }

    /// The file's text. Names holding a backslash are escaped as GNU coreutils does (a
    /// leading `\` on the line, `\\` in the name); callers refuse names with line breaks.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (path, digest) in &self.entries {
            if path.contains('\\') {
                out.push('\\');
                out.push_str(&format!("{digest}  {}\n", path.replace('\\', "\\\\")));
            } else {
                out.push_str(&format!("{digest}  {path}\n"));
            }
        }
        out
    }

    /// Reads a list in `sha256sum` format (text `  ` or binary ` *` mode).
    pub fn parse(text: &str, origin: &str) -> Result<ChecksumList, Error> {
        let mut list = ChecksumList::new();
        for (i, raw) in text.lines().enumerate() {
            let bad = |detail: &str| Error::SumsMalformed {
                origin: origin.to_string(),
                line: i + 1,
                detail: detail.to_string(),
            };
            if raw.is_empty() {
                continue;
            }
            let (escaped, line) = match raw.strip_prefix('\\') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            if line.len() < 66 || !line.is_char_boundary(64) {
                return Err(bad("expected `<64 hex digits>  <file name>`"));
            }
            let digest: Sha256 = line[..64].parse().map_err(|e: String| bad(&e))?;
            // `get`, not indexing: a multi-byte character may straddle byte 66 (found by fuzzing).
            let name = match line.get(64..66) {
                Some("  " | " *") => &line[66..],
                _ => return Err(bad("expected two spaces or ` *` after the digest")),
            };
            if name.is_empty() {
                return Err(bad("missing file name"));
            }
            let name = if escaped {
                unescape(name).ok_or_else(|| bad("bad escape in file name"))?
            } else {
                name.to_string()
            };
            // Every name must stay inside the folder the list describes, whoever reads it, and
            // be one relsign could have written (no control characters, as artifact names).
            if crate::validate_relative(&name).is_err() {
                return Err(bad(
                    "the file name is not a plain path inside the folder (leading /, empty, . or .. part, or a control character)",
                ));
            }
            list.push(name, digest);
        }
        Ok(list)
    }
}

fn unescape(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names_with_spaces_unicode_and_backslashes() {
        let mut list = ChecksumList::new();
        list.push("a file.tar", Sha256::of(b"1"));
        list.push("dir/ünï.deb", Sha256::of(b"2"));
        list.push("back\\slash", Sha256::of(b"3"));
        let text = list.to_text();
        assert!(text.contains("\\"));
        assert_eq!(ChecksumList::parse(&text, "t").unwrap(), list);
    }

    #[test]
    fn reads_binary_mode_and_rejects_garbage() {
        let d = Sha256::of(b"x");
        let list = ChecksumList::parse(&format!("{d} *bin\n"), "t").unwrap();
        assert_eq!(list.get("bin"), Some(d));
        assert!(ChecksumList::parse("nonsense\n", "t").is_err());
        assert!(ChecksumList::parse(&format!("{d}\n"), "t").is_err());
    }
}
