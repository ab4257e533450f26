//! A throwaway GnuPG home that makes keys the way the pipeline's users are told to.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::require_tool;

pub struct GnuPg {
    home: tempfile::TempDir,
}

/// The passphrase the suites protect keys with.
pub const PASSPHRASE: &str = "correct horse battery staple";

impl Default for GnuPg {
    fn default() -> Self {
        Self::new()
    }
}

/// `time` as GnuPG's frozen faked clock (the trailing `!`): a running one starts at `time`
/// in every gpg process, so under load a primary key made a second into its command is
/// younger than the subkey the next command makes at `time`, and gpg refuses that subkey
/// ("Time conflict").
fn frozen_time(time: &str) -> String {
    format!("{}!", time.trim_end_matches('!'))
}

impl GnuPg {
    pub fn new() -> GnuPg {
        require_tool("gpg", "gnupg");
        // Short path: the agent's socket path must fit in sockaddr_un.
        let home = tempfile::Builder::new().prefix("rsg").tempdir_in("/tmp").expect("gnupg home");
        std::fs::set_permissions(home.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        GnuPg { home }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs gpg in batch mode with `stdin` on file descriptor 0 (for passphrases, so
    /// they never appear on a command line).
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(self.home())
            .args(["--batch", "--no-tty", "--quiet", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run gpg");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().expect("gpg output")
    }

    pub fn ok(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "gpg {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// `gpg --quick-gen-key`, returning the new fingerprint. An empty passphrase makes an
    /// unprotected key. `faked_time` (`YYYYMMDDThhmmss`) makes keys in the past.
    pub fn gen_key(
        &self,
        uid: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        passphrase: &str,
        faked_time: Option<&str>,
    ) -> String {
        let frozen = faked_time.map(frozen_time);
        let mut args = vec![];
        if let Some(t) = &frozen {
            args.extend(["--faked-system-time", t.as_str()]);
        }
        args.extend(["--passphrase-fd", "0", "--quick-gen-key", uid, algo, usage, expire]);
        self.ok(&args, passphrase.as_bytes());
        self.fingerprint(uid)
    }

    pub fn add_subkey(
        &self,
        fpr: &str,
        algo: &str,
        usage: &str,
        expire: &str,
        passphrase: &str,
        faked_time: Option<&str>,
    ) {
        let frozen = faked_time.map(frozen_time);
        let mut args = vec![];
        if let Some(t) = &frozen {
            args.extend(["--faked-system-time", t.as_str()]);
        }
        args.extend(["--passphrase-fd", "0", "--quick-add-key", fpr, algo, usage, expire]);
        self.ok(&args, passphrase.as_bytes());
    }

    pub fn fingerprint(&self, uid: &str) -> String {
        let out = self.ok(&["--with-colons", "--list-keys", uid], b"");
        String::from_utf8_lossy(&out)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string()))
            .expect("fingerprint")
    }

    pub fn export_secret(&self, fpr: &str, passphrase: &str) -> Vec<u8> {
        self.ok(&["--passphrase-fd", "0", "--armor", "--export-secret-key", fpr], passphrase.as_bytes())
    }

    pub fn export_secret_subkeys(&self, fpr: &str, passphrase: &str) -> Vec<u8> {
        self.ok(&["--passphrase-fd", "0", "--armor", "--export-secret-subkeys", fpr], passphrase.as_bytes())
    }

    pub fn export_public(&self, fpr: &str) -> Vec<u8> {
        self.ok(&["--armor", "--export", fpr], b"")
    }

    /// Revokes the key with the revocation certificate GnuPG made when creating it.
    pub fn revoke(&self, fpr: &str) {
        let rev = self.home().join("openpgp-revocs.d").join(format!("{fpr}.rev"));
        let text = std::fs::read_to_string(&rev).expect("revocation certificate");
        // GnuPG guards the certificate against accidental import with a leading colon.
        let text =
            text.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----");
        self.ok(&["--import"], text.as_bytes());
    }

    /// `gpg --detach-sign --armor` as the reference pipeline does (passphrase on fd 0).
    pub fn detach_sign(&self, fpr: &str, file: &Path, passphrase: &str) -> PathBuf {
        let sig = PathBuf::from(format!("{}.asc", file.display()));
        let sig_s = sig.to_str().unwrap().to_string();
        let file_s = file.to_str().unwrap().to_string();
        self.ok(
            &[
                "--passphrase-fd",
                "0",
                "--yes",
                "--local-user",
                fpr,
                "--detach-sign",
                "--armor",
                "--output",
                &sig_s,
                &file_s,
            ],
            passphrase.as_bytes(),
        );
        sig
    }

    /// `gpg --verify SIG FILE` in a fresh home that holds only `cert`: whether gpg accepts.
    pub fn verifies_with(cert: &[u8], sig: &Path, file: &Path) -> (bool, String) {
        let g = GnuPg::new();
        g.ok(&["--import"], cert);
        let out = g.run(&["--verify", sig.to_str().unwrap(), file.to_str().unwrap()], b"");
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl Drop for GnuPg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home())
            .args(["--kill", "all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
