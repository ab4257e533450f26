//! The OpenPGP implementations relsign's users have besides GnuPG: rnp (Debian, Botan),
//! OpenPGP.js (npm) and PGPy (PyPI), each as a key maker and a signer, and every verifier
//! (gpg, gpgv, sqv, rnp, OpenPGP.js, PGPy) given only the public certificate.
//!
//! Every tool is required: a missing one fails with what installs it, never skips.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::gpg::GnuPg;
use crate::require_tool;

/// A key made by some implementation, exported as its users export it.
#[derive(Debug, Clone)]
pub struct MadeKey {
    pub label: String,
    pub secret: PathBuf,
    pub public: PathBuf,
    pub fingerprint: String,
    /// Empty for an unprotected key.
    pub passphrase: String,
}

/// One detached signature to check: the certificate, the `.asc` and the signed file.
#[derive(Debug, Clone)]
pub struct Check {
    pub cert: PathBuf,
    pub sig: PathBuf,
    pub data: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verifier {
    Gpg,
    Gpgv,
    Sqv,
    Rnp,
    OpenPgpJs,
    Pgpy,
}

impl Verifier {
    pub const ALL: [Verifier; 6] =
        [Verifier::Gpg, Verifier::Gpgv, Verifier::Sqv, Verifier::Rnp, Verifier::OpenPgpJs, Verifier::Pgpy];

    pub fn name(self) -> &'static str {
        match self {
            Verifier::Gpg => "gpg",
            Verifier::Gpgv => "gpgv",
            Verifier::Sqv => "sqv",
            Verifier::Rnp => "rnp",
            Verifier::OpenPgpJs => "OpenPGP.js",
            Verifier::Pgpy => "PGPy",
        }
    }

    /// The verdict on every check, in order: `Err` holds what the verifier said.
    pub fn verify(self, checks: &[Check]) -> Vec<Result<(), String>> {
        match self {
            Verifier::Gpg => checks.iter().map(gpg_verify).collect(),
            Verifier::Gpgv => checks.iter().map(gpgv_verify).collect(),
            Verifier::Sqv => checks
                .iter()
                .map(|c| {
                    run_verdict(
                        Command::new(require_tool("sqv", "sqv"))
                            .arg("--keyring")
                            .arg(&c.cert)
                            .arg(&c.sig)
                            .arg(&c.data),
                    )
                })
                .collect(),
            Verifier::Rnp => checks.iter().map(rnp_verify).collect(),
            Verifier::OpenPgpJs => batch(openpgpjs, checks),
            Verifier::Pgpy => batch(pgpy, checks),
        }
    }
}

fn run_verdict(cmd: &mut Command) -> Result<(), String> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("failed").to_string())
    }
}

fn gpg_verify(c: &Check) -> Result<(), String> {
    let (ok, log) = GnuPg::verifies_with(&std::fs::read(&c.cert).unwrap(), &c.sig, &c.data);
    if ok && log.contains("Good signature") {
        Ok(())
    } else {
        Err(log
            .lines()
            .filter(|l| !l.contains("Signature made") && !l.contains("using"))
            .collect::<Vec<_>>()
            .join(" / "))
    }
}

fn gpgv_verify(c: &Check) -> Result<(), String> {
    let g = GnuPg::new();
    // gpgv reads binary keyrings only.
    let keyring = g.home().join("trusted.gpg");
    let dearmored = g.ok(&["--dearmor"], &std::fs::read(&c.cert).unwrap());
    std::fs::write(&keyring, dearmored).unwrap();
    run_verdict(
        Command::new(require_tool("gpgv", "gpgv"))
            .arg("--homedir")
            .arg(g.home())
            .arg("--keyring")
            .arg(&keyring)
            .arg(&c.sig)
            .arg(&c.data),
    )
}

