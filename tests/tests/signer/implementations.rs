//! Keys from GnuPG, rnp, OpenPGP.js and PGPy, across RSA, Ed25519, NIST and brainpool
//! curves, primary keys and signing subkeys, offline primaries: every signature relsign
//! makes is checked by gpg, gpgv, sqv, rnp, OpenPGP.js and PGPy given only the public
//! certificate, and every signature those tools make is checked by `signer verify`.

use std::path::Path;
use std::sync::OnceLock;

use relsign_tests::gpg::{GnuPg, PASSPHRASE};
use relsign_tests::implementations::*;
use relsign_tests::keys::{keys, KeyFile};
use relsign_tests::*;

/// A key that must sign for every verifier, with what relsign must call it and the hash
/// (OpenPGP number: 8 SHA-256, 9 SHA-384, 10 SHA-512) its signatures must use.
struct Row {
    maker: &'static str,
    key: MadeKey,
    kind: &'static str,
    digest: u8,
}

/// Which keys a limitation covers: a key kind (`brainpool`) or the implementation that made
/// the certificate.
enum Covers {
    Kind(&'static str),
    Maker(&'static str),
}

/// Verifiers that cannot check some keys, and why. Any other rejection fails the suite, and
/// so does a listed verifier that starts accepting (the table is kept true).
const LIMITATIONS: &[(Verifier, Covers, &str)] = &[
    (
        Verifier::Sqv,
        Covers::Kind("brainpool"),
        "Debian's sqv 1.1 uses sequoia's Nettle backend, and Nettle has no brainpool curves",
    ),
    (
        Verifier::Pgpy,
        Covers::Kind("brainpool"),
        "PGPy 0.6.0's brainpool curve classes lack the group_order that current cryptography requires",
    ),
    (
        Verifier::Pgpy,
        Covers::Maker("OpenPGP.js"),
        "PGPy 0.6.0 cannot parse a certificate whose preferences list SHA3-512 (hash 14), as OpenPGP.js 6 writes",
    ),
];

fn limitation(verifier: Verifier, row: &Row) -> Option<&'static str> {
    LIMITATIONS
        .iter()
        .find(|(v, covers, _)| {
            *v == verifier
                && match covers {
                    Covers::Kind(k) => row.kind.contains(k),
                    Covers::Maker(m) => row.maker == *m,
                }
        })
        .map(|(_, _, why)| *why)
}

fn from_gnupg(k: &KeyFile) -> MadeKey {
    MadeKey {
        label: k.label.to_string(),
        secret: k.secret.clone(),
        public: k.public.clone(),
        fingerprint: k.fingerprint.clone(),
        passphrase: k.passphrase.to_string(),
    }
}

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<(tempfile::TempDir, Vec<Row>)> = OnceLock::new();
    &ROWS.get_or_init(make_rows).1
}

