//! Every key refusal names its real cause once, and every command it suggests works when
//! run: each suggested `gpg` command is run against a throwaway keyring holding the key,
//! the key exported again as the fix says, and signing tried again. The commands are read
//! as argv from the refusal's JSON log line (its `fix` steps), never split out of the text.

use std::path::{Path, PathBuf};

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::implementations::{openpgpjs_key, Check, Verifier};
use relsign_tests::keys::keys;
use relsign_tests::*;

/// A secret key as the user stores it, and the gpg home it lives in.
struct Held {
    g: GnuPg,
    secret: PathBuf,
    primary: String,
    passphrase: &'static str,
    work: tempfile::TempDir,
}

impl Held {
    fn import(secret: &Path, primary: &str, passphrase: &'static str) -> Held {
        let g = GnuPg::new();
        g.ok(&["--import", secret.to_str().unwrap()], b"");
        let work = tempfile::tempdir().unwrap();
        let own = work.path().join("secret.asc");
        std::fs::copy(secret, &own).unwrap();
        Held { g, secret: own, primary: primary.to_string(), passphrase, work }
    }

    fn made(g: GnuPg, primary: String, passphrase: &'static str) -> Held {
        let work = tempfile::tempdir().unwrap();
        let secret = work.path().join("secret.asc");
        std::fs::write(&secret, g.export_secret(&primary, passphrase)).unwrap();
        Held { g, secret, primary, passphrase, work }
    }

    /// `signer sign` with this key and `extra` flags, into a fresh output folder.
    fn sign(&self, extra: &[&str]) -> (std::process::Output, PathBuf) {
        self.sign_logging(extra, "text")
    }

    /// The commands the refusal of `signer sign` with `extra` suggests, as argv.
    fn suggested(&self, extra: &[&str]) -> Vec<Vec<String>> {
        fix_commands(&self.sign_logging(extra, "json").0)
    }