fn rnp_verify(c: &Check) -> Result<(), String> {
    let home = tempfile::tempdir().unwrap();
    run_verdict(
        Command::new(require_tool("rnp", "rnp"))
            .arg("--homedir")
            .arg(home.path())
            .arg("--keyfile")
            .arg(&c.cert)
            .arg("--verify")
            .arg(&c.sig)
            .arg("--source")
            .arg(&c.data),
    )
}

fn batch(tool: fn() -> Command, checks: &[Check]) -> Vec<Result<(), String>> {
    let list: Vec<serde_json::Value> =
        checks.iter().map(|c| serde_json::json!({"cert": c.cert, "sig": c.sig, "data": c.data})).collect();
    let answer = request(tool, &serde_json::json!({"op": "verify", "checks": list}));
    answer
        .as_array()
        .expect("a verdict list")
        .iter()
        .map(
            |v| {
                if v["ok"] == true {
                    Ok(())
                } else {
                    Err(v["error"].as_str().unwrap_or("failed").to_string())
                }
            },
        )
        .collect()
}

/// Sends one JSON request to the OpenPGP.js or PGPy helper and returns its answer.
pub fn request(tool: fn() -> Command, req: &serde_json::Value) -> serde_json::Value {
    let mut child =
        tool().stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(req.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{} failed: {}", req["op"], String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("a JSON answer")
}

fn home_cache(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/relsign").join(default))
}

/// `node` with OpenPGP.js (installed by scripts/test outside the clone).
pub fn openpgpjs() -> Command {
    let modules = home_cache("RELSIGN_OPENPGPJS", "tools/openpgpjs").join("node_modules");
    assert!(
        modules.join("openpgp").is_dir(),
        "OpenPGP.js is not installed in {}: run scripts/test (it runs npm ci from tests/js)",
        modules.display()
    );
    let mut cmd = Command::new(require_tool("node", "nodejs"));
    cmd.env("NODE_PATH", modules).arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("js/openpgp.cjs"));
    cmd
}

/// The venv's Python with PGPy (installed by scripts/test).
pub fn pgpy() -> Command {
    let python = home_cache("RELSIGN_VENV", "venv").join("bin/python");
    let has_pgpy =
        Command::new(&python).args(["-c", "import pgpy"]).output().is_ok_and(|o| o.status.success());
    assert!(has_pgpy, "PGPy is not installed in the venv of {}: run scripts/test", python.display());
    let mut cmd = Command::new(python);
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pgpy_tool.py"));
    cmd
}

fn save(
    dir: &Path,
    label: &str,
    secret: &[u8],
    public: &[u8],
    fingerprint: String,
    passphrase: &str,
) -> MadeKey {
    let s = dir.join(format!("{label}.secret.asc"));
    let p = dir.join(format!("{label}.public.asc"));
    std::fs::write(&s, secret).unwrap();
    std::fs::write(&p, public).unwrap();
    MadeKey {
        label: label.to_string(),
        secret: s,
        public: p,
        fingerprint,
        passphrase: passphrase.to_string(),
    }
}

/// A key made with OpenPGP.js `generateKey` (`extra` adds options such as `curve`).
pub fn openpgpjs_key(dir: &Path, label: &str, extra: serde_json::Value) -> MadeKey {
    let mut req = serde_json::json!({"op": "generate"});
    for (k, v) in extra.as_object().unwrap() {
        req[k] = v.clone();
    }
    let a = request(openpgpjs, &req);
    let pass = a.get("passphrase").and_then(|p| p.as_str()).unwrap_or("");
    save_made(dir, label, &a, extra.get("passphrase").and_then(|p| p.as_str()).unwrap_or(pass))
}

/// Saves the key a maker's reply holds (`secret`, `public`, `fingerprint`).
fn save_made(dir: &Path, label: &str, reply: &serde_json::Value, passphrase: &str) -> MadeKey {
    let text = |field: &str| reply[field].as_str().unwrap_or_else(|| panic!("no {field} in {reply}"));
    save(
        dir,
        label,
        text("secret").as_bytes(),
        text("public").as_bytes(),
        text("fingerprint").to_string(),
        passphrase,
    )
}