fn gnupg_rows(dir: &Path) -> Vec<Row> {
    let g = GnuPg::new();
    let made = |label: &str, fpr: &str, passphrase: &str, secret: Vec<u8>| {
        let s = dir.join(format!("gpg-{label}.secret.asc"));
        let p = dir.join(format!("gpg-{label}.public.asc"));
        std::fs::write(&s, secret).unwrap();
        std::fs::write(&p, g.export_public(fpr)).unwrap();
        MadeKey {
            label: label.into(),
            secret: s,
            public: p,
            fingerprint: fpr.into(),
            passphrase: passphrase.into(),
        }
    };
    let primary = |algo: &str, pass: &str| {
        let fpr =
            g.gen_key(&format!("GnuPG {algo} <{algo}@example.org>"), algo, "sign,cert", "2y", pass, None);
        made(algo, &fpr, pass, g.export_secret(&fpr, pass))
    };
    let mut rows = vec![
        Row { maker: "GnuPG", key: primary("rsa2048", ""), kind: "RSA 2048", digest: 8 },
        Row { maker: "GnuPG", key: primary("nistp384", PASSPHRASE), kind: "ECDSA P-384", digest: 9 },
        Row { maker: "GnuPG", key: primary("nistp521", ""), kind: "ECDSA P-521", digest: 10 },
        Row { maker: "GnuPG", key: primary("brainpoolP256r1", ""), kind: "ECDSA brainpoolP256r1", digest: 8 },
        Row { maker: "GnuPG", key: primary("brainpoolP384r1", ""), kind: "ECDSA brainpoolP384r1", digest: 9 },
        Row {
            maker: "GnuPG",
            key: primary("brainpoolP512r1", ""),
            kind: "ECDSA brainpoolP512r1",
            digest: 10,
        },
    ];
    let fpr = g.gen_key("GnuPG RSA subkey <rsa3072@example.org>", "rsa3072", "cert", "2y", PASSPHRASE, None);
    g.add_subkey(&fpr, "rsa3072", "sign", "2y", PASSPHRASE, None);
    let key = made("rsa3072-subkey", &fpr, PASSPHRASE, g.export_secret(&fpr, PASSPHRASE));
    rows.push(Row { maker: "GnuPG", key, kind: "RSA 3072", digest: 8 });
    // An offline primary: only the P-521 signing subkey's secret is exported.
    let fpr = g.gen_key("GnuPG offline <offline@example.org>", "ed25519", "cert", "2y", "", None);
    g.add_subkey(&fpr, "nistp521/ecdsa", "sign", "2y", "", None);
    let key = made("p521-subkey-offline-primary", &fpr, "", g.export_secret_subkeys(&fpr, ""));
    rows.push(Row { maker: "GnuPG", key, kind: "ECDSA P-521", digest: 10 });
    let k = keys();
    for (key, kind) in [
        (&k.rsa4096, "RSA 4096"),
        (&k.ed25519, "Ed25519"),
        (&k.p256, "ECDSA P-256"),
        (&k.default_shape, "Ed25519"),
        (&k.stub_primary, "Ed25519"),
    ] {
        rows.push(Row { maker: "GnuPG", key: from_gnupg(key), kind, digest: 8 });
    }
    rows
}

fn rnp_rows(dir: &Path) -> Vec<Row> {
    // rnpkeys --expert: 1 RSA (then the size), 19 ECDSA (then the curve), 22 EdDSA.
    [
        ("rsa2048", "1\n2048\n", "RSA 2048", 8),
        ("p256", "19\n1\n", "ECDSA P-256", 8),
        ("p384", "19\n2\n", "ECDSA P-384", 9),
        ("p521", "19\n3\n", "ECDSA P-521", 10),
        ("brainpoolP256r1", "19\n4\n", "ECDSA brainpoolP256r1", 8),
        ("brainpoolP384r1", "19\n5\n", "ECDSA brainpoolP384r1", 9),
        ("brainpoolP512r1", "19\n6\n", "ECDSA brainpoolP512r1", 10),
        ("ed25519", "22\n", "Ed25519", 8),
    ]
    .into_iter()
    .map(|(label, menu, kind, digest)| {
        let pass = if label == "p384" { PASSPHRASE } else { "" };
        Row { maker: "rnp", key: rnp_key(dir, &format!("rnp-{label}"), menu, pass), kind, digest }
    })
    .collect()
}

fn openpgpjs_rows(dir: &Path) -> Vec<Row> {
    let ecc = |curve: &str, subkey: bool| serde_json::json!({"type": "ecc", "curve": curve, "signingSubkey": subkey});
    [
        ("rsa3072", serde_json::json!({"type": "rsa", "rsaBits": 3072}), "RSA 3072", 8),
        (
            "ed25519-subkey",
            serde_json::json!({"type": "ecc", "curve": "ed25519Legacy", "signingSubkey": true, "passphrase": PASSPHRASE}),
            "Ed25519",
            8,
        ),
        ("p256", ecc("nistP256", false), "ECDSA P-256", 8),
        ("p384-subkey", ecc("nistP384", true), "ECDSA P-384", 9),
        ("p521", ecc("nistP521", false), "ECDSA P-521", 10),
        ("brainpoolP384r1", ecc("brainpoolP384r1", false), "ECDSA brainpoolP384r1", 9),
        ("brainpoolP512r1-subkey", ecc("brainpoolP512r1", true), "ECDSA brainpoolP512r1", 10),
    ]
    .into_iter()
    .map(|(label, req, kind, digest)| Row {
        maker: "OpenPGP.js",
        key: openpgpjs_key(dir, &format!("openpgpjs-{label}"), req),
        kind,
        digest,
    })
    .collect()
}

