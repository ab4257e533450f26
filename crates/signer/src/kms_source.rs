//! The signing key held in AWS KMS (`--kms-key-id`): described, its public key fetched, and
//! checked against `--cert` when given. Nothing secret exists on this side to load or leak.

use std::path::Path;

use relsign_cli::preflight::Report;
use relsign_cli::{Exit, Failure};
use relsign_kms::{Kms, KmsSigner};
use relsign_pgp::SigningKey;

use crate::cli::{AwsArgs, KeyArgs};
use crate::settings::aws_options;

fn read_cert(path: &Path) -> Result<Vec<u8>, Failure> {
    relsign_pgp::read_capped(path, relsign_pgp::MAX_CERTIFICATE).map_err(|e| {
        Failure::new(Exit::Input, format!("cannot read certificate {}: {e}", path.display()))
            .with_fix("check --cert")
    })
}

/// `key` checked against `--cert` when given (for every key source): the key must be that
/// certificate's, and its signatures are checked with it.
pub fn with_cert(key: SigningKey, cert: Option<&Path>) -> Result<SigningKey, Failure> {
    match cert {
        Some(path) => Ok(key.with_certificate(&read_cert(path)?, &path.display().to_string())?),
        None => Ok(key),
    }
}

/// The OpenPGP signing key over `signer`, checked against `--cert` when given.
fn key_over(signer: KmsSigner, cert: Option<&Path>) -> Result<SigningKey, Failure> {
    with_cert(SigningKey::external(Box::new(signer))?, cert)
}

/// The signing key `--kms-key-id` names, ready to sign.
pub fn signing_key(id: &str, key: &KeyArgs, aws: &AwsArgs) -> Result<SigningKey, Failure> {
    let signer = Kms::connect(&aws_options(aws))?.signer(id)?;
    key_over(signer, key.kms_cert.as_deref())
}

/// The preflight of a KMS key: the AWS identity, what KMS says of the key (spec, usage,
/// state), its OpenPGP fingerprint, and a test signature verified here with its public key,
/// which proves this role may sign.
pub fn check(id: &str, key: &KeyArgs, aws: &AwsArgs, report: &mut Report) {
    let kms = match Kms::connect(&aws_options(aws)) {
        Ok(kms) => kms,
        Err(e) => return report.failure("aws", &e.into()),
    };
    match kms.identity() {
        Ok(identity) => report.ok("aws", identity.to_string()),
        Err(e) => return report.failure("aws", &e.into()),
    }
    let facts = match kms.describe(id) {
        Ok(facts) => facts,
        Err(e) => return report.failure("kms key", &e.into()),
    };
    let described = format!("{}: {} for {}, {}", facts.arn, facts.spec, facts.usage, facts.state);
    if let Err(e) = facts.usable() {
        let f = Failure::from(e);
        return report.failure("kms key", &Failure { problem: format!("{described}; {}", f.problem), ..f });
    }
    report.ok("kms key", described);
    let signer = match kms.signer(id) {
        Ok(signer) => signer,
        Err(e) => return report.failure("kms key", &e.into()),
    };
    let scheme = signer.scheme();
    let proof = signer.prove();
    let fingerprint = signer.fingerprint();
    match key_over(signer, key.kms_cert.as_deref()) {
        Ok(k) => report.ok(
            "signing key",
            format!(
                "{}, signs over {} with {}: {}{}",
                k.suite().name,
                relsign_pgp::hash_name(k.suite().hash),
                scheme.algorithm,
                k.fingerprint(),
                k.user_id().map(|u| format!(" ({u})")).unwrap_or_default()
            ),
        ),
        Err(f) => report.failure("signing key", &f),
    }
    match proof {
        Ok(()) => report.ok(
            "kms sign",
            format!("a test digest signed by KMS verifies with {fingerprint}: this role may sign"),
        ),
        Err(e) => report.failure("kms sign", &e.into()),
    }
}
