//! Reading the secret key and its passphrase from where the user keeps them: files and
//! environment variables locally, Secrets Manager in a pipeline (both secrets fetched at
//! once). Nothing secret is written to disk or put on a command line.

use std::io::Read;
use std::path::{Path, PathBuf};

use relsign_aws::{SecretRef, SecretsClient, Zeroizing};
use relsign_cli::preflight::Report;
use relsign_cli::{Exit, Failure, REPORT_BUG};
use relsign_pgp::{KeyRing, Passphrase, SelectedKey, Suite};

use crate::cli::{AwsArgs, KeyArgs, PassphraseArgs};
use crate::settings::aws_options;

/// Environment variables the reference pipeline already sets.
const PIPELINE_KEY_VAR: &str = "PRIVATE_KEY_ARN";
const PIPELINE_PASSPHRASE_ARN_VAR: &str = "PASSPHRASE_ARN";

enum Origin {
    File(PathBuf),
    Secret(SecretRef),
}

fn non_empty_env(var: &str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

fn key_origin(key: &KeyArgs) -> Result<Origin, Failure> {
    if key.kms_key_id.is_some() {
        return Err(Failure::new(
            Exit::Usage,
            "a KMS key has no secret key to export: make its certificate with `signer kms-cert --kms-key-id ID --user-id 'Name <email>'`",
        ));
    }
    if let Some(path) = &key.key_file {
        return Ok(Origin::File(path.clone()));
    }
    match key.key_secret_id.clone().or_else(|| non_empty_env(PIPELINE_KEY_VAR)) {
        Some(id) => Ok(Origin::Secret(SecretRef {
            id,
            version_stage: key.key_secret_version_stage.clone(),
            version_id: key.key_secret_version_id.clone(),
            json_field: key.key_secret_field.clone(),
        })),
        None => Err(Failure::new(Exit::Usage, "no key given")
            .with_fix("pass --key-file FILE or --key-secret-id ID (or set PRIVATE_KEY_ARN)")),
    }
}

/// The passphrase's origin: a file, a secret, else the variable `--passphrase-env` names.
fn passphrase_origin(pass: &PassphraseArgs) -> Option<Origin> {
    if let Some(path) = &pass.passphrase_file {
        return Some(Origin::File(path.clone()));
    }
    let id = pass.passphrase_secret_id.clone().or_else(|| non_empty_env(PIPELINE_PASSPHRASE_ARN_VAR))?;
    Some(Origin::Secret(SecretRef {
        id,
        json_field: pass.passphrase_secret_field.clone(),
        ..SecretRef::default()
    }))
}

/// The most a key or passphrase file may hold. Secrets Manager stores 64 KiB at most; a
/// GnuPG secret key export is a few KiB, a keyring with many subkeys some hundreds. Anything
/// bigger is the wrong file, refused before it is parsed (or read to the end, if a FIFO).
const MAX_SECRET_FILE: u64 = 4 << 20;

fn read_file(path: &Path, what: &str, flag: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let fail = |e: std::io::Error| {
        Failure::new(Exit::Key, format!("cannot read {what} {}: {e}", path.display()))
            .with_fix(format!("check {flag}"))
    };
    // Not a FIFO or a device: those would hang the run or never end.
    let file = relsign_pgp::open_regular(path).map_err(fail)?;
    // Sized up front: a Vec that grows leaves copies of the secret in freed memory.
    let expected = file.metadata().map(|m| m.len()).unwrap_or(0).min(MAX_SECRET_FILE) + 1;
    let mut bytes = Zeroizing::new(Vec::with_capacity(expected as usize));
    file.take(MAX_SECRET_FILE + 1).read_to_end(&mut bytes).map_err(fail)?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(Failure::new(
            Exit::Key,
            format!(
                "{what} {} is larger than {} MiB, far more than any secret key export",
                path.display(),
                MAX_SECRET_FILE >> 20
            ),
        )
        .with_fix(format!("check {flag}")));
    }
    Ok(bytes)
}

async fn fetch(
    client: Option<&SecretsClient>,
    origin: Option<&Origin>,
    what: &str,
    flag: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, Failure> {
    match origin {
        None => Ok(None),
        Some(Origin::File(path)) => read_file(path, what, flag).map(Some),
        Some(Origin::Secret(secret)) => {
            let client = client.expect("a client exists whenever a secret is named");
            Ok(Some(relsign_aws::fetch_secret(client, secret).await?))
        }
    }
}

/// Secret bytes, zeroed when dropped.
type Secret = Zeroizing<Vec<u8>>;
type Fetched = Result<Option<Secret>, Failure>;

fn needs_aws(key: &Origin, pass: Option<&Origin>) -> bool {
    matches!(key, Origin::Secret(_)) || matches!(pass, Some(Origin::Secret(_)))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| {
        Failure::new(Exit::Internal, format!("cannot start the async runtime: {e}")).with_fix(REPORT_BUG)
    })
}