fn pgpy_rows(dir: &Path) -> Vec<Row> {
    [
        ("rsa2048", serde_json::json!({"algorithm": "RSAEncryptOrSign", "bits": 2048}), "RSA 2048", 8),
        ("ed25519", serde_json::json!({"algorithm": "EdDSA", "curve": "Ed25519"}), "Ed25519", 8),
        ("p384", serde_json::json!({"algorithm": "ECDSA", "curve": "NIST_P384"}), "ECDSA P-384", 9),
        // PGPy 0.6 cannot make brainpool keys with cryptography 44 or later (an abstract
        // curve class); it still verifies brainpool signatures.
        ("p521", serde_json::json!({"algorithm": "ECDSA", "curve": "NIST_P521"}), "ECDSA P-521", 10),
    ]
    .into_iter()
    .map(|(label, req, kind, digest)| Row {
        maker: "PGPy",
        key: pgpy_key(dir, &format!("pgpy-{label}"), req),
        kind,
        digest,
    })
    .collect()
}

fn make_rows() -> (tempfile::TempDir, Vec<Row>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One maker per thread: RSA key generation dominates, and the makers are independent.
    let rows = std::thread::scope(|s| {
        let makers: Vec<_> = [gnupg_rows as fn(&Path) -> Vec<Row>, rnp_rows, openpgpjs_rows, pgpy_rows]
            .into_iter()
            .map(|make| s.spawn(move || make(d)))
            .collect();
        makers.into_iter().flat_map(|m| m.join().expect("key maker")).collect()
    });
    (dir, rows)
}

/// Signs one artifact with `key`; returns the checks for it and for `SHA256SUMS`.
fn sign_release(row: &Row, work: &Path) -> Vec<Check> {
    let dist = work.join("dist");
    write_tree(&dist, &[("app 1.0.tar", b"release payload".as_slice())]);
    let out = work.join("signed");
    let mut args = vec!["sign".to_string(), "--key-file".into(), row.key.secret.display().to_string()];
    let env: Vec<(&str, &str)> = if row.key.passphrase.is_empty() {
        vec![]
    } else {
        vec![("PASSPHRASE", row.key.passphrase.as_str())]
    };
    args.extend(["--out".into(), out.display().to_string(), dist.display().to_string()]);
    let res = TestCommand::signer().args(&args).envs(&env).output();
    assert!(res.status.success(), "{} {}: {:?}", row.maker, row.key.label, stderr_lines(&res));
    ["app 1.0.tar", "SHA256SUMS"]
        .iter()
        .map(|name| Check {
            cert: row.key.public.clone(),
            sig: out.join(format!("{name}.asc")),
            data: out.join(name),
        })
        .collect()
}