/// A key made with PGPy (`{"algorithm": "ECDSA", "curve": "NIST_P384"}` or RSA `bits`).
pub fn pgpy_key(dir: &Path, label: &str, mut req: serde_json::Value) -> MadeKey {
    req["op"] = "generate".into();
    let a = request(pgpy, &req);
    save_made(dir, label, &a, "")
}

/// A key made with `rnpkeys --generate-key --expert`: `menu` answers its questions (the
/// algorithm number, then the curve number or the RSA size). rnp makes a signing primary
/// and an encryption subkey.
pub fn rnp_key(dir: &Path, label: &str, menu: &str, passphrase: &str) -> MadeKey {
    let home = tempfile::tempdir().unwrap();
    let rnpkeys = require_tool("rnpkeys", "rnp");
    let uid = format!("rnp {label} <rnp@example.org>");
    let mut child = Command::new(&rnpkeys)
        .arg("--homedir")
        .arg(home.path())
        .args(["--generate-key", "--expert", "--notty", "--userid", &uid, "--password", passphrase])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(menu.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "rnpkeys {label}: {}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    // The primary's fingerprint is the line after the `sec` line.
    let fingerprint = listing
        .lines()
        .skip_while(|l| !l.starts_with("sec"))
        .nth(1)
        .map(|l| l.trim().to_uppercase())
        .unwrap_or_else(|| panic!("no fingerprint in {listing}"));
    let export = |secret: bool| {
        let mut cmd = Command::new(&rnpkeys);
        cmd.arg("--homedir").arg(home.path()).arg("--export-key");
        if secret {
            cmd.arg("--secret");
        }
        let out = cmd.arg(&fingerprint).output().unwrap();
        assert!(out.status.success(), "rnpkeys --export-key: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    save(dir, label, &export(true), &export(false), fingerprint, passphrase)
}

/// A detached armored signature over `data` made by the key's own implementation.
pub fn rnp_sign(key: &MadeKey, data: &Path, out: &Path) {
    let home = tempfile::tempdir().unwrap();
    let rnp = require_tool("rnp", "rnp");
    let status = Command::new(&rnp)
        .arg("--homedir")
        .arg(home.path())
        .arg("--keyfile")
        .arg(&key.secret)
        .args([
            "--sign",
            "--detach",
            "--armor",
            "--overwrite",
            "--password",
            &key.passphrase,
            "-u",
            &key.fingerprint,
        ])
        .arg("--output")
        .arg(out)
        .arg(data)
        .output()
        .unwrap();
    assert!(status.status.success(), "rnp --sign: {}", String::from_utf8_lossy(&status.stderr));
}

pub fn openpgpjs_sign(key: &MadeKey, data: &Path, out: &Path) {
    let secret = std::fs::read_to_string(&key.secret).unwrap();
    request(
        openpgpjs,
        &serde_json::json!({"op": "sign", "secret": secret, "passphrase": key.passphrase, "data": data, "out": out}),
    );
}

/// A PGPy signature over `hash` (any hash: PGPy does not refuse weak ones).
pub fn pgpy_sign(key: &MadeKey, hash: &str, data: &Path, out: &Path) {
    let secret = std::fs::read_to_string(&key.secret).unwrap();
    request(
        pgpy,
        &serde_json::json!({"op": "sign", "secret": secret, "hash": hash, "data": data, "out": out}),
    );
}

/// The hash algorithm number of an armored signature, as `gpg --list-packets` shows it
/// (8 = SHA-256, 9 = SHA-384, 10 = SHA-512).
pub fn digest_algo(sig: &Path) -> u8 {
    let g = GnuPg::new();
    let out = g.run(&["--list-packets", sig.to_str().unwrap()], b"");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split("digest algo ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no digest algo in {text}"))
}
