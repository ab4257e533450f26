//! `signer kms-cert`: the OpenPGP certificate of a KMS key, self-signed by KMS, which users
//! import to verify the releases it signs.

use std::time::SystemTime;

use relsign_cli::{Exit, Failure};
use relsign_kms::Kms;

use crate::cli::KmsCertArgs;
use crate::settings::aws_options;

pub fn run(args: KmsCertArgs) -> Result<Exit, Failure> {
    if args.user_id.trim().is_empty() {
        return Err(Failure::new(Exit::Usage, "--user-id is empty").with_fix("pass 'Name <email>'"));
    }
    let mut signer = Kms::connect(&aws_options(&args.aws))?.signer(&args.kms_key_id)?;
    let armored = relsign_pgp::self_certify(&mut signer, &args.user_id, args.expires, SystemTime::now())?;
    tracing::info!(fingerprint = %signer.fingerprint(), "certificate of KMS key {} made", args.kms_key_id);
    crate::export_cert::write_certificate(args.output.as_deref(), &armored)?;
    Ok(Exit::Ok)
}