#[test]
fn every_signature_relsign_makes_verifies_everywhere_it_can() {
    let rows = rows();
    let work = tempfile::tempdir().unwrap();
    let mut checks = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let dir = work.path().join(i.to_string());
        let made = sign_release(row, &dir);
        for c in &made {
            assert_eq!(
                digest_algo(&c.sig),
                row.digest,
                "{} {} ({}): hash of {}",
                row.maker,
                row.key.label,
                row.kind,
                c.sig.display()
            );
        }
        checks.push(made);
    }
    let flat: Vec<Check> = checks.iter().flatten().cloned().collect();
    let verdicts: Vec<Vec<Result<(), String>>> = std::thread::scope(|s| {
        let runs: Vec<_> = Verifier::ALL.iter().map(|v| s.spawn(|| v.verify(&flat))).collect();
        runs.into_iter().map(|r| r.join().expect("verifier")).collect()
    });

    let mut wrong = Vec::new();
    let mut table = String::from("| key (maker) | ");
    table += &Verifier::ALL.map(|v| v.name()).join(" | ");
    table += " | signer verify |\n|---|---|---|---|---|---|---|---|\n";
    for (i, row) in rows.iter().enumerate() {
        let mut cells = Vec::new();
        for (v, verifier) in Verifier::ALL.iter().enumerate() {
            let results = &verdicts[v][2 * i..2 * i + 2];
            let accepted = results.iter().all(Result::is_ok);
            match (accepted, limitation(*verifier, row)) {
                (true, None) => cells.push("✓".to_string()),
                (false, Some(_)) => cells.push("✗ (known)".to_string()),
                (true, Some(why)) => {
                    wrong.push(format!(
                        "{} {} ({}): {} now accepts; drop the limitation {why:?}",
                        row.maker,
                        row.key.label,
                        row.kind,
                        verifier.name()
                    ));
                    cells.push("✓ (listed as ✗)".into());
                }
                (false, None) => {
                    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
                    wrong.push(format!(
                        "{} {} ({}): {} rejects: {errors:?}",
                        row.maker,
                        row.key.label,
                        row.kind,
                        verifier.name()
                    ));
                    cells.push("✗".into());
                }
            }
        }
        let out = checks[i][0].data.parent().unwrap();
        let v = TestCommand::signer()
            .args(["verify", "--cert", row.key.public.to_str().unwrap(), out.to_str().unwrap()])
            .output();
        if !v.status.success() {
            wrong.push(format!("{} {}: signer verify: {}", row.maker, row.key.label, stdout(&v)));
        }
        cells.push(if v.status.success() { "✓".into() } else { "✗".into() });
        table += &format!("| {} ({}, {}) | {} |\n", row.kind, row.maker, row.key.label, cells.join(" | "));
    }
    eprintln!("{table}");
    for (v, _, why) in LIMITATIONS {
        eprintln!("known: {}: {why}", v.name());
    }
    assert!(wrong.is_empty(), "unexpected verdicts:\n{}\n{table}", wrong.join("\n"));
}

#[test]
fn signer_check_names_the_key_and_its_hash_as_sign_would() {
    for row in rows() {
        let work = tempfile::tempdir().unwrap();
        std::fs::write(work.path().join("a.tar"), b"a").unwrap();
        let env: Vec<(&str, &str)> = if row.key.passphrase.is_empty() {
            vec![]
        } else {
            vec![("PASSPHRASE", row.key.passphrase.as_str())]
        };
        let out = work.path().join("out");
        let res = TestCommand::signer()
            .args([
                "check",
                "--key-file",
                row.key.secret.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                work.path().join("a.tar").to_str().unwrap(),
            ])
            .envs(&env)
            .output();
        let hash = match row.digest {
            8 => "SHA-256",
            9 => "SHA-384",
            _ => "SHA-512",
        };
        assert_check_passed(&res, &[&format!("{}, signs over {hash}", row.kind)]);
    }
}

/// A detached signature over `data` made by the key's own implementation.
fn foreign_signature(row: &Row, data: &Path) -> std::path::PathBuf {
    let sig = std::path::PathBuf::from(format!("{}.asc", data.display()));
    match row.maker {
        "GnuPG" => {
            let g = GnuPg::new();
            g.ok(&["--import", row.key.secret.to_str().unwrap()], b"");
            let made = g.detach_sign(&row.key.fingerprint, data, &row.key.passphrase);
            std::fs::rename(made, &sig).unwrap();
        }
        "rnp" => rnp_sign(&row.key, data, &sig),
        "OpenPGP.js" => openpgpjs_sign(&row.key, data, &sig),
        "PGPy" => {
            let hash = match row.digest {
                8 => "SHA256",
                9 => "SHA384",
                _ => "SHA512",
            };
            pgpy_sign(&row.key, hash, data, &sig)
        }
        other => panic!("no signer for {other}"),
    }
    sig
}