    fn sign_logging(&self, extra: &[&str], log_format: &str) -> (std::process::Output, PathBuf) {
        let dist = self.work.path().join("dist");
        if !dist.exists() {
            write_tree(&dist, &[("tool.tar", b"payload".as_slice())]);
        }
        let out =
            self.work.path().join(format!("out{}", std::fs::read_dir(self.work.path()).unwrap().count()));
        let mut args =
            vec!["sign", "--key-file", self.secret.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(extra);
        args.push(dist.to_str().unwrap());
        let mut env: Vec<(&str, &str)> = vec![("RELSIGN_LOG_FORMAT", log_format)];
        if !self.passphrase.is_empty() {
            env.push(("PASSPHRASE", self.passphrase));
        }
        (TestCommand::signer().args(&args).envs(&env).output(), out)
    }

    /// Runs a suggested `gpg ...` command here, the passphrase typed at its prompt.
    fn run(&self, argv: &[String]) -> Vec<u8> {
        assert_eq!(argv[0], "gpg", "not a gpg command: {argv:?}");
        let mut args = vec!["--passphrase-fd", "0"];
        args.extend(argv[1..].iter().map(String::as_str));
        self.g.ok(&args, self.passphrase.as_bytes())
    }

    /// Follows the fix of the refusal of `signer sign` with `extra`: runs its gpg commands
    /// in order; the export one's output becomes the stored key.
    fn follow(&self, extra: &[&str]) {
        let commands: Vec<Vec<String>> =
            self.suggested(extra).into_iter().filter(|argv| argv[0] == "gpg").collect();
        assert!(!commands.is_empty(), "no gpg command suggested");
        for argv in commands {
            let output = self.run(&argv);
            if argv.iter().any(|w| w == "--export-secret-key") {
                std::fs::write(&self.secret, output).unwrap();
            }
        }
    }

    /// Signs again and checks the result with gpg, given the current certificate.
    fn signs(&self, extra: &[&str]) {
        let (res, out) = self.sign(extra);
        assert!(res.status.success(), "after the fix: {:?}", stderr_lines(&res));
        let cert = self.work.path().join("cert.asc");
        std::fs::write(&cert, self.g.export_public(&self.primary)).unwrap();
        let check = Check { cert, sig: out.join("tool.tar.asc"), data: out.join("tool.tar") };
        let verdict = Verifier::Gpg.verify(&[check]);
        assert!(verdict[0].is_ok(), "gpg rejects the signature after the fix: {verdict:?}");
    }
}

/// The commands the fix of a run's error suggests, as argv, from its JSON log line.
fn fix_commands(res: &std::process::Output) -> Vec<Vec<String>> {
    let line =
        stderr_lines(res).into_iter().find(|l| l.contains("\"level\":\"ERROR\"")).expect("an error line");
    let line: serde_json::Value = serde_json::from_str(&line).unwrap();
    let steps = line["fix"].as_array().unwrap_or_else(|| panic!("no fix steps in {line}"));
    steps
        .iter()
        .filter_map(|step| step["run"]["argv"].as_array())
        .map(|argv| argv.iter().map(|w| w.as_str().unwrap().to_string()).collect())
        .collect()
}

/// The refusal: exit 4, one line naming `cause` once, no output folder.
fn refusal(res: &std::process::Output, out: &Path, cause: &str) -> String {
    assert_fails(res, 4, cause);
    let line = stderr_lines(res).remove(0);
    assert_eq!(line.matches(cause).count(), 1, "cause printed more than once: {line}");
    assert_eq!(line.matches("error:").count(), 1, "{line}");
    assert!(!out.exists(), "{} was created", out.display());
    line
}

/// The subkeys gpg lists for `fpr`: (validity, capabilities, fingerprint).
fn subkeys(g: &GnuPg, fpr: &str) -> Vec<(String, String, String)> {
    let listing = String::from_utf8(g.ok(&["--with-colons", "--list-keys", fpr], b"")).unwrap();
    let mut found = Vec::new();
    let mut lines = listing.lines().peekable();
    while let Some(l) = lines.next() {
        let f: Vec<&str> = l.split(':').collect();
        if f[0] == "sub" {
            let next =
                lines.peek().and_then(|n| n.strip_prefix("fpr:")).map(|r| r.trim_matches(':').to_string());
            found.push((f[1].to_string(), f[11].to_string(), next.unwrap()));
        }
    }
    found
}

#[test]
fn expired_primary_key_fix_works_when_pasted() {
    let k = &keys().expired;
    let held = Held::import(&k.secret, &k.fingerprint, PASSPHRASE);
    let (res, out) = held.sign(&[]);
    let line = refusal(&res, &out, "expired on");
    assert!(line.contains(&format!("certificate {}", k.fingerprint)), "{line}");
    held.follow(&[]);
    held.signs(&[]);
}

#[test]
fn expired_signing_subkey_fix_works_when_pasted() {
    let g = GnuPg::new();
    let past = Some("20200101T000000");
    let fpr = g.gen_key("Old Subkey <old@example.org>", "ed25519", "cert", "never", PASSPHRASE, past);
    g.add_subkey(&fpr, "ed25519", "sign", "1d", PASSPHRASE, past);
    let held = Held::made(g, fpr.clone(), PASSPHRASE);
    let (res, out) = held.sign(&[]);
    let line = refusal(&res, &out, "expired on");
    let sub = &subkeys(&held.g, &fpr)[0].2;
    assert!(line.contains(&format!("signing subkey {sub} of {fpr}")), "{line}");
    held.follow(&[]);
    held.signs(&[]);
}

#[test]
fn expired_subkey_chosen_with_signing_key_fix_works_and_the_valid_one_is_offered() {
    let k = &keys().expired_subkey;
    let held = Held::import(&k.secret, &k.fingerprint, PASSPHRASE);
    let subs = subkeys(&held.g, &k.fingerprint);
    let expired = &subs.iter().find(|s| s.0 == "e").expect("an expired subkey").2;
    let valid = &subs.iter().find(|s| s.0 != "e").expect("a valid subkey").2;
    let (res, out) = held.sign(&["--signing-key", expired]);
    let line = refusal(&res, &out, "expired on");
    assert!(line.contains(&format!("--signing-key {valid}")), "the valid subkey is not offered: {line}");
    held.signs(&["--signing-key", valid]);
    held.follow(&["--signing-key", expired]);
    held.signs(&["--signing-key", expired]);
}

#[test]
fn revoked_signing_subkey_fix_works_when_pasted() {
    let g = GnuPg::new();
    let fpr = g.gen_key("Revoked Subkey <revsub@example.org>", "ed25519", "cert", "never", "", None);
    g.add_subkey(&fpr, "ed25519", "sign", "never", "", None);
    // gpg --edit-key's prompts: revoke this subkey? reason 0, no description, okay?
    g.ok(&["--command-fd", "0", "--edit-key", &fpr, "key 1", "revkey", "save"], b"y\n0\n\ny\n");
    let held = Held::made(g, fpr.clone(), "");
    let (res, out) = held.sign(&[]);
    let line = refusal(&res, &out, "is revoked");
    assert!(line.contains(&format!("of {fpr}")), "{line}");
    held.follow(&[]);
    held.signs(&[]);
}

#[test]
fn encryption_subkey_chosen_with_signing_key_points_to_the_signing_one() {
    let k = &keys().default_shape;
    let held = Held::import(&k.secret, &k.fingerprint, PASSPHRASE);
    let subs = subkeys(&held.g, &k.fingerprint);
    let encryption = &subs.iter().find(|s| s.1.contains('e')).expect("an encryption subkey").2;
    let signing = &subs.iter().find(|s| s.1.contains('s')).expect("a signing subkey").2;
    let (res, out) = held.sign(&["--signing-key", encryption]);
    let line = refusal(&res, &out, "cannot sign");
    assert!(line.contains("for encryption only"), "{line}");
    let argv = held.suggested(&["--signing-key", encryption]).remove(0);
    assert_eq!(argv, ["signer", "sign", "--signing-key", signing.as_str()], "{line}");
    held.signs(&["--signing-key", signing]);
}

#[test]
fn certificate_without_signing_key_fix_works_when_pasted() {
    let k = &keys().no_signing;
    let held = Held::import(&k.secret, &k.fingerprint, PASSPHRASE);
    let (res, out) = held.sign(&[]);
    refusal(&res, &out, "cannot sign");
    held.follow(&[]);
    held.signs(&[]);
}

/// The refused key's fix suggests making a new GnuPG key: the command works, and the
/// new key signs.
fn new_key_suggestion_works(suggested: Vec<Vec<String>>) {
    let command = suggested
        .into_iter()
        .find(|argv| argv.iter().any(|w| w == "--quick-gen-key"))
        .expect("a key to make");
    let g = GnuPg::new();
    let mut args = vec!["--passphrase-fd".to_string(), "0".to_string()];
    args.extend(command.iter().skip(1).cloned());
    g.ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), b"");
    let uid = command[2].clone();
    let fpr = g.fingerprint(&uid);
    let held = Held::made(g, fpr, "");
    held.signs(&[]);
}