/// The key and the passphrase bytes, the secrets fetched concurrently.
async fn fetch_both(
    client: Option<&SecretsClient>,
    key: &Origin,
    pass: Option<&Origin>,
) -> (Fetched, Fetched) {
    tokio::join!(
        fetch(client, Some(key), "key file", "--key-file"),
        fetch(client, pass, "passphrase file", "--passphrase-file"),
    )
}

/// The passphrase read from its origin, else from the variable `--passphrase-env` names.
fn passphrase_or_env(bytes: Option<Secret>, pass: &PassphraseArgs) -> Option<Passphrase> {
    use std::os::unix::ffi::OsStringExt;
    match bytes {
        Some(bytes) => Some(Passphrase::new(bytes.to_vec())),
        None => std::env::var_os(&pass.passphrase_env).map(|v| Passphrase::new(v.into_vec())),
    }
}

/// Loads the key bytes and the passphrase bytes, fetching secrets concurrently.
fn load(key: &Origin, pass: Option<&Origin>, aws: &AwsArgs) -> Result<(Secret, Option<Secret>), Failure> {
    runtime()?.block_on(async {
        let client = if needs_aws(key, pass) {
            Some(SecretsClient::new(&relsign_aws::load(&aws_options(aws)).await?))
        } else {
            None
        };
        let (k, p) = fetch_both(client.as_ref(), key, pass).await;
        Ok((k?.expect("key origin given"), p?))
    })
}

/// `key file PATH` (or `passphrase file PATH`) or `secret ID`.
fn label(origin: &Origin, what: &str) -> String {
    match origin {
        Origin::File(path) => format!("{what} file {}", path.display()),
        Origin::Secret(s) => format!("secret {}", s.id),
    }
}

fn key_ring_from(bytes: &[u8], origin: &Origin) -> Result<KeyRing, Failure> {
    let label = label(origin, "key");
    KeyRing::from_bytes(bytes, &label).map_err(|e| {
        // A JSON secret is a common slip: say which option reads a field of it.
        let json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        match origin {
            Origin::Secret(s) if json && s.json_field.is_none() => {
                Failure::new(Exit::Key, format!("{label} holds JSON, not an armored key")).with_fix(
                    "name the field holding the key with --key-secret-field, or store the key as plain text",
                )
            }
            _ => Failure::from(e),
        }
    })
}

/// The certificates of the key named by `--key-file` or `--key-secret-id`.
pub fn key_ring(key: &KeyArgs, aws: &AwsArgs) -> Result<KeyRing, Failure> {
    let origin = key_origin(key)?;
    let (bytes, _) = load(&origin, None, aws)?;
    key_ring_from(&bytes, &origin)
}

/// The signing key chosen and its passphrase, before the (slow) unlock.
pub struct Loaded {
    pub key: SelectedKey,
    pub passphrase: Option<Passphrase>,
    /// The passphrase secret, when it holds a JSON object read whole (no field named).
    json_secret: Option<String>,
}

impl Loaded {
    pub fn unlock(self) -> Result<relsign_pgp::SigningKey, Failure> {
        let unlocked = self.key.unlock(self.passphrase.as_ref());
        unlocked.map_err(|e| json_hint(e, self.json_secret.as_deref()))
    }
}

/// The passphrase secret `origin`, if `bytes` are a JSON object read whole: a
/// `{"passphrase": "..."}` secret needs `--passphrase-secret-field`.
fn json_secret(origin: Option<&Origin>, bytes: Option<&Secret>) -> Option<String> {
    let (Some(Origin::Secret(s)), Some(bytes)) = (origin, bytes) else { return None };
    // Not parsed: a parser would copy the secret into memory nobody zeroes.
    let object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && bytes.iter().rfind(|b| !b.is_ascii_whitespace()) == Some(&b'}');
    (s.json_field.is_none() && object).then(|| s.id.clone())
}

/// A wrong passphrase read from a JSON secret: the field was not named.
fn json_hint(e: relsign_pgp::Error, json_secret: Option<&str>) -> Failure {
    match (&e, json_secret) {
        (relsign_pgp::Error::WrongPassphrase { fingerprint }, Some(id)) => Failure::new(
            Exit::Key,
            format!("wrong passphrase for key {fingerprint}: secret {id} holds a JSON object, read whole"),
        )
        .with_fix(
            "name the field holding the passphrase with --passphrase-secret-field NAME (SIGNER_PASSPHRASE_SECRET_FIELD), or store the passphrase as plain text",
        ),
        _ => Failure::from(e),
    }
}