#[test]
fn signatures_the_other_implementations_make_verify_and_tampering_is_caught() {
    for row in rows() {
        let work = tempfile::tempdir().unwrap();
        let data = work.path().join("artifact.bin");
        std::fs::write(&data, format!("signed by {} {}", row.maker, row.key.label)).unwrap();
        assert!(foreign_signature(row, &data).is_file());
        let cert = row.key.public.to_str().unwrap();
        let v = TestCommand::signer().args(["verify", "--cert", cert, data.to_str().unwrap()]).output();
        assert!(v.status.success(), "{} {}: {} {:?}", row.maker, row.key.label, stdout(&v), stderr_lines(&v));
        std::fs::write(&data, format!("signed by {} {}!", row.maker, row.key.label)).unwrap();
        let v = TestCommand::signer().args(["verify", "--cert", cert, data.to_str().unwrap()]).output();
        assert_eq!(
            v.status.code(),
            Some(1),
            "{} {}: tampered data accepted: {}",
            row.maker,
            row.key.label,
            stdout(&v)
        );
        assert!(stdout(&v).contains("BAD signature"), "{} {}: {}", row.maker, row.key.label, stdout(&v));
    }
}

/// Signatures over a hash too weak for their key, made by PGPy (which signs with any hash):
/// `signer verify` rejects each, in terms of policy, as GnuPG rejects the ECDSA ones.
#[test]
fn signer_verify_rejects_hashes_too_weak_for_the_key_as_policy_not_tampering() {
    let by_label = |label: &str| rows().iter().find(|r| r.key.label == label).expect(label);
    // (key, hash, what GnuPG 2.2 says when it rejects too; None: it accepts, and relsign is
    // the stricter, as sequoia's policy and sqv are for SHA-1)
    let cases = [
        ("pgpy-p384", "SHA256", Some("requires a 384 bit or larger hash")),
        ("pgpy-p521", "SHA384", Some("requires a 512 bit or larger hash")),
        ("pgpy-p384", "SHA1", Some("requires a 384 bit or larger hash")),
        ("pgpy-ed25519", "SHA224", None),
        ("pgpy-rsa2048", "SHA1", None),
        ("pgpy-rsa2048", "MD5", Some("Invalid digest algorithm")),
    ];
    for (label, hash, gnupg) in cases {
        let row = by_label(label);
        let work = tempfile::tempdir().unwrap();
        let data = work.path().join("weak.bin");
        std::fs::write(&data, b"signed over a weak hash").unwrap();
        let sig = work.path().join("weak.bin.asc");
        pgpy_sign(&row.key, hash, &data, &sig);
        let what = format!("{label} over {hash}");
        let (ok, log) = GnuPg::verifies_with(&std::fs::read(&row.key.public).unwrap(), &sig, &data);
        match gnupg {
            Some(says) => assert!(!ok && log.contains(says), "{what}: gpg: {log}"),
            None => assert!(ok, "{what}: gpg rejects it now: {log}"),
        }
        for tampered in [false, true] {
            if tampered {
                std::fs::write(&data, b"signed over a weak hash, changed").unwrap();
            }
            let v = TestCommand::signer()
                .args(["verify", "--cert", row.key.public.to_str().unwrap(), data.to_str().unwrap()])
                .output();
            let text = stdout(&v);
            assert_eq!(v.status.code(), Some(1), "{what} (tampered: {tampered}): accepted: {text}");
            assert!(text.contains("rejected by policy"), "{what} (tampered: {tampered}): {text}");
            assert!(
                !text.contains("changed after signing"),
                "{what}: a policy failure called tampering: {text}"
            );
        }
    }
}