#[test]
fn revoked_certificate_says_make_a_new_key_and_that_works() {
    let k = &keys().revoked;
    let held = Held::import(&k.secret, &k.fingerprint, PASSPHRASE);
    let (res, out) = held.sign(&[]);
    refusal(&res, &out, "is revoked");
    new_key_suggestion_works(held.suggested(&[]));
}

#[test]
fn unsupported_curve_is_named_not_a_missing_binding_signature() {
    let g = GnuPg::new();
    let fpr = g.gen_key("Bitcoin Curve <k1@example.org>", "secp256k1", "sign,cert", "2y", "", None);
    let held = Held::made(g, fpr, "");
    let (res, out) = held.sign(&[]);
    let line = refusal(&res, &out, "ECDSA secp256k1");
    assert!(!line.contains("binding"), "{line}");
    // What the refusal claims of sqv: it cannot check even GnuPG's own signature.
    let data = held.work.path().join("k1.bin");
    std::fs::write(&data, b"k1").unwrap();
    let sig = held.g.detach_sign(&held.primary, &data, "");
    let cert = held.work.path().join("k1.public.asc");
    std::fs::write(&cert, held.g.export_public(&held.primary)).unwrap();
    assert!(Verifier::Gpg.verify(&[Check { cert: cert.clone(), sig: sig.clone(), data: data.clone() }])[0]
        .is_ok());
    assert!(
        Verifier::Sqv.verify(&[Check { cert, sig, data }])[0].is_err(),
        "sqv reads secp256k1 now: update the refusal"
    );
    // The file signed, not the folder holding --out: the output check would fail first.
    let check = TestCommand::signer()
        .args(["check", "--key-file", held.secret.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .arg(held.work.path().join("k1.bin"))
        .output();
    assert_eq!(check.status.code(), Some(4), "signer check must fail at preflight: {}", stdout(&check));
    assert!(stdout(&check).contains("ECDSA secp256k1"), "{}", stdout(&check));
    new_key_suggestion_works(held.suggested(&[]));
}

#[test]
fn rfc9580_ed25519_key_is_refused_before_reading_and_allowed_with_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    // OpenPGP.js 6's own default: `type: 'curve25519'`, algorithm 27 on a v4 key.
    let key = openpgpjs_key(dir.path(), "rfc9580-ed25519", serde_json::json!({"type": "curve25519"}));
    let work = tempfile::tempdir().unwrap();
    // An artifact last read long ago: reading it now would move its access time (relatime).
    let artifact = work.path().join("tool.img");
    std::fs::write(&artifact, b"never read").unwrap();
    let touched =
        std::process::Command::new("touch").args(["-a", "-d", "2020-01-01"]).arg(&artifact).status();
    assert!(touched.unwrap().success());
    let read_at = || std::fs::metadata(&artifact).unwrap().accessed().unwrap();
    let before = read_at();
    let out = work.path().join("out");
    let sign = |log_format: &str| {
        TestCommand::signer()
            .args([
                "sign",
                "--key-file",
                key.secret.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                artifact.to_str().unwrap(),
            ])
            .env("RELSIGN_LOG_FORMAT", log_format)
            .output()
    };
    let res = sign("text");
    let line = refusal(&res, &out, "algorithm 27");
    assert_eq!(read_at(), before, "the artifact was read before the key was refused");
    assert!(line.contains("GnuPG 2.2") && line.contains("--allow-rfc9580"), "{line}");
    new_key_suggestion_works(fix_commands(&sign("json")));
    let check = TestCommand::signer()
        .args([
            "check",
            "--key-file",
            key.secret.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            artifact.to_str().unwrap(),
        ])
        .output();
    assert_eq!(check.status.code(), Some(4), "{}", stdout(&check));
    assert!(stdout(&check).contains("algorithm 27"), "{}", stdout(&check));

    let small = work.path().join("dist");
    write_tree(&small, &[("a.tar", b"a".as_slice())]);
    let res = TestCommand::signer()
        .args([
            "sign",
            "--allow-rfc9580",
            "--key-file",
            key.secret.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            small.to_str().unwrap(),
        ])
        .output();
    assert!(res.status.success(), "{:?}", stderr_lines(&res));
    let warning = stderr_lines(&res).join("\n");
    assert!(warning.contains("RFC 9580") && warning.contains("GnuPG 2.2"), "no warning: {warning}");
    let check = Check { cert: key.public.clone(), sig: out.join("a.tar.asc"), data: out.join("a.tar") };
    assert_eq!(Verifier::OpenPgpJs.verify(std::slice::from_ref(&check)), vec![Ok(())]);
    assert!(
        Verifier::Gpg.verify(&[check])[0].is_err(),
        "GnuPG 2.2 reads RFC 9580 keys now: update the message"
    );
}

#[test]
fn v6_key_is_refused_naming_the_version() {
    let dir = tempfile::tempdir().unwrap();
    let key = openpgpjs_key(dir.path(), "v6", serde_json::json!({"type": "curve25519", "v6": true}));
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("a.tar"), b"a").unwrap();
    let out = work.path().join("out");
    for flags in [&[][..], &["--allow-rfc9580"][..]] {
        let mut args =
            vec!["sign", "--key-file", key.secret.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(flags);
        let a = work.path().join("a.tar");
        args.push(a.to_str().unwrap());
        let res = TestCommand::signer().args(&args).output();
        refusal(&res, &out, "a v6 key");
    }
}

/// The fixtures made in the past are made on a frozen clock: every key of the rotated-subkey
/// and expired fixtures is dated exactly 2020-01-01 00:00:00, however slow gpg ran. On a
/// running faked clock a loaded machine dates the primary a second late and gpg refuses the
/// subkey made next ("Time conflict").
#[test]
fn keys_made_in_the_past_are_dated_exactly_then() {
    for k in [&keys().expired_subkey, &keys().expired] {
        let g = GnuPg::new();
        g.ok(&["--import", k.public.to_str().unwrap()], b"");
        let listing =
            String::from_utf8(g.ok(&["--with-colons", "--list-keys", &k.fingerprint], b"")).unwrap();
        let dated: Vec<&str> = listing
            .lines()
            .filter(|l| l.starts_with("pub:") || l.starts_with("sub:"))
            .filter_map(|l| l.split(':').nth(5))
            .collect();
        assert!(!dated.is_empty(), "{}: {listing}", k.label);
        // The expired fixture's only key, and the rotated fixture's primary and old subkey.
        let past: Vec<&&str> = dated.iter().filter(|d| d.parse::<u64>().unwrap() < 1_600_000_000).collect();
        assert!(past.len() >= dated.len().min(2), "{}: {dated:?}", k.label);
        for d in past {
            assert_eq!(*d, "1577836800", "{}: a key made on a running faked clock: {dated:?}", k.label);
        }
    }
}