/// Loads the key and its passphrase and selects the signing key, still locked: its
/// algorithm decides the hash before any artifact is read.
pub fn selected_key(key: &KeyArgs, pass: &PassphraseArgs, aws: &AwsArgs) -> Result<Loaded, Failure> {
    let origin = key_origin(key)?;
    let pass_origin = passphrase_origin(pass);
    let (key_bytes, pass_bytes) = load(&origin, pass_origin.as_ref(), aws)?;
    let ring = key_ring_from(&key_bytes, &origin)?;
    drop(key_bytes);
    let selected = ring.select(key.signing_key.as_deref(), key.allow_rfc9580)?;
    warn_if_rfc9580(selected.suite());
    let json_secret = json_secret(pass_origin.as_ref(), pass_bytes.as_ref());
    Ok(Loaded { key: selected, passphrase: passphrase_or_env(pass_bytes, pass), json_secret })
}

/// Every run with an RFC 9580 key says who cannot verify its signatures.
fn warn_if_rfc9580(suite: &Suite) {
    if suite.rfc9580 {
        tracing::warn!(
            "signing with an RFC 9580 {} key (--allow-rfc9580): GnuPG 2.2, sqv, rnp 0.16 and PGPy cannot verify these signatures",
            suite.name
        );
    }
}

/// The preflight of the key: the AWS identity (when a secret is named), the key and the
/// passphrase each read, then the key chosen and unlocked, each reported on its own.
pub fn check(key: &KeyArgs, pass: &PassphraseArgs, aws: &AwsArgs, report: &mut Report) {
    let origin = match key_origin(key) {
        Ok(o) => o,
        Err(f) => return report.failure("key", &f),
    };
    let pass_origin = passphrase_origin(pass);
    let runtime = match runtime() {
        Ok(r) => r,
        Err(f) => return report.failure("key", &f),
    };
    let fetched = runtime.block_on(async {
        let client = if needs_aws(&origin, pass_origin.as_ref()) {
            let identity = match relsign_aws::load(&aws_options(aws)).await {
                Ok(config) => relsign_aws::identity(&config).await.map(|id| (id, config)),
                Err(e) => Err(e),
            };
            match identity {
                Ok((id, config)) => {
                    report.ok("aws", id.to_string());
                    Some(SecretsClient::new(&config))
                }
                Err(e) => {
                    report.failure("aws", &Failure::from(e));
                    return None;
                }
            }
        } else {
            None
        };
        Some(fetch_both(client.as_ref(), &origin, pass_origin.as_ref()).await)
    });
    let Some((key_bytes, pass_bytes)) = fetched else {
        return report.problem(
            "key",
            Exit::Remote,
            format!("{} not checked: AWS is not usable", label(&origin, "key")),
            "fix the aws problem above first",
        );
    };
    let ring = match key_bytes.map(|b| b.map(|bytes| (bytes.len(), key_ring_from(&bytes, &origin)))) {
        Ok(Some((len, Ok(ring)))) => {
            report.ok("key", format!("{}: {len} bytes, OpenPGP key material", label(&origin, "key")));
            Some(ring)
        }
        Ok(Some((_, Err(f)))) | Err(f) => {
            report.failure("key", &f);
            None
        }
        Ok(None) => None,
    };
    let pass_bytes = match pass_bytes {
        Ok(bytes) => bytes,
        Err(f) => return report.failure("passphrase", &f),
    };
    let read_from = match (&pass_bytes, &pass_origin) {
        (Some(_), Some(o)) => format!("{} read", label(o, "passphrase")),
        _ if std::env::var_os(&pass.passphrase_env).is_some() => {
            format!("from the environment variable {}", pass.passphrase_env)
        }
        _ => format!("none given ({} is not set): the key must be unprotected", pass.passphrase_env),
    };
    report.ok("passphrase", read_from);
    let json_secret = json_secret(pass_origin.as_ref(), pass_bytes.as_ref());
    let passphrase = passphrase_or_env(pass_bytes, pass);
    let Some(ring) = ring else { return };
    let selected =
        ring.select(key.signing_key.as_deref(), key.allow_rfc9580).inspect(|s| warn_if_rfc9580(s.suite()));
    let unlocked = selected
        .and_then(|s| s.unlock(passphrase.as_ref()))
        .map_err(|e| json_hint(e, json_secret.as_deref()));
    match unlocked.and_then(|k| crate::kms_source::with_cert(k, key.kms_cert.as_deref())) {
        Ok(k) => report.ok(
            "signing key",
            format!(
                "{}, signs over {}: {}{}, unlocked (certificate {})",
                k.suite().name,
                relsign_pgp::hash_name(k.suite().hash),
                k.fingerprint(),
                k.user_id().map(|u| format!(" ({u})")).unwrap_or_default(),
                k.primary_fingerprint()
            ),
        ),
        Err(f) => report.failure("signing key", &f),
    }
}
