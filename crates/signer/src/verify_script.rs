//! `signer verify-script`: a POSIX sh script for the people who download a release and
//! have no relsign. It carries the release certificate and its fingerprint, downloads with
//! curl, checks every signature with gpgv (or sqv) against a keyring holding that
//! certificate alone, every digest with sha256sum -c, and fails closed. The script itself
//! is `verify_script.sh`; this module only fills in the certificate and the address.

use std::io::Write;
use std::path::Path;

use relsign_cli::{Exit, Failure};
use relsign_pgp::Verifier;

use crate::cli::VerifyScriptArgs;

const TEMPLATE: &str = include_str!("verify_script.sh");
/// Bytes of the certificate per line of the script (each written as `\0ooo`).
const BYTES_PER_LINE: usize = 32;

pub fn run(args: VerifyScriptArgs) -> Result<Exit, Failure> {
    let verifier = Verifier::from_files(std::slice::from_ref(&args.cert))?;
    let fingerprints = verifier.fingerprints();
    let [fingerprint] = fingerprints.as_slice() else {
        return Err(Failure::new(
            Exit::Input,
            format!(
                "{} holds {} certificates, and the script pins one",
                args.cert.display(),
                fingerprints.len()
            ),
        )
        .with_fix("give the release certificate alone (signer export-cert writes it)"));
    };
    let base_url = args.base_url.as_deref().unwrap_or("");
    check_base_url(base_url)?;
    let script = script(fingerprint, base_url, &verifier.keyring()?);
    write_script(args.output.as_deref(), script.as_bytes())?;
    Ok(Exit::Ok)
}

/// The address goes into the script between single quotes: it must be http(s) and hold
/// nothing a shell or a URL would read otherwise.
fn check_base_url(url: &str) -> Result<(), Failure> {
    if url.is_empty() {
        return Ok(());
    }
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    let chars_ok = url.chars().all(|c| c.is_ascii_graphic() && !"'\\\"`$".contains(c));
    if scheme_ok && chars_ok {
        return Ok(());
    }
    Err(Failure::new(
        Exit::Usage,
        format!("--base-url {url:?} is not an http(s) address the script can hold"),
    )
    .with_fix("give https://HOST/PATH/ with any quote, backslash, $ or space percent-encoded"))
}

fn script(fingerprint: &str, base_url: &str, keyring: &[u8]) -> String {
    let lines: Vec<String> = keyring
        .chunks(BYTES_PER_LINE)
        .map(|chunk| {
            let escaped: String = chunk.iter().map(|b| format!("\\0{b:03o}")).collect();
            format!("printf '%b' '{escaped}'")
        })
        .collect();
    let shown = if base_url.is_empty() { "none: pass -u" } else { base_url };
    TEMPLATE
        .replace("@KEYRING@", &lines.join("\n"))
        .replace("@BASE_URL_SHOWN@", shown)
        .replace("@BASE_URL@", base_url)
        .replace("@FINGERPRINT@", fingerprint)
}

/// Writes the script whole: to a temporary file beside `path`, made executable, then
/// renamed into place (or to stdout).
fn write_script(path: Option<&Path>, script: &[u8]) -> Result<(), Failure> {
    let Some(path) = path else {
        return std::io::stdout()
            .write_all(script)
            .map_err(|e| Failure::new(Exit::Output, format!("cannot write to stdout: {e}")));
    };
    let cannot = |e: std::io::Error| {
        Failure::new(Exit::Output, format!("cannot write {}: {e}", path.display())).with_fix("check --output")
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(cannot)?;
    file.write_all(script).map_err(cannot)?;
    use std::os::unix::fs::PermissionsExt;
    file.as_file().set_permissions(std::fs::Permissions::from_mode(0o755)).map_err(cannot)?;
    file.persist(path).map_err(|e| cannot(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_each_byte_written_once() {
        let s = script("ABCDEF", "https://example.org/r/", &[0, 7, 255, b'\'']);
        for placeholder in ["@KEYRING@", "@BASE_URL@", "@BASE_URL_SHOWN@", "@FINGERPRINT@"] {
            assert!(!s.contains(placeholder), "{placeholder} is left: {s}");
        }
        assert!(s.contains("printf '%b' '\\0000\\0007\\0377\\0047'"), "{s}");
        assert!(s.contains("FINGERPRINT='ABCDEF'"));
        assert!(s.contains("BASE_URL='https://example.org/r/'"));
    }

    #[test]
    fn addresses_a_shell_would_read_are_refused() {
        for bad in ["ftp://x/", "https://x/'; rm -rf ~; '", "https://x/a b", "https://x/$HOME", "x"] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
        for ok in ["", "https://x.example/r/1.4.0/", "http://127.0.0.1:8000/rel/"] {
            assert!(check_base_url(ok).is_ok(), "{ok}");
        }
    }
}
