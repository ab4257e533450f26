//! Every key shape the suites need, made once per test binary by real GnuPG and exported
//! to files the way the pipeline's users export them.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::gpg::{GnuPg, PASSPHRASE};

/// A key as a user hands it to relsign.
pub struct KeyFile {
    pub label: &'static str,
    /// `gpg --armor --export-secret-key` (or `--export-secret-subkeys`).
    pub secret: PathBuf,
    /// `gpg --armor --export`.
    pub public: PathBuf,
    pub fingerprint: String,
    /// Empty for an unprotected key.
    pub passphrase: &'static str,
}

pub struct Keys {
    dir: tempfile::TempDir,
    /// RSA-4096 primary that signs, with a passphrase: what the seed README tells users.
    pub rsa4096: KeyFile,
    /// Certification-only primary with signing and encryption subkeys (GnuPG's default shape).
    pub default_shape: KeyFile,
    /// Ed25519 primary that signs, unprotected.
    pub ed25519: KeyFile,
    pub p256: KeyFile,
    /// An expired signing subkey beside a valid one.
    pub expired_subkey: KeyFile,
    /// `--export-secret-subkeys` of the default shape: the primary is a GnuPG stub.
    pub stub_primary: KeyFile,
    pub expired: KeyFile,
    pub revoked: KeyFile,
    pub no_signing: KeyFile,
    /// Two secret keys in one file.
    pub two_certs: PathBuf,
}

impl Keys {
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The keys that must sign and verify everywhere.
    pub fn good(&self) -> [&KeyFile; 6] {
        [
            &self.rsa4096,
            &self.default_shape,
            &self.ed25519,
            &self.p256,
            &self.expired_subkey,
            &self.stub_primary,
        ]
    }
}

const PAST: &str = "20200101T000000";

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(make_keys)
}

fn make_keys() -> Keys {
    let g = GnuPg::new();
    let dir = tempfile::tempdir().unwrap();
    let save = |label: &'static str, fpr: String, passphrase: &'static str, secret: Vec<u8>| {
        let s = dir.path().join(format!("{label}.secret.asc"));
        let p = dir.path().join(format!("{label}.public.asc"));
        std::fs::write(&s, secret).unwrap();
        std::fs::write(&p, g.export_public(&fpr)).unwrap();
        KeyFile { label, secret: s, public: p, fingerprint: fpr, passphrase }
    };

    let fpr = g.gen_key("RSA Signer <rsa@example.org>", "rsa4096", "sign,cert", "never", PASSPHRASE, None);
    let rsa4096 = save("rsa4096", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let fpr = g.gen_key("Default Shape <default@example.org>", "ed25519", "cert", "never", PASSPHRASE, None);
    g.add_subkey(&fpr, "ed25519", "sign", "never", PASSPHRASE, None);
    g.add_subkey(&fpr, "cv25519", "encr", "never", PASSPHRASE, None);
    let default_shape = save("default-shape", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));
    let stub_primary =
        save("stub-primary", fpr.clone(), PASSPHRASE, g.export_secret_subkeys(&fpr, PASSPHRASE));

    let fpr = g.gen_key("Ed Signer <ed@example.org>", "ed25519", "sign,cert", "never", "", None);
    let ed25519 = save("ed25519", fpr.clone(), "", g.export_secret(&fpr, ""));

    let fpr = g.gen_key("P256 Signer <p256@example.org>", "nistp256", "sign,cert", "never", PASSPHRASE, None);
    let p256 = save("p256", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let fpr =
        g.gen_key("Rotated Subkey <rotated@example.org>", "ed25519", "cert", "never", PASSPHRASE, Some(PAST));
    g.add_subkey(&fpr, "ed25519", "sign", "1d", PASSPHRASE, Some(PAST));
    g.add_subkey(&fpr, "ed25519", "sign", "never", PASSPHRASE, None);
    let expired_subkey = save("expired-subkey", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let fpr =
        g.gen_key("Expired <expired@example.org>", "ed25519", "sign,cert", "1d", PASSPHRASE, Some(PAST));
    let expired = save("expired", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let fpr = g.gen_key("Revoked <revoked@example.org>", "ed25519", "sign,cert", "never", PASSPHRASE, None);
    g.revoke(&fpr);
    let revoked = save("revoked", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let fpr = g.gen_key("Cannot Sign <nosign@example.org>", "ed25519", "cert", "never", PASSPHRASE, None);
    g.add_subkey(&fpr, "cv25519", "encr", "never", PASSPHRASE, None);
    let no_signing = save("no-signing", fpr.clone(), PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));

    let two_certs = dir.path().join("two.secret.asc");
    let mut both = std::fs::read(&ed25519.secret).unwrap();
    both.extend(std::fs::read(&p256.secret).unwrap());
    std::fs::write(&two_certs, both).unwrap();

    Keys {
        dir,
        rsa4096,
        default_shape,
        ed25519,
        p256,
        expired_subkey,
        stub_primary,
        expired,
        revoked,
        no_signing,
        two_certs,
    }
}

/// One unprotected Ed25519 key, quick to make, for suites that only need a valid signer.
pub fn quick_key() -> &'static KeyFile {
    static KEY: OnceLock<(tempfile::TempDir, KeyFile)> = OnceLock::new();
    &KEY.get_or_init(|| {
        let g = GnuPg::new();
        let dir = tempfile::tempdir().unwrap();
        let fpr = g.gen_key("Quick <quick@example.org>", "ed25519", "sign,cert", "never", "", None);
        let secret = dir.path().join("quick.secret.asc");
        let public = dir.path().join("quick.public.asc");
        std::fs::write(&secret, g.export_secret(&fpr, "")).unwrap();
        std::fs::write(&public, g.export_public(&fpr)).unwrap();
        (dir, KeyFile { label: "quick", secret, public, fingerprint: fpr, passphrase: "" })
    })
    .1
}
